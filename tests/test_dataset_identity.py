"""A dataset is its name and its content: one name never covers two different sets of images."""

import re

import numpy as np
import pytest

from rdbench import config, datasets, images, results, run


def _folder(root, seed):
    """A folder called `photos` with two generated 32x48 images that differ from seed to seed."""
    folder = root / "photos"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(2):
        smooth = np.cumsum(rng.integers(-3, 4, size=(32, 48, 3)), axis=1) + 128
        images.write_png(folder / f"im{i}.png", np.clip(smooth, 0, 255).astype(np.uint8))
    return folder


def test_a_second_folder_of_the_same_name_is_refused_before_coding_naming_both(tmp_path):
    first, second = _folder(tmp_path / "x1", 1), _folder(tmp_path / "x2", 2)
    out = tmp_path / "out"
    run.run("jpeg", str(first), out, points=["50"], metric_names=["psnr-rgb"])
    cells = sorted((out / "cells").rglob("*.json"))
    before = {p: p.read_bytes() for p in cells}
    with pytest.raises(results.DatasetMismatch) as err:
        run.run("webp", str(second), out, points=["50"], metric_names=["psnr-rgb"])
    assert str(first) in str(err.value) and str(second) in str(err.value)
    assert not (out / "cells" / "photos" / "webp").exists()  # refused before any work
    assert {p: p.read_bytes() for p in cells} == before  # and nothing lost


def test_aggregation_refuses_cells_of_one_name_and_two_contents(tmp_path):
    cells = []
    for seed, codec in ((1, "jpeg"), (2, "webp")):
        out = tmp_path / f"run{seed}"
        run.run(codec, str(_folder(tmp_path / f"x{seed}", seed)), out, points=["50"], metric_names=["psnr-rgb"])
        cells += sorted((out / "cells").rglob("*.json"))
    with pytest.raises(results.DatasetMismatch, match="'photos' names two different sets of images"):
        results.write_rd_csv(cells, tmp_path / "rd.csv")
    assert not (tmp_path / "rd.csv").exists()
    assert results.write_rd_csv(cells[:1], tmp_path / "rd.csv") == 2  # one content is fine


def test_a_config_with_two_folders_of_one_name_is_an_error_naming_both():
    with pytest.raises(config.ConfigError) as err:
        config.dataset_sources(["/x1/photos", "/x2/photos/"])
    assert "/x1/photos" in str(err.value) and "/x2/photos/" in str(err.value)
    assert config.dataset_sources(["kodak", "/x1/photos"]) == {"kodak": "kodak", "photos": "/x1/photos"}


@pytest.mark.parametrize("name", ["coding.png", ".measured.png", "._im0.png"])
def test_image_names_that_clash_with_rdbench_files_are_refused(tmp_path, name):
    folder = _folder(tmp_path, 3)
    (folder / name).write_bytes((folder / "im0.png").read_bytes())
    with pytest.raises(datasets.DatasetError, match=f"{re.escape(name)}: hidden, or named like rdbench's own"):
        datasets.resolve(str(folder))


def test_images_in_a_subfolder_are_an_error_not_silently_left_out(tmp_path):
    folder = _folder(tmp_path, 4)
    (folder / "more" / "deeper").mkdir(parents=True)
    (folder / "more" / "deeper" / "x.png").write_bytes((folder / "im0.png").read_bytes())
    (folder / ".thumbs").mkdir()
    (folder / ".thumbs" / "t.png").write_bytes(b"")
    with pytest.raises(datasets.DatasetError, match="images in subfolder\\(s\\) more/ would be left out"):
        datasets.resolve(str(folder))
    (folder / "empty").mkdir()
    (folder / "more" / "deeper" / "x.png").unlink()
    assert len(datasets.resolve(str(folder)).images) == 2
