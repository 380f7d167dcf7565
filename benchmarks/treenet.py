"""CPU coding time of TreeNet against CompressAI's bmshj2018-hyperprior, with complexity beside it.

    RDBENCH_DATA=/path/to/datasets .venv/bin/python benchmarks/treenet.py [--image kodim23.png]
        [--repeats 3] [--threads 1]

One harness for both models (rdbench.timing.time_coding): the image (768x512 Kodak by default) is
padded (replicate, centred) to a multiple of 64, then ``model.compress`` and ``model.decompress`` run
``--repeats`` rounds (after one warm-up) on CPU with ``--threads`` intra-op threads, the two models
interleaved within each round (a load that changes during the run slows both alike), timed with
perf_counter (and process_time: CPU seconds, which hold better than wall time on a shared machine);
the medians are printed with the TreeNet / hyperprior ratio, and the kMAC/px of encoder
and decoder (rdbench.complexity) beside them: torchinfo's (the paper's counter, which counts a
transposed convolution at its output positions, 4x what the hyperprior's stride-2 decoder layers
compute) and fvcore's (transposed convolutions at their input positions: the multiply-adds performed).

Weights are random (seed 0) and no trained weights are read: the transforms cost the same, but the
entropy coder codes the latents of an untrained model (nearly all zero), so the coding share of the
time is smaller than with trained weights. The output says so.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch


def _leaves(strings):
    for s in strings:
        if isinstance(s, (bytes, bytearray)):
            yield s
        else:
            yield from _leaves(s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help="image to code (default: $RDBENCH_DATA/kodak/kodim23.png)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per model (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the codecs use 1)")
    args = parser.parse_args(argv)

    from rdbench import complexity as cx
    from rdbench import timing
    from rdbench.images import load_rgb8, to_tensor
    from rdbench.models.treenet import pad_centred

    image = args.image or os.path.join(os.environ.get("RDBENCH_DATA", ""), "kodak", "kodim23.png")
    if not Path(image).is_file():
        raise SystemExit(f"benchmark: no image {image!r}; pass --image or set RDBENCH_DATA")
    torch.set_num_threads(args.threads)
    rgb, _ = load_rgb8(image)
    x, _ = pad_centred(to_tensor(rgb.copy()), 64)
    models = {name: timing.build_for_coding(cx.get_architecture(name)) for name in ("treenet", "bmshj2018-hyperprior")}
    times = timing.time_coding(models, x, args.repeats, args.threads)
    rows = {}
    for name, t in times.items():
        arch = cx.get_architecture(name)
        with torch.no_grad():
            size = sum(len(s) for s in _leaves(models[name].compress(x)["strings"]))
        counted = cx.count(arch, x.shape[-2], x.shape[-1], counters=("torchinfo", "fvcore"))
        rows[name] = (arch.config(), t.median("encode"), t.median("decode"), size,
                      counted.encoder(), counted.decoder(), counted.encoder("fvcore"), counted.decoder("fvcore"),
                      t.median("encode_cpu"), t.median("decode_cpu"))

    print(f"image {image} ({rgb.shape[1]}x{rgb.shape[0]}, coded at {x.shape[-1]}x{x.shape[-2]}), CPU, "
          f"{args.threads} thread(s), median of {args.repeats} interleaved runs after a warm-up")
    print(f"host: {timing.host_description()}")
    print("weights: random init (seed 0), not trained: timings of the transforms are representative, "
          "entropy-coding time and sizes are not")
    print(f"{'model':22} {'encode s':>9} {'decode s':>9} {'enc cpu s':>9} {'dec cpu s':>9} {'enc kMAC/px':>12} "
          f"{'dec kMAC/px':>12} {'enc fvcore':>11} {'dec fvcore':>11} {'bytes':>7}  config")
    for name, (config, enc, dec, size, kenc, kdec, fenc, fdec, cenc, cdec) in rows.items():
        print(f"{name:22} {enc:9.3f} {dec:9.3f} {cenc:9.3f} {cdec:9.3f} {kenc:12.2f} {kdec:12.2f} {fenc:11.2f} "
              f"{fdec:11.2f} {size:7d}  {config}")
    t, h = rows["treenet"], rows["bmshj2018-hyperprior"]
    print(f"ratio treenet / bmshj2018-hyperprior: encode time {t[1] / h[1]:.2f}, decode time {t[2] / h[2]:.2f} "
          f"(process CPU time: encode {t[8] / h[8]:.2f}, decode {t[9] / h[9]:.2f}), "
          f"encoder kMAC/px {t[4] / h[4]:.2f} (fvcore {t[6] / h[6]:.2f}), "
          f"decoder kMAC/px {t[5] / h[5]:.2f} (fvcore {t[7] / h[7]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
