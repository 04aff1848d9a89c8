"""sandbox.py: what a graded notebook can and cannot reach. Each test runs a small command in bubblewrap as a
hostile submission would, and checks what it saw and what it could do.

Skipped, with the reason, where bwrap cannot run; SCOREAUG_REQUIRE_SANDBOX=1 (CI) turns that skip into a failure.
"""
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from scoreaug_lab.course import sandbox as S
from scoreaug_lab.course.execution import sandbox_env

pytestmark = pytest.mark.sandbox


@pytest.fixture(autouse=True)
def _bwrap(sandbox):
    """Every test here needs the sandbox (conftest.py: skip or fail)."""


def python(code: str, limits: S.Limits = S.Limits(wall_seconds=60), stdin: bytes = b"") -> S.Finished:
    return S.run([sys.executable, "-c", textwrap.dedent(code)], stdin, limits, sandbox_env())


def test_it_runs_as_an_unprivileged_user_without_capabilities():
    done = python("""
        import os
        status = open("/proc/self/status").read()
        caps = [l.split()[1] for l in status.splitlines() if l.startswith(("CapEff", "CapPrm", "CapBnd"))]
        print(os.getuid(), os.geteuid(), caps, "NoNewPrivs:\\t1" in status)
    """)
    assert done.returncode == 0, done.stderr
    line = done.stdout.decode()
    assert not line.startswith("0 ") and "'0000000000000000', '0000000000000000', '0000000000000000'" in line
    assert line.strip().endswith("True")


def test_only_the_python_environment_is_visible_and_only_tmp_is_writable(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "gradebook.db").write_text("grades")
    done = python(f"""
        import os, pathlib
        seen = [p for p in ({str(course)!r}, {str(course / "gradebook.db")!r}, os.path.expanduser("~root"),
                            "/etc/shadow", "/home", "/var", "/srv") if os.path.exists(p)]
        writable = []
        for folder in ("/usr", "/etc", {os.path.dirname(sys.executable)!r}, "/", "/tmp"):
            try:
                open(os.path.join(folder, "probe"), "w").write("x")
                writable.append(folder)
            except OSError:
                pass
        print(seen, writable, sorted(os.listdir("/")))
    """)
    assert done.returncode == 0, done.stderr
    seen, writable, _ = done.stdout.decode().strip().split("] ")
    assert seen == "[" and writable == "['/tmp'", done.stdout               # nothing seen, /tmp alone writable


def test_a_read_only_root_below_tmp_stays_visible_over_the_private_tmp(tmp_path):
    """A checkout or environment in /tmp (CI's clone, a student's venv) is bound over the sandbox's own /tmp."""
    env = tmp_path / "env"
    env.mkdir()
    (env / "module.py").write_text("VALUE = 42\n")
    done = S.run([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(env)!r})
        import module
        try:
            open({str(env / "probe")!r}, "w")
            writable = True
        except OSError:
            writable = False
        print(module.VALUE, writable)
    """)], b"", S.Limits(wall_seconds=60), sandbox_env(), extra_read_only=[env])
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == ["42", "False"]


def test_there_is_no_network_not_even_the_hosts_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        done = python(f"""
            import socket
            for host in ("127.0.0.1", "1.1.1.1"):
                try:
                    socket.create_connection((host, {port}), timeout=3)
                    print(host, "reached")
                except OSError as err:
                    print(host, "refused")
        """)
    finally:
        server.close()
    assert done.stdout.decode().split() == ["127.0.0.1", "refused", "1.1.1.1", "refused"], done.stdout


def test_other_processes_are_invisible_and_out_of_reach():
    done = python(f"""
        import os, signal
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        try:
            os.kill({os.getpid()}, signal.SIGTERM)
            print(pids, "signalled")
        except OSError:
            print(pids, "refused")
    """)
    assert done.returncode == 0, done.stderr
    pids, verdict = done.stdout.decode().rsplit(" ", 1)
    assert verdict.strip() == "refused" and max(eval(pids)) < 100        # its own PID namespace


def test_memory_beyond_the_limit_is_refused():
    done = python("""
        import mmap
        try:
            block = bytearray(int(2.7 * 2**30))
            print("allocated")
        except MemoryError:
            print("refused")
        try:
            shared = mmap.mmap(-1, 10 * 2**30)
            print("mapped")
        except OSError:
            print("refused")
    """, S.Limits(memory_mb=2048, address_space_mb=8192, wall_seconds=60))
    assert done.stdout.decode().split() == ["refused", "refused"], done.stdout + done.stderr.encode()


def test_processes_are_limited():
    done = python("""
        import subprocess
        started = 0
        try:
            for _ in range(200):
                subprocess.Popen(["sleep", "30"])
                started += 1
        except OSError:
            pass
        print(started)
    """, S.Limits(processes=40, wall_seconds=60))
    assert 0 < int(done.stdout.decode()) < 40, done.stdout


def test_the_wall_clock_limit_ends_everything_including_detached_processes():
    done = python("""
        import subprocess, time
        subprocess.Popen(["sleep", "300"], start_new_session=True)
        subprocess.Popen(["sh", "-c", "(setsid sleep 301 &)"])
        time.sleep(300)
    """, S.Limits(wall_seconds=3))
    assert done.timed_out and done.seconds < 20
    if os.geteuid() == 0:                                                  # the sandbox's own uid
        left = subprocess.run(["ps", "-u", str(S._sandbox_uid()), "-o", "pid="], capture_output=True, text=True)
        assert left.stdout.strip() == ""


def test_a_process_left_running_dies_with_the_sandbox():
    done = python("""
        import subprocess
        subprocess.Popen(["sh", "-c", "(setsid sleep 302 &)"])
        print("done")
    """)
    assert done.returncode == 0 and not done.timed_out
    assert "sleep 302" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_output_and_tmp_are_capped():
    flood = python("import sys\nsys.stdout.write('x' * (3 * 2**20))", S.Limits(output_mb=1, wall_seconds=60))
    assert flood.overflowed and len(flood.stdout) == 2**20
    full = python("""
        try:
            open("/tmp/big", "wb").write(b"x" * (80 * 2**20))
            print("written")
        except OSError as err:
            print("refused")
    """, S.Limits(tmp_mb=32, wall_seconds=60))
    assert full.stdout.decode().strip() == "refused"


def test_stdin_goes_in_and_the_environment_is_only_what_is_given():
    os.environ["SCOREAUG_SECRET_FOR_TEST"] = "do-not-leak"
    try:
        done = python("import os, sys\nprint(len(sys.stdin.read()), 'SCOREAUG_SECRET_FOR_TEST' in os.environ)",
                      stdin=b"y" * 300_000)
    finally:
        del os.environ["SCOREAUG_SECRET_FOR_TEST"]
    assert done.stdout.decode().split() == ["300000", "False"]


def test_without_bwrap_the_reason_says_what_to_install(monkeypatch):
    S.unavailable_reason.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        reason = S.unavailable_reason()
        with pytest.raises(S.SandboxUnavailable, match="bubblewrap"):
            S.run(["true"], b"", S.Limits(), {})
    finally:
        S.unavailable_reason.cache_clear()
    assert "apt-get install bubblewrap" in reason
