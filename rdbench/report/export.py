"""Measured curves out, in CompressAI's results JSON format, so others import ours as we import theirs.

One file per codec (``<codec>.json``), as CompressAI's ``results/<dataset>/`` holds them::

    {"name": "webp", "description": "...",
     "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...], ..., "encoding_time": [...],
                 "decoding_time": [...]}}

Each entry is one rate point, in order of rising bpp: the mean over the images that the codec has at
every rate point (CompressAI's convention: bpp, metrics and seconds per image averaged over the
dataset), every metric column of ``rd.csv`` under its rdbench name. Points where a metric is
undefined for some image average the images it is defined for; the description says how many images
each file averages. ``means.csv`` holds the same numbers in one long table. The files describe
*measured* curves; read back by :func:`rdbench.report.published.load_compressai_json` they become
published curves of whoever imports them, marked as such.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from rdbench import atomic
from rdbench.report.compare import codec_curves, select_dataset
from rdbench.results import RD_COLUMNS, read_rd_csv

TIMES = {"encode_s": "encoding_time", "decode_s": "decoding_time"}


def compressai_results(df, codec: str) -> dict:
    """One codec's mean curve of one dataset's rows, as a CompressAI results dict."""
    metrics = [c for c in df.columns if c not in RD_COLUMNS]
    curves = {m: codec_curves(df, codec, m) for m in metrics + list(TIMES)}
    rate = curves["encode_s"].rate
    full = np.isfinite(rate).all(axis=0)  # images at every rate point
    if not full.any():
        raise ValueError(f"codec {codec!r} has no image at every rate point; nothing to export")
    images = [i for i, k in zip(curves["encode_s"].images, full) if k]
    results: dict[str, list[float]] = {"bpp": _means(curves["encode_s"].select(images).rate)}
    for name in metrics:
        results[name] = _means(curves[name].select(images).quality)
    for column, key in TIMES.items():
        results[key] = _means(curves[column].select(images).quality)
    dataset = str(df["dataset"].iloc[0])
    points = ", ".join(curves["encode_s"].points)
    return {"name": codec,
            "description": f"rdbench: {codec} measured on {dataset} ({len(images)} images), mean per rate point "
                           f"(points {points}); encoding_time and decoding_time in seconds per image",
            "results": results}


def write_compressai(rd_csv: str | Path, out_dir: str | Path, dataset: str | None = None) -> list[Path]:
    """Write ``<codec>.json`` for every codec of one dataset of ``rd_csv``, and ``means.csv``; return the paths."""
    df, dataset = select_dataset(read_rd_csv(rd_csv), dataset)
    out_dir = Path(out_dir)
    paths, long_rows = [], []
    for codec in sorted(df["codec"].astype(str).unique()):
        data = compressai_results(df, codec)
        path = out_dir / f"{_safe(codec)}.json"
        atomic.write_text(path, json.dumps(data, indent=2) + "\n")
        paths.append(path)
        keys = list(data["results"])
        for k in range(len(data["results"]["bpp"])):
            long_rows.append({"dataset": dataset, "codec": codec, **{key: data["results"][key][k] for key in keys}})
    means = out_dir / "means.csv"
    columns = ["dataset", "codec"] + list(dict.fromkeys(k for r in long_rows for k in r if k not in ("dataset", "codec")))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(long_rows)
    atomic.write_text(means, text.getvalue())
    return paths + [means]


def _means(values: np.ndarray) -> list[float]:
    """Per-point means over the images (NaN-aware: a metric undefined for an image is left out)."""
    return [float(v) for v in np.nanmean(values, axis=1)]


def _safe(codec: str) -> str:
    if not codec or any(c in codec for c in "/\\\0") or codec.startswith("."):
        raise ValueError(f"codec name {codec!r} cannot be a file name")
    return codec
