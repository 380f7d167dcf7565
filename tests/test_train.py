"""`rdbench train`: the loss, the data pipeline, exact resume, export, and the command's errors.

Runs on CPU with TreeNet at 64 x 64 crops and batch 2 (about 0.3 s a step on one thread). Training
data: a few photos of the shared training folder (``$RDBENCH_DATA/../train/part1``) when it exists,
else real Kodak crops written to a temporary folder.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from rdbench.codecs.learned import TreeNetCodec, load_model
from rdbench.images import load_rgb8, to_tensor, write_png
from rdbench.train import TrainConfig, train
from rdbench.training import data as D
from rdbench.training.loss import RateDistortionLoss, bits_per_pixel, ms_ssim, ms_ssim_levels
from rdbench.training.models import TREENET_LAMBDAS, TrainSetupError, lambdas_for
from rdbench.training.step import _entropy_bottleneck_forward, scaled_lr


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py: torch on one thread per xdist worker


def _source_photos(kodak_dir: Path) -> list[Path]:
    part1 = kodak_dir.parent / ".." / "train" / "part1"  # $RDBENCH_DATA/../train/part1
    if part1.is_dir():
        photos = sorted(p for p in part1.iterdir() if p.suffix.lower() in (".jpg", ".png"))
        if len(photos) >= 8:
            return photos[:8]
    return [kodak_dir / f"kodim{n:02d}.png" for n in range(1, 9)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory, kodak_dir) -> Path:
    """A folder of 8 real photos (symlinked training photos, or Kodak crops)."""
    folder = tmp_path_factory.mktemp("photos")
    for i, src in enumerate(_source_photos(kodak_dir)):
        if src.suffix.lower() == ".jpg":
            (folder / src.name).symlink_to(src.resolve())
        else:
            rgb, _ = load_rgb8(src)
            write_png(folder / f"photo{i}.png", np.ascontiguousarray(rgb[:256, :320]))
    return folder


@pytest.fixture(scope="module")
def fixed_batch(tmp_path_factory, photos) -> Path:
    """Two real 64 x 64 crops: with --batch 2 --crop 64 every step sees exactly this batch."""
    folder = tmp_path_factory.mktemp("fixed")
    for i, src in enumerate(sorted(photos.iterdir())[:2]):
        rgb, _ = load_rgb8(src)
        write_png(folder / f"crop{i}.png", np.ascontiguousarray(rgb[40:104, 60:124]))
    return folder


def _cfg(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(model="treenet", points=(4,), data=(str(data),), batch=2, crop=64, device="cpu", out=str(out),
                val_images=0, log_every=1, val_every=0, checkpoint_every=0, progress=False, workers=2)
    base.update(kw)
    return TrainConfig(**base)


def _quiet(msg: str) -> None:
    pass


def _log(out: Path, split: str = "train") -> list[dict]:
    with open(out / "log.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row["split"] == split]


# ------------------------------------------------------------------------------------------- loss


def test_ms_ssim_matches_the_reference_implementation(crop):
    piq = pytest.importorskip("piq")
    x = torch.cat([to_tensor(crop(192, 192)), to_tensor(crop(192, 192, top=300, left=100))])
    y = (x + 0.08 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    ours = ms_ssim(x, y)
    ref = piq.multi_scale_ssim(x, y, data_range=1.0, reduction="none")
    assert ours.shape == (2,)
    assert torch.allclose(ours, ref, atol=2e-5), (ours, ref)
    assert torch.allclose(ms_ssim(x, x), torch.ones(2), atol=1e-6)


def test_ms_ssim_uses_the_scales_that_fit():
    assert [ms_ssim_levels(s, s) for s in (11, 21, 64, 160, 161, 256)] == [1, 2, 3, 4, 5, 5]
    with pytest.raises(ValueError, match="at least 11x11"):
        ms_ssim_levels(10, 300)


def test_loss_is_the_papers_formula(crop):
    x = to_tensor(crop(64, 64))
    x_hat = (x + 0.05).clamp(0, 1)
    likelihoods = {"y1": torch.full((1, 4, 4, 4), 0.5), "z1": torch.full((1, 4, 1, 1), 0.25)}
    terms = RateDistortionLoss(0.01, 2.4)({"x_hat": x_hat, "likelihoods": likelihoods}, x)
    bits = 64 * 1 + 4 * 2  # 64 symbols at 1 bit, 4 at 2 bits
    assert math.isclose(float(terms["bpp"]), bits / (64 * 64), rel_tol=1e-6)
    mse = float(((x_hat - x) ** 2).mean())
    expected = bits / 4096 + 0.01 * 255**2 * mse + 2.4 * (1 - float(terms["ms_ssim"]))
    assert math.isclose(float(terms["loss"]), expected, rel_tol=1e-5)
    assert float(bits_per_pixel([likelihoods], 4096)) == pytest.approx(bits / 4096)
    with pytest.raises(ValueError, match="lambda1"):
        RateDistortionLoss(-1, 0.3)


def test_treenet_points_map_the_papers_lambdas_by_rate():
    pairs = [lambdas_for(TreeNetCodec, p)[:2] for p in (1, 2, 3, 4)]
    assert pairs == [(0.00125, 0.3), (0.0025, 0.6), (0.005, 1.2), (0.01, 2.4)] == [TREENET_LAMBDAS[p] for p in (1, 2, 3, 4)]
    assert lambdas_for(TreeNetCodec, 2, lambda2=0.0)[:2] == (0.0025, 0.0)
    from rdbench.codecs.learned import BMSHJ2018Hyperprior

    assert lambdas_for(BMSHJ2018Hyperprior, 3)[:2] == (0.0067, 0.0)
    with pytest.raises(TrainSetupError, match="--lambda1 and --lambda2"):
        lambdas_for(TreeNetCodec, 9)


def test_lr_scaling_for_other_batch_sizes():
    assert scaled_lr(1e-4, 64, "sqrt") == pytest.approx(2e-4)
    assert scaled_lr(1e-4, 64, "linear") == pytest.approx(4e-4)
    assert scaled_lr(1e-4, 64, "none") == 1e-4
    with pytest.raises(ValueError, match="sqrt"):
        scaled_lr(1e-4, 64, "cubic")


def test_capture_safe_entropy_bottleneck_equals_compressai():
    from compressai.entropy_models import EntropyBottleneck

    eb = EntropyBottleneck(8)
    z = torch.randn(2, 8, 5, 3) * 3
    for training in (True, False):
        eb.train(training)
        torch.manual_seed(3)
        ref = eb(z)
        torch.manual_seed(3)
        ours = _entropy_bottleneck_forward(eb, z)
        assert all(torch.equal(a, b) for a, b in zip(ref, ours))


def test_bf16_autocast_covers_only_the_transforms(crop):
    from rdbench.training.step import apply_amp

    model = TreeNetCodec.build(1).train()
    assert apply_amp(model, torch.device("cpu")) == ["g_a", "g_s"]
    dtypes = {}
    first_conv = next(m for m in model.g_a.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(lambda mod, inp, out: dtypes.update({"g_a conv": out.dtype}))
    out = model(to_tensor(crop(64, 64)).repeat(2, 1, 1, 1))
    assert dtypes["g_a conv"] == torch.bfloat16
    assert out["x_hat"].dtype == torch.float32 and torch.isfinite(out["x_hat"]).all()
    assert all(t.dtype == torch.float32 for t in out["likelihoods"].values())


# ------------------------------------------------------------------------------------------- data


def test_crops_are_gathered_exactly_and_in_a_resumable_order(photos):
    files = D.list_images([photos])
    train_files, val_files = D.split_validation(files, 2)
    assert len(val_files) == 2 and not {f.key for f in val_files} & {f.key for f in train_files}
    assert {f.key for f in D.split_validation(list(reversed(files)), 2)[1]} == {f.key for f in val_files}
    images, _ = D.decode_images(train_files, 64)
    sampler = D.CropSampler(images, 2, 64, seed=5, device="cpu")
    for step in (0, 1, sampler.steps_per_epoch + 1):
        idx, top, left = sampler.indices(step, stream=1)
        batch = sampler.batch_at(step, stream=1)
        for b in range(2):
            ref = images[idx[b]][top[b]:top[b] + 64, left[b]:left[b] + 64].transpose(2, 0, 1)
            assert np.array_equal(batch[b].mul(255).round().byte().numpy(), ref)
    fresh = D.CropSampler(images, 2, 64, seed=5, device="cpu")  # a resumed run: only the step is known
    assert torch.equal(fresh.batch_at(7, 1), sampler.batch_at(7, 1))
    assert not torch.equal(sampler.batch_at(7, 0), sampler.batch_at(7, 1))  # rate points draw independently


def test_small_images_are_upscaled_or_skipped(photos):
    files = D.list_images([photos])[:2]
    images, notes = D.decode_images(files, 400)
    assert all(min(im.shape[:2]) == 400 for im in images) and "upscaled" in notes[0]
    images, notes = D.decode_images(files, 400, small="skip")
    assert images == [] and "skipped" in notes[0]


def test_bad_data_folder_is_a_clear_error(tmp_path, photos):
    from rdbench.cli import main

    with pytest.raises(D.DataError, match="does not exist"):
        D.list_images([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(D.DataError, match=r"has no images \(\.png"):
        D.list_images([tmp_path / "empty"])
    with pytest.raises(D.DataError, match="given twice"):
        D.list_images([photos, photos])
    files = D.list_images([photos])
    assert D.check_memory(files, "cpu") == sum(load_rgb8(f.path)[0].size for f in files)
    with pytest.raises(D.DataError, match="decode to .* GiB, more than"):
        D.check_memory(files, "cpu", fraction=1e-9)
    code = main(["train", "treenet", "--point", "1", "--data", str(tmp_path / "missing"), "--steps", "1",
                 "--device", "cpu", "--out", str(tmp_path / "run")])
    assert code == 1 and not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------- training


def test_loss_decreases_on_a_fixed_batch(fixed_batch, tmp_path):
    out = tmp_path / "overfit"
    train(_cfg(fixed_batch, out, steps=20, lr=1e-3), codec_cls=TreeNetCodec, say=_quiet)
    losses = [float(row["loss"]) for row in _log(out)]
    assert len(losses) == 20
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.5 * first, losses


def test_checkpoint_and_resume_is_bit_identical(photos, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    kw = dict(points=(1, 4), steps=4, val_images=2, val_every=2)
    train(_cfg(photos, straight, **kw), codec_cls=TreeNetCodec, say=_quiet)
    train(_cfg(photos, split, **{**kw, "steps": 2}), codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="--resume"):
        train(_cfg(photos, split, **kw), codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="seed: checkpoint 0, now 1"):
        train(_cfg(photos, split, resume=True, seed=1, **kw), codec_cls=TreeNetCodec, say=_quiet)
    train(_cfg(photos, split, resume=True, **kw), codec_cls=TreeNetCodec, say=_quiet)
    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(split / "checkpoint.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for point in (1, 4):
        sa, sb = a["members"][point]["model"], b["members"][point]["model"]
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), point
        ea = a["members"][point]["optimizer"]["state"]
        eb = b["members"][point]["optimizer"]["state"]
        assert all(torch.equal(ea[i]["exp_avg_sq"], eb[i]["exp_avg_sq"]) for i in ea)
    # the resumed log continues the first one: rows for steps 1..4 once each, per point
    assert [int(r["step"]) for r in _log(split) if r["point"] == "1"] == [1, 2, 3, 4]
    for name in ("1", "4"):
        assert (straight / "weights/treenet" / f"{name}.safetensors").read_bytes() == \
            (split / "weights/treenet" / f"{name}.safetensors").read_bytes()


def test_exported_weights_load_and_code(photos, tmp_path, crop):
    out = tmp_path / "export"
    summary = train(_cfg(photos, out, points=(2,), steps=2, val_images=2), codec_cls=TreeNetCodec, say=_quiet)
    model, meta = load_model("treenet", 2, out / "weights")
    assert meta["sha256"] == summary["points"][2]["sha256"]
    assert (meta["lambda1"], meta["lambda2"]) == (0.0025, 0.6)
    assert meta["steps"] == 2 and meta["images_seen"] == 4
    assert meta["data"]["files_sha256"] == D.file_list_hash(D.list_images([photos]))
    assert meta["data"]["train_images"] == 6 and meta["data"]["val_images"] == 2
    assert set(meta["validation"]) >= {"bpp_estimated", "psnr", "ms_ssim"} and meta["validation"]["psnr"] > 0
    assert meta["source"].startswith("rdbench train treenet --point 2")
    trained = torch.load(out / "checkpoint.pt", weights_only=True)["members"][2]["model"]
    state = model.state_dict()
    assert all(torch.equal(trained[k], state[k]) for k in trained if not k.endswith("_cdf") and "cdf" not in k
               and not k.endswith(("_offset", "scale_table")))
    # the codec codes a real image with them (a full encode -> file -> decode round trip)
    codec = TreeNetCodec(weights_dir=out / "weights")
    src, bits, rec = tmp_path / "src.png", tmp_path / "x.rdlc", tmp_path / "rec.png"
    write_png(src, crop(64, 96))
    codec.encode(src, 2, bits)
    codec.decode(bits, rec)
    assert bits.stat().st_size > 0 and load_rgb8(rec)[0].shape == (64, 96, 3)


def test_init_from_weights_starts_from_them(photos, tmp_path):
    first = tmp_path / "first"
    train(_cfg(photos, first, steps=1), codec_cls=TreeNetCodec, say=_quiet)
    again = tmp_path / "again"
    train(_cfg(photos, again, steps=1, lr=0.0, aux_lr=0.0, init_from_weights=str(first / "weights")),
          codec_cls=TreeNetCodec, say=_quiet)
    before, _ = load_model("treenet", 4, first / "weights")
    after, meta = load_model("treenet", 4, again / "weights")
    assert meta["training"]["init_from"]["sha256"] == load_model("treenet", 4, first / "weights")[1]["sha256"]
    params = dict(after.named_parameters())
    assert all(torch.equal(p, params[name]) for name, p in before.named_parameters())


def test_settings_are_checked(photos, tmp_path):
    with pytest.raises(ValueError, match="not a multiple of 64"):
        train(_cfg(photos, tmp_path / "a", steps=1, crop=96), codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="need --batch >= 2"):
        train(_cfg(photos, tmp_path / "b", steps=1, batch=1), codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="exactly one of --steps"):
        train(_cfg(photos, tmp_path / "c"), codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="--cuda-graph needs --device cuda"):
        train(_cfg(photos, tmp_path / "d", steps=1, cuda_graph=True), codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="--compile is refused on the CPU"):  # before any work: no output
        train(_cfg(photos, tmp_path / "g", steps=1, compile=True, device="cpu"), codec_cls=TreeNetCodec, say=_quiet)
    assert not (tmp_path / "g").exists()
    with pytest.raises(TrainSetupError, match="no rate point 7"):
        train(_cfg(photos, tmp_path / "e", steps=1, points=(7,)), codec_cls=TreeNetCodec, say=_quiet)
    from rdbench.codecs import codecs

    with pytest.raises(KeyError, match="unknown codec 'treenett'"):
        train(_cfg(photos, tmp_path / "f", steps=1, model="treenett"), say=_quiet)
    try:
        codecs.get("jpeg")
    except KeyError:
        return  # the classical codecs' module is not there yet
    with pytest.raises(TrainSetupError, match="not a learned codec"):
        train(_cfg(photos, tmp_path / "g", steps=1, model="jpeg"), say=_quiet)


def test_config_json_records_the_run(photos, tmp_path):
    out = tmp_path / "cfg"
    train(_cfg(photos, out, steps=1, val_images=2, seed=7), codec_cls=TreeNetCodec, say=_quiet)
    config = json.loads((out / "config.json").read_text())
    assert config["resolved"]["seed"] == 7 and config["resolved"]["lambdas"] == {"4": [0.01, 2.4]}
    assert config["train_images"] == 6 and config["device"] == "cpu"


# ------------------------------------------------------------------------- recipe, schedule, budget


def test_cosine_schedule_runs_from_lr_to_lr_final(photos, tmp_path):
    from rdbench.training.recipe import learning_rate

    assert learning_rate(0, 10, 1e-3, "cosine", 1e-5) == pytest.approx(1e-3)
    assert learning_rate(5, 10, 1e-3, "cosine", 1e-5) == pytest.approx((1e-3 + 1e-5) / 2)
    assert learning_rate(10, 10, 1e-3, "cosine", 1e-5) == pytest.approx(1e-5)
    assert learning_rate(7, 10, 1e-3) == 1e-3
    assert learning_rate(0, 10, 1e-3, warmup=4) == pytest.approx(2.5e-4)  # linear warm-up, then the schedule
    assert learning_rate(3, 10, 1e-3, "cosine", 1e-5, warmup=4) == pytest.approx(learning_rate(3, 10, 1e-3, "cosine", 1e-5))
    out = tmp_path / "cos"
    train(_cfg(photos, out, steps=4, lr=1e-3, lr_schedule="cosine", lr_final=1e-4), codec_cls=TreeNetCodec,
          say=_quiet)
    lrs = [float(r["lr"]) for r in _log(out)]  # the lr each logged step ran with (steps 0..3)
    assert lrs == pytest.approx([learning_rate(s, 4, 1e-3, "cosine", 1e-4) for s in range(4)], rel=1e-5)
    assert lrs[0] > lrs[1] > lrs[2] > lrs[3] > 1e-4
    with pytest.raises(ValueError, match="schedule_steps: checkpoint 4, now 8"):  # the schedule spans the run
        train(_cfg(photos, out, steps=8, lr=1e-3, lr_schedule="cosine", lr_final=1e-4, resume=True),
              codec_cls=TreeNetCodec, say=_quiet)
    with pytest.raises(ValueError, match="--lr-schedule 'linear'"):
        train(_cfg(photos, tmp_path / "bad", steps=1, lr_schedule="linear"), codec_cls=TreeNetCodec, say=_quiet)


def test_sidecar_budget_is_cumulative_across_fine_tuning(photos, tmp_path):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    train(_cfg(photos, base, steps=2), codec_cls=TreeNetCodec, say=_quiet)
    first = load_model("treenet", 4, base / "weights")[1]["budget"]
    assert first["crops_seen"] == 4 and first["cpu_hours"] > 0 and first["gpu_minutes"] == 0
    assert first["fraction_of_paper"] == pytest.approx(4 / (450 * 150_000))
    train(_cfg(photos, tuned, steps=3, init_from_weights=str(base / "weights")), codec_cls=TreeNetCodec, say=_quiet)
    meta = load_model("treenet", 4, tuned / "weights")[1]
    assert meta["budget"]["crops_seen"] == 4 + 6
    assert meta["budget"]["cpu_hours"] > first["cpu_hours"]
    assert meta["training"]["init_from"]["budget"] == first
    assert f"--init-from-weights {base / 'weights'}" in meta["source"] and "--steps 3" in meta["source"]
    assert meta["training"]["log"] == str((tuned / "log.csv").resolve())
    assert float(_log(tuned)[-1]["cpu_s"]) > 0


def test_validation_crop_can_differ_from_the_training_crop(photos, tmp_path):
    out = tmp_path / "valcrop"
    train(_cfg(photos, out, steps=1, val_images=2, val_crop=128), codec_cls=TreeNetCodec, say=_quiet)
    assert load_model("treenet", 4, out / "weights")[1]["validation"]["crop"] == "centre 128x128"
    with pytest.raises(ValueError, match="--val-crop 100"):
        train(_cfg(photos, tmp_path / "x", steps=1, val_images=2, val_crop=100), codec_cls=TreeNetCodec, say=_quiet)


def test_presets_set_defaults_that_explicit_options_override():
    import argparse

    from rdbench.commands.train import PAPER, configure, resolve_recipe
    from rdbench.training.recipe import PRESETS

    parser = argparse.ArgumentParser()
    configure(parser)
    base = ["treenet", "--point", "1", "--data", "d", "--steps", "1"]
    assert resolve_recipe(parser.parse_args(base)) == PAPER == {**PAPER, **PRESETS["paper"]}
    cpu = resolve_recipe(parser.parse_args(base + ["--preset", "cpu"]))
    assert cpu == {**PAPER, **PRESETS["cpu"]} and cpu != PAPER
    assert resolve_recipe(parser.parse_args(base + ["--preset", "cpu", "--batch", "4"]))["batch"] == 4
    with pytest.raises(SystemExit):
        parser.parse_args(base + ["--preset", "gpu"])


def test_init_point_fine_tunes_another_points_weights(photos, tmp_path):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    train(_cfg(photos, base, steps=1), codec_cls=TreeNetCodec, say=_quiet)  # point 4
    train(_cfg(photos, tuned, points=(1,), steps=1, lr=0.0, aux_lr=0.0, init_from_weights=str(base / "weights"),
               init_point=4), codec_cls=TreeNetCodec, say=_quiet)
    before, _ = load_model("treenet", 4, base / "weights")
    after, meta = load_model("treenet", 1, tuned / "weights")
    assert (meta["lambda1"], meta["lambda2"]) == TREENET_LAMBDAS[1] and meta["training"]["init_from"]["point"] == 4
    params = dict(after.named_parameters())
    assert all(torch.equal(p, params[name]) for name, p in before.named_parameters())
    with pytest.raises(ValueError, match="--init-point K needs --init-from-weights"):
        train(_cfg(photos, tmp_path / "x", steps=1, init_point=4), codec_cls=TreeNetCodec, say=_quiet)


def test_a_diverged_point_stops_and_keeps_its_last_finite_checkpoint(fixed_batch, tmp_path):
    from rdbench.train import TrainingDiverged

    out = tmp_path / "diverge"
    with pytest.raises(TrainingDiverged, match=r"point 4 diverged.*last finite checkpoint .*checkpoint\.pt \(step \d+\)"):
        train(_cfg(fixed_batch, out, steps=30, lr=1e5, clip=0.0, checkpoint_every=1), codec_cls=TreeNetCodec,
              say=_quiet)
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    model = saved["members"][4]["model"]
    assert all(torch.isfinite(t).all() for t in model.values() if t.is_floating_point())
    assert not (out / "weights").exists()  # nothing exported from a diverged model


def test_cpu_optimizers_are_fused_and_update_as_the_per_tensor_loop():
    from rdbench.models.treenet import TreeNet
    from rdbench.training.step import make_optimizers

    torch.manual_seed(0)
    fused_model, loop_model = TreeNet(), TreeNet()
    loop_model.load_state_dict(fused_model.state_dict())
    main, opt, aux_opt = make_optimizers(fused_model, 1e-3, 1e-2, torch.device("cpu"))
    assert opt.defaults["fused"] and aux_opt.defaults["fused"]
    loop_main = [p for n, p in loop_model.named_parameters() if not n.endswith("quantiles")]
    assert [p.shape for p in loop_main] == [p.shape for p in main]
    loop = torch.optim.Adam(loop_main, lr=1e-3, foreach=False)
    start = [p.detach().clone() for p in main]
    for _ in range(3):
        for a, b in zip(main, loop_main):
            a.grad = torch.randn_like(a)
            b.grad = a.grad.clone()
        opt.step()
        loop.step()
    assert max((a - b).abs().max().item() for a, b in zip(main, loop_main)) < 1e-6  # the same update
    assert min((a - s).abs().max().item() for a, s in zip(main, start)) > 1e-4  # and an update it was



def test_a_periodic_export_carries_the_validation_of_its_step(photos, tmp_path, monkeypatch):
    """--export-every with --val-every at the same step: that export's sidecar holds the step's validation
    (it was dropped, so weights taken from a run stopped before its end had none)."""
    import rdbench.train as T

    sidecars, export = [], T.M.export_weights
    monkeypatch.setattr(T.M, "export_weights", lambda *a, **kw: sidecars.append(a[4]) or export(*a, **kw))
    out = tmp_path / "periodic"
    train(_cfg(photos, out, points=(2,), steps=3, val_images=2, val_every=2, export_every=2),
          codec_cls=TreeNetCodec, say=_quiet)
    assert [m["steps"] for m in sidecars] == [2, 3]
    (val,) = [r for r in _log(out, "val") if r["step"] == "2"]
    assert sidecars[0]["validation"]["psnr"] == pytest.approx(float(val["psnr"]), abs=1e-4)


def test_a_non_finite_step_changes_nothing_is_counted_and_training_goes_on(fixed_batch, tmp_path):
    """Points 1 and 4 of the fifth CPU session went NaN from one bad step at lr ~2e-4: such a step is
    now skipped (no update, Adam's moments kept), counted in the log, and the next batch trains."""
    from rdbench.train import build_members, resolve_device
    from rdbench.training.step import STATS, train_step

    members, _ = build_members(_cfg(fixed_batch, tmp_path / "x"), TreeNetCodec, resolve_device("cpu"))
    m = members[0]
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    train_step(m, x)  # one real step, so Adam has moments to keep
    before = {k: v.clone() for k, v in m.model.state_dict().items()}
    moments = [s["exp_avg"].clone() for s in m.optimizer.state.values()]
    stats = dict(zip(STATS, train_step(m, x.clone().index_fill_(3, torch.tensor([5]), float("nan"))).tolist()))
    assert stats["skipped"] == 1 and stats["loss"] == 0
    assert all(torch.equal(before[k], v) for k, v in m.model.state_dict().items())
    assert all(torch.equal(a, s["exp_avg"]) for a, s in zip(moments, m.optimizer.state.values()))
    stats = dict(zip(STATS, train_step(m, x).tolist()))
    assert stats["skipped"] == 0 and math.isfinite(stats["loss"])
    assert not all(torch.equal(before[k], v) for k, v in m.model.state_dict().items())


def test_the_log_counts_skipped_steps_and_means_only_the_steps_taken(fixed_batch, tmp_path, monkeypatch):
    import rdbench.training.step as step

    real, calls = step.train_step, []

    def every_third_is_nan(member, x, skip_nonfinite=True):
        calls.append(1)
        return real(member, x * float("nan") if len(calls) % 3 == 0 else x, skip_nonfinite)

    monkeypatch.setattr(step, "train_step", every_third_is_nan)
    out = tmp_path / "skip"
    train(_cfg(fixed_batch, out, steps=6, log_every=3), codec_cls=TreeNetCodec, say=_quiet)
    rows = _log(out)
    assert [r["skipped_steps"] for r in rows] == ["1", "1"] and all(math.isfinite(float(r["loss"])) for r in rows)
    meta = json.loads((out / "weights" / "treenet" / "4.json").read_text())
    assert meta["training"]["skipped_steps_this_run"] == 2
