"""Table I's trust marks, BD-quality twin, overlap limits, rate range and intervals, on the committed
Kodak measurements (``results/kodak/rd.csv``, real cells of seven codecs). Every expected value is
recomputed here through :func:`rdbench.report.compare.compare`, never written in."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rdbench.report.compare import BDSettings, compare
from rdbench.report.table1 import AVERAGING_MARK, METHOD_MARK, SMALL_OVERLAP, build_table1
from rdbench.report.tables import to_details_csv, to_html, to_latex, to_markdown, write_tables
from rdbench.results import read_rd_csv

KODAK_RD = Path(__file__).resolve().parent.parent / "results" / "kodak" / "rd.csv"
METRICS = ["psnr-rgb", "ms-ssim-rgb", "dists"]


@pytest.fixture(scope="module")
def kodak():
    if not KODAK_RD.is_file():
        pytest.fail(f"{KODAK_RD} is committed; it is missing")
    return read_rd_csv(KODAK_RD)


CLASSICAL = ("hevc444", "avif", "jpeg", "jpeg2000", "jpegxl", "vvc420", "webp")


@pytest.fixture(scope="module")
def tables(kodak, tmp_path_factory):
    """Table I of the seven classical codecs (a learned codec in rd.csv may not overlap the anchor yet)."""
    path = tmp_path_factory.mktemp("kodak") / "rd.csv"
    kodak[kodak["codec"].astype(str).isin(CLASSICAL)].to_csv(path, index=False)
    return {kind: build_table1({"kodak": path}, "hevc444", METRICS, BDSettings(), kind=kind)
            for kind in ("rate", "quality")}


@pytest.mark.parametrize("kind", ["rate", "quality"])
def test_every_cell_carries_every_method_and_averaging_and_marks_follow_them(tables, kodak, kind):
    table = tables[kind]
    threshold = {"rate": 2.0}
    marked = 0
    for row in table.rows[1:]:
        for col in table.columns:
            e = table.entry(row, col)
            assert len(e.alternatives) == 5  # 3 methods x 2 averagings, less the table's own
            for key in ("cubic/mean-curve", "pchip/per-image"):
                method, averaging = key.split("/")
                expected = compare(kodak, "hevc444", row.codec, col[1], BDSettings(method=method, averaging=averaging),
                                   kind=kind).value
                assert e.alternatives[key] == pytest.approx(expected, rel=1e-12)
            limit = threshold.get(kind) or 0.01 * _anchor_span(kodak, col[1])
            by_method = max(abs(e.alternatives[f"{m}/mean-curve"] - e.value) for m in ("cubic", "akima"))
            by_averaging = abs(e.alternatives["pchip/per-image"] - e.value)
            symbols = [k for k, _ in e.marks]
            assert (METHOD_MARK in symbols) == (by_method > limit)
            assert (AVERAGING_MARK in symbols) == (by_averaging > limit)
            marked += bool(symbols)
            for symbol, note in e.marks:
                assert any(n.startswith(symbol) or symbol in n for n in table.notes)
                assert "threshold" in note
    assert marked  # the committed curves do have cells where the convention matters


def _anchor_span(df, metric):
    from rdbench.bd import quality_transform

    means = df[df["codec"] == "hevc444"].groupby("point")[metric].mean().to_numpy()
    q = quality_transform(metric, means, ms_ssim_db=True)
    return q.max() - q.min()


def test_dists_with_the_cubic_fit_is_flagged_with_by_how_much(tables, kodak):
    """jpeg's 1-DISTS: the cubic fit (the old default) is several points away from pchip."""
    e = tables["rate"].entry(tables["rate"].rows[[r.codec for r in tables["rate"].rows].index("jpeg")],
                             ("kodak", "dists"))
    cubic = compare(kodak, "hevc444", "jpeg", "dists", BDSettings(method="cubic")).value
    note = dict(e.marks)[METHOD_MARK]
    assert f"cubic/mean-curve gives {cubic:.2f}, {abs(cubic - e.value):.2f} pp from {e.value:.2f}" in note


def test_bd_quality_table_is_the_bd_quality_and_ranks_the_highest_first(tables, kodak):
    table = tables["quality"]
    col = ("kodak", "psnr-rgb")
    values = {r.codec: table.entry(r, col).value for r in table.rows[1:]}
    for codec, value in values.items():
        assert value == pytest.approx(compare(kodak, "hevc444", codec, "psnr-rgb", kind="quality").value)
    best = max(values, key=values.get)
    assert table.entry(table.rows[[r.codec for r in table.rows].index(best)], col).rank == 1
    md, tex, page = to_markdown(table), to_latex(table), to_html(table)
    assert md.startswith("**Table I (BD-quality).**") and "positive: better quality" in md
    assert "\\label{tab:bd-quality}" in tex and 'id="table1-quality"' in page
    assert f"{values['vvc420']:.3f}" in md  # dB to three decimals


