"""TreeNet model (rdbench.models.treenet), its fusion blocks and the ablation command, on real Kodak crops."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from rdbench.images import from_tensor, read_png, to_tensor, write_png
from rdbench.models.aff import AFF, IAFF
from rdbench.models.treenet import TreeNet, crop_centred, pad_centred

torch.set_num_threads(1)


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def model() -> TreeNet:
    torch.manual_seed(0)
    net = TreeNet().eval()
    net.update(force=True)
    return net


@pytest.fixture(scope="module")
def coding_model() -> TreeNet:
    """A random-init TreeNet whose latents carry a few bits per element: untrained, g_a's outputs are
    ~0.05 and round to 0, so stream overheads would dominate any rate comparison. g_a's outputs are
    scaled by 40 through its weights (compress runs g_a's weights, not its module calls, so a hook
    would not do): the leaves' conv2 and skip by s, their GDN gamma by 1/s^2 (GDN(s h) = s GDN(h)
    then), the fusions' first attention convolutions by 1/s (the attention sees what it saw); the
    Gaussian scales are raised by 3."""
    torch.manual_seed(1)
    net = TreeNet().eval()
    s = 40.0
    with torch.no_grad():
        for leaf in net.g_a.levels[-1]:
            for conv in (leaf.conv2, leaf.skip):
                conv.weight.mul_(s)
                conv.bias.mul_(s)
            leaf.gdn.gamma.copy_(leaf.gdn.gamma_reparam.init(leaf.gdn.gamma_reparam(leaf.gdn.gamma) / s**2))
        for fusion in net.g_a.fusions:
            for att in (fusion.att, fusion.att2):
                att.local_att[0].weight.div_(s)
                att.global_att[1].weight.div_(s)
        for codec in net.latent_codecs:
            codec.y.entropy_parameters[-1].bias[: net.M] += 3.0
    net.update(force=True)
    return net


def test_parameter_counts_match_spec():
    net = TreeNet()
    assert _params(net.g_a) == 309_952
    assert _params(net.g_s) == 858_915
    assert _params(TreeNet(gs_layout="pyramid321").g_s) == 737_964
    aff = TreeNet(fusion="aff")
    assert _params(aff.g_a) == 309_952 - 4 * 1_264
    assert _params(IAFF(32, 4)) == 2_528 and _params(AFF(32, 4)) == 1_264


def test_latent_codec_is_cheng2020_checkerboard():
    from compressai.models import Cheng2020AnchorCheckerboard

    theirs = {k: v.shape for k, v in Cheng2020AnchorCheckerboard(N=32).latent_codec.state_dict().items()}
    for codec in TreeNet().latent_codecs:
        assert {k: v.shape for k, v in codec.state_dict().items()} == theirs


def test_indexed_gaussian_conditional_gives_compressais_indexes_and_bitstream(coding_model, crop, monkeypatch):
    from compressai.entropy_models import GaussianConditional

    from rdbench.models.inference import IndexedGaussianConditional

    gc = coding_model.latent_codecs[0].latent_codec["y"].latent_codec["y"].gaussian_conditional
    assert isinstance(gc, IndexedGaussianConditional) and len(gc.scale_table) == 64
    table = gc.scale_table
    edges = torch.cat((table, torch.nextafter(table, table + 1), torch.nextafter(table, table - 1)))
    scales = torch.cat((edges, torch.rand(5000) * 80, torch.tensor([0.0, 1e-6, 0.11, 1e9])))
    scales = scales[torch.randperm(len(scales), generator=torch.Generator().manual_seed(0))].reshape(1, 1, -1, 1)
    assert torch.equal(gc.build_indexes(scales), GaussianConditional.build_indexes(gc, scales))
    x = to_tensor(crop(128, 192))
    with torch.no_grad():
        ours = coding_model.compress(x)["strings"]
        monkeypatch.setattr(IndexedGaussianConditional, "build_indexes", GaussianConditional.build_indexes)
        theirs = coding_model.compress(x)["strings"]
    assert ours == theirs  # the same bitstream as CompressAI's loop


def test_fusion_of_equal_inputs_and_independent_second_stage():
    torch.manual_seed(0)
    x = torch.randn(2, 32, 5, 7)
    iaff, aff = IAFF(32).eval(), AFF(32).eval()
    with torch.no_grad():
        assert torch.allclose(iaff(x, x), x, atol=1e-6)  # x w2 + x (1 - w2)
        assert torch.allclose(aff(x, x), 2 * x, atol=1e-6)
        y = torch.randn_like(x)
        out = iaff(x, y)
    assert out.shape == x.shape and not torch.allclose(out, iaff(y, x))
    assert iaff.att2.global_att is not iaff.att.global_att


@pytest.mark.parametrize("h,w", [(1, 1), (7, 13), (64, 64), (100, 150), (130, 65)])
def test_shapes_after_caller_padding(model, h, w):
    x = torch.rand(1, 3, h, w)
    xp, offset = pad_centred(x)
    H, W = xp.shape[-2:]
    assert H % 64 == 0 and W % 64 == 0 and H - h < 64 and W - w < 64
    assert torch.equal(crop_centred(xp, h, w, offset), x)
    with torch.no_grad():
        out = model(xp)
    assert out["x_hat"].shape == xp.shape
    assert crop_centred(out["x_hat"], h, w, offset).shape == (1, 3, h, w)
    assert sorted(out["likelihoods"]) == sorted(f"{k}{i}" for i in range(1, 5) for k in "yz")
    for i in range(1, 5):
        assert out["likelihoods"][f"y{i}"].shape == (1, 32, H // 16, W // 16)
        assert out["likelihoods"][f"z{i}"].shape == (1, 32, H // 64, W // 64)


def test_pad_centred_replicates_edges():
    x = torch.arange(6.0).reshape(1, 1, 2, 3)
    xp, (top, left) = pad_centred(x, 4)
    assert xp.shape == (1, 1, 4, 4) and (top, left) == (1, 0)
    assert torch.equal(xp[0, 0, 0], x[0, 0, 0].new_tensor([0, 1, 2, 2]))  # top row replicated
    assert torch.equal(xp[0, 0, :, -1], x.new_tensor([2, 2, 5, 5]))  # right column replicated


def test_input_not_multiple_of_64_is_refused(model):
    with pytest.raises(ValueError, match="multiple of 64.*pad_centred"):
        model(torch.rand(1, 3, 64, 96))


def test_synthesis_zeroes_missing_latents(model):
    with torch.no_grad():
        ys = [y.round() for y in model.analysis(torch.rand(1, 3, 64, 128))]
        partial = model.synthesis([ys[0], None, ys[2], None])
        explicit = model.g_s([ys[0], torch.zeros_like(ys[1]), ys[2], torch.zeros_like(ys[3])])
    assert torch.equal(partial, explicit)
    with pytest.raises(ValueError, match="all latents are None"):
        model.synthesis([None] * 4)


def test_estimated_bits_match_coded_bits(coding_model, crop):
    x = to_tensor(crop(192, 256))
    with torch.no_grad():
        out = coding_model(x)
        enc = coding_model.compress(x)
    estimated = sum(float(-torch.log2(v).sum()) for v in out["likelihoods"].values())
    assert len(enc["strings"]) == 12 and all(len(s) == 1 for s in enc["strings"])
    coded = 8 * sum(len(s[0]) for s in enc["strings"])
    assert estimated > 50_000  # the latents carry real information: overheads cannot dominate
    assert abs(coded - estimated) / estimated < 0.03
    assert enc["shape"] == (3, 4)


def test_decompress_equals_forward_reconstruction(coding_model, crop):
    x = to_tensor(crop(128, 192, top=300, left=64))
    with torch.no_grad():
        enc = coding_model.compress(x)
        dec = coding_model.decompress(enc["strings"], enc["shape"])
        ref = coding_model(x)
    got, expected = dec["x_hat"], ref["x_hat"].clamp(0, 1)
    assert all(torch.equal(a, b) for a, b in zip(dec["y_hats"], ref["y_hats"]))  # the same latents
    assert got.shape == x.shape
    assert torch.allclose(got, expected, rtol=0, atol=1e-5)  # the fast g_s: float rounding only
    off = np.abs(from_tensor(got).astype(int) - from_tensor(expected).astype(int))
    assert off.max() <= 1 and (off > 0).mean() < 1e-3  # 8-bit values on either side of a .5 only


def _perturbed_batchnorm(net):
    """Give every BatchNorm non-trivial statistics and affine terms, as training would."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                for t, lo, hi in ((m.running_mean, -0.5, 0.5), (m.running_var, 0.5, 2.0), (m.weight, 0.5, 1.5),
                                  (m.bias, -0.3, 0.3)):
                    t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)
    return net


