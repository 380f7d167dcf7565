"""VGG16 and AlexNet feature trunks for LPIPS and DISTS, with exact tiling for large images.

The trunks are the layers of torchvision's ``vgg16().features`` and ``alexnet().features``, built here
from plain torch modules (importing torchvision costs seconds per job: it imports torch._dynamo), with
the pinned ImageNet weights of :mod:`rdbench.metrics.weights` loaded layer by layer (every
shape checked). A :class:`Trunk` maps Nx3xHxW images in [0, 1] to the list of tapped feature maps:

    lpips vgg16  : relu1_2 relu2_2 relu3_3 relu4_3 relu5_3     strides 1 2 4 8 16
    lpips alexnet: relu1   relu2   relu3   relu4   relu5       strides 4 8 16 16 16
    dists vgg16  : image, then the five VGG taps, max-pooling replaced by L2 pooling
                   (3x3 Hann window, stride 2, padding 1: Ding et al. 2020)

Tiling. LPIPS and DISTS reduce each tap to sums over positions (a spatial mean of a per-position
quantity; DISTS' means, variances and covariances come from sums too), so a large image can be
split exactly: each tile is computed with a halo of ``HALO`` pixels of real image context around
it (no tap depends on pixels more than 105 px from its anchor), tiles start on multiples of 32 so
every pooling grid lines up with the whole-image one, and each tap position is counted by the one
tile that owns its anchor pixel (stride x index). The sums then equal the whole-image sums up to
float32 rounding; ``tests/test_perceptual.py`` checks it.

Memory. Inference runs under ``torch.inference_mode`` and taps are reduced one at a time as they
come (:meth:`Trunk.taps`); the peak is the first VGG block on the image pair: about 1.2 kB per
image pixel (measured on CPU, float32). Images up to ``MAX_UNTILED_PIXELS`` (2048x2048, ~5 GB;
Kodak and CLIC run in one pass) are computed whole; larger ones in ``TILE``-px tiles plus halo
((1024 + 2*192)^2 px, ~2.4 GB), whatever the image size (4K, 8K).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F

from rdbench.metrics import weights as pinned_weights

ALIGN = 32  # tile origins are multiples of this (>= the largest tap stride, 16)
HALO = 192  # context around a tile, px; no tap depends on pixels more than 105 px from its anchor
TILE = 1024  # interior size of a tile, px
MAX_UNTILED_PIXELS = 2048 * 2048  # larger images are tiled (Kodak and CLIC-size images are not)

# Stage boundaries in torchvision's ``features`` and the stride of each tapped output.
LAYOUT = {
    "vgg16": ((0, 4, 9, 16, 23, 30), (1, 2, 4, 8, 16)),
    "alexnet": ((0, 2, 5, 8, 10, 12), (4, 8, 16, 16, 16)),
}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
LPIPS_SHIFT, LPIPS_SCALE = (-0.030, -0.088, -0.188), (0.458, 0.448, 0.450)


@dataclass(frozen=True)
class TrunkSpec:
    arch: str  # "vgg16" | "alexnet"
    pooling: str = "max"  # "max" (torchvision) | "l2" (DISTS)
    input_transform: str = "lpips"  # "lpips": (2x - 1 - shift) / scale | "imagenet": (x - mean) / std
    tap_input: bool = False  # DISTS also compares the images themselves


def build_trunk(spec: TrunkSpec, device, cache: Path | None = None):
    """A :class:`Trunk` on ``device`` with the pinned weights (raises WeightsError if not installed)."""
    return _cached_trunk(spec, str(device), str(cache or pinned_weights.weights_dir()))


# torchvision's `features` layer lists: (out channels, kernel, stride, padding) per convolution, each
# followed by an in-place ReLU; "M" a max pooling (kernel, stride). tests/test_perceptual.py compares them.
FEATURES = {
    "vgg16": [(64, 3, 1, 1), (64, 3, 1, 1), ("M", 2, 2), (128, 3, 1, 1), (128, 3, 1, 1), ("M", 2, 2),
              (256, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), ("M", 2, 2), (512, 3, 1, 1), (512, 3, 1, 1),
              (512, 3, 1, 1), ("M", 2, 2), (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1), ("M", 2, 2)],
    "alexnet": [(64, 11, 4, 2), ("M", 3, 2), (192, 5, 1, 2), ("M", 3, 2), (384, 3, 1, 1), (256, 3, 1, 1),
                (256, 3, 1, 1), ("M", 3, 2)],
}


def features(arch: str) -> torch.nn.Sequential:
    """The `features` trunk of torchvision's `arch` (same layers and indices), with uninitialised weights."""
    layers, channels = [], 3
    for out, kernel, stride, *padding in FEATURES[arch]:
        if out == "M":
            layers.append(torch.nn.MaxPool2d(kernel_size=kernel, stride=stride))
            continue
        layers += [torch.nn.Conv2d(channels, out, kernel_size=kernel, stride=stride, padding=padding[0]),
                   torch.nn.ReLU(inplace=True)]
        channels = out
    return torch.nn.Sequential(*layers)


