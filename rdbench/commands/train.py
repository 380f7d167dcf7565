"""`rdbench train MODEL --point K --data DIR ...`: train a learned codec's rate point(s)."""

from __future__ import annotations

import argparse

HELP = "train a learned codec's rate point(s) (the TreeNet paper's recipe) and export their weights"
EPILOG = """\
loss: bpp + lambda1 * 255^2 * MSE + lambda2 * (1 - MS-SSIM); TreeNet points 1..4 use the paper's
(lambda1, lambda2) = (0.00125, 0.3), (0.0025, 0.6), (0.005, 1.2), (0.01, 2.4), point 1 = lowest rate;
CompressAI zoo codecs use the zoo's MSE lambdas (lambda2 = 0). --lambda1/--lambda2 override.

examples:
  # the paper's four TreeNet models in one process on one GPU, CUDA graphs on
  rdbench train treenet --point 1,2,3,4 --data train/part1 --data train/part2 \\
      --steps 200000 --device cuda --cuda-graph --out runs/treenet
  # continue that run after an interruption (same settings, more steps allowed)
  rdbench train treenet --point 1,2,3,4 --data train/part1 --data train/part2 \\
      --steps 300000 --device cuda --cuda-graph --out runs/treenet --resume
  # a quick CPU smoke run
  rdbench train treenet --point 1 --data train/part1 --steps 20 --batch 2 --crop 64 --device cpu
  # retrain a baseline under the same budget, or fine-tune committed weights
  rdbench train bmshj2018-hyperprior --point 3 --data train/part1 --steps 200000 --device cuda
  rdbench train treenet --point 2 --data train/part1 --steps 5000 --init-from-weights --out runs/ft

outputs (in --out): config.json, checkpoint.pt, log.csv, weights/<codec>/<point>.safetensors + .json
(pass --export-dir weights to write straight into the repository's weights folder).
"""


# The defaults of the options a preset may set: the paper's preset plus the neutral values of the rest.
from rdbench.training.recipe import PRESETS  # noqa: E402  (no torch import: the CLI stays fast)

PAPER = {"lr_final": 1e-5, "lr_warmup": 0, "threads": 0, **PRESETS["paper"]}


