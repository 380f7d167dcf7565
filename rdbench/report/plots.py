"""RD curves per dataset x metric (the paper's Fig. 3-5), as PNG and SVG.

x = mean bpp per rate point, y = mean metric per rate point (over the images each codec was run on;
MS-SSIM in dB when ``ms_ssim_db``). Every codec keeps one colour and marker in every plot (a mapping
from its name: a fixed table for the built-in codecs, a hash of the name for any other); the anchor
is drawn thick and black; published curves are dashed and labelled "(published)".

Each metric gets two views: the full measured range (``<metric>.png``) and the low-rate range
0..``LOW_RATE_BPP`` bpp (``low/<metric>.png``), where the TreeNet paper makes its claims; the low view
scales its quality axis to the points it shows.

Figures are drawn with matplotlib's object API on the Agg / SVG canvases (no pyplot, no display, no
global state), so plotting is safe inside workflow jobs and threads.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from rdbench.atomic import atomic_path
from rdbench.bd import is_ms_ssim, metric_transform, quality_label
from rdbench.results import RD_COLUMNS

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd")
MARKERS = ("o", "s", "D", "^", "v", "<", ">", "p", "P", "X", "*", "h")
# Built-in codecs get distinct colours and markers; anything else hashes its name into the palette.
KNOWN = ("jpeg", "jpeg2000", "webp", "avif", "jpegxl", "hevc444", "vvc420", "bpg", "vtm", "jpegai", "treenet")
LOW_RATE_BPP = 0.6
# Codecs whose name is not what a reader should see: the ATC paper defines no modules, so "atc" is ours.
LABELS = {"atc": "ATC (rdbench reading)"}
MANY_POINTS = 12  # a measured curve with more points (a progressive codec's truncations) is drawn as a plain line
ANCHOR_STYLE = {"color": "black", "linewidth": 2.8, "markersize": 7, "zorder": 5}


def canonical_codec(name: str) -> str:
    """A built-in codec name for a published label that names one ("BPG 8b 444 x265 ycbcr" -> bpg,
    "JPEG2000" -> jpeg2000), so a published curve shares its measured counterpart's colour; else ``name``."""
    first = re.split(r"[\s_(]+", name.strip().lower())[0].replace("-", "")
    return first if first in KNOWN else name


