"""Median seconds per Kodak image for every registered metric (and variant), on the CPU.

    python benchmarks/metrics.py                     # the first 6 Kodak images, every metric
    python benchmarks/metrics.py --images 24
    python benchmarks/metrics.py --metrics lpips,dists --threads 1

Images come from ``--data`` (a folder of PNGs), else ``$RDBENCH_DATA/kodak``. The distorted image is
the reference through JPEG (libjpeg-turbo via imagecodecs) at ``--quality``. Each metric gets one
untimed warm-up call (weights loading, network construction), then each image is timed with
``perf_counter`` around the metric call alone. LPIPS and DISTS need ``rdbench weights install``.
On a shared machine timings vary by +-30 %.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from _common import add_data_arguments, image_paths


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser, default_images=6)
    parser.add_argument("--metrics", default="", help="comma-separated metric names (default: all registered)")
    parser.add_argument("--quality", type=int, default=50, help="JPEG quality of the distorted images (default 50)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["RDBENCH_DEVICE"] = "cpu"  # this benchmark measures the CPU path
    import imagecodecs
    import torch

    from rdbench.images import load_rgb8
    from rdbench.metrics import metrics

    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = []
    for path in image_paths(args):
        ref, _ = load_rgb8(path)
        pairs.append((ref, imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(ref, level=args.quality))))
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] or metrics.names()
    print(f"{len(pairs)} images ({pairs[0][0].shape[1]}x{pairs[0][0].shape[0]}), JPEG q{args.quality}, "
          f"CPU {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    header = f"{'metric':<12} {'variant':<9} {'median s':>9} {'min s':>8} {'max s':>8} {'mean value':>11}"
    print(header)
    print("-" * len(header))
    for name in names:
        m = metrics.get(name)
        for variant in m.variants or (None,):
            kwargs = {"variant": variant} if variant else {}
            m(*pairs[0], **kwargs)  # warm-up: weights, networks, allocator
            seconds, values = [], []
            for ref, dist in pairs:
                start = time.perf_counter()
                values.append(m(ref, dist, **kwargs))
                seconds.append(time.perf_counter() - start)
            print(f"{name:<12} {variant or '-':<9} {statistics.median(seconds):>9.3f} {min(seconds):>8.3f} "
                  f"{max(seconds):>8.3f} {statistics.fmean(values):>11.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
