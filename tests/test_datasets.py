"""Dataset lookup, verification and the offline error."""

import shutil

import pytest

from rdbench import datasets


def test_kodak_from_rdbench_data_is_verified(kodak_dir, monkeypatch):
    monkeypatch.setenv("RDBENCH_DATA", str(kodak_dir.parent))
    ds = datasets.resolve("kodak", download=False)
    assert ds.origin == "RDBENCH_DATA" and len(ds.images) == 24
    assert ds.image_ids()[0] == "kodim01"


def test_a_corrupt_kodak_file_is_refused_by_name(kodak_dir, tmp_path, monkeypatch):
    copy = tmp_path / "kodak"
    shutil.copytree(kodak_dir, copy)
    (copy / "kodim07.png").chmod(0o644)
    with open(copy / "kodim07.png", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00")
    monkeypatch.setenv("RDBENCH_DATA", str(tmp_path))
    with pytest.raises(datasets.DatasetError, match="kodim07.png: sha256 mismatch"):
        datasets.resolve("kodak", download=False)


def test_an_incomplete_kodak_folder_names_what_is_missing(kodak_dir, tmp_path, monkeypatch):
    (tmp_path / "kodak").mkdir()
    shutil.copy(kodak_dir / "kodim01.png", tmp_path / "kodak")
    monkeypatch.setenv("RDBENCH_DATA", str(tmp_path))
    with pytest.raises(datasets.DatasetError, match="incomplete, missing kodim02.png"):
        datasets.resolve("kodak", download=False)


def test_offline_without_local_copy_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RDBENCH_DATA", str(tmp_path))
    monkeypatch.setenv("RDBENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(datasets.DatasetError, match="RDBENCH_DATA=DIR with the images in DIR/tecnick/"):
        datasets.resolve("tecnick", download=False)


def test_any_folder_is_a_dataset_and_unknown_names_are_explained(samples_dir, tmp_path):
    ds = datasets.resolve(str(samples_dir / "clic2020-professional-valid"))
    assert ds.origin == "folder" and len(ds.images) == 2
    with pytest.raises(datasets.DatasetError, match="unknown dataset 'kodac'"):
        datasets.resolve("kodac")
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(datasets.DatasetError, match="share a name stem"):
        datasets.resolve(str(tmp_path))


def test_download_is_verified_and_recorded(tmp_path, monkeypatch, kodak_dir):
    """The download path with a stand-in fetcher (no network in tests): checksums recorded, then verified."""
    blobs = {url.rsplit("/", 1)[1]: (kodak_dir / url.rsplit("/", 1)[1]).read_bytes()
             for url in datasets.KNOWN["kodak"].urls}
    monkeypatch.setattr(datasets, "fetch_url", lambda url, hint="": blobs[url.rsplit("/", 1)[1]])
    monkeypatch.delenv("RDBENCH_DATA", raising=False)
    monkeypatch.setenv("RDBENCH_CACHE", str(tmp_path))
    ds = datasets.resolve("kodak")
    assert ds.origin == "download" and len(ds.images) == 24
    assert (tmp_path / "datasets" / "kodak" / "SHA256SUMS").read_text().count("\n") == 24
    assert datasets.resolve("kodak").origin == "cache"
    blobs["kodim05.png"] = b"not the image"
    shutil.rmtree(tmp_path / "datasets")
    with pytest.raises(datasets.DatasetError, match="kodim05.png"):
        datasets.resolve("kodak")
