"""What the benchmark scripts share: where the Kodak images come from."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_data_arguments(parser: argparse.ArgumentParser, default_images: int) -> None:
    parser.add_argument("--data", type=Path, help="folder of PNG images (default: $RDBENCH_DATA/kodak)")
    parser.add_argument("--images", type=int, default=default_images,
                        help=f"use the first N images (default {default_images})")


def image_paths(args: argparse.Namespace) -> list[Path]:
    """The first ``args.images`` PNGs of ``args.data``, else of ``$RDBENCH_DATA/kodak``."""
    folder = args.data
    if folder is None:
        root = os.environ.get("RDBENCH_DATA")
        if not root:
            raise SystemExit("no images: pass --data FOLDER or set RDBENCH_DATA (with a kodak/ folder inside)")
        folder = Path(root) / "kodak"
    paths = sorted(folder.glob("*.png"))[: args.images]
    if not paths:
        raise SystemExit(f"no PNG images in {folder}")
    return paths
