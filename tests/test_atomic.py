"""Atomic writes: all or nothing, and the mode a plain open() would give."""

import stat

import pytest

from rdbench import atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "cell.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["cell.json"]


def test_new_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    path = tmp_path / "sub" / "rd.csv"
    atomic.write_text(path, "a,b\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n")
    assert path.read_text() == "a,b\n"
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
