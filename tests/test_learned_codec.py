"""Learned codecs (rdbench.codecs.learned) with freshly initialised small models.

The weights here are RANDOM INIT, saved to a tmp weights folder and labelled so in their sidecars: they
test the file format, determinism and error paths, never rate-distortion performance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from rdbench.cli import main as cli_main  # noqa: E402
from rdbench.codecs import CodecError, create  # noqa: E402
from rdbench.codecs.learned import (WeightsError, build_model, load_model, save_weights,  # noqa: E402
                                    weights_path)
from rdbench.images import load_rgb8, read_png, write_png  # noqa: E402
from rdbench.models import format as fmt  # noqa: E402
from rdbench.models.format import FormatError  # noqa: E402

RANDOM = "random init: format and determinism tests only, not a trained codec"
# (codec, architecture, small kwargs): the architectures of the registered codecs, shrunk for speed
SMALL = {
    "bmshj2018-factorized": ("FactorizedPrior", {"N": 16, "M": 24}),
    "bmshj2018-hyperprior": ("ScaleHyperprior", {"N": 16, "M": 24}),
    "mbt2018-mean": ("MeanScaleHyperprior", {"N": 16, "M": 24}),
    "cheng2020-anchor": ("Cheng2020Anchor", {"N": 16}),
}
try:  # TreeNet is part of the round trips as soon as its module exists
    import rdbench.models.treenet  # noqa: F401

    SMALL["treenet"] = ("TreeNet", {})
except ImportError:
    pass
CODECS = sorted(SMALL)


def _save_random(root: Path, codec: str, point: int, seed: int) -> str:
    arch, kwargs = SMALL[codec]
    torch.manual_seed(seed)
    model = build_model(arch, kwargs)
    return save_weights(model, weights_path(codec, point, root),
                        {"architecture": arch, "kwargs": kwargs, "notes": RANDOM, "seed": seed})


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("weights")
    for codec in CODECS:
        _save_random(root, codec, 1, seed=0)
    return root


@pytest.fixture(scope="module")
def images(tmp_path_factory, crop, kodim) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("src")
    out = {}
    for name, rgb in {"crop": crop(80, 136), "tiny": crop(5, 7), "pixel": crop(1, 1), "kodak256": crop(256, 256),
                      "crop200": crop(200, 300, top=150, left=250)}.items():
        write_png(folder / f"{name}.png", rgb)
        out[name] = folder / f"{name}.png"
    return out


def _codec(name: str, root: Path, point: int = 1):
    return create(name, points=[point], weights_dir=root)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.mark.parametrize("name", CODECS)
def test_round_trip_odd_and_tiny_sizes(name, weights, images, tmp_path):
    codec = _codec(name, weights)
    assert codec.available(), codec.available().reason
    threads = torch.get_num_threads()
    for key in ("crop", "tiny", "pixel"):  # 136x80 (not a multiple of 64), 7x5, 1x1
        src, bs, out = images[key], tmp_path / f"{key}.rdlc", tmp_path / f"{key}.png"
        codec.encode(src, 1, bs)
        parsed = fmt.read(bs)
        h, w = read_png(src).shape[:2]
        assert (parsed.model, parsed.point, parsed.width, parsed.height) == (name, 1, w, h)
        assert parsed.payload_bytes > 0 and bs.stat().st_size == len(parsed.to_bytes())
        codec.decode(bs, out)
        rec = read_png(out)
        assert rec.shape == (h, w, 3) and rec.dtype == np.uint8
        again = tmp_path / f"{key}-again.rdlc"
        codec.encode(src, 1, again)
        assert again.read_bytes() == bs.read_bytes()  # deterministic encoder
    assert torch.get_num_threads() == threads  # the one-thread pin is undone after coding


DECODE_SCRIPT = """
import json, sys
from rdbench.codecs import create
for name, root, bitstream, out in json.loads(sys.argv[1]):
    create(name, points=[1], weights_dir=root).decode(bitstream, out)
