"""Training throughput of `rdbench train`: steps/s and images/s of the real training step.

Runs the exact step of ``rdbench train`` (same members, runners, crop sampler, CUDA streams) on
freshly initialised models, discards ``--warmup`` steps (CUDA-graph capture, torch.compile and cuDNN
autotuning happen there), then times ``--windows`` windows of ``--window-steps`` steps, each closed
by a device synchronisation, and prints the median (and the spread). One "step" steps every rate
point once, so images/s = steps/s x batch x points.

    python benchmarks/train.py --device cpu --crop 64 --batch 4            # a CPU smoke run
    python benchmarks/train.py --device cuda --points 1,2,3,4 --cuda-graph  # the paper's setting x 4

Without ``--data`` the crops come from random images (labelled "synthetic" in the output; the
training step's cost does not depend on pixel values).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

from rdbench.train import TrainConfig, build_members, resolve_device, step_all
from rdbench.training import data as D
from rdbench.training import models as M
from rdbench.training.step import make_runner


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="treenet")
    p.add_argument("--points", default="1", help="rate points trained together, e.g. 1,2,3,4")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--device", default="auto")
    p.add_argument("--data", action="append", help="training folder(s); default: synthetic random images")
    p.add_argument("--images", type=int, default=64, help="synthetic images (256 px above the crop)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--window-steps", type=int, default=10)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--cuda-graph", action="store_true")
    p.add_argument("--amp", choices=("none", "bf16"), default="none")
    p.add_argument("--same-batch", action="store_true")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = resolve_device(args.device)
    codec_cls = M.learned_codec_class(args.model)
    points = tuple(int(x) for x in args.points.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model=args.model, points=points, data=(tmp,), steps=1, batch=args.batch, crop=args.crop,
                          device=str(device), compile=args.compile, cuda_graph=args.cuda_graph, amp=args.amp,
                          same_batch=args.same_batch, out=tmp)
        images, source = _images(args, cfg)
        sampler = D.CropSampler(images, args.batch, args.crop, seed=0, device=device)
        members, _ = build_members(cfg, codec_cls, device)
    runners = [make_runner(m, args.cuda_graph, warn=lambda msg: print(msg, file=sys.stderr)) for m in members]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    step = 0
    t = time.perf_counter()
    for _ in range(args.warmup):
        step_all(members, runners, sampler, step)
        step += 1
    sync()
    warmup_s = time.perf_counter() - t
    rates, cpu_rates = [], []
    for _ in range(args.windows):
        sync()
        t, c = time.perf_counter(), time.process_time()
        for _ in range(args.window_steps):
            step_all(members, runners, sampler, step)
            step += 1
        sync()
        rates.append(args.window_steps / (time.perf_counter() - t))
        cpu_rates.append(args.window_steps / (time.process_time() - c))
    for m in members:  # a finite loss shows the steps really trained
        loss = float(m.stats[0] / step)
        if not np.isfinite(loss):
            raise RuntimeError(f"point {m.point}: non-finite loss {loss}")

    med = statistics.median(rates)
    per_step = len(members) * args.batch
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"model {codec_cls.name} points {','.join(map(str, points))}: batch {args.batch} x {args.crop}^2, "
          f"device {device} ({name}), torch {torch.__version__}")
    print(f"data: {source}; step modes: {', '.join(sorted({r.mode for r in runners}))}; compile {args.compile}; "
          f"amp {args.amp}; same batch {args.same_batch}")
    print(f"warm-up {args.warmup} steps in {warmup_s:.1f} s; {args.windows} windows of {args.window_steps} steps: "
          + ", ".join(f"{r:.3f}" for r in rates) + " steps/s")
    print(f"median {med:.3f} steps/s = {med * per_step:.1f} images/s "
          f"({med * args.batch:.1f} images/s per rate point; spread {min(rates):.3f}..{max(rates):.3f} steps/s)")
    print(f"median {statistics.median(cpu_rates):.3f} steps per CPU-second (process CPU time, all threads; "
          "unlike wall time it holds when other work shares the cores)")
    return 0


def _images(args, cfg: TrainConfig) -> tuple[list[np.ndarray], str]:
    if args.data:
        files = D.list_images(args.data)
        images, _ = D.decode_images(files, args.crop)
        return images, f"{len(images)} images from {', '.join(args.data)}"
    rng = np.random.default_rng(0)
    side = args.crop + 256
    images = [rng.integers(0, 256, (side, side + 64, 3), dtype=np.uint8) for _ in range(args.images)]
    return images, f"synthetic: {args.images} random {side + 64}x{side} images (throughput only)"


if __name__ == "__main__":
    sys.exit(main())
