"""Training of learned codecs: the TreeNet paper's recipe, for any learned codec rdbench knows.

    rdbench train treenet --point 1,2,3,4 --data train/part1 --data train/part2 --steps 100000 \\
        --device cuda --cuda-graph --out runs/treenet

Recipe (paper, section III-A; the loss is in rdbench.training.loss): Adam, lr 1e-4, batch 16 of
256 x 256 random crops, noise quantisation in training, EntropyBottleneck quantiles in their own
Adam (lr 1e-3, as in CompressAI's examples), gradient norm clipped at 1.0 (CompressAI's example;
the paper is silent; ``clip=0`` disables). Each rate point has its own lambdas (rdbench.training.models).

Several rate points train in one process, one model each, stepping in turn; by default each point
draws independent batches (``same_batch`` shares them). On CUDA each point runs on its own stream,
so the small kernels of four TreeNets (or their CUDA graph replays) overlap on one GPU.

Output folder ``out``::

    config.json             resolved settings, data hash, image counts, devices
    checkpoint.pt           latest state (atomic; rdbench.training.checkpoint): resume with resume=True
    log.csv                 train and validation rows per point (rdbench.training.evaluate)
    weights/<codec>/<point>.safetensors + .json   exported rate points (or under ``export_dir``)

Reproducibility: model initialisation is seeded per point (seed, point), the data order per
(seed, point, step), the quantisation noise from the seed; a checkpointed and resumed CPU run is
bit-identical to an uninterrupted one. Several points in one process share the noise stream, so
their results differ from single-point runs with the same seed (each is reproducible as run).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import torch

from rdbench.training import checkpoint as ckpt
from rdbench.training import data as D
from rdbench.training import models as M
from rdbench.training.config import TrainConfig, check as _check, resolve_device  # noqa: F401 (API)
from rdbench.training.evaluate import TrainLog, psnr_of_mse, validate as evaluate_model
from rdbench.training.loss import RateDistortionLoss
from rdbench.training.recipe import Budget, Stopwatch, learning_rate
from rdbench.training.step import (STATS, Member, apply_amp, apply_compile, make_optimizers,
                                   make_runner, patch_entropy_bottlenecks, scaled_lr)

LOSS_TEXT = "bpp + lambda1 * 255^2 * MSE + lambda2 * (1 - MS-SSIM)"


class TrainingDiverged(RuntimeError):
    """The loss or the weights of a rate point became NaN or infinite; names the last good checkpoint."""


def _build_member(cfg: TrainConfig, codec_cls, point: int, index: int, device: torch.device,
                  lr: float) -> tuple[Member, dict]:
    l1, l2, source = M.lambdas_for(codec_cls, point, cfg.lambda1, cfg.lambda2)
    torch.manual_seed(D.derive_seed(cfg.seed, "init", point))
    model = M.new_model(codec_cls, point)
    init = None
    if cfg.init_from_weights is not None:
        state, meta = M.initial_state(codec_cls.name, cfg.init_point or point, cfg.init_from_weights or None)
        model.load_state_dict(state)
        init = {"path": meta["path"], "sha256": meta["sha256"], "point": meta.get("point"),
                "budget": Budget.of_sidecar(meta).record()}
    multiple = M.pad_multiple(model)
    if cfg.crop % multiple:
        raise ValueError(f"--crop {cfg.crop} is not a multiple of {multiple}, which {codec_cls.name} needs; "
                         f"use e.g. --crop {max(multiple, cfg.crop // multiple * multiple)}")
    if cfg.batch < 2 and any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ValueError(f"{codec_cls.name} has BatchNorm layers, which need --batch >= 2 in training")
    model.to(device)
    patch_entropy_bottlenecks(model)
    notes = []
    if cfg.amp == "bf16":
        notes.append(f"bf16 autocast on {', '.join(apply_amp(model, device)) or 'nothing (no g_a/g_s)'}")
    if cfg.compile:
        notes.append(f"torch.compile on {', '.join(apply_compile(model)) or 'nothing (no g_a/g_s)'}")
    main, opt, aux_opt = make_optimizers(model, lr, cfg.aux_lr, device, capturable=cfg.cuda_graph,
                                           lr_tensor=cfg.cuda_graph and (cfg.lr_schedule != "constant" or cfg.lr_warmup > 0))
    member = Member(point=point, stream_index=0 if cfg.same_batch else index, lambda1=l1, lambda2=l2,
                    model=model, criterion=RateDistortionLoss(l1, l2), optimizer=opt, aux_optimizer=aux_opt,
                    main_params=main, clip=cfg.clip,
                    cuda_stream=torch.cuda.Stream(device) if device.type == "cuda" else None, notes=notes)
    return member, {"lambda1": l1, "lambda2": l2, "lambda_source": source, "init_from": init}


def build_members(cfg: TrainConfig, codec_cls, device: torch.device) -> tuple[list[Member], dict[int, dict]]:
    """One Member per rate point (seeded per point), then the noise stream seeded from cfg.seed."""
    lr = scaled_lr(cfg.lr, cfg.batch, cfg.lr_scale)
    built = [_build_member(cfg, codec_cls, p, i, device, lr) for i, p in enumerate(cfg.points)]
    torch.manual_seed(D.derive_seed(cfg.seed, "noise"))
    return [m for m, _ in built], {m.point: extra for m, extra in built}


def step_all(members: list[Member], runners: list, sampler: D.CropSampler, step: int) -> None:
    """One training step of every rate point, each on its own batch and (on CUDA) its own stream.

    Statistics accumulate on the device in ``member.stats`` (allocated lazily); nothing syncs."""
    for m, run in zip(members, runners):
        with _on(m):
            stats = run(sampler.batch_at(step, m.stream_index))
            if m.stats is None:
                m.stats = torch.zeros_like(stats)
            m.stats += stats


def train(cfg: TrainConfig, codec_cls=None, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) training; returns a summary with each point's validation and weights sha256.

    `codec_cls` overrides the registry lookup of ``cfg.model`` (a LearnedCodec subclass); `say`
    receives the progress lines (default: stderr)."""
    return TrainingRun(cfg, codec_cls, say).run()