def style_for(name: str, *, anchor: bool = False, published: bool = False) -> dict:
    """matplotlib line keywords for a codec; the same name always gets the same colour and marker."""
    key = canonical_codec(name)
    if key in KNOWN:
        k = KNOWN.index(key)
        color, marker = PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)]
    else:
        h = int(hashlib.sha256(name.encode()).hexdigest(), 16)
        color, marker = PALETTE[h % len(PALETTE)], MARKERS[(h // len(PALETTE)) % len(MARKERS)]
    style = {"color": color, "marker": marker, "linewidth": 1.5, "markersize": 5, "linestyle": "-", "zorder": 3}
    if anchor:
        style.update(ANCHOR_STYLE)
    if published:
        style.update(linestyle="--", linewidth=1.3, markerfacecolor="none", zorder=2)
    return style


def mean_curve(df, codec: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean bpp, mean metric) per rate point of one codec, in order of rising bpp."""
    rows = df[df["codec"].astype(str) == codec]
    means = rows.groupby("point")[["bpp", metric]].mean().sort_values("bpp")
    return means["bpp"].to_numpy(float), means[metric].to_numpy(float)


def y_values(metric: str, values: np.ndarray, ms_ssim_db: bool) -> np.ndarray:
    if ms_ssim_db and is_ms_ssim(metric):
        with np.errstate(divide="ignore"):
            return -10.0 * np.log10(1.0 - np.asarray(values, float))
    return np.asarray(values, float)


def plot_rd(df, dataset: str, metric: str, anchor: str | None, out_base: str | Path, *,
            published: Sequence = (), ms_ssim_db: bool = False, codecs: Sequence[str] | None = None,
            max_bpp: float | None = None) -> list[Path]:
    """Draw one RD figure; writes ``out_base.png`` and ``out_base.svg`` and returns both paths.

    ``df``: one dataset's ``rd.csv`` rows; ``published``: PublishedCurve objects (those without
    ``metric`` are skipped); ``max_bpp``: clip the x axis (default: the measured range, with margin).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    present = sorted(df["codec"].astype(str).unique())
    names = [c for c in (codecs or present) if c in present]
    if anchor in names:  # draw the anchor last, on top
        names = [c for c in names if c != anchor] + [anchor]
    fig = Figure(figsize=(6.4, 4.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    top, shown = 0.0, []
    for codec in names:
        x, y = mean_curve(df, codec, metric)
        ok = np.isfinite(x) & np.isfinite(y := y_values(metric, y, ms_ssim_db))
        name = LABELS.get(codec, codec)
        label = f"{name} (anchor)" if codec == anchor else name
        style = style_for(codec, anchor=codec == anchor)
        if ok.sum() > MANY_POINTS:
            style.update(marker=None)
        ax.plot(x[ok], y[ok], label=label, **style)
        top = max(top, float(x[ok].max(initial=0)))
        shown += list(y[ok & (x <= (max_bpp or np.inf))])
    for curve in published:
        if not curve.has(metric):
            continue
        x, y = curve.curve(metric)
        y = y_values(metric, y, ms_ssim_db)
        keep = (x <= (max_bpp or top * 1.15 or np.inf)) & np.isfinite(y)
        ax.plot(x[keep], y[keep], label=f"{curve.label} (published)", **style_for(curve.label, published=True))
    direction = "" if metric_transform(metric) == "identity" else " (lower is better)"
    ax.set_xlabel("bits per pixel (bpp), mean over images")
    ax.set_ylabel(quality_label(metric, ms_ssim_db=ms_ssim_db, transform="identity") + direction)
    ax.set_title(f"{dataset}: {quality_label(metric, ms_ssim_db=ms_ssim_db, transform='identity', unit=False)}")
    if max_bpp:
        ax.set_xlim(0, max_bpp)
        if shown:  # the quality range of what is visible, not of the whole curves
            lo, hi = min(shown), max(shown)
            pad = 0.05 * (hi - lo or abs(hi) or 1.0)
            ax.set_ylim(lo - pad, hi + pad)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best", frameon=True)
    out_base = Path(out_base)
    out_base.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_base.with_suffix(".png"), out_base.with_suffix(".svg")]
    import matplotlib

    with atomic_path(paths[0]) as png, atomic_path(paths[1]) as svg:
        FigureCanvasAgg(fig).print_png(png)
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rdbench"}):
            FigureCanvasSVG(fig).print_svg(svg, metadata={"Date": None})
    return paths


def write_plots(rd_csv: str | Path, metrics: Sequence[str], out_dir: str | Path, *, anchor: str | None = None,
                published: Sequence = (), ms_ssim_db: bool = False, dataset: str | None = None,
                low_rate_bpp: float | None = LOW_RATE_BPP) -> list[Path]:
    """Every metric's RD figures of one dataset: ``out_dir/<metric>.{png,svg}`` and, unless
    ``low_rate_bpp`` is None, the low-rate view ``out_dir/low/<metric>.{png,svg}``."""
    from rdbench.report.compare import select_dataset
    from rdbench.results import read_rd_csv

    df, dataset = select_dataset(read_rd_csv(rd_csv), dataset)
    missing = [m for m in metrics if m not in df.columns]
    if missing:
        raise ValueError(f"{rd_csv}: no column for metric(s) {missing}; measured: "
                         f"{[c for c in df.columns if c not in RD_COLUMNS]}")
    paths = []
    for metric in metrics:
        paths += plot_rd(df, dataset, metric, anchor, Path(out_dir) / metric, published=published,
                         ms_ssim_db=ms_ssim_db)
        if low_rate_bpp:
            paths += plot_rd(df, dataset, metric, anchor, Path(out_dir) / "low" / metric, published=published,
                             ms_ssim_db=ms_ssim_db, max_bpp=low_rate_bpp)
    return paths
