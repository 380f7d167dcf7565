"""Dataset-level BD (averaging, bootstrap), Table I, published rows, RD plots and the HTML report.

The fixture is a real, small benchmark: crops of real images coded with real codecs (JPEG via
libjpeg-turbo, WebP, JPEG 2000 via OpenJPEG, through imagecodecs) at six qualities each, PSNR computed
with numpy and MS-SSIM with piq, written as rdbench cell JSONs and aggregated into rd.csv by
rdbench.results. Nothing here is a hard-coded result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rdbench.bd import BDError
from rdbench.report.compare import BDSettings, compare
from rdbench.report.published import load_compressai_json, load_published
from rdbench.report.tables import Table1, build_table1, to_latex, to_markdown, write_tables
from rdbench.results import CELL_SCHEMA, read_rd_csv, write_json, write_rd_csv

CODECS = {  # name -> (encode(rgb, level) -> bytes, decode(bytes) -> rgb, levels in rising rate)
    "jpeg": (lambda x, q: _ic().jpeg8_encode(x, level=q), lambda b: _ic().jpeg8_decode(b), (10, 25, 40, 60, 80, 95)),
    "webp": (lambda x, q: _ic().webp_encode(x, level=q, lossless=False), lambda b: _ic().webp_decode(b),
             (5, 20, 40, 60, 80, 95)),
    "jpeg2000": (lambda x, q: _ic().jpeg2k_encode(x, level=q), lambda b: _ic().jpeg2k_decode(b),
                 (28, 31, 34, 37, 40, 43)),
}
METRICS = ["psnr-rgb", "ms-ssim-rgb"]


def _reference_dir() -> Path | None:
    """CompressAI's published Kodak curves, $RDBENCH_REFERENCE/compressai/kodak (.ci/run sets it; the same
    layout rdbench.references reads); tests that need them skip without."""
    root = os.environ.get("RDBENCH_REFERENCE")
    return Path(root) / "compressai" / "kodak" if root else None


REFERENCE = _reference_dir()


def _ic():
    import imagecodecs

    return imagecodecs


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def _ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    import piq
    import torch

    t = [torch.from_numpy(x).permute(2, 0, 1)[None].float() for x in (a, b)]
    return float(piq.multi_scale_ssim(t[0], t[1], data_range=255.0))


def build_results(root: Path, images: dict[str, dict[str, np.ndarray]]) -> dict[str, Path]:
    """Code every image with every codec at every level; write cells and rd.csv under ``root``."""
    import imagecodecs
    import piq
    import torch

    torch.set_num_threads(1)
    csvs = {}
    for dataset, imgs in images.items():
        cells = []
        for codec, (enc, dec, levels) in CODECS.items():
            for level in levels:
                records = []
                for name, rgb in imgs.items():
                    data = enc(rgb, level)
                    rec = dec(data)[..., :3]
                    h, w = rgb.shape[:2]
                    records.append({"image": name, "width": w, "height": h, "bytes": len(data),
                                    "bpp": 8 * len(data) / (w * h), "encode_s": 0.0, "decode_s": 0.0,
                                    "metrics": {"psnr-rgb": _psnr(rgb, rec), "ms-ssim-rgb": _ms_ssim(rgb, rec)}})
                path = root / "cells" / dataset / codec / f"{level}.json"
                write_json(path, {
                    "schema": CELL_SCHEMA, "dataset": dataset, "codec": codec, "point": level,
                    "point_label": str(level), "point_kind": "quality",
                    "manifest": {"codec": {"name": codec, "library": "imagecodecs",
                                           "version": imagecodecs.__version__, "level": level},
                                 "date": "test", "rdbench": "test",
                                 "packages": {"piq": piq.__version__, "numpy": np.__version__}},
                    "metrics": {"psnr-rgb": {"higher_is_better": True, "unit": "dB"},
                                "ms-ssim-rgb": {"higher_is_better": True, "unit": ""}},
                    "records": records})
                cells.append(path)
        csvs[dataset] = root / dataset / "rd.csv"
        write_rd_csv(cells, csvs[dataset])
    return csvs


@pytest.fixture(scope="module")
def bench(tmp_path_factory, kodim, samples_dir):
    """Two datasets of real crops: 6 Kodak crops and 4 crops of the CLIC format fixtures."""
    from rdbench.images import load_rgb8

    kodak = {}
    for n in (1, 5, 14, 19, 21, 23):
        rgb, _ = load_rgb8(kodim(n))
        kodak[f"kodim{n:02d}"] = np.ascontiguousarray(rgb[96:288, 128:384])
    clic = {}
    for k, path in enumerate(sorted((samples_dir / "clic2020-professional-valid").glob("*.png"))[:2]):
        rgb, _ = load_rgb8(path)
        for j, (top, left) in enumerate(((0, 0), (rgb.shape[0] // 2, rgb.shape[1] // 2))):
            clic[f"{path.stem}-{j}"] = np.ascontiguousarray(rgb[top:top + 192, left:left + 256])
    root = tmp_path_factory.mktemp("results")
    csvs = build_results(root, {"kodak": kodak, "clic": clic})
    return root, csvs


# --- dataset-level BD: averaging conventions and bootstrap ------------------------------------------

def test_mean_curve_is_the_bd_of_the_mean_points(bench):
    from rdbench.bd import bd_rate

    _, csvs = bench
    df = read_rd_csv(csvs["kodak"])
    got = compare(df, "jpeg", "webp", "psnr-rgb")
    means = df.groupby(["codec", "point"])[["bpp", "psnr-rgb"]].mean()
    a, t = means.loc["jpeg"], means.loc["webp"]
    assert got.value == pytest.approx(bd_rate(a["bpp"], a["psnr-rgb"], t["bpp"], t["psnr-rgb"]), rel=1e-12)
    assert got.n_images == 6 and got.ci is None and 0 < got.overlap <= 1
    assert got.value < 0  # WebP beats baseline JPEG in PSNR at equal quality, on real photos
    text = got.describe()
    assert "method: pchip (piecewise cubic Hermite" in text and "averaging: mean-curve" in text and "overlap:" in text
    assert "rates: the whole curves" in text and "% of the anchor's" in text


def test_per_image_is_the_mean_of_per_image_bds(bench):
    from rdbench.bd import bd_rate

    _, csvs = bench
    df = read_rd_csv(csvs["kodak"])
    got = compare(df, "jpeg", "jpeg2000", "ms-ssim-rgb", BDSettings(averaging="per-image", method="akima"))
    values = []
    for image, rows in df.groupby("image"):
        a, t = rows[rows.codec == "jpeg"], rows[rows.codec == "jpeg2000"]
        db = lambda x: -10 * np.log10(1 - x)  # noqa: E731 (MS-SSIM in dB, the default BD axis)
        values.append(bd_rate(a["bpp"], db(a["ms-ssim-rgb"]), t["bpp"], db(t["ms-ssim-rgb"]), "akima"))
    assert got.value == pytest.approx(np.mean(values), rel=1e-12)
    assert "averaging: per-image (mean of per-image BDs), 6 images" in got.describe()
    mean_curve = compare(df, "jpeg", "jpeg2000", "ms-ssim-rgb", BDSettings(method="akima"))
    assert mean_curve.value != pytest.approx(got.value, rel=1e-3)  # the two conventions really differ


@pytest.mark.parametrize("averaging", ["mean-curve", "per-image"])
def test_anchor_against_itself_is_zero(bench, averaging):
    _, csvs = bench
    df = read_rd_csv(csvs["clic"])
    got = compare(df, "webp", "webp", "psnr-rgb", BDSettings(averaging=averaging, bootstrap=50))
    assert got.value == pytest.approx(0.0, abs=1e-9) and got.ci == pytest.approx((0.0, 0.0), abs=1e-9)


@pytest.mark.parametrize("averaging", ["mean-curve", "per-image"])
def test_bootstrap_interval_contains_the_estimate_and_is_reproducible(bench, averaging):
    _, csvs = bench
    df = read_rd_csv(csvs["kodak"])
    settings = BDSettings(averaging=averaging, bootstrap=300, seed=7)
    first = compare(df, "jpeg", "webp", "psnr-rgb", settings)
    again = compare(df, "jpeg", "webp", "psnr-rgb", settings)
    other = compare(df, "jpeg", "webp", "psnr-rgb", BDSettings(averaging=averaging, bootstrap=300, seed=8))
    lo, hi = first.ci
    assert lo < first.value < hi and hi - lo > 0.1
    assert again.ci == first.ci and other.ci != first.ci
    assert "bootstrap: 300 resamples, seed 7" in first.describe()
    narrow = compare(df, "jpeg", "webp", "psnr-rgb", BDSettings(averaging=averaging, bootstrap=300, seed=7,
                                                                  confidence=0.5))
    assert lo <= narrow.ci[0] <= narrow.ci[1] <= hi


def test_images_not_at_every_point_are_left_out_and_named(bench):
    _, csvs = bench
    df = read_rd_csv(csvs["kodak"])
    holey = df.drop(df[(df.codec == "webp") & (df.image == "kodim05") & (df.point == "40")].index)
    got = compare(holey, "jpeg", "webp", "psnr-rgb")
    assert got.n_images == 5 and got.images_excluded == ("kodim05",) and "kodim05" in got.describe()


def test_dataset_errors_name_what_exists(bench):
    _, csvs = bench
    df = read_rd_csv(csvs["kodak"])
    with pytest.raises(BDError, match=r"codec 'bpg' has no rows in rd.csv; it holds \['jpeg', 'jpeg2000', 'webp'\]"):
        compare(df, "bpg", "webp", "psnr-rgb")
    with pytest.raises(BDError, match=r"metric 'lpips-vgg' is not a column.*'psnr-rgb', 'ms-ssim-rgb'"):
        compare(df, "jpeg", "webp", "lpips-vgg")
    with pytest.raises(BDError, match="averaging 'median' is not one of mean-curve, per-image"):
        BDSettings(averaging="median")


# --- published curves --------------------------------------------------------------------------------

def test_compressai_json_import(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"name": "old", "results": {"bpp": [0.1, 0.2], "psnr": [28.0, 30.0],
                                                           "ms-ssim-db-rgb": [10.0, 20.0]}}))
    curve = load_compressai_json(path)
    assert sorted(curve.metrics) == ["ms-ssim-db-rgb", "ms-ssim-rgb", "psnr-rgb"]
    np.testing.assert_allclose(curve.curve("ms-ssim-rgb")[1], [0.9, 0.99])
    with pytest.raises(BDError, match=r"has no 'nlpd'; it has"):
        curve.curve("nlpd")
    path.write_text(json.dumps({"name": "bad", "results": {"bpp": [0.1, 0.2], "psnr-rgb": [28.0]}}))
    with pytest.raises(BDError, match=r"results\['psnr-rgb'\] has 1 values but bpp has 2"):
        load_compressai_json(path)


def test_published_labels_stay_unique():
    if REFERENCE is None or not REFERENCE.is_dir():
        pytest.skip("set RDBENCH_REFERENCE to a copy of CompressAI's published results (DIR/compressai/kodak/*.json)")
    files = [REFERENCE / "compressai-mbt2018_mse_cpu.json", REFERENCE / "compressai-mbt2018_ms-ssim_cpu.json",
             REFERENCE / "bpg_444_x265_ycbcr.json"]
    labels = [c.label for c in load_published(files)]
    assert labels == ["compressai-mbt2018_mse_cpu", "compressai-mbt2018_ms-ssim_cpu", "BPG 8b 444 x265 ycbcr"]


# --- Table I ----------------------------------------------------------------------------------------

def _scaled_rd_csv(bench, path: Path) -> Path:
    """The real JPEG rows as anchor plus codecs whose every rate is a known multiple of it."""
    import pandas as pd

    _, csvs = bench
    df = read_rd_csv(csvs["kodak"])
    anchor = df[df.codec == "jpeg"]
    frames = [anchor]
    for name, factor in (("half", 0.5), ("seventy", 0.7), ("seventy_tie", 0.7), ("ninety", 0.9), ("more", 1.2)):
        frames.append(anchor.assign(codec=name, bpp=anchor.bpp * factor))
    frames.append(anchor.assign(codec="elsewhere", **{"psnr-rgb": anchor["psnr-rgb"] + 40}))  # no overlap
    pd.concat(frames).to_csv(path, index=False)
    return path


class _Published:
    """A published curve 70% cheaper than the anchor's mean curve (built from the real rows)."""

    def __init__(self, df):
        means = df[df.codec == "jpeg"].groupby("point")[["bpp", "psnr-rgb", "ms-ssim-rgb"]].mean()
        from rdbench.report.published import PublishedCurve

        self.curve = PublishedCurve("Imported", "Imported", "", "memory", means["bpp"].to_numpy() * 0.3,
                                    {"psnr-rgb": means["psnr-rgb"].to_numpy()})


