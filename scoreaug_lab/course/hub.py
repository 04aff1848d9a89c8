"""A class on a local JupyterHub, started and stopped by the toolkit: `scoreaug-lab course hub --students N`.

    with ClassHub(students=3) as hub:      # as root
        hub.url, hub.password, hub.accounts.students
        hub.run_as(hub.accounts.instructor, ["nbgrader", "release_assignment", "a1_..."], cwd=hub.course)

What it sets up, all under `hub_dir` (default /srv/scoreaug-hub-<prefix>) and removed on exit:
    accounts    real Unix users: <prefix>-teacher (the hub's admin) and <prefix>-s01...; private homes (hub_users.py)
    env/        the students' Python: the toolkit's wheel, no course inside (hub_env.py)
    store/      the shared run store (SCOREAUG_RUNS of every server): a copy of a prepared store, group = the class,
                finished runs read-only (runs/sharing.py); a sweep hands runs finished by students to the instructor
    exchange/   nbgrader's exchange, named in jupyter-config/{students,instructor}/nbgrader_config.py
    ~teacher/course/   the instructor's copy of the course (source/, grading/, the gradebook): mode 0700
    ~student/walkthrough/  the walkthrough notebooks
The hub is JupyterHub 6 with hub/jupyterhub_config.py (shared-password logins, ClassSpawner's cgroup limits, the idle
culler); it and its proxy are stopped by PID, then every process of the class's users is killed and the users go.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..paths import project_root
from ..runs import sharing
from ..runs.checkpoint import load_checkpoint
from .hub_env import build_student_env
from .hub_users import ClassAccounts, UserLimits
from .layout import copy_course, course_root

GIB = 1024 ** 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finished_run(folder: Path) -> bool:
    """Whether a run folder's checkpoint reached the steps its config asks for (what the sweep may seal)."""
    try:
        steps = json.loads((folder / "config.json").read_text())["steps"]
        return int(load_checkpoint(folder / "checkpoint.pt")["step"]) >= int(steps)
    except (OSError, ValueError, KeyError, TypeError):
        return False


