"""Published curves by name (compressai:/mlic:<dataset>/<file>): found locally or fetched, always verified."""

import pytest

from rdbench import datasets, references
from rdbench.report.published import load_published

BPG = "compressai:kodak/bpg_444_x265_ycbcr.json"


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("RDBENCH_REFERENCE", raising=False)
    monkeypatch.setenv("RDBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_local_copy_is_used_and_verified(reference_dir, monkeypatch):
    monkeypatch.setenv("RDBENCH_REFERENCE", str(reference_dir))
    [bpg, vtm] = load_published([BPG, "compressai:kodak/vtm.json"])
    assert bpg.label == "BPG 8b 444 x265 ycbcr" and vtm.label == "VTM"
    assert len(bpg.bpp) == 8 and list(bpg.bpp) == sorted(bpg.bpp)
    assert 31 < bpg.metrics["psnr-rgb"][2] < 32  # CompressAI's BPG at ~0.35 bpp on Kodak


def test_a_tampered_copy_is_refused(reference_dir, tmp_path, monkeypatch):
    copy = tmp_path / "compressai" / "kodak" / "bpg_444_x265_ycbcr.json"
    copy.parent.mkdir(parents=True)
    copy.write_text((reference_dir / "compressai/kodak/bpg_444_x265_ycbcr.json").read_text().replace("26.1", "27.1"))
    monkeypatch.setenv("RDBENCH_REFERENCE", str(tmp_path))
    with pytest.raises(references.ReferenceCurveError, match="is not the pinned 532fd0ad"):
        references.resolve(BPG)


def test_a_pinned_curve_is_downloaded_once_at_the_pinned_commit(reference_dir, offline_cache, monkeypatch):
    body = (reference_dir / "compressai/kodak/bpg_444_x265_ycbcr.json").read_bytes()
    urls = []
    monkeypatch.setattr(references, "fetch_url", lambda url, hint: (urls.append(url), body)[1])
    path = references.resolve(BPG)
    assert references.resolve(BPG) == path and path.read_bytes() == body
    assert urls == [f"https://raw.githubusercontent.com/InterDigitalInc/CompressAI/{references.COMPRESSAI_COMMIT}"
                    "/results/image/kodak/bpg_444_x265_ycbcr.json"]


def test_unpinned_or_unreachable_curves_are_clear_errors(offline_cache, monkeypatch):
    with pytest.raises(references.ReferenceCurveError, match="downloads only the pinned curves"):
        references.resolve("compressai:kodak/hm.json")
    with pytest.raises(references.ReferenceCurveError, match="compressai:<dataset>/<file>.json"):
        references.resolve("compressai:../secrets.json")

    def offline(url, hint):
        raise datasets.DatasetError(f"download of {url} failed (no network). {hint}")

    monkeypatch.setattr(references, "fetch_url", offline)
    with pytest.raises(datasets.DatasetError, match="Offline\\? Set RDBENCH_REFERENCE"):
        references.resolve(BPG)
    assert not list(offline_cache.rglob("*.json"))  # nothing half-written


def test_a_plain_path_is_used_as_given(tmp_path):
    assert references.resolve(tmp_path / "mine.json") == tmp_path / "mine.json"


MLICPP = {"kodak": "mlic:kodak/mlicplusplus_mse.json", "clic_pro_val": "mlic:clic_pro_val/mlicplusplus_mse.json"}


def test_mlic_curves_are_published_rows_with_their_own_label(reference_dir, monkeypatch):
    monkeypatch.setenv("RDBENCH_REFERENCE", str(reference_dir))
    [kodak] = load_published([MLICPP["kodak"]])  # one dataset per list, as the config's published
    [clic] = load_published([MLICPP["clic_pro_val"]])
    assert kodak.label == "MLIC++ (MSE)" and "JiangWeibeta/MLIC" in kodak.description
    assert len(kodak.bpp) == 6 and kodak.bpp[0] == pytest.approx(0.1075, abs=1e-4)
    assert kodak.metrics["psnr-rgb"][-1] == pytest.approx(37.3229, abs=1e-4)  # the loclic-spec.md range
    assert clic.bpp[0] == pytest.approx(0.0799, abs=1e-4) and clic.metrics["psnr-rgb"][-1] == pytest.approx(38.0922,
                                                                                                            abs=1e-4)
    assert references.is_named(MLICPP["kodak"]) and not references.is_named("mlic.json")


def test_mlic_curves_download_from_the_pinned_commit(reference_dir, offline_cache, monkeypatch):
    body = (reference_dir / "MLIC/results/kodak/mlicplusplus_mse.json").read_bytes()
    urls = []
    monkeypatch.setattr(references, "fetch_url", lambda url, hint: (urls.append(url), body)[1])
    assert references.resolve(MLICPP["kodak"]).read_bytes() == body
    assert urls == [f"https://raw.githubusercontent.com/JiangWeibeta/MLIC/{references.MLIC_COMMIT}"
                    "/results/kodak/mlicplusplus_mse.json"]
    monkeypatch.setattr(references, "fetch_url", lambda url, hint: body)  # Kodak's bytes for the CLIC name
    with pytest.raises(references.ReferenceCurveError, match="is not the pinned 9657db5f"):
        references.resolve(MLICPP["clic_pro_val"])
