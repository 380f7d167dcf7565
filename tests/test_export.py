"""`rdbench export --format compressai`: measured curves out, and back in through rdbench's own import."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rdbench.cli import main
from rdbench.report.compare import BDSettings, compare, compare_published
from rdbench.report.published import load_compressai_json
from rdbench.results import read_rd_csv

KODAK_RD = Path(__file__).resolve().parent.parent / "results" / "kodak" / "rd.csv"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if not KODAK_RD.is_file():
        pytest.fail(f"{KODAK_RD} is committed; it is missing")
    out = tmp_path_factory.mktemp("exported")
    assert main(["export", "--csv", str(KODAK_RD), "--out", str(out)]) == 0
    return out


def test_every_codec_is_one_compressai_file_of_per_point_means(exported):
    df = read_rd_csv(KODAK_RD)
    assert {p.stem for p in exported.glob("*.json")} == set(df["codec"].astype(str))
    data = json.loads((exported / "webp.json").read_text())
    assert data["name"] == "webp" and "24 images" in data["description"]
    rows = df[df["codec"] == "webp"]
    means = rows.groupby("point")[["bpp", "psnr-rgb", "dists", "encode_s"]].mean().sort_values("bpp")
    assert np.allclose(data["results"]["bpp"], means["bpp"]) and np.all(np.diff(data["results"]["bpp"]) > 0)
    assert np.allclose(data["results"]["psnr-rgb"], means["psnr-rgb"])
    assert np.allclose(data["results"]["dists"], means["dists"])
    assert np.allclose(data["results"]["encoding_time"], means["encode_s"])
    assert (exported / "means.csv").read_text().startswith("dataset,codec,bpp,psnr-rgb,")


@pytest.mark.parametrize("metric", ["psnr-rgb", "ms-ssim-rgb", "lpips"])
def test_an_exported_curve_imported_back_gives_the_measured_bd(exported, metric):
    """The BD of the imported file against the measured anchor is the BD of the measured codec (mean curves)."""
    df = read_rd_csv(KODAK_RD)
    settings = BDSettings(bootstrap=0)
    curve = load_compressai_json(exported / "jpegxl.json")
    back = compare_published(df, "hevc444", curve, metric, settings)
    assert back.source == "published" and curve.label == "jpegxl"
    assert back.value == pytest.approx(compare(df, "hevc444", "jpegxl", metric, settings).value, abs=1e-9)


def test_a_csv_with_two_datasets_needs_one_named(tmp_path):
    df = read_rd_csv(KODAK_RD)
    other = df.copy()
    other["dataset"] = "other"
    both = tmp_path / "rd.csv"
    pd.concat([df, other]).to_csv(both, index=False)
    assert main(["export", "--csv", str(both), "--out", str(tmp_path / "x")]) == 1
    assert main(["export", "--csv", str(both), "--out", str(tmp_path / "x"), "--dataset", "other"]) == 0
    assert json.loads((tmp_path / "x" / "webp.json").read_text())["description"].startswith("rdbench: webp measured on other")
