"""`rdbench ablate treenet`: selective / accumulative propagation and per-latent bitmaps (Fig. 7-8)."""

from __future__ import annotations

import argparse

HELP = "TreeNet latent ablations: selective and accumulative propagation, per-latent bit maps"
EPILOG = """\
examples:
  rdbench ablate treenet --image kodim23.png --point 2 --out ablation/
  rdbench ablate treenet --image kodim23.png --weights treenet-2.safetensors --out ablation/
  rdbench ablate treenet --image kodim23.png --random-init --out /tmp/ablation   # testing only

Writes <stem>_{selective,accumulative,bitmap}_{1..4}.png, <stem>_contact.png and <stem>_ablation.json.
Weights for --point come from the treenet codec's weight files (rdbench.codecs.learned.load_model);
--weights loads a safetensors state dict instead; --random-init is for testing the command only and
is marked as such in the contact sheet and the JSON.
"""

MODELS = ("treenet",)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", choices=MODELS, help="the model to ablate: treenet")
    parser.add_argument("--image", required=True, help="input image (PNG; rdbench's input rules apply)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--point", type=int, help="rate point whose weights to load (1 = lowest rate)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--weights", metavar="FILE", help="a .safetensors state dict of a TreeNet instead of --point")
    source.add_argument("--random-init", action="store_true",
                        help="randomly initialised model (seed 0): tests the command, never for results")
    parser.add_argument("--weights-dir", help="root of the codec weight files (default: $RDBENCH_WEIGHTS, weights/)")


def load(args: argparse.Namespace):
    """(model, title) from --weights, --random-init or --point."""
    import torch

    from rdbench.models.treenet import TreeNet

    if args.weights:
        from safetensors.torch import load_file

        try:
            model = TreeNet.from_state_dict(load_file(args.weights, device="cpu"))
        except Exception as exc:  # SafetensorError, a missing tensor, a shape: name the file
            raise ValueError(f"{args.weights}: not TreeNet weights in safetensors format "
                             f"({type(exc).__name__}: {exc})") from exc
        point = f", point {args.point}" if args.point is not None else ""
        return model, f"TreeNet weights {args.weights}{point}"
    if args.random_init:
        torch.manual_seed(0)
        return TreeNet(), "TreeNet, random init (not a trained model; testing only)"
    if args.point is None:
        raise ValueError("say which weights: --point K (trained rate point), --weights FILE.safetensors, "
                         "or --random-init (testing only)")
    try:
        from rdbench.codecs.learned import load_model
    except ImportError as exc:
        raise ValueError(f"--point needs rdbench.codecs.learned.load_model ({exc}); "
                         "pass --weights FILE.safetensors instead") from exc
    model, meta = load_model(args.model, args.point, args.weights_dir)
    return model, f"TreeNet point {args.point} ({meta.get('path', '')})"


def run(args: argparse.Namespace) -> int:
    from rdbench.ablate import ablate_image

    model, title = load(args)
    written = ablate_image(model, args.image, args.out, title)
    for path in written.values():
        print(path)
    return 0