@functools.lru_cache(maxsize=8)
def _cached_trunk(spec: TrunkSpec, device: str, cache: str):
    tensors = pinned_weights.load(spec.arch, Path(cache))
    with torch.device("meta"):  # the pinned weights replace these: no random init
        layers = features(spec.arch)
    convs = [(name, m) for name, m in layers.named_children() if isinstance(m, torch.nn.Conv2d)]
    if len(tensors) != 2 * len(convs):
        raise pinned_weights.WeightsError(f"{spec.arch}.safetensors has {len(tensors) // 2} conv layers, "
                                          f"the {spec.arch} trunk has {len(convs)}")
    state = {}
    for i, (name, conv) in enumerate(convs):
        for part in ("weight", "bias"):
            t = tensors[f"conv{i}.{part}"]
            if tuple(t.shape) != tuple(getattr(conv, part).shape):
                raise pinned_weights.WeightsError(
                    f"{spec.arch} conv{i} ({name}) {part}: pinned shape {tuple(t.shape)}, the trunk expects "
                    f"{tuple(getattr(conv, part).shape)}")
            state[f"{name}.{part}"] = t
    layers.load_state_dict(state, strict=True, assign=True)
    if spec.pooling == "l2":
        for name, m in list(layers.named_children()):
            if isinstance(m, torch.nn.MaxPool2d):
                setattr(layers, name, L2Pool())
    bounds, strides = LAYOUT[spec.arch]
    stages = [layers[a:b] for a, b in zip(bounds, bounds[1:])]
    trunk = Trunk(stages, strides, spec).to(device).eval()
    trunk.requires_grad_(False)
    return trunk


class L2Pool(torch.nn.Module):
    """sqrt(Hann-weighted 3x3 mean of x^2), stride 2, zero padding 1 (DISTS' replacement for max pooling)."""

    def __init__(self):
        super().__init__()
        a = torch.tensor([0.5, 1.0, 0.5])  # numpy.hanning(5)[1:-1]
        self.register_buffer("window", (torch.outer(a, a) / torch.outer(a, a).sum())[None, None])

    def forward(self, x):
        w = self.window.expand(x.shape[1], 1, 3, 3)
        return (F.conv2d(x * x, w, stride=2, padding=1, groups=x.shape[1]) + 1e-12).sqrt()


class Trunk(torch.nn.Module):
    """Nx3xHxW in [0, 1] -> list of tapped feature maps (see the module docstring)."""

    def __init__(self, stages, strides, spec: TrunkSpec):
        super().__init__()
        self.stages = torch.nn.ModuleList(stages)
        self.spec = spec
        self.strides = ((1,) if spec.tap_input else ()) + tuple(strides)
        if spec.input_transform == "lpips":
            shift, scale = torch.tensor(LPIPS_SHIFT), torch.tensor(LPIPS_SCALE)
        else:
            shift, scale = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("shift", shift.view(1, 3, 1, 1))
        self.register_buffer("scale", scale.view(1, 3, 1, 1))

    def forward(self, x) -> list:
        return list(self.taps(x))

    def taps(self, x) -> Iterator:
        """The taps one at a time, so a caller that reduces each as it comes holds at most one."""
        if self.spec.tap_input:
            yield x
        h = (2 * x - 1 - self.shift) / self.scale if self.spec.input_transform == "lpips" else \
            (x - self.shift) / self.scale
        for stage in self.stages:
            h = stage(h)
            yield h


def tiled_taps(trunk: Trunk, images, tile: int | None = None, halo: int | None = None,
               max_untiled: int | None = None) -> Iterator[Iterator]:
    """Yield, per tile, an iterator over the trunk's taps cropped to the positions that tile owns.

    The tiles partition every tap exactly. ``images`` is Nx3xHxW in [0, 1]; small images give one
    "tile", the whole image. Consume each tile's taps before asking for the next tile. The sizes
    default to the module's ``TILE``, ``HALO`` and ``MAX_UNTILED_PIXELS``, read at call time.
    """
    tile = TILE if tile is None else tile
    halo = HALO if halo is None else halo
    max_untiled = MAX_UNTILED_PIXELS if max_untiled is None else max_untiled
    h, w = images.shape[-2:]
    if h * w <= max_untiled:
        yield trunk.taps(images)
        return
    if tile % ALIGN or halo % ALIGN:
        raise ValueError(f"tile ({tile}) and halo ({halo}) must be multiples of {ALIGN}")
    for top, bottom in _spans(h, tile):
        for left, right in _spans(w, tile):
            r0, c0 = max(0, top - halo), max(0, left - halo)
            r1, c1 = min(h, bottom + halo), min(w, right + halo)
            taps = trunk.taps(images[..., r0:r1, c0:c1])
            yield (t[..., _owned(top, bottom, r0, h, s), _owned(left, right, c0, w, s)]
                   for t, s in zip(taps, trunk.strides))


def _spans(size: int, tile: int) -> list[tuple[int, int]]:
    return [(a, min(a + tile, size)) for a in range(0, size, tile)]


def _owned(start: int, end: int, origin: int, size: int, stride: int) -> slice:
    """Tap indices (local to a tile cut at ``origin``) whose anchor ``stride * k`` lies in [start, end)."""
    return slice((start - origin) // stride, None if end == size else (end - origin) // stride)
