"""DPICT's published Kodak curves (jaehanlee-mcl/DPICT) as imported, pinned reference curves."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rdbench import references
from rdbench.bd import bd_rate
from rdbench.report.build import check_published
from rdbench.report.published import load_published


def test_psnr_curve_is_read_as_published(reference_dir):
    (curve,) = load_published(["dpict:DPICT_kodak_PSNR.csv"])
    assert curve.label == "DPICT" and set(curve.metrics) == {"psnr-rgb"}
    assert len(curve.bpp) == 88 and np.all(np.diff(curve.bpp) >= 0)  # the file runs by decreasing bpp
    assert curve.bpp[0] == pytest.approx(0.3723, abs=1e-4) and curve.bpp[-1] == pytest.approx(1.4242, abs=1e-4)
    psnr = curve.metrics["psnr-rgb"]
    assert psnr.min() == pytest.approx(31.4369, abs=1e-4) and psnr.max() == pytest.approx(38.9384, abs=1e-4)
    assert "jaehanlee-mcl/DPICT" in curve.description and "8fc9cc5" in curve.description
    assert bd_rate(curve.bpp, psnr, curve.bpp * 0.9, psnr) == pytest.approx(-10.0, abs=1e-6)  # 88 points fit


def test_ms_ssim_file_is_in_db(reference_dir):
    (curve,) = load_published(["dpict:DPICT_kodak_MS_SSIM.csv"])
    assert curve.label == "DPICT (MS-SSIM file)" and len(curve.bpp) == 164
    top = np.argmax(curve.bpp)
    assert curve.metrics["ms-ssim-db-rgb"][top] == pytest.approx(22.6538, abs=1e-4)
    assert curve.metrics["ms-ssim-rgb"][top] == pytest.approx(0.99458, abs=1e-5)
    # both files together: their labels differ, so a config may list both
    assert [c.label for c in load_published(["dpict:DPICT_kodak_PSNR.csv", "dpict:DPICT_kodak_MS_SSIM.csv"])] == \
        ["DPICT", "DPICT (MS-SSIM file)"]


def test_pinned_bytes_are_checked(reference_dir, tmp_path, monkeypatch):
    copy = tmp_path / "ref"
    shutil.copytree(reference_dir / "DPICT", copy / "DPICT")
    path = copy / "DPICT" / "DPICT_kodak_PSNR.csv"
    path.chmod(0o644)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data  # kept byte for byte: BOM and CRLF
    path.write_bytes(data[3:])  # the same numbers without the BOM are not the pinned file
    monkeypatch.setenv("RDBENCH_REFERENCE", str(copy))
    with pytest.raises(references.ReferenceCurveError, match="is not the pinned"):
        load_published(["dpict:DPICT_kodak_PSNR.csv"])


def test_named_under_its_dataset_only():
    check_published({"kodak": ["dpict:DPICT_kodak_PSNR.csv"]})
    with pytest.raises(ValueError, match="curve of kodak"):
        check_published({"tecnick": ["dpict:DPICT_kodak_PSNR.csv"]})
    with pytest.raises(references.ReferenceCurveError, match="DPICT publishes"):
        load_published(["dpict:DPICT_kodak_LPIPS.csv"])
