"""Atomic file writes: write a temp file beside the target, then rename it over the target.

Readers (and a rerun after a kill) see either the old file or the whole new one, never half of one;
the temp file of a writer killed with SIGKILL stays, and :func:`remove_stale` clears it on the rerun.
The new file gets the mode a plain ``open(path, "w")`` would give (0666 less the umask), not the
0600 of :func:`tempfile.mkstemp`, so results and caches stay readable by the group.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path`; when the block succeeds it becomes `path`, else it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale(target: str | os.PathLike) -> None:
    """Remove the temp files a killed writer of `target` left beside it (a SIGKILL runs no cleanup).

    Call it where one job owns `target`; pass a folder to remove every temp file in it, for a job
    that owns the whole folder.
    """
    target = Path(target)
    folder, pattern = (target, ".*.tmp") if target.is_dir() else (target.parent, f".{target.name}.*.tmp")
    for stale in folder.glob(pattern):
        stale.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
