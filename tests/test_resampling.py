"""Two samplings of one RD curve give the same Table I cell (issue 12), on real Kodak measurements.

The committed Kodak cells (``results/kodak/rd.csv``: six codecs against hevc444) are resampled by
keeping each codec's end points and every other point between them; a second ladder of the built-in
``jpeg`` (a plugin copy with other quality values, spanning the same range) is measured fresh with
all five metrics and compared with the committed jpeg row. The
tolerances are the issue's: 1 point for PSNR and MS-SSIM, 2 for NLPD, LPIPS and DISTS, on the rate
of the test codec (see :func:`_rate_gap`). docs/bd.md explains why the old defaults broke this.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rdbench.report.compare import BDSettings, compare
from rdbench.results import read_rd_csv

ROOT = Path(__file__).resolve().parent.parent

KODAK_RD = ROOT / "results" / "kodak" / "rd.csv"
LADDER = (3, 7, 15, 28, 45, 62, 78, 85)  # jpeg's default is (3, 5, 10, 20, 35, 50, 70, 85)
# The six classical codecs measured against the anchor (learned codecs in rd.csv may not overlap it yet)
CODECS = ("avif", "jpeg", "jpeg2000", "jpegxl", "vvc420", "webp")
TOLERANCE = {"psnr-rgb": 1.0, "ms-ssim-rgb": 1.0, "nlpd": 2.0, "lpips": 2.0, "dists": 2.0}


def _samplings(points: list[str]) -> list[list[str]]:
    """The whole ladder and its two halves that keep both end points (every other point in between)."""
    last = len(points) - 1
    return [points] + [[p for i, p in enumerate(points) if i in {0, last} or i % 2 == parity] for parity in (0, 1)]


def _swings(settings, metrics=TOLERANCE) -> dict[tuple[str, str], list[float]]:
    """(codec, metric) -> the Table I cell (mean-curve BD-rate vs hevc444) of each sampling."""
    df = read_rd_csv(KODAK_RD)
    out = {}
    for codec in sorted(set(df["codec"]) & set(CODECS)):
        rows = df[df["codec"] == codec]
        points = list(rows.groupby("point")["bpp"].mean().sort_values().index)
        for sample in _samplings(points):
            sub = pd.concat([df[df["codec"] == "hevc444"], rows[rows["point"].isin(sample)]])
            for metric in metrics:
                out.setdefault((codec, metric), []).append(compare(sub, "hevc444", codec, metric, settings).value)
    return out


def _rate_gap(values: list[float]) -> float:
    """Largest difference between the samplings in percent of the test codec's rate: 100 (R1 / R2 - 1)
    with R = 1 + BD-rate / 100; the same as the BD-rate difference in pp for a codec at the anchor."""
    r = 1 + np.asarray(values) / 100
    return 100 * (r.max() / r.min() - 1)


def test_two_samplings_of_one_curve_give_the_same_cell():
    if not KODAK_RD.is_file():
        pytest.fail(f"{KODAK_RD} is committed; it is missing")
    swings = _swings(BDSettings())
    assert len({codec for codec, _ in swings}) >= 4
    bad = {k: [round(v, 2) for v in vals] for k, vals in swings.items() if _rate_gap(vals) > TOLERANCE[k[1]]}
    assert not bad, f"samplings of one curve disagree beyond {TOLERANCE}: {bad}"
    # in plain percentage points too, for at least four codecs (all but those far from the anchor, where
    # a point off the chord of its neighbours weighs 1 + BD-rate times more: docs/bd.md)
    in_points = {c for c, _ in swings} - {c for (c, m), v in swings.items() if max(v) - min(v) > TOLERANCE[m]}
    assert len(in_points) >= 4, f"only {sorted(in_points)} hold the tolerances in points"


def test_the_old_defaults_break_it():
    """The cause (docs/bd.md): a cubic fit of log-rate over a saturating quality axis (raw MS-SSIM, 1-DISTS)."""
    swings = _swings(BDSettings(method="cubic", ms_ssim_db=False), metrics={"ms-ssim-rgb": 1.0, "dists": 2.0})
    worst = {m: max(_rate_gap(v) for (c, mm), v in swings.items() if mm == m) for m in ("ms-ssim-rgb", "dists")}
    assert worst["ms-ssim-rgb"] > 10 and worst["dists"] > 4
    in_db = _swings(BDSettings(method="cubic"), metrics={"ms-ssim-rgb": 1.0})  # the dB axis alone fixes MS-SSIM
    assert max(_rate_gap(v) for v in in_db.values()) < 1.0


def _copy_row(df: pd.DataFrame, metrics, settings=BDSettings()) -> dict[str, tuple[float, float]]:
    """metric -> (jpeg's BD-rate, the copy's BD-rate) against hevc444."""
    return {m: (compare(df, "hevc444", "jpeg", m, settings).value, compare(df, "hevc444", "jpeg-copy", m, settings).value)
            for m in metrics}


@pytest.fixture(scope="module")
def jpeg_copy_plugin():
    """A plugin codec identical to the built-in jpeg but for its default ladder (what a new user writes)."""
    from rdbench.codecs import codecs
    from rdbench.codecs.still import JPEG

    class JPEGCopy(JPEG):
        name = "jpeg-copy"
        default_points = LADDER

    if "jpeg-copy" not in codecs:
        codecs.register("jpeg-copy", JPEGCopy, origin="tests/test_resampling.py")
    return "jpeg-copy"


def test_a_fresh_plugin_copy_of_jpeg_gives_jpegs_row(jpeg_copy_plugin, kodak_dir, tmp_path, one_torch_thread):
    """The plugin copy measured fresh on eight Kodak images (fewer make mean curves too rough to compare
    two ladders) with all five metrics of Table I, against the committed jpeg and hevc444 cells of the
    same images: one encoder, two ladders, one row."""
    from rdbench.run import run

    images = 8
    copy = read_rd_csv(run(jpeg_copy_plugin, "kodak", tmp_path, max_images=images, metric_names=list(TOLERANCE)))
    names = set(copy["image"])
    committed = read_rd_csv(KODAK_RD)
    committed = committed[committed["codec"].isin(["hevc444", "jpeg"]) & committed["image"].isin(names)]
    assert len(names) == images and sorted(copy["point"].astype(int).unique()) == list(LADDER)
    assert len(committed) == 2 * images * committed.groupby("codec")["point"].nunique().mean()
    row = _copy_row(pd.concat([committed, copy]), list(TOLERANCE))
    bad = {m: v for m, v in row.items() if _rate_gap(list(v)) > TOLERANCE[m]}
    assert not bad, f"the plugin copy of jpeg differs from jpeg beyond {TOLERANCE}: {bad}"
