"""Training images: listing, the held-back validation split, and random crops cut on the device.

Every image is decoded once (:func:`rdbench.images.load_rgb8`: 8-bit RGB, EXIF orientation applied)
and packed, channel-planar, into one flat ``uint8`` tensor that lives on the training device; a
batch of random crops is then a single gather from it (no DataLoader, no per-step host work; the
whole 1,512-photo training set is ~0.45 GB of GPU memory).

Conventions:
* Files: every ``.png .jpg .jpeg .webp .bmp .ppm .tif .tiff`` under each ``--data`` folder
  (recursive, hidden files skipped), sorted by (folder, relative path).
* Validation: the ``val_images`` files with the smallest ``sha256("<folder name>/<relative path>")``
  are held back. The split depends only on the names, never on the seed or listing order, so
  it stays fixed across runs, resumes and machines.
* Images whose short side is below the crop size: ``small="upscale"`` (default) resizes them
  (Lanczos, aspect kept) so the short side equals the crop; ``"skip"`` leaves them out. Neither
  pads: reflect-padding would teach the codec mirror seams that no test image has. The training
  photos in ``shared/train`` all have a short side >= 256, so the paper's 256 crops never resize.
* Data order: a pure function of (seed, stream, step). Epoch e of stream s is a permutation of
  the training images drawn from ``seed``, ``s`` and ``e``; the step's batch is its next ``batch``
  entries (the last incomplete batch of an epoch is dropped), and each crop's top-left corner is
  uniform over the valid positions. Resuming therefore needs nothing but the step number, and the
  same seed gives the same crops on CPU and GPU. Stream = the rate point's index, so several
  points trained in one process see independent batches (``same_batch`` uses stream 0 for all).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".tif", ".tiff")
SMALL_POLICIES = ("upscale", "skip")


class DataError(ValueError):
    """A training folder that cannot be used, with the reason and the fix."""


@dataclass(frozen=True)
class ImageFile:
    path: Path
    key: str  # "<folder name>/<relative path>": names the file in splits and logs


def list_images(folders: list[str | Path]) -> list[ImageFile]:
    """All image files of the training folders, sorted; raises DataError naming a bad folder."""
    if not folders:
        raise DataError("no training folder given; pass --data DIR (a folder of PNG/JPEG photos)")
    files: list[ImageFile] = []
    seen: set[Path] = set()
    for folder in map(Path, folders):
        if not folder.exists():
            raise DataError(f"training folder {folder} does not exist; pass --data with a folder of images")
        if not folder.is_dir():
            raise DataError(f"--data {folder} is a file, not a folder; pass the folder that holds the images")
        root = folder.resolve()
        if root in seen:
            raise DataError(f"training folder {folder} is given twice; pass each --data folder once")
        seen.add(root)
        found = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(root).parts))
        if not found:
            raise DataError(f"training folder {folder} has no images ({' '.join(IMAGE_SUFFIXES)}); "
                            "point --data at the folder that holds the photos")
        files += [ImageFile(p, f"{root.name}/{p.relative_to(root).as_posix()}") for p in found]
    return files


def split_validation(files: list[ImageFile], val_images: int) -> tuple[list[ImageFile], list[ImageFile]]:
    """(train, validation): the `val_images` files with the smallest name hash are held back."""
    if val_images < 0 or val_images >= len(files):
        raise DataError(f"--val-images {val_images} must be >= 0 and below the number of images ({len(files)})")
    ranked = sorted(files, key=lambda f: hashlib.sha256(f.key.encode()).hexdigest())
    held = {f.key for f in ranked[:val_images]}
    return [f for f in files if f.key not in held], [f for f in files if f.key in held]


def file_list_hash(files: list[ImageFile]) -> str:
    """sha256 over the sorted lines "<sha256 of file>  <key>": names the exact training data."""
    lines = sorted(f"{hashlib.sha256(f.path.read_bytes()).hexdigest()}  {f.key}" for f in files)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def check_memory(files: list[ImageFile], device: torch.device | str, fraction: float = 0.5) -> int:
    """Bytes the decoded images will take; raises DataError above `fraction` of the free memory.

    Sizes come from the file headers (no decoding). On CUDA the limit is the device's free memory,
    on CPU the machine's physical memory."""
    import os

    from PIL import Image

    total = 0
    for f in files:
        with Image.open(f.path) as im:
            total += im.size[0] * im.size[1] * 3
    device = torch.device(device)
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    else:
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if total > fraction * free:
        raise DataError(f"{len(files)} training images decode to {total / 2**30:.1f} GiB, more than "
                        f"{fraction:.0%} of the {free / 2**30:.1f} GiB free on {device}; train on fewer images or "
                        "resize them first (e.g. short side 256, as shared/train is)")
    return total


