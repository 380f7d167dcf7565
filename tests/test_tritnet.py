"""TritPlaneNet (DPICT / CTC / ATC reading): complexity against atc-spec.md, RR/DR coding, `rdbench train`.

Complexity is torchinfo at 256 x 256, as the spec counts. Coding tests use RANDOM-INIT models at N = 32
on a real 128 x 192 Kodak crop (tests/test_progressive.py rescales one so its latent spans more planes):
they test exactness and determinism with the CRR in the loop, never performance.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("compressai")

from rdbench import complexity as cx  # noqa: E402
from rdbench.complexity import counting  # noqa: E402
from rdbench.images import to_tensor  # noqa: E402
from rdbench.models.tritnet import TritPlaneNet  # noqa: E402
from rdbench.models.tritrr import DistortionReduction, RateReduction  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# atc-spec.md, "Numbers a test must reproduce" (torchinfo, 256 x 256, N = 192)
MAIN = {"g_a": (408.793, 5_691_456), "h_a": (3.323, 1_659_840), "h_s": (7.698, 6_140_640),
        "h_ep": (1.732, 443_520), "g_s": (602.765, 13_267_212)}


def _latent_kmac(module, *args) -> float:
    """kMAC/px of a module run on latents of a 256 x 256 image (16 x 16 positions)."""
    return counting._torchinfo(module, args) / (256 * 256) / 1000


@pytest.fixture(scope="module")
def dpict_count():
    return cx.count("dpict", 256, 256, counters=("torchinfo",))


def test_main_net_matches_the_spec(dpict_count):
    for part, (kmac, params) in MAIN.items():
        assert dpict_count.modules[part].params == params, part
        assert dpict_count.kmac_per_px(part) == pytest.approx(kmac, abs=0.001), part
    assert dpict_count.total_params == 27_214_380  # + EntropyBottleneck(192): 11,712
    assert dpict_count.forward() == pytest.approx(1024.31, abs=0.01)
    assert dpict_count.encoder() == pytest.approx(421.55, abs=0.01)
    assert dpict_count.decoder() == pytest.approx(612.20, abs=0.01)


def test_main_net_variants():
    small = cx.count("dpict", 256, 256, counters=("torchinfo",), options={"N": 128})
    assert small.total_params == 12_109_516 and small.forward() == pytest.approx(456.94, abs=0.01)
    anchor = cx.count("dpict", 256, 256, counters=("torchinfo",), options={"attention": "encoder"})
    assert anchor.forward() == pytest.approx(973.96, abs=0.01)


@pytest.mark.parametrize("cls,attention,kmac,params", [
    (RateReduction, "none", 403.14, 103_204_800), (RateReduction, "trunk", 450.41, 115_306_176),
    (DistortionReduction, "none", 80.96, 20_724_864), (DistortionReduction, "trunk", 92.78, 23_752_704)])
def test_rate_and_distortion_modules_match_the_spec(cls, attention, kmac, params):
    module = cls(192, attention).eval()
    assert sum(p.numel() for p in module.parameters()) == params
    y = torch.rand(1, 192, 16, 16)
    args = (torch.rand(1, 3, 192, 16, 16), torch.rand(1, 3, 192, 16, 16), y, y, y) if cls is RateReduction \
        else (y, y, y)
    assert _latent_kmac(module, *args) == pytest.approx(kmac, abs=0.01)


@pytest.mark.slow
def test_table2_lists_the_three_presets(dpict_count):
    """The whole ctc and atc models (399 M and 444 M parameters) are built: a minute or two on one core."""
    counts = [dpict_count] + [cx.count(p, 256, 256, counters=("torchinfo",)) for p in ("ctc", "atc")]
    spec = {"dpict": (421.55, 612.20, 27_214_380), "ctc": (2840.4, 3031.0, 399_003_372),
            "ATC (rdbench reading)": (3124.0, 3314.6, 444_391_020)}
    table = cx.table2(counts, ("torchinfo",))
    rows = {r["architecture"]: r for r in table.rows}
    for name, (enc, dec, params) in spec.items():
        assert rows[name]["params"] == params
        assert rows[name]["encoder_kmac_px_torchinfo"] == pytest.approx(enc, abs=0.1)
        assert rows[name]["decoder_kmac_px_torchinfo"] == pytest.approx(dec, abs=0.1)
        assert rows[name]["paper_encoder_kmac_px"] is None  # nothing is published; the spec's are ours
    assert any("ATC (rdbench reading)" in note and "3124.0" in note for note in table.notes)
    print("\n" + cx.to_markdown(table))


@pytest.mark.parametrize("preset", ["ctc", "atc"])
def test_rate_reduction_in_the_loop_stays_exact_and_prefix_decodable(preset, crop):
    torch.manual_seed(1)
    model = TritPlaneNet(preset=preset, N=32).eval()
    with torch.no_grad():  # widen σ̂ so several planes (and the CRR) are used
        model.entropy_parameters[-1].bias[:32] = torch.exp(torch.linspace(np.log(0.3), np.log(30.0), 32))
        model.g_a[7].weight.mul_(8.0)
    model.update(force=True)
    x = to_tensor(crop(128, 192))
    with torch.no_grad():
        out = model.compress(x)
        full = model.decompress(out["z_string"], out["z_shape"], out["chunks"])
        y = model.g_a(x)
        _, means = model.hyper(model.entropy_bottleneck.decompress([out["z_string"]], out["z_shape"]))
        plan = out["plan"]
        expected = means.double().numpy().reshape(-1) + model.coder.symbols(
            y.double().numpy(), means.double().numpy(), plan) - plan.centre
        assert np.array_equal(full["y_hat"].numpy().reshape(-1), expected.astype(np.float32))
        plain = model.coder.encode(y.double().numpy(), means.double().numpy(),
                                   model.hyper(model.entropy_bottleneck.decompress([out["z_string"]],
                                                                                   out["z_shape"]))[0].double().numpy())
        assert plain.chunks != out["chunks"]  # the CRR changed the coding probabilities
        assert plan.L >= 3
        k = sum(len(s) for s in plan.schedule[:-2]) + 3  # a truncation inside plane L-2: the CDR runs
        part = model.decompress(out["z_string"], out["z_shape"], out["chunks"][:k])
        again = model.decompress(out["z_string"], out["z_shape"], out["chunks"][:k])
    assert part["planes_done"] == 1 and torch.equal(part["x_hat"], again["x_hat"])


def test_distortion_reduction_never_leaves_the_interval():
    torch.manual_seed(0)
    dr = DistortionReduction(16).eval()
    y = torch.randn(1, 16, 4, 4)
    lo, hi = y - 0.5, y + 0.25
    with torch.no_grad():
        out = dr(y, torch.rand_like(y), torch.randn_like(y), lo, hi)
    assert torch.all(out >= lo) and torch.all(out <= hi) and not torch.equal(out, y)


def test_rate_reduction_gives_distributions():
    torch.manual_seed(0)
    rr = RateReduction(8, "both").eval()
    P = torch.softmax(torch.randn(1, 3, 8, 4, 4), dim=1)
    with torch.no_grad():
        Q = rr(P, P, torch.randn(1, 8, 4, 4), torch.rand(1, 8, 4, 4), torch.randn(1, 8, 4, 4))
    assert Q.shape == P.shape and torch.allclose(Q.sum(dim=1), torch.ones(1, 8, 4, 4)) and torch.all(Q > 0)


def test_bad_options_name_the_setting():
    for kwargs, setting in (({"preset": "dpct"}, "preset"), ({"rr_attention": "all"}, "rr_attention"),
                            ({"retrain_gs": "both"}, "retrain_gs"), ({"N": 7}, "N"),
                            ({"preset": "dpict", "rd_planes": 5}, "chunks")):
        with pytest.raises(ValueError, match=setting):
            TritPlaneNet(**kwargs)
    assert TritPlaneNet(preset="atc", N=16).label == "ATC (rdbench reading)"
    extra = TritPlaneNet(preset="ctc", N=16, retrain_gs="extra")
    assert extra.g_s_full is not None and TritPlaneNet(**extra.config()).config() == extra.config()


def test_rdbench_train_runs_a_few_steps(tmp_path, crop):
    """`rdbench train dpict --point 1` at 64 x 64 crops, 2 steps: the main net trains and exports."""
    from rdbench.codecs.tritplane import DPICTCodec
    from rdbench.images import write_png
    from rdbench.models.weights import load_model
    from rdbench.train import TrainConfig, train

    data = tmp_path / "data"
    data.mkdir()
    for i, (top, left) in enumerate([(0, 0), (100, 300), (300, 500)]):
        write_png(data / f"c{i}.png", crop(96, 96, top, left))
    cfg = TrainConfig(model="dpict", points=(1,), data=(str(data),), steps=2, batch=2, crop=64, device="cpu",
                      out=str(tmp_path / "run"), val_images=0, log_every=1, val_every=0, checkpoint_every=0,
                      progress=False, workers=1)
    summary = train(cfg, codec_cls=DPICTCodec, say=lambda msg: None)
    model, meta = load_model("dpict", 1, tmp_path / "run" / "weights")
    assert meta["sha256"] == summary["points"][1]["sha256"] and meta["lambda1"] == 0.2 and meta["steps"] == 2
    assert isinstance(model, TritPlaneNet) and model.preset == "dpict" and model.N == 192


def _wide(preset: str, N: int = 16, seed: int = 0) -> TritPlaneNet:
    torch.manual_seed(seed)
    model = TritPlaneNet(preset=preset, N=N)
    with torch.no_grad():
        model.entropy_parameters[-1].bias[:N] = torch.exp(torch.linspace(np.log(0.3), np.log(30.0), N))
        model.g_a[7].weight.mul_(8.0)
    return model.eval()


def test_teacher_forced_rr_loss_trains_the_crr(crop):
    """A few Adam steps on one crop: the CRR's bits per trit fall, and below the Gaussian's they start near."""
    from rdbench.training.tritplane import rr_loss

    model = _wide("ctc")
    x = to_tensor(crop(64, 64))
    opt = torch.optim.Adam(model.rr[0].parameters(), lr=1e-3)
    first, gaussian = rr_loss(model, x, 0)
    for _ in range(15):
        opt.zero_grad()
        loss, _ = rr_loss(model, x, 0)
        loss.backward()
        opt.step()
    last, _ = rr_loss(model, x, 0)
    assert gaussian > 0  # a cross-entropy: the random model's σ̂ fits its latent badly, so it can pass log2(3)
    first, last = float(first.detach()), float(last.detach())
    assert last < first and last < gaussian
    print(f"\nCRR1 teacher-forced bits/trit: Gaussian {gaussian:.3f}, CRR {first:.3f} -> {last:.3f}")
    assert all(p.grad is None for p in model.g_a.parameters())  # the main net stays frozen


def test_dr_loss_trains_the_cdr_and_checks_its_plane(crop):
    from rdbench.training.tritplane import dr_loss, rr_loss

    model = _wide("atc")
    x = to_tensor(crop(64, 64))
    opt = torch.optim.Adam(model.dr[0].parameters(), lr=1e-3)
    losses = []
    for step in range(12):
        opt.zero_grad()
        loss = dr_loss(model, x, 1, np.random.default_rng(0))  # the same truncation every step
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="lsb-0"):
        dr_loss(model, x, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no RR modules"):
        rr_loss(_wide("dpict"), x, 0)
