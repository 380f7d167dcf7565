"""Per-image encode/decode time, rate and PSNR of every available registered codec on Kodak.

    python benchmarks/codecs.py                       # all 24 images, each codec's middle point
    python benchmarks/codecs.py --images 6            # the first 6 images
    python benchmarks/codecs.py --codecs hevc444 --points all
    python benchmarks/codecs.py --codecs jpeg --points 50,75
    python benchmarks/codecs.py --codecs none          # only the small workflow's wall time

Images come from ``--data`` (a folder of PNGs), else ``$RDBENCH_DATA/kodak``. Each encode and
decode runs sequentially in this process through the codec contract (PNG -> file -> PNG), timed with
``perf_counter`` around the call (PNG reading/writing included, as the workflow times it). The table
gives the median seconds per image, the mean bits per pixel (8 x file size / pixels) and the mean of
per-image RGB PSNR (not the PSNR of the mean MSE). Then, unless ``--no-workflow``, the wall time of
the small workflow (``.test/config_small``: 3 images x 3 points x 3 codecs, PSNR and MS-SSIM, tables,
plots and report) run by Snakemake with ``--cores 2`` in a fresh folder, and of its no-op rerun.
On a shared machine timings vary by +-30 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import add_data_arguments, image_paths


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser, default_images=24)
    parser.add_argument("--codecs", default="", help="comma-separated codec names (default: every registered one)")
    parser.add_argument("--points", default="middle",
                        help="'middle' (default: the middle of each ladder), 'all', or comma-separated points")
    parser.add_argument("--no-workflow", action="store_true", help="skip timing the small workflow")
    return parser.parse_args(argv)


REPO = Path(__file__).resolve().parent.parent


def time_small_workflow(workdir: Path) -> list[tuple[str, float]]:
    """Wall seconds of the small workflow from scratch, then of its rerun (which must do nothing)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile",
               str(REPO / ".test/config_small/config.yaml"), "--cores", "2", "--directory", str(workdir)]
    timings = []
    for label in ("small workflow, fresh", "small workflow, rerun"):
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"the small workflow failed:\n{proc.stderr[-3000:]}")
        timings.append((label, time.perf_counter() - start))
    return timings


def choose_points(codec, spec: str) -> list:
    ladder = codec.points()
    if spec == "middle":
        return [ladder[(len(ladder) - 1) // 2]]
    if spec == "all":
        return ladder
    return [codec.parse_point(p.strip()) for p in spec.split(",") if p.strip()]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def measure(codec, point, images: list[Path], refs: list[np.ndarray], tmp: Path) -> dict:
    from rdbench.images import read_png

    enc, dec, bpp, quality = [], [], [], []
    for path, ref in zip(images, refs):
        bitstream, out = tmp / "bitstream.bin", tmp / "out.png"
        t0 = time.perf_counter()
        codec.encode(path, point, bitstream)
        t1 = time.perf_counter()
        codec.decode(bitstream, out)
        t2 = time.perf_counter()
        enc.append(t1 - t0)
        dec.append(t2 - t1)
        bpp.append(8 * bitstream.stat().st_size / (ref.shape[0] * ref.shape[1]))
        quality.append(psnr(ref, read_png(out)))
    return {"enc": statistics.median(enc), "dec": statistics.median(dec), "bpp": float(np.mean(bpp)),
            "psnr": float(np.mean(quality))}


def main(argv=None) -> int:
    from rdbench.codecs import codecs, create
    from rdbench.images import read_png

    args = parse_args(argv)
    images = image_paths(args)
    refs = [read_png(p) for p in images]
    listed = [n.strip() for n in args.codecs.split(",") if n.strip() not in ("", "none")]
    names = listed if args.codecs else codecs.names()
    rows, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="rdbench-bench-") as tmp:
        for name in names:
            try:
                codec = create(name)
                status = codec.available()
            except Exception as exc:  # a plugin that cannot even be built is reported, not fatal
                skipped.append((name, f"{type(exc).__name__}: {exc}"))
                continue
            if not status:
                skipped.append((name, status.reason))
                continue
            for point in choose_points(codec, args.points):
                result = measure(codec, point, images, refs, Path(tmp))
                rows.append((name, point, result))
                print(f"  {name} {point}: done", file=sys.stderr, flush=True)

    print(f"# {len(images)} images from {images[0].parent}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; sequential, one process")
    print(f"{'codec':<10} {'point':>6} {'bpp':>7} {'PSNR-RGB':>9} {'enc s':>7} {'dec s':>7}")
    print(f"{'':<10} {'':>6} {'(mean)':>7} {'(mean dB)':>9} {'(med)':>7} {'(med)':>7}")
    for name, point, r in rows:
        print(f"{name:<10} {point!s:>6} {r['bpp']:>7.3f} {r['psnr']:>9.2f} {r['enc']:>7.3f} {r['dec']:>7.3f}")
    for name, reason in skipped:
        print(f"skipped {name}: {reason}")
    if not args.no_workflow:
        with tempfile.TemporaryDirectory(prefix="rdbench-bench-wf-") as tmp:
            for label, seconds in time_small_workflow(Path(tmp)):
                print(f"{label}: {seconds:.1f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