"""


def test_fresh_process_decode_is_bit_exact(weights, images, tmp_path):
    """A decoder in a new process (default thread settings) rebuilds exactly the encoder-side reconstruction."""
    jobs, expected = [], {}
    for name in CODECS:
        codec = _codec(name, weights)
        bs, here = tmp_path / f"{name}.rdlc", tmp_path / f"{name}-here.png"
        codec.encode(images["crop200"], 1, bs)
        codec.decode(bs, here)  # the encoder process's own reconstruction
        expected[name] = read_png(here)
        jobs.append([name, str(weights), str(bs), str(tmp_path / f"{name}-fresh.png")])
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", DECODE_SCRIPT, json.dumps(jobs)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name, *_, out in jobs:
        assert np.array_equal(read_png(out), expected[name]), f"{name}: fresh-process decode differs"


def test_large_image(samples_dir, weights, tmp_path):
    """2048 x 1363 (CLIC 2020): padded to 2048 x 1408, coded and cropped back."""
    src = samples_dir / "clic2020-professional-valid" / "alberto-montalesi-176097.png"
    rgb, _ = load_rgb8(src)
    assert max(rgb.shape[:2]) >= 2048
    write_png(tmp_path / "big.png", rgb)
    codec = _codec("bmshj2018-factorized", weights)
    codec.encode(tmp_path / "big.png", 1, tmp_path / "big.rdlc")
    codec.decode(tmp_path / "big.rdlc", tmp_path / "out.png")
    rec = read_png(tmp_path / "out.png")
    parsed = fmt.read(tmp_path / "big.rdlc")
    assert rec.shape == rgb.shape and (parsed.width, parsed.height) == (rgb.shape[1], rgb.shape[0])
    assert parsed.shape == [1408 // 16, 2048 // 16]  # FactorizedPrior's latent: padded size / 16


def test_real_bpp_close_to_estimate(weights, images):
    """File size (header included) vs. the likelihood estimate on a real 256x256 Kodak crop."""
    codec = _codec("bmshj2018-factorized", weights)
    src = images["kodak256"]
    bs = src.with_suffix(".rdlc")
    codec.encode(src, 1, bs)
    real = 8 * bs.stat().st_size / (256 * 256)
    estimated = codec.estimate_bpp(src, 1)
    assert real > 0.05
    assert abs(real - estimated) / estimated < 0.03, (real, estimated)


def test_corrupted_and_truncated_bitstreams(weights, images, tmp_path):
    codec = _codec("bmshj2018-hyperprior", weights)
    bs = tmp_path / "a.rdlc"
    codec.encode(images["crop"], 1, bs)
    data = bs.read_bytes()
    cases = {"truncated": data[:-7], "corrupt": data[:40] + bytes([data[40] ^ 0x55]) + data[41:],
             "garbage": data + b"\x00\x01", "empty": b"", "png": images["crop"].read_bytes()}
    for label, content in cases.items():
        (tmp_path / f"{label}.rdlc").write_bytes(content)
        with pytest.raises(FormatError) as info:
            codec.decode(tmp_path / f"{label}.rdlc", tmp_path / f"{label}.png")
        assert f"{label}.rdlc" in str(info.value)
        assert not (tmp_path / f"{label}.png").exists()


def test_wrong_weights_for_a_bitstream(weights, images, tmp_path):
    bs = tmp_path / "h.rdlc"
    _codec("bmshj2018-hyperprior", weights).encode(images["crop"], 1, bs)
    # another codec's bitstream
    with pytest.raises(CodecError, match="written by learned codec 'bmshj2018-hyperprior'.*this is 'mbt2018-mean'"):
        _codec("mbt2018-mean", weights).decode(bs, tmp_path / "x.png")
    # same codec and point, other weights: the fingerprint catches it
    other = tmp_path / "other"
    _save_random(other, "bmshj2018-hyperprior", 1, seed=7)
    with pytest.raises(CodecError, match="sha256 starts [0-9a-f]{16}.*has sha256"):
        _codec("bmshj2018-hyperprior", other).decode(bs, tmp_path / "x.png")
    # point 2's files are a copy of point 1's: the sidecar says so
    for suffix in (".safetensors", ".json"):
        shutil.copy(weights_path("bmshj2018-hyperprior", 1, other).with_suffix(suffix),
                    weights_path("bmshj2018-hyperprior", 2, other).with_suffix(suffix))
    with pytest.raises(WeightsError, match="sidecar says codec 'bmshj2018-hyperprior' point 1.*point 2"):
        _codec("bmshj2018-hyperprior", other, point=2).encode(images["crop"], 2, tmp_path / "p2.rdlc")
    # weights of another architecture filed under this codec
    arch = tmp_path / "arch"
    save_weights(build_model("FactorizedPrior", {"N": 8, "M": 8}), weights_path("mbt2018-mean", 1, arch),
                 {"kwargs": {"N": 8, "M": 8}, "notes": RANDOM})
    with pytest.raises(WeightsError, match="holds a FactorizedPrior but codec 'mbt2018-mean' is MeanScaleHyperprior"):
        _codec("mbt2018-mean", arch).encode(images["crop"], 1, tmp_path / "m.rdlc")


def test_tampered_weights_are_refused(weights, images, tmp_path):
    root = tmp_path / "w"
    shutil.copytree(weights / "bmshj2018-factorized", root / "bmshj2018-factorized")
    path = weights_path("bmshj2018-factorized", 1, root)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one bit of one weight
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 .* differs from the sidecar"):
        load_model("bmshj2018-factorized", 1, root)
    with pytest.raises(WeightsError, match="modified or replaced"):
        _codec("bmshj2018-factorized", root).encode(images["crop"], 1, tmp_path / "t.rdlc")


def test_missing_weights_and_libraries(tmp_path, monkeypatch):
    status = _codec("bmshj2018-hyperprior", tmp_path).available()
    assert not status
    assert str(tmp_path / "bmshj2018-hyperprior") in status.reason
    assert "rdbench learned import bmshj2018-hyperprior 1" in status.reason and "rdbench learned list" in status.reason
    # the URL is `rdbench learned list`'s (finding it imports compressai, which `rdbench codecs` must not)
    assert create("bmshj2018-hyperprior").published_url(1).startswith("https://compressai.s3")
    status = create("treenet", weights_dir=tmp_path).available()
    assert not status and "point 1-4" in status.reason and "rdbench train treenet --point 1" in status.reason
    monkeypatch.setenv("RDBENCH_WEIGHTS", str(tmp_path / "env"))
    assert str(tmp_path / "env" / "treenet") in create("treenet").available().reason
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "compressai" else real(n, *a))
    assert "compressai is not installed" in create("treenet").available().reason


def test_save_and_load_weights_contract(weights, tmp_path):
    path = weights_path("bmshj2018-hyperprior", 1, weights)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["architecture"] == "ScaleHyperprior" and meta["kwargs"] == {"N": 16, "M": 24}
    assert meta["codec"] == "bmshj2018-hyperprior" and meta["point"] == 1 and meta["notes"] == RANDOM
    import hashlib

    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    model_a, meta_a = load_model("bmshj2018-hyperprior", 1, weights)
    model_b, _ = load_model("bmshj2018-hyperprior", 1, weights)
    assert model_a is not model_b and not model_a.training and meta_a["sha256"] == meta["sha256"]
    for (ka, va), (kb, vb) in zip(model_a.state_dict().items(), model_b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert model_a.entropy_bottleneck._quantized_cdf.numel() > 0  # CDF tables stored, ready to code
    with pytest.raises(ValueError, match="does not describe these weights"):
        save_weights(build_model("ScaleHyperprior", {"N": 16, "M": 24}), tmp_path / "x" / "1.safetensors",
                     {"architecture": "ScaleHyperprior", "kwargs": {"N": 16, "M": 32}})
    assert not (tmp_path / "x" / "1.safetensors").exists()


def test_describe_names_weights_and_versions(weights):
    info = _codec("mbt2018-mean", weights).describe()
    assert info["architecture"] == "MeanScaleHyperprior" and info["device"] == "cpu"
    assert info["weights"]["1"]["sha256"] == json.loads(
        weights_path("mbt2018-mean", 1, weights).with_suffix(".json").read_text())["sha256"]
    assert info["torch"] == torch.__version__.split("+")[0] and info["compressai"]
    assert "estimated" in info["rate"]


def test_import_compressai_checkpoint(tmp_path, images, capsys):
    """A checkpoint laid out like CompressAI's (here random init, zoo quality 1 = FactorizedPrior(128, 192),
    saved through DataParallel and wrapped as a training checkpoint) converts to working safetensors weights."""
    torch.manual_seed(3)
    model = build_model("FactorizedPrior", {"N": 128, "M": 192})
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    ckpt = tmp_path / "bmshj2018-factorized-prior-1-test.pth.tar"
    torch.save({"epoch": 3, "state_dict": state}, ckpt)
    root = tmp_path / "w"
    args = ["learned", "import", "bmshj2018-factorized", "1", str(ckpt), "--weights-dir", str(root)]
    assert cli_main(args) == 0
    meta = json.loads(weights_path("bmshj2018-factorized", 1, root).with_suffix(".json").read_text())
    assert meta["kwargs"] == {"N": 128, "M": 192}
    assert meta["source"]["file"] == ckpt.name
    # not CompressAI's published file (its sha256 is not the URL's): no published lambda or metric is claimed
    assert meta["source"]["kind"] == "the user's checkpoint" and "lambda" not in meta and "metric" not in meta
    assert "published" not in meta["notes"].replace("not CompressAI's published", "")
    loaded, _ = load_model("bmshj2018-factorized", 1, root)
    assert torch.equal(loaded.g_a[0].weight, model.g_a[0].weight)
    codec = _codec("bmshj2018-factorized", root)
    codec.encode(images["crop"], 1, tmp_path / "i.rdlc")
    codec.decode(tmp_path / "i.rdlc", tmp_path / "i.png")
    assert cli_main(args) == 1  # exists: needs --force
    assert "pass --force" in capsys.readouterr().err
    wrong = ["learned", "import", "bmshj2018-factorized", "6", str(ckpt), "--weights-dir", str(root)]
    assert cli_main(wrong) == 1  # quality 6 is FactorizedPrior(192, 320)
    assert "does not fit bmshj2018-factorized quality 6" in capsys.readouterr().err
    assert cli_main(["learned", "list", "--weights-dir", str(root)]) == 0
    listing = capsys.readouterr().out
    assert f"bmshj2018-factorized     1  verified        {meta['sha256'][:16]}" in listing
    assert "treenet" in listing and "missing" in listing


def test_weight_io_leaves_the_random_stream_alone(weights, tmp_path):
    """Exporting or loading mid-training must not shift the training run's random numbers."""
    model = build_model("FactorizedPrior", {"N": 8, "M": 8})
    torch.manual_seed(11)
    expected = torch.rand(4)
    torch.manual_seed(11)
    load_model("mbt2018-mean", 1, weights)
    save_weights(model, tmp_path / "f" / "1.safetensors", {"kwargs": {"N": 8, "M": 8}, "notes": RANDOM})
    assert torch.equal(torch.rand(4), expected)


