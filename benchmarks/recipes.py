"""Training recipes compared at equal CPU time: which one buys the most rate-distortion per CPU-hour.

Every recipe trains the same rate point from the same seed on the same images, one torch thread
each, ``--parallel`` at a time (``nice -n 19`` unless ``--nice``), for the number of steps that the recipe's batch
shape runs in ``--cpu-minutes`` (its steps per CPU-second are measured first by
``benchmarks/train.py``: the real training step, one thread, process CPU time, so the measure holds
when other work shares the cores). Then each run's exported weights code ``--images`` Kodak images with the real codec (file
bpp, not an estimate). The table reports the CPU time each run really used, so the equality can be
checked, the held-back validation (RD loss, estimated bpp, PSNR) and Kodak (bpp, PSNR, RD loss with
the point's lambdas). Runs are resumable: an interrupted sweep continues from the checkpoints.

    RDBENCH_DATA=../shared/datasets python benchmarks/recipes.py \\
        --train-data ../shared/train/part1 --train-data ../shared/train/part2 --cpu-minutes 15 --out runs/recipes
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_data_arguments, image_paths  # noqa: E402

# name: (batch, crop, lr, schedule); cosine decays to 1e-5 at the run's last step.
RECIPES = {
    "paper-lr": (8, 128, 1e-4, "constant"),
    "lr5e-4": (8, 128, 5e-4, "constant"),
    "lr1e-3": (8, 128, 1e-3, "constant"),
    "lr1e-3-cos": (8, 128, 1e-3, "cosine"),
    "crop256": (8, 256, 1e-3, "cosine"),
    "batch16": (16, 128, 1e-3, "cosine"),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-data", dest="train", action="append", required=True, metavar="DIR")
    add_data_arguments(p, default_images=8)
    p.add_argument("--point", type=int, default=3)
    p.add_argument("--cpu-minutes", type=float, default=15.0, help="CPU time per recipe (default 15)")
    p.add_argument("--parallel", type=int, default=2, help="recipes trained at once, one thread each")
    p.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated subset of " + ",".join(RECIPES))
    p.add_argument("--nice", type=int, default=19, help="niceness of the training processes (default 19)")
    p.add_argument("--out", type=Path, default=Path("runs/recipes"))
    args = p.parse_args(argv)
    names = [n for n in args.recipes.split(",") if n]
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        raise SystemExit(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
    kodak = image_paths(args)
    args.out.mkdir(parents=True, exist_ok=True)

    rates = {shape: _steps_per_cpu_s(*shape, args.out) for shape in sorted({RECIPES[n][:2] for n in names})}
    for (batch, crop), rate in rates.items():
        print(f"batch {batch} x {crop}^2: {rate:.3f} steps per CPU-second (1 thread)", flush=True)
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda n: _train(n, args, round(rates[RECIPES[n][:2]] * args.cpu_minutes * 60)), names))
    rows = [_evaluate(n, args, kodak) for n in names]
    _write(rows, args.out, len(kodak))
    return 0


def _steps_per_cpu_s(batch: int, crop: int, out: Path) -> float:
    cached = out / f"rate-b{batch}-c{crop}.txt"
    if not cached.is_file():
        cmd = [sys.executable, str(Path(__file__).with_name("train.py")), "--device", "cpu", "--threads", "1",
               "--batch", str(batch), "--crop", str(crop), "--warmup", "2", "--windows", "3",
               "--window-steps", "4", "--points", "3"]
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        cached.write_text(text)
    found = re.search(r"median ([0-9.]+) steps per CPU-second", cached.read_text())
    if not found:
        raise SystemExit(f"{cached}: no 'median ... steps per CPU-second' line; delete it to measure again")
    return float(found.group(1))


def _train(name: str, args, steps: int) -> None:
    batch, crop, lr, schedule = RECIPES[name]
    run = args.out / name
    if (run / "weights" / "treenet" / f"{args.point}.json").is_file():
        return
    cmd = ["nice", "-n", str(args.nice), str(Path(sys.executable).with_name("rdbench")), "train", "treenet", "--point", str(args.point),
           *[w for d in args.train for w in ("--data", d)], "--steps", str(steps), "--batch", str(batch),
           "--crop", str(crop), "--lr", str(lr), "--lr-schedule", schedule, "--threads", "1", "--val-crop", "256",
           "--val-every", str(max(1, steps // 4)), "--log-every", "25", "--checkpoint-every", "50",
           "--out", str(run), "--no-progress"]
    if (run / "checkpoint.pt").is_file():
        cmd.append("--resume")
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "train.out", "a") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)


def _evaluate(name: str, args, kodak: list[Path]) -> dict:
    import numpy as np

    from rdbench.codecs.learned import TreeNetCodec
    from rdbench.images import read_png
    from rdbench.metrics.msssim import ms_ssim_rgb
    from rdbench.metrics.psnr import psnr_rgb

    run = args.out / name
    meta = json.loads((run / "weights" / "treenet" / f"{args.point}.json").read_text())
    val = [r for r in csv.DictReader(open(run / "log.csv")) if r["split"] == "val"][-1]
    codec = TreeNetCodec(weights_dir=run / "weights")
    bpp, psnr, mse, msssim = [], [], [], []
    scratch = run / "kodak"
    scratch.mkdir(exist_ok=True)
    for src in kodak:
        stream, recon = scratch / f"{src.stem}.rdlc", scratch / f"{src.stem}.png"
        codec.encode(src, args.point, stream)
        codec.decode(stream, recon)
        a, b = read_png(src), read_png(recon)
        bpp.append(8 * stream.stat().st_size / (a.shape[0] * a.shape[1]))
        psnr.append(psnr_rgb(a, b))
        mse.append(float(np.mean((a.astype(np.float64) - b) ** 2)) / 255**2)
        msssim.append(ms_ssim_rgb(a, b))
    l1, l2 = meta["lambda1"], meta["lambda2"]
    batch, crop, lr, schedule = RECIPES[name]
    return {"recipe": name, "batch": batch, "crop": crop, "lr": lr, "schedule": schedule, "steps": meta["steps"],
            "crops": meta["budget"]["crops_seen"], "cpu_min": 60 * meta["budget"]["cpu_hours"],
            "val_loss": float(val["loss"]), "val_bpp": float(val["bpp"]), "val_psnr": float(val["psnr"]),
            "kodak_bpp": statistics.mean(bpp), "kodak_psnr": statistics.mean(psnr),
            "kodak_loss": statistics.mean(bpp) + l1 * 255**2 * statistics.mean(mse) + l2 * (1 - statistics.mean(msssim))}


def _write(rows: list[dict], out: Path, images: int) -> None:
    head = ("| recipe | batch | crop | lr | schedule | steps | crops | CPU min | val loss | val bpp~ | val PSNR "
            f"| Kodak-{images} bpp | Kodak-{images} PSNR | Kodak-{images} RD loss |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=lambda r: r["val_loss"]):
        lines.append(f"| {r['recipe']} | {r['batch']} | {r['crop']} | {r['lr']:g} | {r['schedule']} | {r['steps']} "
                     f"| {r['crops']} | {r['cpu_min']:.1f} | {r['val_loss']:.4f} | {r['val_bpp']:.3f} "
                     f"| {r['val_psnr']:.2f} | {r['kodak_bpp']:.3f} | {r['kodak_psnr']:.2f} | {r['kodak_loss']:.4f} |")
    text = "\n".join(lines) + "\n"
    (out / "recipes.md").write_text(text)
    (out / "recipes.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}, sorted by validation RD loss (lower is better)")
    print(text, end="")


if __name__ == "__main__":
    sys.exit(main())
