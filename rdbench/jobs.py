"""What a workflow job does first (the shims in workflow/scripts/ call :func:`start`).

A job is a child process of Snakemake. When Snakemake is killed outright (``kill -9``, the OOM
killer) its children would run on as orphans, still writing into ``work/`` and ``results/`` while
the rerun starts the same jobs again. On Linux a job therefore asks the kernel for SIGTERM when its
parent dies, and turns SIGTERM into a normal exit, so ``finally`` blocks remove their temp files.
Elsewhere (macOS has no such request) kill the whole process group instead: ``kill -9 -PGID``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def start(log_path: str) -> None:
    """Send stderr and logging to the job's log file; end the job with its parent."""
    sys.stderr = open(log_path, "w")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    end_with_parent()


def end_with_parent() -> None:
    """Exit (SystemExit, 143) on SIGTERM, and have Linux send SIGTERM when the parent process dies."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if parent == 1 or os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)