def decode_images(files: list[ImageFile], crop: int, small: str = "upscale",
                  workers: int = 8) -> tuple[list[np.ndarray], list[str]]:
    """Decode every file to HxWx3 uint8 (threads), applying the small-image policy.

    Returns (images, notes); notes count the resized / skipped files.
    """
    if small not in SMALL_POLICIES:
        raise DataError(f"unknown small-image policy {small!r}; choose one of {', '.join(SMALL_POLICIES)}")
    from rdbench.images import ImageError, load_rgb8

    def load(f: ImageFile) -> np.ndarray:
        try:
            return load_rgb8(f.path)[0]
        except ImageError as exc:
            raise DataError(f"training image {f.path}: {exc}; remove it from the folder") from exc

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        decoded = list(pool.map(load, files))
    images, resized, skipped = [], 0, 0
    for rgb in decoded:
        h, w = rgb.shape[:2]
        if min(h, w) >= crop:
            images.append(rgb)
        elif small == "skip":
            skipped += 1
        else:
            images.append(_upscale(rgb, crop))
            resized += 1
    notes = [f"{resized} images with a short side < {crop} upscaled (Lanczos)"] if resized else []
    notes += [f"{skipped} images with a short side < {crop} skipped"] if skipped else []
    return images, notes


def _upscale(rgb: np.ndarray, short: int) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def centre_crops(images: list[np.ndarray], crop: int, device: torch.device | str) -> Tensor:
    """Nx3xcropxcrop uint8: the centre crop of each (validation) image."""
    out = []
    for rgb in images:
        h, w = rgb.shape[:2]
        top, left = (h - crop) // 2, (w - crop) // 2
        out.append(torch.from_numpy(np.ascontiguousarray(rgb[top:top + crop, left:left + crop])).permute(2, 0, 1))
    return torch.stack(out).to(device)


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed from the run seed and labels (stable across Python runs, unlike hash())."""
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class CropSampler:
    """Random crops of the packed training images, gathered on the device.

    ``batch(step, stream)`` -> Bx3xcropxcrop float32 in [0, 1] on the device. See the module
    docstring for the order. Memory: one uint8 per sample value plus 3 int64 per image.
    """

    def __init__(self, images: list[np.ndarray], batch: int, crop: int, seed: int, device: torch.device | str):
        if len(images) < batch:
            raise DataError(f"{len(images)} training images cannot fill one batch of {batch}; "
                            "add images, lower --batch or lower --val-images")
        for rgb in images:
            if min(rgb.shape[:2]) < crop:
                raise DataError(f"an image of {rgb.shape[1]}x{rgb.shape[0]} is smaller than --crop {crop}")
        self.batch, self.crop, self.seed = batch, crop, seed
        self.device = torch.device(device)
        self.num_images = len(images)
        self.steps_per_epoch = len(images) // batch
        sizes = [rgb.shape[0] * rgb.shape[1] * 3 for rgb in images]
        planar = np.concatenate([np.ascontiguousarray(rgb.transpose(2, 0, 1)).reshape(-1) for rgb in images])
        self.buffer = torch.from_numpy(planar).to(self.device)
        self.offsets = torch.tensor(np.cumsum([0] + sizes[:-1]), dtype=torch.int64, device=self.device)
        self.heights = torch.tensor([rgb.shape[0] for rgb in images], dtype=torch.int64, device=self.device)
        self.widths = torch.tensor([rgb.shape[1] for rgb in images], dtype=torch.int64, device=self.device)
        self._ramp = torch.arange(crop, device=self.device)
        self._plans: dict[int, tuple[int, Tensor, Tensor]] = {}  # stream -> (epoch, order, corners)

    def epoch(self, step: int) -> int:
        return step // self.steps_per_epoch

    def _plan(self, epoch: int, stream: int) -> tuple[Tensor, Tensor]:
        cached = self._plans.get(stream)
        if cached is None or cached[0] != epoch:
            g = torch.Generator().manual_seed(derive_seed(self.seed, "data", stream, epoch))
            n = self.steps_per_epoch * self.batch
            order = torch.randperm(self.num_images, generator=g)[:n].view(self.steps_per_epoch, self.batch)
            corners = torch.rand(self.steps_per_epoch, self.batch, 2, generator=g, dtype=torch.float64)
            # Once per epoch: wait for every CUDA stream, so no queued kernel still reads the old plan
            # and every stream may read the new one (rate points run on their own streams).
            self._synchronize()
            cached = (epoch, order.to(self.device), corners.to(self.device))
            self._synchronize()
            self._plans[stream] = cached
        return cached[1], cached[2]

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def indices(self, step: int, stream: int = 0) -> tuple[Tensor, Tensor, Tensor]:
        """(image index, top, left) of the step's B crops, int64 tensors on the device."""
        order, corners = self._plan(self.epoch(step), stream)
        i = step % self.steps_per_epoch
        idx = order[i]
        top = (corners[i, :, 0] * (self.heights[idx] - self.crop + 1)).long()
        left = (corners[i, :, 1] * (self.widths[idx] - self.crop + 1)).long()
        return idx, top, left

    def batch_at(self, step: int, stream: int = 0) -> Tensor:
        idx, top, left = self.indices(step, stream)
        h, w = self.heights[idx].view(-1, 1, 1, 1), self.widths[idx].view(-1, 1, 1, 1)
        rows = (top.view(-1, 1) + self._ramp).view(-1, 1, self.crop, 1)
        cols = (left.view(-1, 1) + self._ramp).view(-1, 1, 1, self.crop)
        chan = torch.arange(3, device=self.device).view(1, 3, 1, 1)
        flat = self.offsets[idx].view(-1, 1, 1, 1) + (chan * h + rows) * w + cols  # B x 3 x crop x crop
        return torch.take(self.buffer, flat).float().div_(255.0)
