"""Run a command in a bubblewrap (`bwrap`) sandbox: where a student's notebook is executed for grading.

What the sandboxed command sees: the system's /usr and the Python environment that runs the grader, read-only;
an empty, size-limited /tmp (and /dev/shm) as its only writable place; its own PID, network, IPC and UTS namespaces (no network,
no other processes). Nothing else: not the course folder (solutions, hidden checks, the gradebook, other students'
submissions), not the instructor's home. Run as root, it becomes an unprivileged uid (65534, or
$SCOREAUG_SANDBOX_UID) with no capabilities; run as another user, it keeps that uid inside a user namespace.
Limits (setrlimit): private memory and address space, CPU seconds, processes, file size; a wall-clock limit kills
it; /tmp and /dev/shm are size-limited. Every process
it starts dies with it: the PID namespace ends when its first process ends. Input goes in on stdin and the result
comes back on stdout, capped, so no file of the host is ever writable from inside.

    reason = unavailable_reason()          # None where bwrap works here, else one line saying why
    done = run(argv, stdin_bytes, Limits(), env)
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import site
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SANDBOX_HOME = "/tmp/home"
NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use (defaults sized for one notebook of the course on a laptop)."""

    memory_mb: int = 3072          # private memory (heap, tensors: RLIMIT_DATA) of each process
    address_space_mb: int = 8192   # all its mappings (torch's libraries alone map about 3 GB): shared memory too
    cpu_seconds: int = 900         # CPU time of each process
    wall_seconds: float = 1200     # the whole run, then everything in it is killed
    processes: int = 512           # processes and threads of the sandbox's uid
    file_mb: int = 256             # the largest file it may write
    tmp_mb: int = 512              # its writable /tmp
    output_mb: int = 64            # what it may send back on stdout


@dataclass
class Finished:
    returncode: int | None
    stdout: bytes
    stderr: str
    seconds: float
    timed_out: bool = False
    overflowed: bool = False       # stdout passed Limits.output_mb and the run was stopped

    def problem(self) -> str | None:
        """One line when the run did not finish normally, else None."""
        if self.timed_out:
            return f"stopped after the wall-clock limit ({self.seconds:.0f} s)"
        if self.overflowed:
            return "stopped: it sent back more than the output limit"
        if self.returncode != 0:
            tail = self.stderr.strip().splitlines()[-1:] or [""]
            return f"exited with code {self.returncode} {tail[0][:300]}".strip()
        return None


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create its namespaces here."""


def _sandbox_uid() -> int:
    value = os.environ.get("SCOREAUG_SANDBOX_UID", str(NOBODY))
    if not value.isdigit() or int(value) == 0:
        raise ValueError(f"SCOREAUG_SANDBOX_UID must be a non-zero number, got {value!r}")
    return int(value)


def _read_only_roots(extra=()) -> list[Path]:
    """The host folders the sandbox sees read-only: /usr, the interpreter, the environment, this package."""
    package = Path(__file__).resolve().parents[1]            # scoreaug_lab/, maybe an editable checkout's
    wanted = [Path("/usr"), Path(sys.base_prefix), Path(sys.prefix), package.parent / package.name]
    wanted += [Path(p) for p in site.getsitepackages()] + _linked_site_packages() + [Path(p) for p in extra]
    roots = []
    for path in sorted({p.resolve() for p in wanted if p.exists()}, key=lambda p: len(p.parts)):
        if not any(path == r or r in path.parents for r in roots):
            roots.append(path)
    return roots


def _linked_site_packages() -> list[Path]:
    """site-packages folders that a .pth file of this environment adds (a hub's student environment reuses the
    project environment's libraries this way); only such folders, never a checkout a .pth may name."""
    found = []
    for site_dir in site.getsitepackages():
        for pth in Path(site_dir).glob("*.pth"):
            for line in pth.read_text(errors="replace").splitlines():
                path = Path(line.strip())
                if path.is_absolute() and path.name in ("site-packages", "dist-packages") and path.is_dir():
                    found.append(path)
    return found


def _directories_for(targets) -> list[str]:
    """--dir arguments (mode 0755) for every folder above a mount point, parents first."""
    made, args = set(), []
    for target in targets:
        for parent in reversed(Path(target).parents):
            if str(parent) != "/" and parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _system_links() -> list[str]:
    """/bin, /lib, /lib64, /sbin: the same symlinks into /usr as on the host (merged /usr), or bound read-only."""
    args = []
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def sandbox_command(argv, limits: Limits, env: dict, passwd_fd: int | None = None, extra_read_only=()) -> list:
    """The bwrap command line that runs `argv` in the sandbox with the environment `env` (nothing else is kept)."""
    roots = _read_only_roots(extra_read_only)
    as_root = os.geteuid() == 0
    command = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session"]
    if as_root:    # root: no user namespace; keep only what setpriv needs to drop to the unprivileged uid
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:          # a user: its own uid in a user namespace, no nested namespaces
        command += ["--unshare-user", "--disable-userns"]
    # the scratch file systems first, so that a read-only root below /tmp (a checkout in /tmp) is bound on top
    command += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "01777", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp",
                "--perms", "01777", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/dev/shm"]
    command += _directories_for([r for r in roots if r != Path("/usr")])
    for root in roots:
        command += ["--ro-bind", str(root), str(root)]
    command += _system_links()
    command += ["--perms", "0755", "--dir", "/etc", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--ro-bind-try", "/etc/localtime", "/etc/localtime", "--ro-bind-try", "/etc/fonts", "/etc/fonts"]
    if passwd_fd is not None:
        command += ["--perms", "0644", "--ro-bind-data", str(passwd_fd), "/etc/passwd"]
    command += ["--clearenv", "--chdir", "/tmp"]
    for key, value in env.items():
        command += ["--setenv", key, str(value)]
    if as_root:
        uid = _sandbox_uid()
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                    "--inh-caps=-all", "--bounding-set=-all", "--"]
    return command + [str(a) for a in argv]


def _limit(limits: Limits):
    """Applied in the child before it runs bwrap; inherited by everything inside."""
    def apply():
        pairs = [(resource.RLIMIT_DATA, limits.memory_mb * 2**20), (resource.RLIMIT_AS, limits.address_space_mb * 2**20),
                 (resource.RLIMIT_CPU, limits.cpu_seconds),
                 (resource.RLIMIT_NPROC, limits.processes), (resource.RLIMIT_FSIZE, limits.file_mb * 2**20),
                 (resource.RLIMIT_CORE, 0)]
        for kind, value in pairs:
            resource.setrlimit(kind, (value, value))
    return apply


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when a sandboxed `true` runs here; else one line: what is missing and how to get it."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap (bwrap) is not installed: install it from your distribution (Debian/Ubuntu: "
                "apt-get install bubblewrap; Fedora: dnf install bubblewrap)")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is needed to drop root's rights inside the sandbox"
    done = run(["true"], b"", Limits(wall_seconds=30), {"PATH": "/usr/bin:/bin"}, check_available=False)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        return f"bwrap cannot create its sandbox here ({first}); unprivileged user namespaces may be disabled"
    return None


