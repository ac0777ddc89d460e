"""The result folder swap never loses both the old and the new folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from siteopt.io import write
from siteopt.io.write import atomic_dir


def _old(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "summary.json").write_text("old")
    return target


@pytest.mark.parametrize("error", [OSError("disk gone"), KeyboardInterrupt()])
def test_failure_between_the_two_renames_keeps_the_old_folder(tmp_path, monkeypatch, error):
    target = _old(tmp_path)
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new folder into place: a signal or an error lands here
            raise error
        return real(src, dst)

    monkeypatch.setattr(write.os, "replace", flaky)
    with pytest.raises(type(error)), atomic_dir(target) as tmp:
        (tmp / "summary.json").write_text("new")
    monkeypatch.setattr(write.os, "replace", real)
    assert (target / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_signal_right_after_the_old_folder_moves_away_puts_it_back(tmp_path, monkeypatch):
    """Ctrl-C while the parent folder is synced after the first rename: the old folder
    comes back at once, not only at the next run."""
    target = _old(tmp_path)
    real = write._fsync_dir

    def interrupted(path):
        real(path)
        if path == tmp_path and not target.exists():  # the old folder is the backup now
            raise KeyboardInterrupt

    monkeypatch.setattr(write, "_fsync_dir", interrupted)
    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "summary.json").write_text("new")
    assert (target / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_swap_replaces_and_leaves_no_backup(tmp_path):
    target = _old(tmp_path)
    with atomic_dir(target) as tmp:
        (tmp / "summary.json").write_text("new")
    assert (target / "summary.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_files_and_folders_are_fsynced(tmp_path, monkeypatch):
    target = _old(tmp_path)
    synced = []
    real = os.fsync
    monkeypatch.setattr(write.os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    with atomic_dir(target) as tmp:
        (tmp / "summary.json").write_text("new")
    assert len(synced) >= 3  # the file, the new folder, the parent after the renames


def test_backup_of_a_killed_swap_is_restored_by_the_next_run(tmp_path):
    # a process killed (SIGKILL) after renaming the old folder away, before the new one
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    backup = tmp_path / f".out.old-{dead}-abcd"
    backup.mkdir()
    (backup / "summary.json").write_text("old")
    write.remove_stale_temporaries(tmp_path / "out")
    assert (tmp_path / "out" / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
