"""The students' Python environment on a hub: the toolkit installed from a wheel (the package only: no notebooks, no
course, no path back to the checkout), the project environment's libraries reused rather than downloaded again.

    env = build_student_env(hub_dir / "env")    # venv + the wheel + a .pth naming the project's site-packages
    env.python, env.variables                    # what the spawner runs, and the Jupyter paths it needs

The interpreter is the one running this (the same build the project environment was installed with), copied next to
the environment when it lives where students cannot go (pyenv under /root, for instance).
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


def student_python(dest) -> tuple[Path, dict]:
    """This very interpreter (same build: compiled packages and regex engines differ between patch releases), run by
    the students: where they can reach it, as it is; else (pyenv under /root, say) its standard library and binary
    copied to `dest` (hard links where the file system allows), with LD_LIBRARY_PATH naming its libpython."""
    base = Path(sys._base_executable).resolve()
    if reachable_by_others(base) and reachable_by_others(Path(os.__file__)):
        return base, {}
    prefix = Path(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    skip = shutil.ignore_patterns("site-packages", "test", "config-*", "__pycache__", "idlelib", "tkinter")
    link = _hard_link_or_copy
    shutil.copytree(prefix / "lib" / version, dest / "lib" / version, ignore=skip, copy_function=link)
    for library in prefix.joinpath("lib").glob("libpython*"):
        link(library, dest / "lib" / library.name)
    (dest / "bin").mkdir(parents=True)
    link(base, dest / "bin" / base.name)
    for folder in [dest, *dest.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o755)
    return dest / "bin" / base.name, {"LD_LIBRARY_PATH": str(dest / "lib")}


def reachable(folder: Path, copy: Path) -> Path:
    """`folder` where the students can read it; else a copy of it at `copy` (hard links where possible: seconds,
    no space) for a project environment inside a private folder."""
    if reachable_by_others(folder):
        return folder
    shutil.copytree(folder, copy, copy_function=_hard_link_or_copy, symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o755)
    return copy


def _hard_link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


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
    """A venv at `root`/venv with the toolkit's wheel and the project environment's libraries on its path (and the
    interpreter in `root`/interpreter when the students cannot run this one where it is)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    deps = reachable(Path(sysconfig.get_paths()["purelib"]), root / "libraries")
    share = reachable(Path(sys.prefix) / "share" / "jupyter", root / "share" / "jupyter")
    config = reachable(Path(sys.prefix) / "etc" / "jupyter", root / "etc" / "jupyter")
    interpreter, linker = student_python(root / "interpreter")
    subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(root / "venv")], check=True,
                   capture_output=True)
    root = root / "venv"
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "scoreaug-lab-libraries.pth").write_text(f"{deps}\n")   # torch, jupyter, nbgrader, ...: not copied
    wheel = build_wheel(root)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, cwd=root)
    wheel.unlink()
    _link_console_scripts(root / "bin")
    variables = {**linker, "JUPYTERLAB_DIR": str(share / "lab"), "JUPYTER_PATH": str(share),
                 "JUPYTER_CONFIG_PATH": str(config)}
    return StudentEnv(root, python, variables)


def _link_console_scripts(bin_dir: Path) -> None:
    """The project environment's console scripts (jupyter, nbgrader, alembic, ...) again in `bin_dir`, run by the
    student environment's python (so that they import the wheel's toolkit, never the checkout's)."""
    ours = Path(sys.prefix) / "bin"
    for script in sorted(ours.iterdir()):
        target = bin_dir / script.name
        if target.exists() or not script.is_file():
            continue
        with open(script, "rb") as f:
            first = f.readline()
        if first.startswith(b"#!") and first[2:].strip().startswith(str(ours).encode()) and b"python" in first:
            target.write_bytes(b"#!" + str(bin_dir / "python").encode() + b"\n" + script.read_bytes()[len(first):])
            target.chmod(0o755)


__all__ = ["StudentEnv", "build_student_env", "build_wheel", "reachable_by_others", "student_python"]
