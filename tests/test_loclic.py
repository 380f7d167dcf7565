"""LoC-LIC (rdbench.models.loclic, rdbench.models.mlicpp, the ``loclic`` codec) against loclic-spec.md.

Complexity: torchinfo at 256 x 256, as the spec counts (its 768 x 512 total differs by 0.001). Coding:
RANDOM-INIT weights (saved to a temporary folder, labelled so), which test the bitstream, the
checkerboard bookkeeping and determinism, never rate-distortion performance: no LoC-LIC weights exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from rdbench import complexity as cx  # noqa: E402
from rdbench.codecs import create  # noqa: E402
from rdbench.codecs.learned import load_model, save_weights, weights_path  # noqa: E402
from rdbench.images import read_png, write_png  # noqa: E402
from rdbench.models import format as fmt  # noqa: E402
from rdbench.models.loclic import LoCLIC  # noqa: E402
from rdbench.models.mlicpp import anchor_mask  # noqa: E402

RANDOM = "random init (g_a output x 8): format and determinism tests only, not a trained codec"


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py: torch on one thread per xdist worker


def _fine_parts(model):
    """The spec's module table: every kind of context module on its own."""
    lc = model.latent_codec
    return {"g_a": [model.g_a], "g_s": [model.g_s], "h_a": [model.h_a], "h_s": [model.h_s],
            "local": list(lc.local_context), "intra": list(lc.global_intra), "inter": list(lc.global_inter),
            "channel": list(lc.channel_context), "ep_anchor": list(lc.ep_anchor),
            "ep_nonanchor": list(lc.ep_nonanchor), "lrp_anchor": list(lc.lrp_anchor),
            "lrp_nonanchor": list(lc.lrp_nonanchor)}


FINE = cx.Architecture("loclic-fine", "rdbench.models.loclic:LoCLIC", {}, _fine_parts)

# loclic-spec.md: (kMAC/px, params) per module kind, torchinfo at 256 x 256
SPEC = {"g_a": (25.047, 1_075_776), "g_s": (44.105, 5_549_612), "h_a": (2.341, 959_104),
        "h_s": (21.245, 16_501_280), "local": (2.006, 755_220), "intra": (2.575, 659_232),
        "inter": (18.099, 4_633_344), "channel": (22.696, 5_810_112), "ep_anchor": (14.990, 3_837_440),
        "ep_nonanchor": (16.510, 4_226_560), "lrp_anchor": (50.595, 12_952_320),
        "lrp_nonanchor": (50.595, 12_952_320)}
CONTEXTS = ("local", "intra", "inter", "channel", "ep_anchor", "ep_nonanchor", "lrp_anchor", "lrp_nonanchor")


@pytest.fixture(scope="module")
def fine() -> cx.Complexity:
    return cx.count(FINE, 256, 256, counters=("torchinfo",))


def test_every_module_matches_the_spec(fine):
    for name, (kmac, params) in SPEC.items():
        assert fine.modules[name].params == params, name
        assert fine.kmac_per_px(name) == pytest.approx(kmac, abs=0.005), name
    assert fine.kmac_per_px(CONTEXTS) == pytest.approx(178.066, abs=0.005)
    assert sum(fine.modules[n].params for n in CONTEXTS) == 45_826_548
    assert fine.total_params == 69_920_128
    assert fine.kmac_per_px(tuple(SPEC)) == pytest.approx(270.80, abs=0.01)


def test_registered_architecture_gives_the_spec_totals(fine):
    result = cx.count("loclic", 256, 256, counters=("torchinfo",))
    assert result.is_default and result.total_params == 69_920_128
    assert result.forward() == pytest.approx(fine.kmac_per_px(tuple(SPEC)), abs=1e-9)
    assert result.encoder() == pytest.approx(226.70, abs=0.01)  # g_a + h_a + h_s + contexts
    assert result.decoder() == pytest.approx(243.42, abs=0.01)  # h_s + contexts + g_s
    assert result.kmac_per_px("lrp") == pytest.approx(2 * 50.595, abs=0.01)
    rows = {r["architecture"]: r for r in cx.table2([result], ("torchinfo",)).rows}
    assert rows["loclic"]["paper_forward_kmac_px"] == 270.0 and rows["loclic"]["paper_encoder_kmac_px"] is None


@pytest.mark.parametrize("option, total", [({"channels": "eq3"}, 302.10), ({"gs_variant": "old"}, 258.87),
                                           ({"lrp": "mlicpp-2024-03"}, 410.97), ({"hyper_channels": 192}, 272.70)])
