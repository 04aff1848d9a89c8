"""The Unix accounts of a demo class: one group, one instructor and N students, created as root and removed again.

    with ClassAccounts(prefix="scoreaug", students=3) as accounts:
        accounts.instructor.name, accounts.students[0].home, accounts.gid

Homes are private (0700): students never read each other's work or the instructor's course. On leaving (also after an
error) every process of those users is killed, then users, homes and the group are removed. Per-user limits use the
memory and cpu cgroups (v1) where the machine lets root create them (`UserLimits`), and are reported as advisory where not.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9-]{0,20}$")
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(f"{' '.join(command)} failed: {done.stderr.strip() or done.returncode}")


class ClassAccounts:
    """The instructor `<prefix>-teacher` and students `<prefix>-s01`..., all in group `<prefix>-class`."""

    def __init__(self, prefix: str = "scoreaug", students: int = 3):
        if not NAME.match(prefix):
            raise ValueError(f"the account prefix must be lowercase letters, digits and '-' (at most 21), got {prefix!r}")
        if not 1 <= int(students) <= 99:
            raise ValueError(f"students must be between 1 and 99, got {students}")
        if os.geteuid() != 0:
            raise PermissionError("creating the class's Unix users needs root (run the hub as root, or with sudo)")
        self.prefix, self.count = prefix, int(students)
        self.group = f"{prefix}-class"
        self.gid = -1
        self.instructor: Account | None = None
        self.students: list[Account] = []

    @property
    def names(self) -> list[str]:
        return [f"{self.prefix}-teacher"] + [f"{self.prefix}-s{i:02d}" for i in range(1, self.count + 1)]

    def __enter__(self) -> "ClassAccounts":
        taken = [n for n in [*self.names] if _exists(n)]
        if taken:
            raise ValueError(f"accounts {', '.join(taken)} already exist: another class with prefix {self.prefix!r} "
                             "is running (or was not torn down: `scoreaug-lab course hub --remove` removes it)")
        try:
            _run("groupadd", self.group)
            for name in self.names:
                _run("useradd", "--create-home", "--shell", "/bin/bash", "--gid", self.group, name)
                os.chmod(f"/home/{name}", 0o700)
            accounts = [_account(n) for n in self.names]
        except BaseException:
            self.remove()
            raise
        self.gid = accounts[0].gid
        self.instructor, self.students = accounts[0], accounts[1:]
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Kill every process of the class's users, then remove users, homes and the group (what exists of them)."""
        remove_accounts(self.names, self.group)


def remove_accounts(names, group: str) -> None:
    present = [n for n in names if _exists(n)]
    for _ in range(20):
        for name in present:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        if not any(_has_processes(n) for n in present):
            break
        time.sleep(0.25)
    for name in present:
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(f"/home/{name}", ignore_errors=True)
    subprocess.run(["groupdel", group], capture_output=True)


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _account(name: str) -> Account:
    entry = pwd.getpwnam(name)
    return Account(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))


def _has_processes(name: str) -> bool:
    return subprocess.run(["pgrep", "-u", name], capture_output=True).returncode == 0


class UserLimits:
    """Per-user memory and CPU limits with the v1 memory and cpu cgroups: <cgroup>/<controller>/<scope>/<user>.
    `available` says whether root could create them here; `join(user)` (in a spawner's preexec, as root) moves the
    calling process into the user's groups."""

    def __init__(self, scope: str, mem_bytes: int, cpus: float):
        self.scope, self.mem_bytes, self.cpus = scope, int(mem_bytes), float(cpus)
        self.available = self._try_create()

    def _folder(self, controller: str, user: str = "") -> Path:
        return CGROUP / controller / self.scope / user

    def _try_create(self) -> bool:
        try:
            for controller in ("memory", "cpu"):
                self._folder(controller).mkdir(exist_ok=True)
            return True
        except OSError:
            return False

    def create(self, user: str) -> None:
        if not self.available:
            return
        memory, cpu = self._folder("memory", user), self._folder("cpu", user)
        memory.mkdir(exist_ok=True)
        cpu.mkdir(exist_ok=True)
        (memory / "memory.limit_in_bytes").write_text(str(self.mem_bytes))
        period = int((cpu / "cpu.cfs_period_us").read_text())
        (cpu / "cpu.cfs_quota_us").write_text(str(int(period * self.cpus)))

    def join(self, user: str) -> None:
        if self.available:
            for controller in ("memory", "cpu"):
                (self._folder(controller, user) / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        """Remove the groups (after their processes are gone)."""
        for controller in ("memory", "cpu"):
            top = self._folder(controller)
            for folder in sorted(top.glob("*"), reverse=True) if top.is_dir() else []:
                if folder.is_dir():
                    _rmdir(folder)
            _rmdir(top)


def _rmdir(folder: Path) -> None:
    for _ in range(20):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


__all__ = ["Account", "ClassAccounts", "UserLimits", "remove_accounts"]