def test_table1_marks_best_and_second_and_never_ranks_published(bench, tmp_path):
    csv_path = _scaled_rd_csv(bench, tmp_path / "rd.csv")
    pub = _Published(read_rd_csv(csv_path)).curve
    table = build_table1({"kodak": csv_path}, "jpeg", ["psnr-rgb", "ms-ssim-rgb"], BDSettings(),
                         published={"kodak": [pub]})
    col = ("kodak", "psnr-rgb")
    by = {(r.codec, r.source): table.entry(r, col) for r in table.rows}
    assert [(r.codec, r.source) for r in table.rows][:2] == [("jpeg", "anchor"), ("elsewhere", "measured")]
    assert by[("half", "measured")].value == pytest.approx(-50.0) and by[("half", "measured")].rank == 1
    assert by[("seventy", "measured")].rank == 2 and by[("seventy_tie", "measured")].rank == 2
    assert by[("ninety", "measured")].rank is None and by[("more", "measured")].value == pytest.approx(20.0)
    published = by[("Imported", "published")]
    assert published.value == pytest.approx(-70.0) and published.rank is None  # better, but not measured
    assert by[("elsewhere", "measured")].value is None and "do not overlap" in by[("elsewhere", "measured")].error
    assert table.entry(next(r for r in table.rows if r.source == "published"), ("kodak", "ms-ssim-rgb")).value is None

    md = to_markdown(table)
    assert "| half | **-50.00** |" in md and "| seventy | *-30.00* |" in md and "| ninety | -10.00 |" in md
    assert "| Imported (published) | -70.00 |" in md and "| elsewhere | n/a |" in md
    tex = to_latex(table)
    assert "half & \\textcolor{red}{$-50.00$}" in tex and "seventy & \\textcolor{blue}{$-30.00$}" in tex
    assert "Imported (\\textit{published}) & $-70.00$" in tex and "seventy\\_tie & \\textcolor{blue}" in tex
    paths = write_tables(table, tmp_path / "tables", tmp_path)
    wide = (tmp_path / "tables" / "table1.csv").read_text().splitlines()
    assert wide[0] == "codec,source,kodak/psnr-rgb,kodak/ms-ssim-rgb"
    assert "Imported,published,-70.0000," in wide and any(line.startswith("half,measured,-50.0000,") for line in wide)
    details = (tmp_path / "tables" / "table1_details.csv").read_text()
    assert "kodak,psnr-rgb,rate,Imported,published,jpeg,-70," in details
    assert Table1.from_json(json.loads((tmp_path / "tables" / "table1.json").read_text())).to_json() == table.to_json()
    assert {p.name for p in paths} >= {"table1.md", "table1.tex", "table1.html", "tables.md"}