def test_overlap_limits_refuse_or_mark(kodak, tmp_path):
    """The issue's case: curves overlapping over 0.5 % of their quality range get no number, only the reason."""
    import pandas as pd

    anchor = kodak[kodak["codec"] == "hevc444"]
    means = anchor.groupby("point")["psnr-rgb"].mean()
    span = means.max() - means.min()
    frames = [anchor, anchor.assign(codec="barely", **{"psnr-rgb": anchor["psnr-rgb"] + 0.99 * span}),
              anchor.assign(codec="partly", **{"psnr-rgb": anchor["psnr-rgb"] + 0.4 * span})]
    pd.concat(frames).to_csv(tmp_path / "rd.csv", index=False)
    table = build_table1({"kodak": tmp_path / "rd.csv"}, "hevc444", ["psnr-rgb"], BDSettings())
    by = {r.codec: table.entry(r, ("kodak", "psnr-rgb")) for r in table.rows}
    assert by["barely"].value is None and "overlap only" in by["barely"].error and "min_overlap=0.2" in by["barely"].error
    assert "| barely | n/a |" in to_markdown(table)
    partly = by["partly"]
    assert partly.overlap == pytest.approx(0.6 / 1.4, abs=0.02) and SMALL_OVERLAP in dict(partly.marks)
    assert partly.shares == pytest.approx((0.6, 0.6), abs=0.02)
    details = list(csv.DictReader(io.StringIO(to_details_csv([table]))))
    row = next(r for r in details if r["codec"] == "partly")
    assert float(row["share_test"]) == pytest.approx(partly.shares[1], rel=1e-5) and row["marks"] == SMALL_OVERLAP
    assert float(row["quality_lo"]) == pytest.approx(means.min() + 0.4 * span, abs=0.05)


def test_rate_range_is_applied_and_printed_with_every_table(kodak, tmp_path):
    settings = BDSettings(rate_range=(0.1, 0.5))
    tables = [build_table1({"kodak": KODAK_RD}, "hevc444", ["psnr-rgb"], settings, kind=k) for k in ("rate", "quality")]
    value = tables[0].entry(tables[0].rows[1], ("kodak", "psnr-rgb")).value
    assert value == pytest.approx(compare(kodak, "hevc444", tables[0].rows[1].codec, "psnr-rgb", settings).value)
    assert value != pytest.approx(compare(kodak, "hevc444", tables[0].rows[1].codec, "psnr-rgb").value, abs=0.01)
    write_tables(tables, tmp_path / "tables", tmp_path)
    for name in ("table1.md", "table1.tex", "table1.html", "table1_quality.md", "table1_quality.tex",
                 "table1_quality.html", "tables.md"):
        assert "rates clipped to 0.1-0.5 bpp" in (tmp_path / "tables" / name).read_text(), name
    details = (tmp_path / "tables" / "table1_details.csv").read_text()
    assert ",0.1-0.5," in details and ",quality," in details


def test_markdown_and_latex_keep_intervals_and_marks(kodak):
    settings = BDSettings(bootstrap=40, seed=1)
    table = build_table1({"kodak": KODAK_RD}, "hevc444", ["dists"], settings)
    jpeg = next(r for r in table.rows if r.codec == "jpeg")
    e = table.entry(jpeg, ("kodak", "dists"))
    lo, hi = e.ci
    symbols = "".join(k for k, _ in e.marks)
    assert symbols and f"| jpeg | {e.value:.2f} [{lo:.2f}, {hi:.2f}]{symbols} |" in to_markdown(table)
    tex = to_latex(table)
    marks = "".join({"†": "\\dagger", "§": "\\S", "‡": "\\ddagger"}[k] for k in symbols)
    assert f"${e.value:.2f}^{{{marks}}}$ {{\\footnotesize $[{lo:.2f}, {hi:.2f}]$}}" in tex
    pm = to_latex(build_table1({"kodak": KODAK_RD}, "hevc444", ["dists"],
                               BDSettings(bootstrap=40, seed=1, latex_interval="pm")))
    up, down = f"{hi - e.value:.2f}", f"{e.value - lo:.2f}"
    assert (f"${e.value:.2f} \\pm {up}^{{{marks}}}$" if up == down
            else f"${e.value:.2f}^{{+{up}}}_{{-{down}}}^{{{marks}}}$") in pm
    assert "\\textdagger{}" in tex or "\\S{}" in tex  # the mark notes under the table


def test_bad_bd_settings_name_the_setting():
    from rdbench.bd import BDError

    with pytest.raises(BDError, match=r"rate_range must be \[lo, hi\] bpp"):
        BDSettings(rate_range=(0.5, 0.1))
    with pytest.raises(BDError, match="min_overlap and small_overlap"):
        BDSettings(min_overlap=0.6, small_overlap=0.5)
    with pytest.raises(BDError, match="latex_interval 'round' is not one of brackets, pm, none"):
        BDSettings(latex_interval="round")
    with pytest.raises(BDError, match=r"unknown bd setting\(s\) \['ms_ssim'\]"):
        BDSettings.from_config({"ms_ssim": True})
    assert np.isclose(BDSettings.from_config({"rate_range": [0.05, 0.5]}).rate_range, (0.05, 0.5)).all()


def test_an_image_without_a_metric_value_is_left_out_of_that_metric_by_name(kodak):
    """A 1x1 image has PSNR but no MS-SSIM (too small for SSIM's window, recorded as missing): the
    MS-SSIM cell is the BD over the other images and names the one left out; PSNR keeps it."""
    df = kodak[kodak["codec"].isin(["hevc444", "webp"])].copy()
    tiny = df[df["image"] == "kodim01"].copy()
    tiny["image"], tiny["ms-ssim-rgb"] = "dot", np.nan
    with_dot = pd.concat([df, tiny])
    ms = compare(with_dot, "hevc444", "webp", "ms-ssim-rgb", BDSettings(bootstrap=0))
    assert ms.value == pytest.approx(compare(df, "hevc444", "webp", "ms-ssim-rgb", BDSettings(bootstrap=0)).value)
    assert ms.images_excluded == ("dot",) and any("dot" in n and "ms-ssim-rgb" in n for n in ms.notes)
    psnr = compare(with_dot, "hevc444", "webp", "psnr-rgb", BDSettings(bootstrap=0))
    assert psnr.n_images == ms.n_images + 1 and not psnr.images_excluded
