"""rdbench.report.progress: the training-campaign rows and plot, on the committed Kodak cells."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from rdbench.report.progress import campaign_row, plot, psnr_at, record, write_table

RD = Path(__file__).resolve().parent.parent / "results" / "kodak" / "rd.csv"


def _sidecar(sha: str, crops: int, hours: float, init: dict | None = None) -> dict:
    return {"sha256": sha * 8, "budget": {"crops_seen": crops, "cpu_hours": hours, "gpu_minutes": 0.0},
            "training": {"init_from": init}}


def test_psnr_at_interpolates_in_log_rate_and_never_extrapolates():
    bpp, psnr = np.array([0.1, 0.4]), np.array([26.0, 30.0])
    assert psnr_at(bpp, psnr, 0.2) == pytest.approx(26 + 4 * math.log10(2) / math.log10(4))
    assert math.isnan(psnr_at(bpp, psnr, 0.05)) and math.isnan(psnr_at(bpp, psnr, 0.5))


def test_rows_measure_the_codec_and_count_a_base_once(tmp_path):
    if not RD.is_file():
        pytest.skip(f"{RD} missing")
    from rdbench.report.compare import BDSettings, compare
    from rdbench.results import read_rd_csv

    base = _sidecar("aaaaaaaa", 8000, 1.0)
    init = {"sha256": base["sha256"], "budget": base["budget"]}
    sidecars = {3: base, 1: _sidecar("bbbbbbbb", 9000, 1.25, init), 4: _sidecar("cccccccc", 9600, 1.5, init)}
    row = campaign_row(RD, "webp", "hevc444", sidecars)
    expected = compare(read_rd_csv(RD), "hevc444", "webp", "psnr-rgb", BDSettings()).value
    assert row["bd_rate_psnr"] == pytest.approx(expected, abs=0.005)
    quality = compare(read_rd_csv(RD), "hevc444", "webp", "psnr-rgb", BDSettings(), kind="quality").value
    assert row["bd_psnr_db"] == pytest.approx(quality, abs=0.0005) and row["bd_psnr_db"] * row["bd_rate_psnr"] < 0
    assert row["crops_total"] == 8000 + 9000 + 9600 and row["crops_p1"] == 9000
    assert row["cpu_hours"] == pytest.approx(3.75) and row["cpu_hours_spent"] == pytest.approx(1.0 + 0.25 + 0.5)
    assert 25 < row["psnr_at_0.25bpp"] < 35 and row["images"] == 24 and row["bd_note"] == ""
    far = campaign_row(RD, "jpeg", "vvc420", sidecars)  # defined or not, never a made-up number
    assert (far["bd_rate_psnr"] == "" or far["bd_psnr_db"] == "") == bool(far["bd_note"])
    assert row["weights"].split() == ["bbbbbbbbbbbb", "aaaaaaaaaaaa", "cccccccccccc"]  # by point

    rows = record(tmp_path / "progress.csv", row)
    rows = record(tmp_path / "progress.csv", {**row, "bd_rate_psnr": 1.0})  # same weights: replaced
    assert len(rows) == 1 and rows[0]["bd_rate_psnr"] == "1.0"
    rows = record(tmp_path / "progress.csv", {**row, "weights": "new", "crops_total": 50000})
    assert [r["weights"] for r in rows] == [row["weights"], "new"]
    png = plot(rows, tmp_path / "progress.png", "webp")
    assert png.stat().st_size > 10_000
    write_table(tmp_path / "progress.md", rows)
    assert (tmp_path / "progress.md").read_text().count("\n") == 4


def test_weights_continued_from_an_earlier_rows_weights_count_that_row_once(tmp_path):
    if not RD.is_file():
        pytest.skip(f"{RD} missing")
    old = {k: _sidecar(c * 8, 8000, 1.0) for k, c in ((1, "a"), (3, "b"))}
    earlier = [{"weights": "aaaaaaaaaaaa bbbbbbbbbbbb", "cpu_hours_spent": "1.5"}]  # 1.5: the two shared a base
    new = {k: _sidecar(c * 8, 9000, 1.4, {"sha256": old[k]["sha256"], "budget": old[k]["budget"]})
           for k, c in ((1, "c"), (3, "d"))}
    row = campaign_row(RD, "webp", "hevc444", new, earlier)
    assert row["cpu_hours"] == pytest.approx(2.8) and row["cpu_hours_spent"] == pytest.approx(1.5 + 0.4 + 0.4)
    assert campaign_row(RD, "webp", "hevc444", new)["cpu_hours_spent"] == pytest.approx(2.8)  # no rows: bases