def test_table1_notes_the_anchor_substitute_and_includes_complexity(bench, tmp_path):
    root, csvs = bench
    clic = read_rd_csv(csvs["clic"])
    clic[clic.codec != "webp"].to_csv(tmp_path / "clic-without-webp.csv", index=False)
    table = build_table1({"kodak": csvs["kodak"], "clic": tmp_path / "clic-without-webp.csv"}, "webp",
                         ["psnr-rgb"], BDSettings(), availability={"skipped": {"bpg": "bpgenc not found on PATH"}})
    assert any("The paper's anchor is BPG; this table's anchor is webp. BPG was not run here: bpgenc not "
               "found on PATH" in n for n in table.notes)
    alone = build_table1({"kodak": csvs["kodak"]}, "webp", ["psnr-rgb"], BDSettings(), availability={"skipped": {}})
    assert not any("BPG" in n for n in alone.notes)  # neither BPG nor its stand-in involved: no word of it
    assert all(table.entry(r, ("clic", "psnr-rgb")).value is None for r in table.rows)  # no anchor there
    assert table.entry(table.rows[1], ("kodak", "psnr-rgb")).value is not None
    assert [n for n in table.notes if "clic" in n] == [
        "clic, psnr-rgb: the column is n/a: the anchor 'webp' has no results on this dataset"]
    with pytest.raises(BDError, match=r"the anchor 'hevc444' has no results in .*codecs with results: "
                                      r"\['jpeg', 'jpeg2000', 'webp'\]. Set `anchor:`"):
        build_table1({"kodak": csvs["kodak"]}, "hevc444", ["psnr-rgb"])
    (tmp_path / "complexity").mkdir()
    (tmp_path / "complexity" / "table2.csv").write_text("model,kMAC/px,params\ntreenet,49.89,0.94M\n")
    write_tables(table, tmp_path / "tables", tmp_path)
    md = (tmp_path / "tables" / "tables.md").read_text()
    assert "**Table II.**" in md and "| treenet | 49.89 | 0.94M |" in md and "Table III" not in md
    (tmp_path / "complexity" / "table3-loclic.csv").write_text("module,kmac_px_torchinfo\nlrp,101.19\n")
    write_tables(table, tmp_path / "tables", tmp_path)
    md = (tmp_path / "tables" / "tables.md").read_text()
    assert "**Table III (loclic).**" in md and "| lrp | 101.19 |" in md  # one Table III per architecture


