"""Published reference curves by name: ``compressai:<dataset>/<file>.json`` in the config's ``published``.

CompressAI publishes the RD curves it measured (its ``results/image/<dataset>/*.json``). rdbench names
them ``compressai:kodak/bpg_444_x265_ycbcr.json`` and finds the file:

1. in ``$RDBENCH_REFERENCE/compressai/<dataset>/<file>`` when that variable is set (a local copy,
   e.g. on a machine without internet), else
2. in the cache (``$RDBENCH_CACHE/reference/compressai/...``), downloaded once from CompressAI's
   repository at the pinned commit below.

Files listed in ``PINNED`` are checked against their sha256 wherever they come from; other names are
accepted from a local copy only (nothing unpinned is downloaded). A plain path is used as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from rdbench import atomic
from rdbench.datasets import DatasetError, cache_dir, fetch_url, sha256_file

PREFIX = "compressai:"
COMPRESSAI_COMMIT = "3d3c9bbd92989b1cf19e122281161f7aac8ee769"
COMPRESSAI_URL = f"https://raw.githubusercontent.com/InterDigitalInc/CompressAI/{COMPRESSAI_COMMIT}/results/image/"
PINNED = {  # <dataset>/<file> -> sha256 of the file at COMPRESSAI_COMMIT
    "kodak/bpg_444_x265_ycbcr.json": "532fd0ad11e75971a7e8015386576aae9413197bbd02262406a57525280e1e8c",
    "kodak/vtm.json": "b09a8dd2b9ae98bfbf7c60a14c752ba6a925f4eba87490c41e6b36374b62ee01",
}


class ReferenceCurveError(DatasetError):
    """A named reference curve that cannot be found, fetched or verified."""


def is_named(spec: str) -> bool:
    return str(spec).startswith(PREFIX)


def resolve(spec: str | os.PathLike) -> Path:
    """The local file of a ``published`` entry: a named CompressAI curve (found or fetched), or a path."""
    if not is_named(str(spec)):
        return Path(spec)
    name = str(spec)[len(PREFIX):]
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise ReferenceCurveError(f"{spec}: name a file as compressai:<dataset>/<file>.json")
    local = os.environ.get("RDBENCH_REFERENCE")
    if local:
        path = Path(local) / "compressai" / name
        if not path.is_file():
            raise ReferenceCurveError(f"{spec}: no {path} (RDBENCH_REFERENCE={local}); unset RDBENCH_REFERENCE "
                                 f"to download the pinned files ({', '.join(sorted(PINNED))})")
    else:
        path = cache_dir() / "reference" / "compressai" / name
        if not path.is_file():
            if name not in PINNED:
                raise ReferenceCurveError(f"{spec}: rdbench downloads only the pinned curves ({', '.join(sorted(PINNED))}); "
                                     "for another one set RDBENCH_REFERENCE to a folder holding compressai/" + name)
            hint = "Offline? Set RDBENCH_REFERENCE to a folder with compressai/<dataset>/<file>.json"
            atomic.write_bytes(path, fetch_url(COMPRESSAI_URL + name, hint))
    if name in PINNED and sha256_file(path) != PINNED[name]:
        raise ReferenceCurveError(f"{path}: sha256 {sha256_file(path)} is not the pinned {PINNED[name]} of {spec} "
                             f"(CompressAI commit {COMPRESSAI_COMMIT[:12]}); delete it or fix RDBENCH_REFERENCE")
    return path
