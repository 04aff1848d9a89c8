"""The students' Python environment on a hub: the toolkit installed from a wheel (the package only: no notebooks, no
course, no path back to the checkout), the project environment's libraries reused rather than downloaded again.

    env = build_student_env(hub_dir / "env")    # venv + the wheel + a .pth naming the project's site-packages
    env.python, env.variables                    # what the spawner runs, and the Jupyter paths it needs

The interpreter must be one the students can execute: the one running this, or a system python of the same version
when this one lives where they cannot go (pyenv under /root, for instance).
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..paths import project_root


@dataclass(frozen=True)
class StudentEnv:
    root: Path
    python: Path
    variables: dict          # JUPYTER* paths: the lab's assets, extensions and server config of the project env


def reachable_by_others(path) -> bool:
    """Whether a user outside root's group can reach `path`: every folder above it searchable by others, the file
    itself readable (and executable, for a program) by others."""
    path = Path(path).resolve()
    for folder in path.parents:
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    need = stat.S_IROTH | (stat.S_IXOTH if os.access(path, os.X_OK) else 0)
    return os.stat(path).st_mode & need == need


def student_python() -> Path:
    """An interpreter of this Python version that every user can run (and whose libraries they can read)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(sys._base_executable), Path(f"/usr/bin/python{version}"), Path(f"/usr/local/bin/python{version}")]
    for candidate in candidates:
        if candidate.is_file() and reachable_by_others(candidate) and _libraries_reachable(candidate):
            return candidate
    raise OSError(f"no python{version} that the students can run: {sys._base_executable} is inside a private folder; "
                  f"install one for everyone (e.g. apt-get install python{version}-venv)")


def _libraries_reachable(python: Path) -> bool:
    done = subprocess.run([str(python), "-c", "import os, sys; print(os.path.dirname(os.__file__))"],
                          capture_output=True, text=True)
    return done.returncode == 0 and reachable_by_others(Path(done.stdout.strip()) / "os.py")


def build_wheel(dest) -> Path:
    """The toolkit's wheel, built from the checkout without network (setuptools of this environment)."""
    project = project_root()
    if project is None:
        raise OSError("the student environment is built from a source checkout of scoreaug_lab")
    with tempfile.TemporaryDirectory() as build:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", build,
                        str(project)], check=True, capture_output=True, cwd=build)
        wheel = next(Path(build).glob("scoreaug_lab-*.whl"))
        return Path(shutil.copy(wheel, dest))


def build_student_env(root) -> StudentEnv:
    """A venv at `root` with the toolkit's wheel and the project environment's libraries on its path."""
    root = Path(root)
    deps = Path(sysconfig.get_paths()["purelib"])
    if not reachable_by_others(deps):
        raise OSError(f"the project environment ({deps}) is not readable by other users: put the checkout where "
                      "students can read it (e.g. /opt or /srv), or build the environment there")
    subprocess.run([str(student_python()), "-m", "venv", "--without-pip", str(root)], check=True, capture_output=True)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "scoreaug-lab-libraries.pth").write_text(f"{deps}\n")   # torch, jupyter, nbgrader, ...: not copied
    wheel = build_wheel(root)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, cwd=root)
    wheel.unlink()
    share = Path(sys.prefix) / "share" / "jupyter"
    variables = {"JUPYTERLAB_DIR": str(share / "lab"), "JUPYTER_PATH": str(share),
                 "JUPYTER_CONFIG_PATH": str(Path(sys.prefix) / "etc" / "jupyter")}
    return StudentEnv(root, python, variables)


__all__ = ["StudentEnv", "build_student_env", "build_wheel", "reachable_by_others", "student_python"]