@pytest.mark.parametrize("options", [{}, {"fusion": "aff", "gs_layout": "pyramid321"}])
@pytest.mark.parametrize("strip", [64, 10**9])  # many strips (halos, borders) / the whole map as one strip
def test_inference_path_equals_the_modules(options, strip, crop, monkeypatch):
    from rdbench.models import inference

    monkeypatch.setattr(inference, "STRIP_POSITIONS", strip)
    torch.manual_seed(2)
    net = _perturbed_batchnorm(TreeNet(**options)).eval()
    x = to_tensor(crop(192, 128))
    with torch.no_grad():
        ys = net.g_a(x)
        fast = inference.analysis(net.g_a, x)
        y_hats = [(y * 40).round() for y in ys]
        ref, got = net.g_s(y_hats), net.coding_synthesis(y_hats)
    for a, b in zip(ys, fast):
        assert b.is_contiguous() and torch.allclose(a, b, rtol=0, atol=1e-5 * a.abs().max())
    assert got.is_contiguous() and got.shape == ref.shape
    assert torch.allclose(got, ref, rtol=0, atol=1e-5 * ref.abs().max())
    assert (got - ref).abs().max() > 0 or strip > 64  # really another path (else the test proves nothing)


DECODER = """
import sys, torch
from safetensors.torch import load_file
torch.set_num_threads(1)
from rdbench.models.treenet import TreeNet
data = torch.load(sys.argv[2])
net = TreeNet.from_state_dict(load_file(sys.argv[1])).eval()
with torch.no_grad():
    x_hat = net.decompress(data["strings"], data["shape"])["x_hat"]
torch.save(x_hat, sys.argv[3])
"""


