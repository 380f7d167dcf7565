"""Harness overhead: `rdbench run` against CompressAI's `python -m compressai.utils.eval_model` (issue 14).

    python benchmarks/eval_model.py --images 4                 # bmshj2018-hyperprior quality 3, random init

Both code the same Kodak images with the same model and weights (a random-init zoo architecture saved
once as a CompressAI checkpoint; `rdbench learned import` converts it to rdbench's safetensors) on one
intra-op thread (rdbench codes on one; eval_model gets OMP_NUM_THREADS=1), real entropy coding, and
report PSNR and MS-SSIM. Each tool runs as a fresh process twice, on 1 and on N images, so the lines
give the whole wall time (start-up included) and the per-image time (the difference over N - 1 images),
and the ratio rdbench / eval_model of each. rdbench also writes files (bitstream, reconstruction PNG,
per-image JSON, the cell with its manifest) that eval_model does not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import add_data_arguments, image_paths

ARCH, QUALITY = "bmshj2018-hyperprior", 3


def timed(command: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser, default_images=4)
    args = parser.parse_args()
    paths = image_paths(args)
    if len(paths) < 2:
        raise SystemExit("give --images 2 or more (the per-image time is the difference between 1 and N images)")
    scratch = Path(tempfile.mkdtemp(prefix="rdbench-eval-model-"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RDBENCH_WEIGHTS": str(scratch / "weights")}
    try:
        import torch
        from compressai.zoo import image_models

        torch.manual_seed(0)
        model = image_models[ARCH](quality=QUALITY)
        checkpoint = scratch / f"{ARCH}-{QUALITY}.pth.tar"
        torch.save(model.state_dict(), checkpoint)
        subprocess.run([sys.executable, "-m", "rdbench.cli", "learned", "import", ARCH, str(QUALITY), str(checkpoint)],
                       env=env, check=True, capture_output=True)
        seconds = {}
        for n in (1, len(paths)):
            folder = scratch / f"images-{n}"
            folder.mkdir()
            for p in paths[:n]:
                shutil.copy(p, folder / p.name)
            seconds["eval_model", n] = timed([sys.executable, "-m", "compressai.utils.eval_model", "checkpoint",
                                              str(folder), "-a", ARCH, "-p", str(checkpoint)], env)
            seconds["rdbench", n] = timed([sys.executable, "-m", "rdbench.cli", "run", "--codec", ARCH, "--dataset",
                                           str(folder), "--points", str(QUALITY), "--metrics", "psnr-rgb",
                                           "ms-ssim-rgb", "--out", str(scratch / f"run-{n}")], env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    n = len(paths)
    print(f"{ARCH} quality {QUALITY} (random init), {n} Kodak image(s), 1 thread, load average {os.getloadavg()[0]:.1f}")
    for tool in ("eval_model", "rdbench"):
        per = (seconds[tool, n] - seconds[tool, 1]) / (n - 1)
        print(f"  {tool:<10} 1 image {seconds[tool, 1]:6.1f} s   {n} images {seconds[tool, n]:6.1f} s   per image {per:5.2f} s")
    per = [(seconds[t, n] - seconds[t, 1]) / (n - 1) for t in ("rdbench", "eval_model")]
    print(f"  ratio rdbench / eval_model: whole run {seconds['rdbench', n] / seconds['eval_model', n]:.2f}, "
          f"per image {per[0] / per[1]:.2f}")


if __name__ == "__main__":
    main()