def _points(text: str) -> tuple[int, ...]:
    try:
        points = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give rate points as integers, e.g. 1 or 1,2,3,4") from None
    if not points:
        raise argparse.ArgumentTypeError("give at least one rate point")
    return points


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="learned codec name (e.g. treenet, bmshj2018-hyperprior; `rdbench codecs` lists them)")
    p.add_argument("--point", type=_points, required=True, metavar="K[,K...]",
                   help="rate point(s); several train in one process, one model each")
    p.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="folder of training photos (repeatable); never a test set such as Kodak")
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--steps", type=int, help="optimisation steps per rate point")
    length.add_argument("--epochs", type=int, help="passes over the training images (steps = E x images // batch)")
    p.add_argument("--preset", choices=("paper", "cpu"), default=None,
                   help="named defaults for --batch/--crop/--lr/--lr-schedule/--lr-final/--threads: paper (the "
                        "default: batch 16 x 256^2, lr 1e-4 constant) or cpu (the recipe chosen by measurement "
                        "for a 2-core CPU, docs/training.md); options given explicitly win")
    p.add_argument("--batch", type=int, default=None, help="crops per step (default 16, the paper's)")
    p.add_argument("--crop", type=int, default=None, help="crop side in pixels (default 256, the paper's)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate at batch 16 (default 1e-4)")
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default=None,
                   help="main learning rate: constant (default, the paper's) or cosine from --lr to --lr-final")
    p.add_argument("--lr-final", type=float, default=None, help="last learning rate of --lr-schedule cosine (1e-5)")
    p.add_argument("--lr-warmup", type=int, default=None, metavar="STEPS",
                   help="linear warm-up of the lr over STEPS (default 0; use ~100 with --init-from-weights)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads of torch (default 0: torch's choice)")
    p.add_argument("--lr-scale", choices=("none", "sqrt", "linear"), default="none",
                   help="scale --lr for a batch other than 16 by sqrt(B/16) or B/16 (default none)")
    p.add_argument("--aux-lr", type=float, default=1e-3, help="Adam lr of the entropy-bottleneck quantiles (1e-3)")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip of the main parameters (0: off)")
    p.add_argument("--lambda1", type=float, help="override lambda1 (weight of 255^2 * MSE)")
    p.add_argument("--lambda2", type=float, help="override lambda2 (weight of 1 - MS-SSIM)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: cuda if present)")
    p.add_argument("--out", help="run folder (default runs/train/MODEL)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--val-images", type=int, default=16,
                   help="images of the training folders held back for validation (default 16)")
    p.add_argument("--val-crop", type=int, default=0,
                   help="side of the validation centre crops (default 0: --crop); fix it when comparing crops")
    p.add_argument("--val-every", type=int, default=1000, help="validate every N steps (0: only at the end)")
    p.add_argument("--log-every", type=int, default=100, help="write a log row every N steps")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="checkpoint every N steps (0: only at the end)")
    p.add_argument("--export-every", type=int, default=0, help="also export weights every N steps (0: at the end)")
    p.add_argument("--export-dir", help="weights root to export to (default OUT/weights)")
    p.add_argument("--export-dtype", choices=("float32", "float16"), default="float32",
                   help="floating tensors of the exported weights (float16: half the size, coding as bit-exact)")
    p.add_argument("--init-from-weights", nargs="?", const="", default=None, metavar="WEIGHTS_DIR",
                   help="start from the codec's existing weights (default weights folder, or WEIGHTS_DIR)")
    p.add_argument("--init-point", type=int, metavar="K",
                   help="with --init-from-weights: start from point K's weights (fine-tune them to this point's lambdas)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and noise (default 0)")
    p.add_argument("--small", choices=("upscale", "skip"), default="upscale",
                   help="images with a short side below --crop: upscale them (Lanczos) or skip them")
    p.add_argument("--same-batch", action="store_true",
                   help="all rate points step on the same batch (default: independent batches)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model's g_a and g_s")
    p.add_argument("--cuda-graph", action="store_true",
                   help="capture each training step in a CUDA graph (falls back to eager with a message)")
    p.add_argument("--amp", choices=("none", "bf16"), default="none",
                   help="bf16 autocast of g_a/g_s (entropy models stay fp32; default none)")
    p.add_argument("--workers", type=int, default=8, help="threads decoding the images at start-up")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None, help="force a progress bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="log lines instead of a bar")


def resolve_recipe(args: argparse.Namespace) -> dict:
    """The options a preset sets: given on the command line, else the preset's, else the paper's."""
    from rdbench.training.recipe import preset_defaults

    return {**PAPER, **preset_defaults(args.preset), **{k: getattr(args, k) for k in PAPER if getattr(args, k) is not None}}


def run(args: argparse.Namespace) -> int:
    from rdbench.train import TrainConfig, train

    recipe = resolve_recipe(args)
    cfg = TrainConfig(
        model=args.model, points=args.point, data=tuple(args.data), steps=args.steps, epochs=args.epochs,
        preset=args.preset, **recipe, lr_scale=args.lr_scale, aux_lr=args.aux_lr, clip=args.clip,
        lambda1=args.lambda1, lambda2=args.lambda2, device=args.device, out=args.out, resume=args.resume,
        val_images=args.val_images, val_crop=args.val_crop, val_every=args.val_every, log_every=args.log_every,
        checkpoint_every=args.checkpoint_every, export_every=args.export_every, export_dir=args.export_dir,
        export_dtype=args.export_dtype,
        init_from_weights=args.init_from_weights, init_point=args.init_point, seed=args.seed, small=args.small,
        same_batch=args.same_batch,
        compile=args.compile, cuda_graph=args.cuda_graph, amp=args.amp, progress=args.progress,
        workers=args.workers)
    summary = train(cfg)
    for point, item in summary["points"].items():
        v = item["validation"]
        quality = (f"validation bpp~{v['bpp']:.4f} (estimated), {v['psnr']:.2f} dB, MS-SSIM {v['ms_ssim']:.4f}"
                   if v else "no validation images")
        print(f"{args.model} point {point}: {item['weights']} sha256 {item['sha256']}; {quality}")
    return 0
