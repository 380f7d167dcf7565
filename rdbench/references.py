"""Published reference curves by name, ``<source>:<dataset>/<file>.json`` in the config's ``published``.

Sources (each a public repository at a pinned commit):

``compressai:``  CompressAI's measured curves (``results/image/<dataset>/*.json``), e.g.
                 ``compressai:kodak/bpg_444_x265_ycbcr.json``; CompressAI's results JSON format.
``mlic:``        MLIC / MLIC+ / MLIC++ curves of JiangWeibeta/MLIC (``results/<dataset>/*.json``, Apache-2.0),
                 e.g. ``mlic:kodak/mlicplusplus_mse.json``, ``mlic:clic_pro_val/mlicplusplus_mse.json`` (CLIC
                 professional *valid*, 41 images). Flat ``{"psnr": [...], "bpp": [...]}`` files, read by
                 :func:`rdbench.report.published.load_compressai_json` under the label in ``LABELS``.

A named file is found:

1. in ``$RDBENCH_REFERENCE/<folder>/<path>`` when that variable is set (a local copy, e.g. on a machine
   without internet; folder ``compressai`` or ``MLIC/results``), else
2. in the cache (``$RDBENCH_CACHE/reference/<folder>/...``), downloaded once from the repository at
   the pinned commit.

Files listed in a source's ``pinned`` are checked against their sha256 wherever they come from; other
names are accepted from a local copy only (nothing unpinned is downloaded). A plain path is used as it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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
MLIC_COMMIT = "4aa9d2a512eb9db382172058e6c278fb0d376e17"
MLIC_URL = f"https://raw.githubusercontent.com/JiangWeibeta/MLIC/{MLIC_COMMIT}/results/"
MLIC_PINNED = {  # sha256 at MLIC_COMMIT, as listed in reference-results/SOURCES.md
    "kodak/mlic_mse.json": "93cc1605f132b508c6971a1dcb1cc22728c932e40079a65d0123041079a5be84",
    "kodak/mlicplus_mse.json": "0bd2f391cf2907b99f68a60d11fd65254f4729d6a2ac4df8dff4ae6849f828ab",
    "kodak/mlicplusplus_mse.json": "3875bcd72753bf7603c7fb9fde9d5ebc27172464a15a3956c819c6ce3a646c95",
    "clic_pro_val/mlic_mse.json": "aeeabbe78ba43afab43e29af7bc3e4b7b403d761fc60e3ec3c6c20bfa42ff62f",
    "clic_pro_val/mlicplus_mse.json": "6e2fbee6cc20f56868c3718b2b4b63503e4bdfd0e7d559f284678cc8181be146",
    "clic_pro_val/mlicplusplus_mse.json": "9657db5fc988174c22ed06d74fb1fd4eef0a48f91972d3f76362b856c967e31e",
    "tecnick/mlic_mse.json": "9ad1ec3d0822fe349106b17c503434757e5a9434313ab07e418846018ea8f1f4",
    "tecnick/mlicplus_mse.json": "881ff442e8a4f615f7953ce9edba7925459fa42d80fe4eee3bbdaa5081d97efa",
    "tecnick/mlicplusplus_mse.json": "7299d4f6629a9a51bc2b8fda05fc94a4bd1dff474f53b869cd431883bfe4d52e",
}


@dataclass(frozen=True)
class Source:
    """A repository of published curves: name prefix, local folder under $RDBENCH_REFERENCE, pinned files."""

    prefix: str
    folder: str  # below $RDBENCH_REFERENCE and the cache
    url: str  # base URL at the pinned commit
    commit: str
    pinned: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)  # file name -> curve label (files without a name)
    description: str = ""


SOURCES = {s.prefix: s for s in (
    Source(PREFIX, "compressai", COMPRESSAI_URL, COMPRESSAI_COMMIT, PINNED),
    Source("mlic:", "MLIC/results", MLIC_URL, MLIC_COMMIT, MLIC_PINNED,
           {"mlic_mse.json": "MLIC (MSE)", "mlicplus_mse.json": "MLIC+ (MSE)",
            "mlicplusplus_mse.json": "MLIC++ (MSE)"},
           f"published by JiangWeibeta/MLIC at {MLIC_COMMIT[:7]} (Apache-2.0); PSNR in dB, colour space not stated "
           "(read as RGB PSNR)"),
)}


class ReferenceCurveError(DatasetError):
    """A named reference curve that cannot be found, fetched or verified."""


def source_of(spec: str | os.PathLike) -> Source | None:
    """The source a ``published`` entry names, or None for a plain path."""
    return next((s for p, s in SOURCES.items() if str(spec).startswith(p)), None)


def is_named(spec: str) -> bool:
    return source_of(spec) is not None


def label_of(spec: str | os.PathLike) -> str | None:
    """The label of a named curve whose file carries no name (MLIC's), else None."""
    source = source_of(spec)
    return source.labels.get(Path(str(spec)).name) if source else None


def resolve(spec: str | os.PathLike) -> Path:
    """The local file of a ``published`` entry: a named curve (found or fetched), or a path."""
    source = source_of(spec)
    if source is None:
        return Path(spec)
    p = source.prefix
    name = str(spec)[len(p):]
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise ReferenceCurveError(f"{spec}: name a file as {p}<dataset>/<file>.json")
    local = os.environ.get("RDBENCH_REFERENCE")
    pinned = sorted(p + n for n in source.pinned)
    if local:
        path = Path(local) / source.folder / name
        if not path.is_file():
            raise ReferenceCurveError(f"{spec}: no {path} (RDBENCH_REFERENCE={local}); unset RDBENCH_REFERENCE "
                                      f"to download the pinned files ({', '.join(pinned)})")
    else:
        path = cache_dir() / "reference" / source.folder / name
        if not path.is_file():
            if name not in source.pinned:
                raise ReferenceCurveError(f"{spec}: rdbench downloads only the pinned curves ({', '.join(pinned)}); "
                                          f"for another one set RDBENCH_REFERENCE to a folder holding "
                                          f"{source.folder}/{name}")
            hint = f"Offline? Set RDBENCH_REFERENCE to a folder with {source.folder}/<dataset>/<file>.json"
            atomic.write_bytes(path, fetch_url(source.url + name, hint))
    if name in source.pinned and sha256_file(path) != source.pinned[name]:
        raise ReferenceCurveError(f"{path}: sha256 {sha256_file(path)} is not the pinned {source.pinned[name]} of "
                                  f"{spec} (commit {source.commit[:12]}); delete it or fix RDBENCH_REFERENCE")
    return path