# --- plots ------------------------------------------------------------------------------------------

def test_styles_are_stable_and_distinct():
    from rdbench.report.plots import KNOWN, style_for

    styles = [(style_for(c)["color"], style_for(c)["marker"]) for c in KNOWN]
    assert len(set(styles)) == len(KNOWN)
    assert style_for("mycodec") == style_for("mycodec")
    assert style_for("JPEG2000")["color"] == style_for("jpeg2000")["color"]  # published counterpart, same colour
    assert style_for("webp", anchor=True)["color"] == "black" and style_for("webp", anchor=True)["linewidth"] > 2
    assert style_for("JPEG", published=True)["linestyle"] == "--"


def test_rd_plots_are_written(bench, tmp_path):
    from PIL import Image

    from rdbench.report.plots import write_plots

    _, csvs = bench
    pub = load_published([_reference_or_skip("bpg_444_x265_ycbcr.json")]) if REFERENCE else []
    paths = write_plots(csvs["kodak"], METRICS, tmp_path, anchor="jpeg", published=pub)
    assert [str(p.relative_to(tmp_path)) for p in paths] == [
        "psnr-rgb.png", "psnr-rgb.svg", "low/psnr-rgb.png", "low/psnr-rgb.svg",
        "ms-ssim-rgb.png", "ms-ssim-rgb.svg", "low/ms-ssim-rgb.png", "low/ms-ssim-rgb.svg"]
    low = np.asarray(Image.open(tmp_path / "low" / "psnr-rgb.png").convert("L"))
    assert low.std() > 10 and not np.array_equal(low, np.asarray(Image.open(paths[0]).convert("L")))
    assert "0.6" in (tmp_path / "low" / "psnr-rgb.svg").read_text()  # the x axis ends at the paper's 0.6 bpp
    png = np.asarray(Image.open(paths[0]).convert("L"))
    assert png.shape == (460, 640) and png.std() > 10
    svg = paths[1].read_text()
    assert "jpeg (anchor)" in svg and "webp" in svg and "bits per pixel" in svg
    if pub:
        assert "BPG 8b 444 x265 ycbcr (published)" in svg


