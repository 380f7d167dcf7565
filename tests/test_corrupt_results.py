"""A damaged result file is named, and heals: the cell is measured again, the image coded again."""

import pytest

from rdbench import results, run


@pytest.fixture
def measured(tmp_path, prepared_noise):
    """A two-image folder coded and measured by jpeg at 50: (index, coded dir, cell path)."""
    index = prepared_noise(2)
    coding = run.code_cell("jpeg", {}, index, "50", tmp_path / "coded")
    cell = run.measure_cell(coding, index, ["psnr-rgb"], tmp_path / "cells" / "50.json")
    return index, tmp_path / "coded", cell


def test_a_corrupt_cell_is_named_by_aggregation(measured, tmp_path):
    _, _, cell = measured
    cell.write_text(cell.read_text()[:100])
    with pytest.raises(results.CorruptFile, match=f"{cell}: not valid JSON .* delete it and rerun"):
        results.write_rd_csv([cell], tmp_path / "rd.csv")


def test_a_corrupt_cell_is_set_aside_and_kept_beside_a_valid_one_untouched(measured, tmp_path):
    _, _, cell = measured
    good = tmp_path / "cells" / "other.json"
    good.write_bytes(cell.read_bytes())
    text = cell.read_text()[:100]
    cell.write_text(text)
    moved = results.set_aside_corrupt_cells([cell, good, tmp_path / "absent.json"])
    assert [path for path, _ in moved] == [str(cell)] and "not valid JSON" in moved[0][1]
    assert not cell.exists() and cell.with_name("50.json.corrupt").read_text() == text and good.is_file()


def test_a_corrupt_per_image_record_is_coded_again_not_failed_forever(measured, caplog):
    index, coded, _ = measured
    (coded / "im1.json").write_text('{"image": "im1", "by')
    record0 = (coded / "im0.json").read_bytes()
    coding = results.read_json(run.code_cell("jpeg", {}, index, "50", coded))
    assert [r["image"] for r in coding["records"]] == ["im0", "im1"]
    assert (coded / "im0.json").read_bytes() == record0  # the intact one was reused
    assert results.read_json(coded / "im1.json")["image"] == "im1"
    assert "im1.json: not valid JSON" in caplog.text


def test_keep_measured_passes_over_a_corrupt_cell(measured, tmp_path):
    _, coded, cell = measured
    (coded / ".measured.json").unlink()
    cell.write_text("{")
    run.keep_measured(cell, coded)
    assert not (coded / ".measured.json").exists()