def test_float16_weights_are_smaller_and_code_bit_exactly(images, tmp_path):
    """fp16 storage rounds the weights before the CDF tables are built, so the tables fit what is loaded."""
    torch.manual_seed(3)
    model = build_model("TreeNet", {})
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    root32, root16 = tmp_path / "w32", tmp_path / "w16"
    meta = {"architecture": "TreeNet", "kwargs": {}, "notes": RANDOM}
    save_weights(build_model("TreeNet", {}).eval(), weights_path("treenet", 1, root32), meta)
    save_weights(model.eval(), weights_path("treenet", 1, root16), meta, dtype="float16")
    f32, f16 = weights_path("treenet", 1, root32), weights_path("treenet", 1, root16)
    assert f16.stat().st_size < 0.7 * f32.stat().st_size  # the int32 CDF tables stay as they are
    from safetensors import safe_open

    with safe_open(str(f16), "pt") as stored:
        dtypes = {stored.get_slice(k).get_dtype() for k in stored.keys()}
    assert "F16" in dtypes and "F32" not in dtypes
    loaded, sidecar = load_model("treenet", 1, root16)
    assert sidecar["dtype"] == "float16" and all(p.dtype == torch.float32 for p in loaded.parameters())
    for name, param in loaded.named_parameters():
        assert torch.equal(param, reference[name].half().float()), name
    assert any(not torch.equal(p, reference[n]) for n, p in loaded.named_parameters())  # rounding happened
    codec = _codec("treenet", root16)
    bs, here = tmp_path / "a.rdlc", tmp_path / "here.png"
    codec.encode(images["crop200"], 1, bs)
    codec.decode(bs, here)
    job = [["treenet", str(root16), str(bs), str(tmp_path / "fresh.png")]]
    proc = subprocess.run([sys.executable, "-c", DECODE_SCRIPT, json.dumps(job)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.array_equal(read_png(tmp_path / "fresh.png"), read_png(here))


def test_non_finite_weights_are_refused_at_export_and_load(tmp_path):
    from safetensors.torch import load_file, save_file

    model = build_model("FactorizedPrior", {"N": 16, "M": 24})
    path = weights_path("bmshj2018-factorized", 1, tmp_path)
    meta = {"architecture": "FactorizedPrior", "kwargs": {"N": 16, "M": 24}, "notes": RANDOM}
    with torch.no_grad():
        model.g_a[0].weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(WeightsError, match=r"not written.*non-finite values .*g_a\.0\.weight"):
        save_weights(model, path, meta)
    assert not path.exists()
    save_weights(build_model("FactorizedPrior", {"N": 16, "M": 24}), path, meta)
    state = load_file(str(path))
    state["g_s.0.weight"][0, 0, 0, 0] = float("inf")
    save_file(state, str(path))  # a corrupted file with a matching sidecar hash
    sidecar = json.loads(path.with_suffix(".json").read_text())
    import hashlib

    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(WeightsError, match=rf"{path.name}: non-finite values .*g_s\.0\.weight"):
        load_model("bmshj2018-factorized", 1, tmp_path)
    path.write_bytes(b"\xff" * 64)  # not safetensors at all: named, with the fix
    sidecar["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(WeightsError, match=rf"{path.name}: not a readable safetensors file"):
        load_model("bmshj2018-factorized", 1, tmp_path)