def test_each_ambiguity_option_gives_the_spec_total(option, total):
    result = cx.count("loclic", 256, 256, counters=("torchinfo",), options=option)
    assert not result.is_default
    assert result.forward() == pytest.approx(total, abs=0.01)
    assert cx.table2([result], ("torchinfo",)).rows[0]["paper_forward_kmac_px"] is None  # not the paper's model


def test_counter_reproduces_the_papers_cheng2020_anchor():
    arch = cx.Architecture("cheng2020-anchor-192", "compressai.models:Cheng2020Anchor", {"N": 192},
                           cx.ARCHITECTURES["cheng2020-anchor"].parts)
    assert cx.count(arch, 256, 256, counters=("torchinfo",)).forward() == pytest.approx(933.06, abs=0.01)


def test_checkerboard_anchors_are_odd_positions():
    mask = anchor_mask(4, 6)
    assert mask.sum() == 12 and not mask[0, 0] and mask[0, 1] and mask[1, 0]
    assert all(bool(mask[h, w]) == ((h + w) % 2 == 1) for h in range(4) for w in range(6))


def test_options_are_checked_and_rebuild_the_model():
    with pytest.raises(ValueError, match="choose one of"):
        LoCLIC(lrp="mlicpp-2025")
    with pytest.raises(ValueError, match="three widths"):
        LoCLIC(channels="eq4")
    model = LoCLIC(channels=[16, 32, 48], M=64, slices=2, act="leaky_relu")
    assert LoCLIC(**model.config()).state_dict().keys() == model.state_dict().keys()
    assert isinstance(model.g_a[1].leaky_relu, torch.nn.LeakyReLU)
    assert isinstance(LoCLIC(channels=[16, 32, 48], M=64, slices=2).g_a[1].leaky_relu, torch.nn.GELU)


@pytest.mark.parametrize("quantization", ["mixed", "noise", "ste"])
def test_training_forward_gives_gradients_and_rates(quantization):
    torch.manual_seed(0)
    model = LoCLIC(channels=[8, 16, 24], M=32, slices=2, quantization=quantization).train()
    x = torch.rand(2, 3, 64, 64)
    out = model(x)
    assert out["likelihoods"]["y"].shape == (2, 32, 4, 4) and out["likelihoods"]["z"].shape == (2, 24, 1, 1)
    bits = sum(-torch.log2(p).sum() for p in out["likelihoods"].values())
    (bits + ((out["x_hat"] - x) ** 2).mean()).backward()
    assert model.g_a[0].conv1.weight.grad.abs().sum() > 0
    assert model.latent_codec.lrp_nonanchor[1].net[0].weight.grad.abs().sum() > 0
    with pytest.raises(RuntimeError, match="eval mode"):
        model.compress(x)


def _spread(model: LoCLIC) -> LoCLIC:
    """Random init gives latents within +-0.5 (all symbols 0); scale g_a's output so they spread."""
    with torch.no_grad():
        model.g_a[-1].weight.mul_(8.0)
        model.g_a[-1].bias.mul_(8.0)
    return model


def test_eval_forward_codes_what_compress_codes_and_estimates_its_size(crop):
    """In eval mode forward's ŷ is compress's, and its likelihoods predict the y and z stream sizes."""
    from rdbench.images import to_tensor

    torch.manual_seed(1)
    model = _spread(LoCLIC()).eval()
    model.update(force=True)
    x = to_tensor(crop(128, 192))
    with torch.no_grad():
        out, enc = model(x), model.compress(x)
        dec = model.decompress(enc["strings"], enc["shape"])
    assert torch.equal(out["y_hat"], enc["y_hat"]) and torch.equal(enc["y_hat"], dec["y_hat"])
    assert torch.equal(out["x_hat"].clamp(0, 1), dec["x_hat"])
    # z: a tight estimate. y: random weights put many symbols in the Gaussians' tails, where the likelihood
    # floor (1e-9, 30 bits) overstates what rANS's escape codes spend, so the file may be up to ~30 % smaller.
    bits = {key: float(-torch.log2(out["likelihoods"][key]).sum()) / 8 for key in ("y", "z")}
    assert bits["z"] * 0.9 - 16 < len(enc["strings"][1][0]) < bits["z"] * 1.1 + 16
    assert bits["y"] * 0.7 < len(enc["strings"][0][0]) < bits["y"] * 1.1


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    from rdbench.codecs.loclic import LoCLICCodec

    model = _spread(LoCLICCodec.build(1))
    save_weights(model, weights_path("loclic", 1, root),
                 {"architecture": "LoCLIC", "kwargs": LoCLICCodec.architecture_kwargs(1), "notes": RANDOM,
                  "seed": 0}, dtype="float16")
    return root


