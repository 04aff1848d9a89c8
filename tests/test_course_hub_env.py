"""hub_env.py: what the students can reach, and copies of what they cannot (a project environment under /root)."""
import os
import stat

from scoreaug_lab.course.hub_env import reachable, reachable_by_others


def test_reachable_by_others_follows_every_folder_above(tmp_path):
    os.chmod(tmp_path, 0o755)
    (tmp_path / "open").mkdir(mode=0o755)
    (tmp_path / "open" / "f.py").write_text("x = 1\n")
    os.chmod(tmp_path / "open" / "f.py", 0o644)
    ancestors_open = all(os.stat(p).st_mode & stat.S_IXOTH for p in tmp_path.parents)
    assert reachable_by_others(tmp_path / "open" / "f.py") == ancestors_open
    os.chmod(tmp_path / "open", 0o700)
    assert not reachable_by_others(tmp_path / "open" / "f.py")
    os.chmod(tmp_path / "open" / "f.py", 0o600)
    assert not reachable_by_others(tmp_path / "open" / "f.py")


def test_a_private_folder_is_copied_where_others_can_read_it(tmp_path):
    private = tmp_path / "private"
    (private / "pkg" / "sub").mkdir(parents=True)
    (private / "pkg" / "sub" / "m.py").write_text("y = 2\n")
    os.chmod(private / "pkg" / "sub" / "m.py", 0o644)
    os.chmod(private, 0o700)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    copy = reachable(private, shared / "copy")
    assert copy == shared / "copy" and (copy / "pkg" / "sub" / "m.py").read_text() == "y = 2\n"
    assert all(os.stat(p).st_mode & 0o755 == 0o755 for p in [copy, *copy.rglob("*")] if p.is_dir())
    assert os.stat(copy / "pkg" / "sub" / "m.py").st_ino == os.stat(private / "pkg" / "sub" / "m.py").st_ino  # linked
    assert reachable(shared, tmp_path / "unused") == shared or not reachable_by_others(shared)
