"""Table I in the paper's layout: three dataset groups, published anchors from three sources, the paper beside us.

Published values are read here straight from the source files (an independent little parser, or the JSON), and
every expected BD is recomputed through :func:`rdbench.bd.bd`, never written in."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rdbench import config as rdconfig
from rdbench import references
from rdbench.bd import bd, quality_transform
from rdbench.report.compare import BDSettings
from rdbench.report.paper import compare_with_paper, load_paper
from rdbench.report.published import load_published
from rdbench.report.table1 import build_table1
from rdbench.report.tables import to_html, to_latex, to_long_csv, to_markdown

REPO = Path(__file__).resolve().parent.parent
KODAK_RD = REPO / "results" / "kodak" / "rd.csv"
SMOKE = REPO / ".test" / "config_table1" / "config.yaml"
CLIC, TECNICK = "clic2020-professional-valid", "tecnick"
PUBLISHED = {
    "kodak": [{"row": "BPG", "curve": "compressai:kodak/bpg_444_x265_ycbcr.json"}, "compressai:kodak/vtm.json",
              {"row": "Factorized Prior", "curve": "compressai:kodak/compressai-bmshj2018-factorized_mse_cuda.json"},
              {"row": "Hyper Prior", "curve": "compressai:kodak/compressai-bmshj2018-hyperprior_mse_cuda.json"}],
    CLIC: [{"row": "BPG", "curve": "c3:clic2020/BPG"}, "c3:clic2020/VTM"],
    TECNICK: [{"row": "BPG", "curve": "tfc:tecnick/bpg444"},
              {"row": "Factorized Prior", "curve": "tfc:tecnick/balle-2017-iclr-opt-mse"}],
}
ANCHORS = {ds: "published:BPG" for ds in PUBLISHED}


@pytest.fixture
def reference(reference_dir, monkeypatch):
    monkeypatch.setenv("RDBENCH_REFERENCE", str(reference_dir))
    return reference_dir


def _tfc_lines(path: Path) -> np.ndarray:
    return np.array([[float(x) for x in line.split(",")] for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#")])


def test_tfc_and_c3_curves_are_parsed_from_their_original_files(reference):
    [bpg] = load_published(["tfc:tecnick/bpg444"])
    root = reference / "tensorflow-compression/results/image_compression/tecnick"
    psnr, msssim = _tfc_lines(root / "PSNR_sRGB_RGB/bpg444.txt"), _tfc_lines(root / "MS-SSIM_sRGB_RGB/bpg444.txt")
    assert bpg.label == "BPG (4:4:4)" and len(bpg.bpp) == 52  # the header's name, SOURCES.md's 52 points
    assert np.array_equal(bpg.bpp, psnr[:, 0]) and np.array_equal(bpg.metrics["psnr-rgb"], psnr[:, 1])
    assert np.array_equal(bpg.metrics["ms-ssim-rgb"], msssim[:, 1]) and bpg.metrics["ms-ssim-rgb"].max() < 1
    [vtm] = load_published(["c3:clic2020/VTM"])
    assert vtm.label == "VTM" and len(vtm.bpp) == 11 and set(vtm.metrics) == {"psnr-rgb"}  # SOURCES.md: 11 points
    assert vtm.bpp.min() == pytest.approx(0.0342, abs=1e-4) and vtm.bpp.max() == pytest.approx(0.8063, abs=1e-4)
    assert "c3_neural_compression" in vtm.description and "Wei Jiang" in vtm.description


def test_a_tampered_tfc_file_and_a_bad_name_are_refused(reference, tmp_path, monkeypatch):
    folder = tmp_path / "tensorflow-compression/results/image_compression/kodak"
    for metric in ("PSNR_sRGB_RGB", "MS-SSIM_sRGB_RGB"):
        src = reference / "tensorflow-compression/results/image_compression/kodak" / metric / "bpg444.txt"
        (folder / metric).mkdir(parents=True)
        (folder / metric / "bpg444.txt").write_bytes(src.read_bytes().replace(b"0.", b"1.", 1))
    monkeypatch.setenv("RDBENCH_REFERENCE", str(tmp_path))
    with pytest.raises(references.ReferenceCurveError, match="is not the pinned ea5c34d6"):
        load_published(["tfc:kodak/bpg444"])
    with pytest.raises(references.ReferenceCurveError, match=r"c3:<file>/<codec>"):
        load_published(["c3:clic2020"])


def test_compressai_clic_curves_are_refused_for_the_valid_split(reference):
    bad = "compressai:clic2020-professional/bpg_444_x265_ycbcr.json"
    with pytest.raises(references.ReferenceCurveError, match=r"\*test\* split .*#81 and #122"):
        references.check_dataset(bad, CLIC)
    config = {"datasets": ["kodak"], "codecs": {"jpeg": {}}, "metrics": ["psnr-rgb"], "anchor": "jpeg",
              "published": {CLIC: [{"row": "BPG", "curve": bad}], "kodak": ["c3:clic2020/BPG"]}}
    with pytest.raises(rdconfig.ConfigError) as err:
        rdconfig.check(config)
    assert "test* split" in str(err.value) and "c3:clic2020/BPG is a curve of clic2020-professional-valid, not of " \
                                               "kodak" in str(err.value)
    references.check_dataset("c3:clic2020/BPG", CLIC)  # the valid split: accepted


def _published(entries):
    return {ds: load_published(e) for ds, e in entries.items()}


def _bd_mean(anchor, test_bpp, test_q, metric="psnr-rgb", method="pchip"):
    a_bpp, a_q = anchor.curve(metric)
    return bd(a_bpp, quality_transform(metric, a_q, ms_ssim_db=True), test_bpp,
              quality_transform(metric, test_q, ms_ssim_db=True), method=method).value


@pytest.fixture
def paper_layout(reference, tmp_path):
    from rdbench.results import read_rd_csv

    df = read_rd_csv(KODAK_RD)
    path = tmp_path / "rd.csv"
    df[df["codec"].astype(str).isin(["hevc444", "jpeg", "vvc420"])].to_csv(path, index=False)
    curves = _published(PUBLISHED)
    table = build_table1({"kodak": path}, "hevc444", ["psnr-rgb", "ms-ssim-rgb", "nlpd"], BDSettings(bootstrap=20),
                         published=curves, anchors=ANCHORS, datasets=list(PUBLISHED),
                         missing={CLIC: "dataset 'clic2020-professional-valid' is not available here (Fix: set "
                                        "RDBENCH_DATA)", TECNICK: "not available"},
                         not_available={"JPEG AI": "no public RD curve"})
    return table, curves, read_rd_csv(path)


def test_three_groups_with_published_anchors_and_unmeasured_datasets(paper_layout):
    table, curves, df = paper_layout
    assert [ds for ds, _ in table.columns][::3] == ["kodak", CLIC, TECNICK]
    row = {r.codec: r for r in table.rows}
    assert [r.source for r in table.rows[:2]] == ["published-anchor", "anchor"]
    # hevc444 against BPG's published curve: its dataset-mean curve, recomputed here
    mean = df[df["codec"] == "hevc444"].groupby("point")[["bpp", "psnr-rgb"]].mean().sort_values("bpp")
    hevc = table.entry(row["hevc444"], ("kodak", "psnr-rgb"))
    assert hevc.value == pytest.approx(_bd_mean(curves["kodak"][0], mean["bpp"], mean["psnr-rgb"]), abs=1e-9)
    assert any("hevc444 is PSNR" in n and "kodak" in n for n in table.notes)
    # NLPD: BPG has no curve, so the column is anchored on hevc444 (said), which is 0 there
    assert table.column_anchors["kodak/nlpd"] == "hevc444" and table.entry(row["hevc444"], ("kodak", "nlpd")).value == 0
    # CLIC: no measured rows (with the reason), the published VTM against c3's BPG, no MS-SSIM anchor
    vtm = table.entry(row["VTM"], (CLIC, "psnr-rgb"))
    assert vtm.value == pytest.approx(_bd_mean(curves[CLIC][0], *curves[CLIC][1].curve("psnr-rgb")), abs=1e-9)
    assert vtm.rank is None and table.entry(row["jpeg"], (CLIC, "psnr-rgb")).error.startswith("not measured on")
    assert table.column_anchors[f"{CLIC}/ms-ssim-rgb"] == "none"
    assert any(n.startswith(f"{CLIC}: no measured rows: dataset 'clic2020-professional-valid' is not available")
               for n in table.notes)
    fp = table.entry(row["Factorized Prior"], (TECNICK, "ms-ssim-rgb"))
    assert fp.value == pytest.approx(_bd_mean(curves[TECNICK][0], *curves[TECNICK][1].curve("ms-ssim-rgb"),
                                              metric="ms-ssim-rgb"), abs=1e-9)
    assert table.entry(row["JPEG AI"], ("kodak", "psnr-rgb")).error == "not available: no public RD curve"
    ranked = {r.codec for r in table.rows for c in table.columns if table.entry(r, c).rank}
    assert ranked <= {"hevc444", "jpeg", "vvc420"} and "vvc420" in ranked


def test_every_format_shows_the_groups(paper_layout):
    table = paper_layout[0]
    latex, html, md = to_latex(table), to_html(table), to_markdown(table)
    for ds in ("kodak", CLIC, TECNICK):
        assert f"\\multicolumn{{3}}{{c}}{{{ds}}}" in latex and f'<th colspan="3">{ds}</th>' in html
    assert "BPG (published, anchor)" in md and "hevc444 (stand-in anchor)" in md and "JPEG AI (not available)" in md
    long = list(csv.DictReader(io.StringIO(to_long_csv(table))))
    assert len(long) == len(table.rows) * len(table.columns)
    vtm = [r for r in long if r["codec"] == "VTM" and r["metric"] == "psnr-rgb"]
    assert {r["dataset"] for r in vtm if r["value"]} == {"kodak", CLIC} and all(r["source"] == "published" for r in vtm)
    assert {r["anchor"] for r in long if r["metric"] == "psnr-rgb"} == {"BPG (published)"}


def test_paper_vs_rdbench_puts_the_papers_numbers_beside_ours_never_in_our_column(paper_layout):
    table, curves, _ = paper_layout
    paper = load_paper("treenet")
    assert "2512.16743" in paper.source and paper.values[("VTM", "kodak", "psnr-rgb")] == -22.62
    rows = compare_with_paper(table, paper)
    head, body = rows[0], {(r[0], r[1], r[2]): dict(zip(rows[0], r)) for r in rows[1:]}
    assert head[3:7] == ["paper", "rdbench", "rdbench (cubic)", "cubic - paper"]
    fp = body[("Factorized Prior", "kodak", "PSNR")]
    cubic = _bd_mean(curves["kodak"][0], *curves["kodak"][2].curve("psnr-rgb"), method="cubic")
    assert float(fp["paper"]) == 23.88 and float(fp["rdbench (cubic)"]) == pytest.approx(cubic, abs=0.005)
    assert float(fp["cubic - paper"]) == pytest.approx(cubic - 23.88, abs=0.01)
    assert "published curves" in fp["note"] and fp["anchor"] == "BPG (published)"
    treenet = body[("TreeNet", "kodak", "PSNR")]
    assert treenet["paper"] == "-2.95" and treenet["rdbench"] == "" and "no rdbench row" in treenet["note"]
    clic_vtm = body[("VTM", CLIC, "PSNR")]
    assert clic_vtm["paper"] == "" and clic_vtm["rdbench"] and "paper: not available" in clic_vtm["note"]
    assert all(r["rdbench"] != r["paper"] for r in body.values() if r["paper"])


@pytest.mark.slow
def test_the_smoke_config_measures_three_groups_end_to_end(reference, samples_dir, kodak_dir, tmp_path):
    text = SMOKE.read_text().replace("../shared/datasets/samples", str(samples_dir))
    config = tmp_path / "config.yaml"
    config.write_text(text)
    run = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", str(config),
           "--cores", "2", "--directory", str(tmp_path)]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = tmp_path / "results" / "tables"
    long = list(csv.DictReader(open(tables / "table1_long.csv", encoding="utf-8")))
    for ds in ("kodak", CLIC, TECNICK):
        jpeg = [r for r in long if r["dataset"] == ds and r["codec"] == "jpeg" and r["metric"] == "psnr-rgb"]
        assert jpeg and jpeg[0]["value"] and float(jpeg[0]["value"]) > 0, (ds, jpeg)  # jpeg costs more than BPG
        assert {r["anchor"] for r in long if r["dataset"] == ds and r["metric"] == "psnr-rgb"} == {"BPG (published)"}
    table = json.loads((tables / "table1.json").read_text())
    assert [c[0] for c in table["columns"]] == ["kodak"] * 2 + [CLIC] * 2 + [TECNICK] * 2
    paper = (tables / "paper_vs_rdbench.md").read_text()
    assert "2512.16743" in paper and "Hyper Prior" in paper
    report = (tmp_path / "results" / "report.html").read_text()
    assert 'id="paper-vs-rdbench"' in report and f'<th colspan="2">{TECNICK}</th>' in report
    bad = text.replace("c3:clic2020/BPG", "compressai:clic2020-professional/bpg_444_x265_ycbcr.json")
    config.write_text(bad)
    proc = subprocess.run(run + ["-n"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "CLIC 2020 professional *test* split" in proc.stdout + proc.stderr