def _pump(stream, sink: bytearray, cap: int, over: threading.Event):
    while chunk := stream.read(65536):
        if len(sink) + len(chunk) > cap:
            over.set()
            sink.extend(chunk[: max(0, cap - len(sink))])
            return
        sink.extend(chunk)


def _feed(stream, data: bytes):
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, ValueError):       # the command ended without reading all of it
        pass


def _passwd_line() -> bytes:
    uid = _sandbox_uid() if os.geteuid() == 0 else os.getuid()
    return f"student:x:{uid}:{uid}:student:{SANDBOX_HOME}:/bin/sh\n".encode()


def run(argv, stdin: bytes, limits: Limits, env: dict, sandboxed: bool = True, extra_read_only=(),
        check_available: bool = True) -> Finished:
    """Run `argv` (sandboxed, or plainly in a temporary folder when `sandboxed` is False) with `stdin` as its
    input; its stdout (up to the limit), stderr (the last 64 kB) and how it ended."""
    if sandboxed and check_available and (reason := unavailable_reason()):
        raise SandboxUnavailable(reason)
    with tempfile.TemporaryDirectory(prefix="scoreaug-grading-") as scratch:
        read_fd = None
        if sandboxed:
            read_fd, write_fd = os.pipe()
            os.write(write_fd, _passwd_line())
            os.close(write_fd)
            command = sandbox_command(argv, limits, env, read_fd, extra_read_only)
            cwd, child_env = "/", {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:
            home = Path(scratch) / "home"
            home.mkdir()
            command, cwd = [str(a) for a in argv], scratch
            child_env = {**env, "HOME": str(home), "TMPDIR": scratch}
        try:
            return _supervise(command, stdin, limits, cwd, child_env, () if read_fd is None else (read_fd,))
        finally:
            if read_fd is not None:
                os.close(read_fd)


def _supervise(command, stdin: bytes, limits: Limits, cwd, env, pass_fds) -> Finished:
    start = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=cwd, env=env, pass_fds=pass_fds, preexec_fn=_limit(limits),
                               start_new_session=True)
    out, err, over = bytearray(), bytearray(), threading.Event()
    threads = [threading.Thread(target=_pump, args=(process.stdout, out, limits.output_mb * 2**20, over)),
               threading.Thread(target=_pump, args=(process.stderr, err, 2**20, threading.Event())),
               threading.Thread(target=_feed, args=(process.stdin, stdin))]
    for thread in threads:
        thread.start()
    timed_out = False
    while process.poll() is None:
        if over.is_set() or time.monotonic() - start > limits.wall_seconds:
            timed_out = not over.is_set()
            _kill(process)
            break
        time.sleep(0.05)
    process.wait()
    for thread in threads:
        thread.join()
    return Finished(process.returncode, bytes(out), err[-65536:].decode("utf-8", "replace"),
                    time.monotonic() - start, timed_out, over.is_set())


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL to the whole process group (bwrap, or the unsandboxed command and its children)."""
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass


__all__ = ["Finished", "Limits", "SandboxUnavailable", "run", "sandbox_command", "unavailable_reason"]
