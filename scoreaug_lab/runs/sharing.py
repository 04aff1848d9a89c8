"""A run store shared by a class: who may read, lock, resume and delete which run, set here rather than left to umask.

A store is *shared* when its folder has the set-group-ID bit (what `share_store` sets up, e.g. for a JupyterHub class:
owned by the instructor, group = the class, mode 3775 = setgid + sticky + rwx for the group). Inside it:

    a run being trained     folder 2775, files 0664: any class member can lock it and resume it (a kernel the hub
                            culled releases its OS lock when it dies; the next student to ask carries on)
    a finished run          folder 2755, files 0644: everyone reads it, nobody but its owner writes it (`seal`)
    the store folder        sticky: nobody deletes or renames a run folder another user made

Outside a shared store nothing changes except that files are created with the usual umask-derived mode (0644 for
umask 022) instead of tempfile's 0600, so that a store copied to or read by another account stays readable.
`seal_store` (run as root by `scoreaug-lab course hub`) hands every finished run to the store's owner, which also
closes the one gap left: a run one student started and another finished.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

TRAINING_DIR, TRAINING_FILE = 0o2775, 0o664
SEALED_DIR, SEALED_FILE = 0o2755, 0o644
STORE_DIR = 0o3775


def is_shared(folder) -> bool:
    """Whether `folder` (a store, a run folder or its samples/) belongs to a shared store: it has the setgid bit."""
    try:
        return bool(os.stat(folder).st_mode & stat.S_ISGID)
    except OSError:
        return False


def umask() -> int:
    """This process's umask, read without changing it (Linux /proc; 022 where that is not available)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def new_file_mode(folder) -> int:
    """The mode of a file created in `folder`: group-writable in a shared store, else 0666 less the umask."""
    return TRAINING_FILE if is_shared(folder) else 0o666 & ~umask()


def set_new_file_mode(fd: int, folder) -> None:
    """Give a file that tempfile.mkstemp created (mode 0600) the mode `new_file_mode` asks for."""
    os.fchmod(fd, new_file_mode(folder))


def open_for_training(folder) -> None:
    """A run folder about to be written: in a shared store the class may lock and resume it (2775)."""
    if is_shared(folder) and _mine(folder):
        os.chmod(folder, TRAINING_DIR)


def share_training_file(path) -> None:
    """A run folder's lock file or metric log (opened with the umask's mode): writable by the class (0664) in a
    shared store, so that whoever resumes the run can lock it and append to it."""
    if is_shared(Path(path).parent) and _mine(path):
        os.chmod(path, TRAINING_FILE)


def seal(folder) -> None:
    """A finished run in a shared store: what this user owns becomes read-only for everyone else (2755 / 0644)."""
    folder = Path(folder)
    if not is_shared(folder):
        return
    for path in [folder, *folder.rglob("*")]:
        if _mine(path) and not path.is_symlink():
            os.chmod(path, SEALED_DIR if path.is_dir() else SEALED_FILE)


def share_store(root, gid: int, uid: int | None = None) -> Path:
    """Make `root` a class store (as root or its owner): group `gid`, mode 3775; runs already in it are sealed."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, -1 if uid is None else uid, gid)
    os.chmod(root, STORE_DIR)
    for path in root.rglob("*"):
        if not path.is_symlink():
            os.chown(path, -1 if uid is None else uid, gid)
            os.chmod(path, SEALED_DIR if path.is_dir() else SEALED_FILE)
    return root


def seal_store(root, finished, uid: int, gid: int) -> list[Path]:
    """Hand every finished run folder of a shared store to `uid`:`gid` and seal it (run as root). `finished(folder)`
    says whether a run folder is finished. Returns the folders changed."""
    changed = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        entries = [folder, *folder.rglob("*")]
        if all(_owned(p, uid, gid) and not _group_writable(p) for p in entries) or not finished(folder):
            continue
        for path in entries:
            if not path.is_symlink():
                os.chown(path, uid, gid)
                os.chmod(path, SEALED_DIR if path.is_dir() else SEALED_FILE)
        changed.append(folder)
    return changed


def _mine(path) -> bool:
    try:
        return os.stat(path).st_uid == os.geteuid()
    except OSError:
        return False


def _owned(path, uid: int, gid: int) -> bool:
    info = os.lstat(path)
    return info.st_uid == uid and info.st_gid == gid


def _group_writable(path) -> bool:
    return bool(os.lstat(path).st_mode & stat.S_IWGRP)


__all__ = ["is_shared", "new_file_mode", "set_new_file_mode", "open_for_training", "share_training_file", "seal",
           "share_store", "seal_store", "umask"]