def test_kodak_round_trip_is_bit_exact_across_processes(random_weights, kodim, tmp_path):
    """kodim23 (768 x 512): the file decodes to the encoder's ŷ; a fresh process rebuilds the same PNG."""
    codec = create("loclic", points=[1], weights_dir=random_weights)
    src, bs, here = kodim(23), tmp_path / "kodim23.rdlc", tmp_path / "here.png"
    t0 = time.perf_counter()
    codec.encode(src, 1, bs)
    t1 = time.perf_counter()
    parsed = fmt.read(bs)
    assert (parsed.model, parsed.width, parsed.height, parsed.shape) == ("loclic", 768, 512, [8, 12])
    assert bs.stat().st_size == len(parsed.to_bytes()) and parsed.payload_bytes > 1000

    model, _ = load_model("loclic", 1, random_weights)
    from rdbench.codecs.learned import coding_context
    from rdbench.images import to_tensor

    with coding_context():
        enc = model.compress(to_tensor(read_png(src)))
        dec = model.decompress(parsed.strings, parsed.shape)
    assert enc["strings"] == parsed.strings  # the codec wrote exactly what compress returns
    assert torch.equal(enc["y_hat"], dec["y_hat"])
    assert len(torch.unique(dec["y_hat"].round())) > 5  # many symbols, not all-zero latents

    t2 = time.perf_counter()
    codec.decode(bs, here)
    t3 = time.perf_counter()
    script = ("import sys; from rdbench.codecs import create; "
              "create('loclic', points=[1], weights_dir=sys.argv[1]).decode(sys.argv[2], sys.argv[3])")
    proc = subprocess.run([sys.executable, "-c", script, str(random_weights), str(bs), str(tmp_path / "fresh.png")],
                          capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.array_equal(read_png(tmp_path / "fresh.png"), read_png(here))
    print(f"loclic kodim23 random-init round trip: encode {t1 - t0:.1f} s, decode {t3 - t2:.1f} s, "
          f"{bs.stat().st_size} bytes")


def test_padding_is_zero_bottom_right_and_cropped(random_weights, crop, tmp_path):
    """A 70 x 100 crop is padded to 128 x 128 with zeros at the bottom and right, and cropped back."""
    codec = create("loclic", points=[1], weights_dir=random_weights)
    src = tmp_path / "small.png"
    write_png(src, crop(70, 100))
    codec.encode(src, 1, tmp_path / "small.rdlc")
    codec.decode(tmp_path / "small.rdlc", tmp_path / "small-out.png")
    assert read_png(tmp_path / "small-out.png").shape == (70, 100, 3)
    model, _ = load_model("loclic", 1, random_weights)
    padded = codec._padded(model, crop(70, 100))
    assert padded.shape == (128, 128, 3) and not padded[70:].any() and not padded[:, 100:].any()
    assert np.array_equal(padded[:70, :100], crop(70, 100))


def test_codec_without_weights_says_how_to_get_them(tmp_path):
    availability = create("loclic", weights_dir=tmp_path).available()
    assert not availability.ok
    assert "rdbench train loclic --point 1" in availability.reason and "no published" in availability.reason


def test_lambda_ladder_is_ours_and_ordered_by_rate():
    from rdbench.codecs.loclic import LoCLICCodec
    from rdbench.training.models import lambdas_for

    pairs = [lambdas_for(LoCLICCodec, p) for p in LoCLICCodec.default_points]
    assert [l1 for l1, _, _ in pairs] == sorted(l1 for l1, _, _ in pairs) and pairs[0][:2] == (0.0018, 0.0)
    assert pairs[-1][:2] == (0.0483, 0.0) and pairs[0][2] == "LoCLICCodec.lambdas"


def test_cli_trains_a_few_steps_and_exports_loadable_weights(kodim, tmp_path):
    """`rdbench train loclic` on CPU: 2 steps of batch 1 at 64 x 64 crops, then the exported point loads."""
    from rdbench.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for n in (1, 2):
        write_png(data / f"k{n}.png", read_png(kodim(n))[:128, :128])
    out = tmp_path / "run"
    code = main(["train", "loclic", "--point", "1", "--data", str(data), "--steps", "2", "--batch", "1",
                 "--crop", "64", "--device", "cpu", "--out", str(out), "--val-images", "0", "--workers", "1",
                 "--export-dtype", "float16"])
    assert code == 0
    model, meta = load_model("loclic", 1, out / "weights")
    assert isinstance(model, LoCLIC) and meta["lambda1"] == 0.0018 and meta["dtype"] == "float16"
    assert json.loads((out / "weights" / "loclic" / "1.json").read_text())["steps"] == 2