def test_fresh_decoder_process_is_bit_exact(coding_model, crop, tmp_path):
    from safetensors.torch import save_file

    x = to_tensor(crop(256, 320))  # g_s's last stage runs in 3 row strips
    with torch.no_grad():
        enc = coding_model.compress(x)
        x_hat = coding_model.decompress(enc["strings"], enc["shape"])["x_hat"]
    save_file({k: v.contiguous() for k, v in coding_model.state_dict().items()}, str(tmp_path / "w.safetensors"))
    torch.save({"strings": enc["strings"], "shape": enc["shape"]}, tmp_path / "enc.pt")
    subprocess.run([sys.executable, "-c", DECODER, str(tmp_path / "w.safetensors"), str(tmp_path / "enc.pt"),
                    str(tmp_path / "dec.pt")], check=True, capture_output=True)
    assert torch.equal(torch.load(tmp_path / "dec.pt"), x_hat)


def test_coding_refuses_training_mode():
    net = TreeNet().train()
    with pytest.raises(RuntimeError, match="eval mode"):
        net.compress(torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize("options", [{}, {"fusion": "aff", "gs_layout": "pyramid321"}, {"N": 16, "M": 24, "r": 8}])
def test_from_state_dict_recovers_options(options):
    net = TreeNet(**options)
    assert TreeNet.from_state_dict(net.state_dict()).config() == net.config()


def test_bad_options_name_the_choices():
    with pytest.raises(ValueError, match="iaff, aff"):
        TreeNet(fusion="concat")
    with pytest.raises(ValueError, match="lattice432, pyramid321"):
        TreeNet(gs_layout="tree")


def test_ablate_command_writes_files(crop, tmp_path):
    from rdbench.cli import main

    rgb = crop(96, 160)
    src = tmp_path / "crop.png"
    write_png(src, rgb)
    out = tmp_path / "ablation"
    assert main(["ablate", "treenet", "--image", str(src), "--random-init", "--out", str(out)]) == 0
    for kind in ("selective", "accumulative", "bitmap"):
        for i in range(1, 5):
            assert read_png(out / f"crop_{kind}_{i}.png").shape == rgb.shape
    assert read_png(out / "crop_contact.png").shape[0] > 200
    info = json.loads((out / "crop_ablation.json").read_text())
    assert "random init" in info["title"] and set(info["estimated_bits"]) == {f"{k}{i}" for i in range(1, 5) for k in "yz"}
    # accumulating all four latents is the plain decode of the same (seed 0) model
    torch.manual_seed(0)
    net = TreeNet().eval()
    xp, offset = pad_centred(to_tensor(rgb))
    with torch.no_grad():
        full = from_tensor(crop_centred(net(xp)["x_hat"], 96, 160, offset))
    assert np.array_equal(read_png(out / "crop_accumulative_4.png"), full)


def test_ablate_needs_a_weight_source(crop, tmp_path):
    from rdbench.commands.ablate import configure, load
    import argparse

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["treenet", "--image", "x.png", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--random-init"):
        load(args)


def test_ablate_loads_weights_by_point_or_file(crop, tmp_path):
    from rdbench.cli import main
    from rdbench.models.weights import save_weights

    torch.manual_seed(3)
    weights = tmp_path / "weights" / "treenet" / "2.safetensors"
    save_weights(TreeNet(), weights, {"notes": "random init, written by a test"})
    src = tmp_path / "crop.png"
    write_png(src, crop(64, 96))
    assert main(["ablate", "treenet", "--image", str(src), "--point", "2", "--weights-dir",
                 str(tmp_path / "weights"), "--out", str(tmp_path / "a")]) == 0
    assert main(["ablate", "treenet", "--image", str(src), "--weights", str(weights), "--out", str(tmp_path / "b")]) == 0
    assert "point 2" in json.loads((tmp_path / "a" / "crop_ablation.json").read_text())["title"]
    for i in range(1, 5):
        assert np.array_equal(read_png(tmp_path / "a" / f"crop_selective_{i}.png"),
                              read_png(tmp_path / "b" / f"crop_selective_{i}.png"))