class ClassHub:
    """One instructor, `students` students, a JupyterHub on 127.0.0.1:`port` (see the module's docstring)."""

    def __init__(self, students: int = 3, prefix: str = "scoreaug", port: int = 8000, hub_dir=None,
                 store_from=None, course=None, mem_gb: float = 3.0, cpus: float = 1.0, cull_minutes: float = 60,
                 say=print):
        if not mem_gb > 0 or not cpus > 0 or not cull_minutes > 0:
            raise ValueError("--mem, --cpus and --cull-minutes must be positive")
        self.students, self.prefix, self.port = int(students), prefix, int(port)
        self.hub_dir = Path(hub_dir or f"/srv/scoreaug-hub-{prefix}")
        self.store_from, self.course_from = store_from, course_root(course)
        self.mem_bytes, self.cpus, self.cull_seconds = int(mem_gb * GIB), float(cpus), int(cull_minutes * 60)
        self.say = say
        self.password, self.admin_password = secrets.token_urlsafe(9), secrets.token_urlsafe(24)
        self.token = secrets.token_hex(24)
        self.accounts: ClassAccounts | None = None
        self.process: subprocess.Popen | None = None
        self.limits = UserLimits(f"scoreaug-hub-{prefix}", self.mem_bytes, self.cpus)

    # --- paths -----------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Path:
        return self.hub_dir / "store"

    @property
    def exchange(self) -> Path:
        return self.hub_dir / "exchange"

    @property
    def course(self) -> Path:
        return self.accounts.instructor.home / "course"

    # --- start and stop --------------------------------------------------------------------------------------
    def __enter__(self) -> "ClassHub":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if self.hub_dir.exists():
            raise ValueError(f"{self.hub_dir} exists: another class runs there (or `course hub --remove` cleans it)")
        self.accounts = ClassAccounts(self.prefix, self.students).__enter__()
        try:
            self._set_up()
            self._launch()
        except BaseException:
            self.stop()
            raise

    def _set_up(self) -> None:
        self.hub_dir.mkdir(parents=True, mode=0o755)
        os.chmod(self.hub_dir, 0o755)
        self.say(f"building the students' environment in {self.hub_dir / 'env'} ...")
        self.env = build_student_env(self.hub_dir / "env")
        self._fill_store()
        self.exchange.mkdir(mode=0o777)
        os.chmod(self.exchange, 0o777)                   # what nbgrader's release asks of its root
        self._give(self.accounts.instructor, copy_course(self.course_from, self.course))
        self._write_jupyter_config()
        for student in self.accounts.students:
            self._give(student, self._copy_walkthrough(student.home / "walkthrough"))
        for account in [self.accounts.instructor, *self.accounts.students]:
            self._give(account, _write_lab_settings(account.home))

    def _write_jupyter_config(self) -> None:
        """jupyter-config/students: the exchange, and nbgrader's instructor tools switched off (Formgrader, Create
        Assignment, the course list); jupyter-config/instructor: the exchange and the course, with its own config."""
        common = f"c.CourseDirectory.course_id = 'scoreaug_lab'\nc.Exchange.root = {str(self.exchange)!r}\n"
        students, instructor = self.config_dir("students"), self.config_dir("instructor")
        (students / "labconfig").mkdir(parents=True)
        (students / "nbgrader_config.py").write_text(f"c = get_config()\n{common}")
        off = ["formgrader", "create-assignment", "course-list"]
        (students / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {f"@jupyter/nbgrader:{name}": True for name in off}}))
        (students / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
            "nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.course_list": False}}}))
        (instructor / "nbgrader_config.py").write_text(
            f"c = get_config()\nload_subconfig({str(self.course / 'nbgrader_config.py')!r})\n"
            f"c.CourseDirectory.root = {str(self.course)!r}\n{common}")
        for folder in (students, instructor, *students.rglob("*"), *instructor.rglob("*")):
            folder.chmod(0o755 if folder.is_dir() else 0o644)

    def config_dir(self, who: str) -> Path:
        folder = self.hub_dir / "jupyter-config" / who
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _fill_store(self) -> None:
        if self.store_from is not None:
            source = Path(self.store_from)
            if not source.is_dir():
                raise ValueError(f"--store {source} is not a folder (a run store filled by `scoreaug-lab prepare`)")
            shutil.copytree(source, self.store, ignore=shutil.ignore_patterns(".lock", "*.tmp"))
        sharing.share_store(self.store, self.accounts.gid, self.accounts.instructor.uid)

    @staticmethod
    def _copy_walkthrough(dest: Path) -> Path:
        dest.mkdir(parents=True)
        for notebook in sorted((project_root() / "notebooks").glob("*.ipynb")):
            shutil.copy2(notebook, dest / notebook.name)
        return dest

    @staticmethod
    def _give(account, folder: Path) -> None:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, account.uid, account.gid)

    def environment(self, account=None) -> dict:
        """What every server (and the instructor's commands) run with."""
        who = "instructor" if account == self.accounts.instructor else "students"
        env = {"SCOREAUG_RUNS": str(self.store), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PATH": f"{self.env.root / 'bin'}:/usr/local/bin:/usr/bin:/bin",   # scoreaug-lab, nbgrader, jupyter
               **self.env.variables, "JUPYTER_CONFIG_PATH": self.config_path(who)}
        env.update({k: os.environ[k] for k in ("SCOREAUG_SIZE",) if k in os.environ})
        if account is not None:
            env.update(HOME=str(account.home), USER=account.name, LOGNAME=account.name)
            if account == self.accounts.instructor:
                env.update(SCOREAUG_EXCHANGE=str(self.exchange), SCOREAUG_COURSE=str(self.course))
        return env

    def config_path(self, who: str) -> str:
        return f"{self.hub_dir / 'jupyter-config' / who}:{self.env.variables['JUPYTER_CONFIG_PATH']}"

    def _settings(self) -> dict:
        return {"ip": "127.0.0.1", "port": self.port, "hub_port": free_port(), "proxy_api_port": free_port(),
                "hub_dir": str(self.hub_dir), "password": self.password, "admin_password": self.admin_password,
                "students": [a.name for a in self.accounts.students], "instructor": self.accounts.instructor.name,
                "python": str(self.env.python), "mem_limit": self.mem_bytes, "cpu_limit": self.cpus,
                "cgroup_scope": self.limits.scope, "environment": self.environment(),
                "cull_seconds": self.cull_seconds, "service_token": self.token,
                "config_path": {"instructor": self.config_path("instructor"), "students": self.config_path("students")},
                "instructor_environment": {"SCOREAUG_EXCHANGE": str(self.exchange), "SCOREAUG_COURSE": str(self.course)}}

    def _launch(self) -> None:
        settings = self.hub_dir / "settings.json"
        settings.touch(mode=0o600)
        settings.write_text(json.dumps(self._settings(), indent=1))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "SCOREAUG"))}
        env["SCOREAUG_HUB_SETTINGS"] = str(settings)
        hub = Path(sys.executable).parent / "jupyterhub"
        log = open(self.hub_dir / "hub.log", "ab")
        self.process = subprocess.Popen([str(hub), "-f", str(project_root() / "hub" / "jupyterhub_config.py")],
                                        cwd=self.hub_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OSError(f"the hub exited with {self.process.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise OSError(f"the hub did not answer on {self.url} within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        path = self.hub_dir / "hub.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""

    def stop(self) -> None:
        """Stop the hub and its proxy by PID, kill the class's processes, remove accounts, limits and hub_dir."""
        if self.process is not None and self.process.poll() is None:
            _stop_group(self.process)
        proxy = self.hub_dir / "jupyterhub-proxy.pid"
        if proxy.is_file():
            _stop_pid(int(proxy.read_text().strip() or 0))
        if self.accounts is not None:
            self.accounts.remove()
        self.limits.remove()
        shutil.rmtree(self.hub_dir, ignore_errors=True)

    # --- during the class ------------------------------------------------------------------------------------
    def seal_store(self) -> list[Path]:
        """Hand the runs students finished to the instructor, read-only to the class (run every few seconds)."""
        return sharing.seal_store(self.store, finished_run, self.accounts.instructor.uid, self.accounts.gid)

    def run_as(self, account, argv, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
        """A command as one of the class's users, with the environment their server has."""
        kwargs.setdefault("cwd", account.home)
        return subprocess.run([shutil.which("runuser") or "/usr/sbin/runuser", "-u", account.name, "--", *map(str, argv)], env=self.environment(account),
                              capture_output=True, text=True, timeout=timeout, **kwargs)

    def banner(self) -> str:
        names = [a.name for a in self.accounts.students]
        return "\n".join([f"JupyterHub for the class: {self.url}",
                          f"  instructor: {self.accounts.instructor.name}  password: {self.admin_password}",
                          f"  students:   {', '.join(names)}  password: {self.password}",
                          f"  run store:  {self.store} (shared, read-only once a run is finished)",
                          f"  exchange:   {self.exchange}    course: {self.course}",
                          f"  limits:     {self.mem_bytes / GIB:.1f} GiB and {self.cpus:g} CPU per student "
                          f"({'cgroups' if self.limits.available else 'advisory only: no cgroups here'}); idle "
                          f"servers culled after {self.cull_seconds // 60} min"])


LAB_SETTINGS = {   # JupyterLab settings of every account: a slow kernel start must not stop a class at a dialog
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


def _write_lab_settings(home: Path) -> Path:
    """~/.jupyter/lab/user-settings: start the notebook's kernel without asking "Select Kernel", no news prompt."""
    root = home / ".jupyter"
    for name, values in LAB_SETTINGS.items():
        path = root / "lab" / "user-settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return root


def remove_hub(prefix: str) -> None:
    """What a hub of `prefix` left after a crash: its users' processes, the users, the group, its folder, cgroups."""
    from .hub_users import remove_accounts

    names = [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(f"{prefix}-")]
    remove_accounts(names, f"{prefix}-class")
    UserLimits(f"scoreaug-hub-{prefix}", 0, 0).remove()
    shutil.rmtree(f"/srv/scoreaug-hub-{prefix}", ignore_errors=True)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's group, SIGKILL if it is still there after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
            process.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _stop_pid(pid: int) -> None:
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


__all__ = ["ClassHub", "finished_run", "free_port", "remove_hub"]