class TrainingRun:
    """One run: data and models set up (or restored from the checkpoint) by the constructor."""

    def __init__(self, cfg: TrainConfig, codec_cls=None, say: Callable[[str], None] | None = None):
        self.cfg = cfg
        self.say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.device = device = resolve_device(cfg.device)
        _check(cfg, device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop shapes: let cuDNN pick the fastest kernels
        files = D.list_images(list(cfg.data))
        self.codec_cls = codec_cls = codec_cls or M.learned_codec_class(cfg.model)
        for point in cfg.points:
            M.check_point(codec_cls, point)
        self.out = Path(cfg.out or f"runs/train/{codec_cls.name}")
        if (self.out / "checkpoint.pt").exists() and not cfg.resume:
            raise ValueError(f"{self.out} already holds a training run (checkpoint.pt); pass --resume to continue "
                             "it or choose another --out")

        self.train_files, self.val_files = D.split_validation(files, cfg.val_images)
        self.data_hash = D.file_list_hash(files)
        D.check_memory(files, device)
        images, self.data_notes = D.decode_images(self.train_files, cfg.crop, cfg.small, cfg.workers)
        self.sampler = D.CropSampler(images, cfg.batch, cfg.crop, cfg.seed, device)
        del images
        val_crop = cfg.val_crop or cfg.crop
        val_rgb = D.decode_images(self.val_files, val_crop, cfg.small, cfg.workers)[0] if self.val_files else []
        self.val = D.centre_crops(val_rgb, val_crop, device) if val_rgb else None
        self.total = cfg.steps if cfg.steps is not None else cfg.epochs * self.sampler.steps_per_epoch

        self.lr = scaled_lr(cfg.lr, cfg.batch, cfg.lr_scale)
        self.members, self.info = build_members(cfg, codec_cls, device)
        self.fixed = {"model": codec_cls.name, "points": list(cfg.points), "batch": cfg.batch, "crop": cfg.crop,
                      "lambdas": {str(m.point): [m.lambda1, m.lambda2] for m in self.members}, "lr": self.lr,
                      "aux_lr": cfg.aux_lr, "clip": cfg.clip, "seed": cfg.seed, "data_hash": self.data_hash,
                      "val_images": len(self.val_files), "val_crop": cfg.val_crop or cfg.crop, "small": cfg.small, "same_batch": cfg.same_batch,
                      "amp": cfg.amp, "lr_schedule": cfg.lr_schedule,
                      "lr_final": cfg.lr_final if cfg.lr_schedule != "constant" else None,
                      "schedule_steps": self.total if cfg.lr_schedule != "constant" else None,
                      "lr_warmup": cfg.lr_warmup}
        self.clock = Stopwatch()
        self.start = self._restore() if cfg.resume else 0
        self.checkpointed_step = self.start
        self._write_config()
        self.log = TrainLog(self.out / "log.csv", self.start if cfg.resume else None)
        self.runners = [make_runner(m, cfg.cuda_graph, warn=self.say) for m in self.members]
        _sync(device)  # the data and models are ready before the rate points' streams start

    def _restore(self) -> int:
        payload = ckpt.load(self.out / "checkpoint.pt", self.fixed)
        for m in self.members:
            state = payload["members"][m.point]
            m.model.load_state_dict(state["model"])
            m.optimizer.load_state_dict(state["optimizer"])
            if m.aux_optimizer is not None:
                m.aux_optimizer.load_state_dict(state["aux_optimizer"])
        self.clock = Stopwatch(**payload.get("clock", {}))
        ckpt.restore_rng(payload["rng"])  # last: building the models drew from the generator
        self.say(f"resuming {self.out} at step {payload['step']} of {self.total}")
        return payload["step"]

    # ------------------------------------------------------------------------------------ the loop

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        self.say(f"training {self.codec_cls.name} point(s) {','.join(map(str, cfg.points))} on {self.device}: "
                 f"{len(self.train_files)} train / {len(self.val_files)} validation images, batch {cfg.batch} x "
                 f"{cfg.crop}^2, steps {self.start}..{self.total}" + "".join(f"; {n}" for n in self.data_notes))
        bar = _progress_bar(cfg, self.start, self.total)
        window_start, window_steps, step = time.perf_counter(), 0, self.start
        while step < self.total:
            self._set_lr(step)
            step_all(self.members, self.runners, self.sampler, step)
            step += 1
            window_steps += 1
            if bar is not None:
                bar.update(1)
            if step == self.total or (cfg.log_every and step % cfg.log_every == 0):
                _sync(self.device)
                line = self._log_train(step, window_steps, max(time.perf_counter() - window_start, 1e-9))
                if bar is not None:
                    bar.set_postfix_str(line)
                else:
                    self.say(f"step {step}/{self.total}: {line}")
                window_start, window_steps = time.perf_counter(), 0
            if step < self.total:
                validation = self.validate(step) if cfg.val_every and step % cfg.val_every == 0 else {}
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    self.checkpoint(step)
                if cfg.export_every and step % cfg.export_every == 0:
                    self.export(step, validation)  # a validation of this very step goes into the sidecar
        if bar is not None:
            bar.close()
        self.checkpoint(step)
        exported = self.export(step, self.validate(step))
        self.log.close()
        for m, runner in zip(self.members, self.runners):
            self.say(f"point {m.point}: step mode {runner.mode}; weights {exported[m.point]['weights']} "
                     f"(sha256 {exported[m.point]['sha256'][:16]}...)")
        return {"out": str(self.out), "steps": step, "device": str(self.device), "points": exported}

    def lr_at(self, step: int) -> float:
        return learning_rate(step, self.total, self.lr, self.cfg.lr_schedule, self.cfg.lr_final, self.cfg.lr_warmup)

    def _set_lr(self, step: int) -> None:
        if self.cfg.lr_schedule == "constant" and not self.cfg.lr_warmup:
            return
        lr = self.lr_at(step)
        for m in self.members:
            for group in m.optimizer.param_groups:
                if isinstance(group["lr"], torch.Tensor):  # capturable (CUDA graph): update in place
                    group["lr"].fill_(lr)
                else:
                    group["lr"] = lr

    def _log_train(self, step: int, window_steps: int, seconds: float) -> str:
        cfg, parts = self.cfg, []
        for m in self.members:
            sums = dict(zip(STATS, m.stats.tolist()))
            m.stats = None  # reallocated on the point's own stream by its next step (no cross-stream write)
            skipped = int(sums.pop("skipped"))
            taken = window_steps - skipped
            stats = {k: v / taken if taken else math.nan for k, v in sums.items()}  # means of the steps taken
            self.log.write(point=m.point, step=step, epoch=step / self.sampler.steps_per_epoch, split="train",
                           images_seen=step * cfg.batch, psnr=psnr_of_mse(stats["mse"]), lr=self.lr_at(step - 1),
                           images_per_s=cfg.batch * window_steps / seconds, elapsed_s=self.clock.wall_s,
                           cpu_s=self.clock.cpu_s, skipped_steps=skipped,
                           **stats)
            parts.append(f"p{m.point} loss {stats['loss']:.4f} bpp~{stats['bpp']:.4f} "
                         f"{psnr_of_mse(stats['mse']):.2f} dB" + (f" ({skipped} non-finite step(s) skipped)"
                                                                 if skipped else ""))
            if not math.isfinite(stats["loss"]):
                what = "every step non-finite" if taken == 0 else "non-finite loss"
                raise TrainingDiverged(f"point {m.point} diverged: {what} in steps {step - window_steps + 1}"
                                       f"..{step}; {self._last_good()}")
        images = len(self.members) * cfg.batch * window_steps / seconds
        return " | ".join(parts) + f" | {window_steps / seconds:.2f} steps/s, {images:.1f} img/s"

    # ------------------------------------------------------------------ checkpoint, validation, export

    def checkpoint(self, step: int) -> None:
        _sync(self.device)
        for m in self.members:
            bad = [n for n, t in m.model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()]
            if bad:  # never overwrite the last good checkpoint with a diverged model
                raise TrainingDiverged(f"point {m.point} diverged by step {step}: non-finite {', '.join(bad[:3])}"
                                       f"{' ...' if len(bad) > 3 else ''}; {self._last_good()}")
        self.checkpointed_step = step
        ckpt.save(self.out / "checkpoint.pt", step, self.fixed, {m.point: {
            "model": m.model.state_dict(), "optimizer": m.optimizer.state_dict(),
            "aux_optimizer": m.aux_optimizer.state_dict() if m.aux_optimizer else None} for m in self.members},
            clock=self.clock.state())

    def _last_good(self) -> str:
        path = self.out / "checkpoint.pt"
        if not path.is_file():
            return "no checkpoint was written; start again with a lower --lr or a longer --lr-warmup"
        return (f"the last finite checkpoint {path} (step {self.checkpointed_step}) is kept: --resume continues "
                "it; a lower --lr or a longer --lr-warmup needs a new --out")

    def validate(self, step: int) -> dict[int, dict[str, float]]:
        if self.val is None:
            return {}
        _sync(self.device)
        results = {}
        for m in self.members:
            results[m.point] = v = evaluate_model(m.model, m.criterion, self.val, self.cfg.batch)
            self.log.write(point=m.point, step=step, epoch=step / self.sampler.steps_per_epoch, split="val",
                           images_seen=step * self.cfg.batch, lr=self.lr_at(step), elapsed_s=self.clock.wall_s,
                           cpu_s=self.clock.cpu_s,
                           **v)
        self.say(f"step {step}: validation " + " | ".join(
            f"p{p} bpp~{v['bpp']:.4f} {v['psnr']:.2f} dB ms-ssim {v['ms_ssim']:.4f}" for p, v in results.items()))
        return results

    def export(self, step: int, validation: dict[int, dict[str, float]]) -> dict[int, dict[str, Any]]:
        _sync(self.device)
        exported = {}
        for m, runner in zip(self.members, self.runners):
            path = M.weights_path(self.codec_cls.name, m.point, self.cfg.export_dir or self.out / "weights")
            meta = self._metadata(m, step, validation.get(m.point), runner.mode)
            sha = M.export_weights(self.codec_cls, m.point, m.model.state_dict(), path, meta,
                                     dtype=self.cfg.export_dtype)
            exported[m.point] = {"weights": str(path), "sha256": sha, "validation": validation.get(m.point)}
        return exported

    def _metadata(self, m: Member, step: int, validation: dict | None, mode: str) -> dict[str, Any]:
        """The sidecar fields of an exported rate point (save_weights adds sha256, versions, date)."""
        cfg = self.cfg
        try:
            from rdbench.provenance import git_state

            git = git_state()
        except ImportError:
            git = {}
        return {
            "lambda1": m.lambda1, "lambda2": m.lambda2, "lambda_source": self.info[m.point]["lambda_source"],
            "loss": LOSS_TEXT, "steps": step, "images_seen": step * cfg.batch,
            "epochs": round(step / self.sampler.steps_per_epoch, 3),
            "budget": self._budget(m, step).record(),
            "training": {"preset": cfg.preset, "batch": cfg.batch, "crop": cfg.crop, "lr": self.lr,
                         "lr_schedule": cfg.lr_schedule, "lr_final": self.fixed["lr_final"],
                         "schedule_steps": self.fixed["schedule_steps"], "lr_warmup": cfg.lr_warmup,
                         "threads": torch.get_num_threads(),
                         "lr_scale": cfg.lr_scale, "log": str((self.out / "log.csv").resolve()),
                         "cpu_hours_this_run": round(self.clock.cpu_s / 3600, 4),
                         "skipped_steps_this_run": m.skipped,  # non-finite loss or gradient: no update
                         "aux_lr": cfg.aux_lr, "clip": cfg.clip, "seed": cfg.seed, "same_batch": cfg.same_batch,
                         "points_in_process": list(cfg.points), "device": str(self.device), "step_mode": mode,
                         "compile": cfg.compile, "amp": cfg.amp, "init_from": self.info[m.point]["init_from"]},
            "data": {"folders": [str(Path(d).resolve()) for d in cfg.data], "files_sha256": self.data_hash,
                     "train_images": len(self.train_files), "val_images": len(self.val_files),
                     "small_images": cfg.small},
            "validation": None if validation is None else {
                "bpp_estimated": validation["bpp"], "psnr": validation["psnr"], "ms_ssim": validation["ms_ssim"],
                "images": len(self.val_files), "crop": f"centre {self.fixed['val_crop']}x{self.fixed['val_crop']}",
                "note": "held-back training-folder images; bpp estimated from likelihoods, PSNR/MS-SSIM on 8-bit"},
            "source": "rdbench train " + " ".join(_cli_words(cfg, self.codec_cls.name, m.point)),
            "git": git, "notes": m.notes,
        }

    def _budget(self, m: Member, step: int) -> Budget:
        """Cumulative: the initial weights' budget plus this run's (CPU time split evenly over points)."""
        init = self.info[m.point]["init_from"]
        start = Budget.of_sidecar({"budget": init["budget"]} if init else None)
        share = 1 / len(self.members)
        device_s = self.clock.wall_s * share if self.device.type == "cuda" else 0.0
        return start.plus(step * self.cfg.batch, self.clock.cpu_s * share if self.device.type == "cpu" else 0.0,
                          device_s)

    def _write_config(self) -> None:
        from rdbench.results import write_json

        write_json(self.out / "config.json", {
            "settings": dataclasses.asdict(self.cfg), "resolved": self.fixed, "train_images": len(self.train_files),
            "data_notes": self.data_notes, "device": str(self.device), "torch": torch.__version__,
            "lambda_source": {str(p): v["lambda_source"] for p, v in self.info.items()},
            "init_from": {str(p): v["init_from"] for p, v in self.info.items()}})


def _on(member: Member):
    return torch.cuda.stream(member.cuda_stream) if member.cuda_stream is not None else nullcontext()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _progress_bar(cfg: TrainConfig, start: int, total: int):
    show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr)


