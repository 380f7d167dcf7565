"""The runtime table: encode and decode seconds per image, median and interquartile range, per codec and
rate point, from the timings every cell records (``encode_s``, ``decode_s`` of ``rd.csv``).

Wall-clock seconds of one process on the machine of the run (its host is in each cell's manifest);
a shared machine makes them noisy, which is why the table gives medians and IQRs, not means.

A progressive codec (point_kind ``truncation``) encodes each image once for all its points, and each
row of it carries that one encode's time (``encode_once``): the tables print it on the codec's first
point and "same encode" on the others, so a reader does not add it up per point.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Mapping

import numpy as np

from rdbench import atomic
from rdbench.results import read_rd_csv

COLUMNS = ["dataset", "codec", "point", "images", "bpp", "encode_median_s", "encode_iqr_s", "decode_median_s",
           "decode_iqr_s", "encode_once"]
SAME = "same encode"


def runtime_rows(rd_csvs: Mapping[str, str | Path]) -> list[dict]:
    """One row per (dataset, codec, point), points in order of rising mean bpp."""
    rows = []
    for dataset, path in rd_csvs.items():
        df = read_rd_csv(path)
        for codec in sorted(df["codec"].astype(str).unique()):
            own = df[df["codec"].astype(str) == codec]
            for point, group in sorted(own.groupby("point"), key=lambda kv: kv[1]["bpp"].mean()):
                enc, dec = (group[c].to_numpy(float) for c in ("encode_s", "decode_s"))
                once = bool((group["point_kind"].astype(str) == "truncation").all())
                rows.append({"dataset": dataset, "codec": codec, "point": str(point), "images": len(group),
                             "bpp": float(group["bpp"].mean()),
                             "encode_median_s": _median(enc), "encode_iqr_s": _iqr(enc),
                             "decode_median_s": _median(dec), "decode_iqr_s": _iqr(dec), "encode_once": once})
    return rows


def _repeated(rows: list[dict]) -> list[bool]:
    """Rows whose encode time is the one encode already printed on their codec's first point."""
    seen, out = set(), []
    for r in rows:
        key = (r["dataset"], r["codec"])
        out.append(r["encode_once"] and key in seen)
        seen.add(key)
    return out


_ONCE_NOTE = ("Progressive codecs encode each image once for all their points; that encode's time is on "
              "their first point, \"same encode\" on the others.")


def _median(x: np.ndarray) -> float:
    return float(np.nanmedian(x))


def _iqr(x: np.ndarray) -> float:
    lo, hi = np.nanpercentile(x, [25, 75])
    return float(hi - lo)


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: f"{v:.4f}" if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else v
                      for k, v in r.items()} for r in rows)
    return out.getvalue()


def to_markdown(rows: list[dict]) -> str:
    head = "| dataset | codec | point | images | bpp | encode s (median, IQR) | decode s (median, IQR) |"
    lines = [head, "|---|---|---|---:|---:|---:|---:|"]
    for r, same in zip(rows, _repeated(rows)):
        encode = SAME if same else f"{r['encode_median_s']:.3f} ({r['encode_iqr_s']:.3f})"
        lines.append(f"| {r['dataset']} | {r['codec']} | {r['point']} | {r['images']} | {r['bpp']:.3f} | {encode} | "
                     f"{r['decode_median_s']:.3f} ({r['decode_iqr_s']:.3f}) |")
    if any(r["encode_once"] for r in rows):
        lines.append("\n" + _ONCE_NOTE)
    return "\n".join(lines) + "\n"


def to_latex(rows: list[dict]) -> str:
    def tex(s: str) -> str:
        return s.replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")

    lines = [r"\begin{tabular}{lllrrrr}", r"\toprule",
             r"dataset & codec & point & images & bpp & encode (s) & decode (s) \\", r"\midrule"]
    for r, same in zip(rows, _repeated(rows)):
        encode = SAME if same else f"{r['encode_median_s']:.3f} $\\pm$ {r['encode_iqr_s'] / 2:.3f}"
        lines.append(f"{tex(r['dataset'])} & {tex(r['codec'])} & {tex(r['point'])} & {r['images']} & "
                     f"{r['bpp']:.3f} & {encode} & "
                     f"{r['decode_median_s']:.3f} $\\pm$ {r['decode_iqr_s'] / 2:.3f} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}",
              "% median seconds per image; +- half the interquartile range"]
    if any(r["encode_once"] for r in rows):
        lines.append(f"% {_ONCE_NOTE}")
    return "\n".join(lines) + "\n"


def write_runtime(rd_csvs: Mapping[str, str | Path], out_dir: str | Path) -> list[Path]:
    """``runtime.csv``, ``runtime.md`` and ``runtime.tex`` in ``out_dir``."""
    rows = runtime_rows(rd_csvs)
    paths = []
    for ext, render in (("csv", to_csv), ("md", to_markdown), ("tex", to_latex)):
        path = Path(out_dir) / f"runtime.{ext}"
        atomic.write_text(path, render(rows))
        paths.append(path)
    return paths


def html_rows(rows: list[dict]) -> list[list[str]]:
    """Header and rows of strings for the report (:func:`rdbench.report.tables.rows_to_html`)."""
    out = [["dataset", "codec", "point", "images", "bpp", "encode s, median (IQR)", "decode s, median (IQR)"]]
    for r, same in zip(rows, _repeated(rows)):
        out.append([r["dataset"], r["codec"], r["point"], str(r["images"]), f"{r['bpp']:.3f}",
                    SAME if same else f"{r['encode_median_s']:.3f} ({r['encode_iqr_s']:.3f})",
                    f"{r['decode_median_s']:.3f} ({r['decode_iqr_s']:.3f})"])
    return out
