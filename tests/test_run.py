"""The engine: canonical inputs, per-image resume, failure isolation, metric reuse, aggregation."""

import csv
import os

import pytest

from rdbench import images, results, run
from rdbench.codecs import codecs

pytestmark = pytest.mark.usefixtures("kodak_dir")


@pytest.fixture
def small_set(tmp_path, crop):
    """Three real 96x128 Kodak crops as a folder dataset."""
    folder = tmp_path / "small"
    folder.mkdir()
    for i, (top, left) in enumerate([(0, 0), (200, 300), (400, 600)]):
        images.write_png(folder / f"img{i}.png", crop(96, 128, top, left))
    return folder


def test_prepare_reports_every_bad_image_before_coding(small_set, tmp_path):
    (small_set / "broken.png").write_bytes((small_set / "img0.png").read_bytes()[:200])
    (small_set / "empty.png").write_bytes(b"")
    with pytest.raises(images.ImageError, match="2 image\\(s\\) of .* cannot be measured") as err:
        run.prepare(str(small_set), tmp_path / "prep")
    assert "broken.png" in str(err.value) and "empty.png" in str(err.value)
    assert not (tmp_path / "prep" / "index.json").exists()


def test_a_failing_image_loses_nothing_and_a_rerun_codes_only_it(small_set, tmp_path, monkeypatch):
    index = run.prepare(str(small_set), tmp_path / "prep")
    jpeg = codecs.get("jpeg")
    real_encode, calls = jpeg.encode, []

    def flaky(self, src, point, bitstream):
        calls.append(src.stem)
        if src.stem == "img1":
            raise RuntimeError("encoder crashed")
        real_encode(self, src, point, bitstream)

    monkeypatch.setattr(jpeg, "encode", flaky)
    out = tmp_path / "cell"
    with pytest.raises(run.CellError, match="(?s)1 of 3 image\\(s\\) failed.*img1: RuntimeError: encoder crashed"):
        run.code_cell("jpeg", {}, index, "50", out)
    assert sorted(p.name for p in out.glob("img*.json")) == ["img0.json", "img2.json"]
    assert not (out / "coding.json").exists()

    monkeypatch.setattr(jpeg, "encode", lambda self, s, p, b: (calls.append(s.stem), real_encode(self, s, p, b)))
    calls.clear()
    coding = results.read_json(run.code_cell("jpeg", {}, index, "50", out))
    assert calls == ["img1"]  # the saved images were not coded again
    assert [r["image"] for r in coding["records"]] == ["img0", "img1", "img2"]
    for r in coding["records"]:
        assert r["bytes"] == (out / f"{r['image']}.bin").stat().st_size
        assert r["bpp"] == pytest.approx(8 * r["bytes"] / (96 * 128))

    calls.clear()
    run.code_cell("jpeg", {"points": [50, 80]}, index, "50", out)  # other options: another fingerprint
    assert calls == ["img0", "img1", "img2"]


def test_wrong_size_reconstruction_is_an_error_not_a_number(small_set, tmp_path, monkeypatch):
    index = run.prepare(str(small_set), tmp_path / "prep")
    jpeg = codecs.get("jpeg")
    real_decode = jpeg.decode

    def cropping(self, bitstream, out_png):
        real_decode(self, bitstream, out_png)
        images.write_png(out_png, images.read_png(out_png)[:-1])

    monkeypatch.setattr(jpeg, "decode", cropping)
    with pytest.raises(run.CellError, match="decoded img0 as 128x95, expected 128x96"):
        run.code_cell("jpeg", {}, index, "50", tmp_path / "cell")


def test_unavailable_codec_is_refused_with_its_reason(small_set, tmp_path):
    index = run.prepare(str(small_set), tmp_path / "prep")
    with pytest.raises(run.CodecUnavailable, match="codec 'vvc420' is not available: .*nonexistent"):
        run.code_cell("vvc420", {"ffmpeg": str(tmp_path / "nonexistent")}, index, "37", tmp_path / "cell")


def test_measure_reuses_values_and_adds_only_new_metrics(small_set, tmp_path, monkeypatch):
    index = run.prepare(str(small_set), tmp_path / "prep")
    coding = run.code_cell("jpeg", {}, index, "50", tmp_path / "cell")
    cell_path = tmp_path / "cells" / "small" / "jpeg" / "50.json"
    cell = results.read_cell(run.measure_cell(coding, index, ["psnr-rgb"], cell_path))
    assert cell["manifest"]["codec"]["name"] == "jpeg" and len(cell["manifest"]["dataset"]["hash"]) == 64
    assert all(20 < r["metrics"]["psnr-rgb"] < 50 for r in cell["records"])

    from rdbench.metrics import metrics

    import dataclasses

    failing = dataclasses.replace(metrics.get("psnr-rgb"), fn=lambda *a: pytest.fail("psnr-rgb recomputed"))
    monkeypatch.setitem(metrics._entries, "psnr-rgb", failing)
    cell2 = results.read_cell(run.measure_cell(coding, index, ["psnr-rgb", "ms-ssim-rgb"], cell_path))
    assert [r["metrics"]["psnr-rgb"] for r in cell2["records"]] == [r["metrics"]["psnr-rgb"] for r in cell["records"]]
    assert all(0.8 < r["metrics"]["ms-ssim-rgb"] <= 1 for r in cell2["records"])
    # 96 px is too short for MS-SSIM's 5 scales: the value stands, with its caveat kept in the record
    assert all("4 of 5 scales" in r["metric_notes"]["ms-ssim-rgb"] for r in cell2["records"])
    assert all("psnr-rgb" not in r["metric_notes"] for r in cell2["records"])
    monkeypatch.setitem(metrics._entries, "ms-ssim-rgb",
                        dataclasses.replace(metrics.get("ms-ssim-rgb"), fn=lambda *a: pytest.fail("recomputed")))
    cell3 = results.read_cell(run.measure_cell(coding, index, ["psnr-rgb", "ms-ssim-rgb"], cell_path))
    assert [r["metric_notes"] for r in cell3["records"]] == [r["metric_notes"] for r in cell2["records"]]

    n = run.aggregate([cell_path], tmp_path / "rd.csv")
    rows = list(csv.DictReader(open(tmp_path / "rd.csv")))
    assert n == 3 and {r["image"] for r in rows} == {"img0", "img1", "img2"}
    assert set(results.RD_COLUMNS) | {"psnr-rgb", "ms-ssim-rgb"} == set(rows[0])