def _cli_words(cfg: TrainConfig, codec_name: str, point: int) -> list[str]:
    """The `rdbench train` words that reproduce this point's run (every option that changes the result)."""
    words = [codec_name, "--point", str(point)] + [w for d in cfg.data for w in ("--data", str(d))]
    words += ["--steps", str(cfg.steps)] if cfg.steps is not None else ["--epochs", str(cfg.epochs)]
    if cfg.preset:
        words += ["--preset", cfg.preset]
    words += ["--batch", str(cfg.batch), "--crop", str(cfg.crop), "--lr", f"{cfg.lr:g}", "--lr-schedule", cfg.lr_schedule]
    if cfg.lr_schedule != "constant":
        words += ["--lr-final", f"{cfg.lr_final:g}"]
    if cfg.lr_warmup:
        words += ["--lr-warmup", str(cfg.lr_warmup)]
    if cfg.lambda1 is not None or cfg.lambda2 is not None:
        words += [w for k in ("lambda1", "lambda2") if getattr(cfg, k) is not None
                  for w in (f"--{k}", f"{getattr(cfg, k):g}")]
    if cfg.init_from_weights is not None:
        words += ["--init-from-weights"] + ([cfg.init_from_weights] if cfg.init_from_weights else [])
        words += ["--init-point", str(cfg.init_point)] if cfg.init_point else []
    if cfg.threads:
        words += ["--threads", str(cfg.threads)]
    if cfg.val_crop:
        words += ["--val-crop", str(cfg.val_crop)]
    return words + ["--seed", str(cfg.seed), "--export-dtype", cfg.export_dtype]