def _reference_or_skip(name: str) -> Path:
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return path


# --- the HTML report, in a real browser ---------------------------------------------------------------

def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")


def _browser(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def report(bench, tmp_path_factory):
    from rdbench.report.build import ReportSettings, make_all

    root, csvs = bench
    write_json(root / "availability.json", {"available": {}, "skipped": {"bpg": "bpgenc not found on PATH"}})
    published = {"kodak": [str(REFERENCE / "bpg_444_x265_ycbcr.json")]} if REFERENCE else {}
    # sensitivity 0.5 pp: on these crops some cells are then marked, so the marks' rendering is seen
    settings = ReportSettings(root, ["kodak", "clic"], METRICS, "jpeg", BDSettings(bootstrap=100, sensitivity=0.5),
                              published)
    paths = make_all(settings)
    return paths[-1]


def test_report_is_one_self_contained_file(report):
    text = report.read_text()
    assert report.name == "report.html" and 'id="table1"' in text
    assert text.count("data:image/svg+xml;base64,") == 4  # 2 datasets x 2 metrics
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from the network
    assert "kodak: per-image BD-rate against jpeg" in text and "kodak: 18 cells" in text
    assert "imagecodecs" in text  # the manifest of the cells (codec library and version)
    assert 'id="complexity"' not in text  # no Tables II/III computed: no section, no placeholder


def test_report_renders_in_chromium(report, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    run = _browser([f"--screenshot={shot}", "--window-size=1200,2000", report.resolve().as_uri()], tmp_path)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {run.returncode}): {run.stderr[-2000:]}"
    assert shot.stat().st_size > 50_000
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape == (2000, 1200, 3)
    assert img.std() > 20 and len(np.unique(img.reshape(-1, 3)[::7], axis=0)) > 100  # not blank or uniform
    for rgb in ((44, 160, 44), (255, 127, 14)):  # webp's green and jpeg2000's orange: the plots rendered
        assert (np.abs(img - rgb).sum(axis=2) < 40).sum() > 300, f"no plot pixels of colour {rgb}"
    assert (np.abs(img - (255, 244, 214)).sum(axis=2) < 6).sum() > 200, "no marked cell drawn"
    dom = _browser(["--dump-dom", report.resolve().as_uri()], tmp_path).stdout
    assert '<table class="bd" id="table1">' in dom and dom.count("<details") >= 6
    assert "Table I." in dom and 'class="best' in dom and 'class="second' in dom
    # the BD-quality table and the marks, as many as the tables hold, each with its note
    assert '<table class="bd" id="table1-quality">' in dom and "Table I (BD-quality)." in dom
    tables = [Table1.from_json(json.loads((report.parent / "tables" / f"{stem}.json").read_text()))
              for stem in ("table1", "table1_quality")]
    marks = sum(len(t.entry(r, c).marks) for t in tables for r in t.rows for c in t.columns)
    assert marks > 0 and dom.count('<sup class="mark"') == marks
    assert dom.count('<li class="mark-note">') == sum(len(t.marked()) for t in tables)


# --- CLI and workflow -------------------------------------------------------------------------------

def test_cli_bd_prints_method_averaging_and_overlap(bench, capsys):
    from rdbench.cli import main

    _, csvs = bench
    assert main(["bd", "--csv", str(csvs["kodak"]), "--anchor", "jpeg", "--test", "webp", "--metric", "psnr-rgb",
                 "--bootstrap", "100", "--method", "pchip", "--averaging", "per-image"]) == 0
    out = capsys.readouterr().out
    assert "BD-rate of webp vs jpeg on kodak" in out and "method: pchip" in out
    assert "averaging: per-image" in out and "overlap:" in out and "95% CI" in out
    assert main(["bd", "--csv", str(csvs["kodak"]), "--anchor", "jpeg", "--test", "nope", "--metric", "psnr-rgb"]) == 1
    assert "undefined" in capsys.readouterr().out


def test_workflow_rules_make_the_report_targets(bench, tmp_path):
    root, _ = bench
    results = tmp_path / "results"
    shutil.copytree(root / "cells", results / "cells")
    for ds in ("kodak", "clic"):
        shutil.copytree(root / ds, results / ds)
    write_json(results / "availability.json", {"available": {}, "skipped": {}})
    (tmp_path / "config.yaml").write_text(
        "results: results\ndatasets: [kodak, clic]\nmetrics: [psnr-rgb, ms-ssim-rgb]\nanchor: webp\n"
        "bd: {method: pchip, averaging: mean-curve, bootstrap: 20, seed: 0, ms_ssim_db: true}\npublished: {}\n")
    rules = Path(__file__).resolve().parent.parent / "workflow" / "rules" / "report.smk"
    (tmp_path / "Snakefile").write_text(
        'configfile: "config.yaml"\nRESULTS = config["results"]\nDATASETS = list(config["datasets"])\n'
        'TABLE_DATASETS = DATASETS\nMETRICS = list(config["metrics"])\nRD_CSVS = expand(f"{RESULTS}/{{dataset}}/rd.csv", dataset=DATASETS)\n'
        'LOGS = f"{RESULTS}/logs"\n'
        f'AVAILABILITY = f"{{RESULTS}}/availability.json"\ninclude: "{rules.with_name("settings.smk")}"\n'
        f'include: "{rules}"\n'
        "rule all:\n    input: REPORT_TARGETS\n")
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (results / "report.html").stat().st_size > 10_000
    assert len(list((results / "plots").glob("*/*.svg"))) == 4
    assert len(list((results / "plots").glob("*/low/*.svg"))) == 4
    md = (results / "tables" / "table1.md").read_text()
    assert "MS-SSIM [dB]" not in md and "Method pchip" in md and "| webp (anchor) |" in md
    assert (results / "logs" / "report" / "tables.log").read_text().strip()