def test_measure_names_variants_and_records_images_too_small_for_a_metric(small_set, tmp_path, monkeypatch):
    from rdbench.metrics import metric, metrics
    from rdbench.metrics.common import ImageTooSmallError

    @metric("toy", higher_is_better=False, variants=("a", "b"), default_variant="a")
    def toy(reference, distorted, variant="a"):
        if variant == "b" and reference.shape[0] < 100:  # every crop is 96 px high
            raise ImageTooSmallError("toy: too small for b")
        return {"a": 1.0, "b": 2.0}[variant]

    metrics.names()  # discover the entry points before adding to them
    monkeypatch.setitem(metrics._entries, "toy", toy)
    index = run.prepare(str(small_set), tmp_path / "prep")
    coding = run.code_cell("jpeg", {}, index, "50", tmp_path / "cell")
    cell_path = tmp_path / "cells" / "small" / "jpeg" / "50.json"
    cell = results.read_cell(run.measure_cell(coding, index, ["toy", "toy:b", "psnr-rgb"], cell_path))
    assert cell["metrics"]["toy"]["variant"] == "a" and cell["metrics"]["toy:b"]["variant"] == "b"
    for r in cell["records"]:
        assert r["metrics"]["toy"] == 1.0 and r["metrics"]["toy:b"] is None and r["metrics"]["psnr-rgb"] > 20
        assert r["metric_errors"] == {"toy:b": "toy: too small for b"}
    run.aggregate([cell_path], tmp_path / "rd.csv")
    rows = list(csv.DictReader(open(tmp_path / "rd.csv")))
    assert [(float(r["toy"]), r["toy:b"]) for r in rows] == [(1.0, "")] * 3

    with pytest.raises(ValueError, match="metric 'toy' has no variant 'c' \\(variants: a, b\\)"):
        run.measure_cell(coding, index, ["toy:c"], cell_path)


def test_values_survive_the_workflow_deleting_the_cell_before_a_rerun(small_set, tmp_path, monkeypatch):
    """Snakemake removes a job's output before rerunning it (here: a metric was added to the config)."""
    from rdbench.metrics import metrics

    import dataclasses

    index = run.prepare(str(small_set), tmp_path / "prep")
    coding = run.code_cell("jpeg", {}, index, "50", tmp_path / "cell")
    cell_path = tmp_path / "cells" / "small" / "jpeg" / "50.json"
    first = results.read_cell(run.measure_cell(coding, index, ["psnr-rgb"], cell_path))
    cell_path.unlink()
    failing = dataclasses.replace(metrics.get("psnr-rgb"), fn=lambda *a: pytest.fail("psnr-rgb recomputed"))
    monkeypatch.setitem(metrics._entries, "psnr-rgb", failing)
    second = results.read_cell(run.measure_cell(coding, index, ["psnr-rgb", "psnr-y"], cell_path))
    assert [r["metrics"]["psnr-rgb"] for r in second["records"]] == [r["metrics"]["psnr-rgb"] for r in first["records"]]
    assert all(r["metrics"]["psnr-y"] > 20 for r in second["records"])

    images.write_png(tmp_path / "cell" / "img1.png", images.read_png(tmp_path / "cell" / "img1.png") // 2)
    cell_path.unlink()  # a changed reconstruction is measured again, the others are not
    with pytest.raises(pytest.fail.Exception, match="psnr-rgb recomputed"):
        run.measure_cell(coding, index, ["psnr-rgb", "psnr-y"], cell_path)


def test_setting_stamps_date_a_setting_from_its_last_change_and_parsing_writes_none(tmp_path):
    import json
    import time

    path = results.setting_stamp(tmp_path, "metrics", ["psnr-rgb"])
    assert not os.path.exists(path)  # a new value: the workflow's `setting` rule writes it, not parsing
    before = int(time.time())
    results.write_setting(path, ["psnr-rgb"])
    since = json.loads(open(path).read())["since"]
    assert json.loads(open(path).read())["value"] == ["psnr-rgb"] and since >= before
    os.utime(path)  # git checkout dates it now; parsing dates it back
    assert results.setting_stamp(tmp_path, "metrics", ["psnr-rgb"]) == path and os.path.getmtime(path) == since
    changed = results.setting_stamp(tmp_path, "metrics", ["psnr-rgb", "psnr-y"])
    assert changed != path and not os.path.exists(changed) and os.path.exists(path)  # a dry run loses nothing
    results.write_setting(changed, ["psnr-rgb", "psnr-y"])
    assert sorted(os.listdir(tmp_path / "settings")) == [os.path.basename(changed)]
