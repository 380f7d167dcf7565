"""The paper figure (datasets x metrics grid) and the runtime table, on the committed Kodak results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rdbench.report.figures import FigureStyle, grid_figure
from rdbench.report.runtime import runtime_rows, to_latex, to_markdown, write_runtime
from rdbench.results import read_rd_csv

KODAK_RD = Path(__file__).resolve().parent.parent / "results" / "kodak" / "rd.csv"


@pytest.fixture(scope="module")
def kodak():
    if not KODAK_RD.is_file():
        pytest.fail(f"{KODAK_RD} is committed; it is missing")
    return read_rd_csv(KODAK_RD)


def test_grid_is_pdf_svg_and_300_dpi_png_with_the_configured_names(kodak, tmp_path):
    from PIL import Image

    style = FigureStyle.from_config({"names": {"webp": "WebP (libwebp)"}, "colors": {"webp": "#123456"},
                                     "order": ["webp"], "bpp_range": [0, 0.8], "spread": True})
    small = kodak[kodak["codec"].isin(["hevc444", "webp", "jpeg"])]
    paths = grid_figure({"kodak": small, "again": small}, ["psnr-rgb", "lpips"], "hevc444", tmp_path / "grid", style)
    assert [p.suffix for p in paths] == [".pdf", ".svg", ".png"]
    assert paths[0].read_bytes().startswith(b"%PDF")
    svg = paths[1].read_text()
    assert "WebP (libwebp)" in svg and "hevc444 (anchor)" in svg and "#123456" in svg
    png = Image.open(paths[2])
    assert round(png.info["dpi"][0]) == 300 and png.width > 1500


def test_the_anchor_is_drawn_last_and_the_band_spans_the_images(kodak):
    from matplotlib.figure import Figure

    from rdbench.report.figures import _panel

    ax = Figure().add_subplot()
    _panel(ax, kodak[kodak["codec"].isin(["hevc444", "webp"])], "psnr-rgb", "hevc444", (),
           FigureStyle(spread=True))
    assert ax.get_lines()[-1].get_label() == "hevc444 (anchor)" and ax.get_lines()[-1].get_color() == "black"
    band = ax.collections[-1].get_paths()[0].vertices[:, 1]  # the anchor's interquartile band
    per_point = kodak[kodak["codec"] == "hevc444"].groupby("point")["psnr-rgb"]
    assert band.min() == pytest.approx(per_point.quantile(0.25).min()) and band.max() == pytest.approx(
        per_point.quantile(0.75).max())


@pytest.mark.parametrize("plots, key", [({"colour": {}}, "colour"), ({"colors": {"webp": "nocolour"}}, "colors"),
                                        ({"bpp_range": [1, 0]}, "bpp_range"), ({"spread": "yes"}, "spread"),
                                        ({"order": "webp"}, "order")])
def test_a_bad_plots_section_names_the_key(plots, key):
    with pytest.raises(ValueError, match=f"plots[.:] ?{key}|unknown key.*{key}"):
        FigureStyle.from_config(plots)


def test_runtime_rows_are_medians_and_iqrs_per_codec_and_point(kodak, tmp_path):
    rows = runtime_rows({"kodak": KODAK_RD})
    assert len(rows) == len(kodak.groupby(["codec", "point"]))
    webp = [r for r in rows if r["codec"] == "webp"]
    assert [r["bpp"] for r in webp] == sorted(r["bpp"] for r in webp)
    enc = kodak[(kodak["codec"] == "webp") & (kodak["point"] == webp[0]["point"])]["encode_s"].to_numpy(float)
    assert webp[0]["encode_median_s"] == pytest.approx(np.median(enc))
    assert webp[0]["encode_iqr_s"] == pytest.approx(np.subtract(*np.percentile(enc, [75, 25])))
    assert "| kodak | webp |" in to_markdown(rows) and r"$\pm$" in to_latex(rows)
    assert [p.name for p in write_runtime({"kodak": KODAK_RD}, tmp_path)] == ["runtime.csv", "runtime.md", "runtime.tex"]


def test_a_progressive_codec_shows_its_one_encode_once(kodak, tmp_path):
    """A truncation codec's rows repeat the one encode of each image: printed on its first point only."""
    stream = kodak[(kodak["codec"] == "webp") & kodak["point"].astype(str).isin(["5", "30", "50"])].copy()
    assert len(stream) == 3 * 24
    stream["codec"], stream["point_kind"] = "dpict", "truncation"
    stream["point"] = stream["point"].astype(str).map({"5": "lsb-2@1", "30": "lsb-1@1", "50": "full"})
    stream["encode_s"] = 2.5
    rd = tmp_path / "rd.csv"
    pd.concat([kodak, stream]).to_csv(rd, index=False)
    rows = runtime_rows({"kodak": rd})
    dpict = [r for r in rows if r["codec"] == "dpict"]
    assert [r["encode_once"] for r in dpict] == [True] * 3
    assert not any(r["encode_once"] for r in rows if r["codec"] == "webp")
    md = to_markdown(rows)
    assert md.count("| kodak | dpict |") == 3 and md.count("| same encode |") == 2 and "| 2.500 (0.000) |" in md
    assert "encode each image once" in md and to_latex(rows).count("& same encode &") == 2
    assert "same encode" not in to_markdown([r for r in rows if r["codec"] != "dpict"])
