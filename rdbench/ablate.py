"""TreeNet ablations (paper Fig. 7 and 8): what each of the four latents carries.

For one image and one model (a rate point), all in eval mode with rounded latents ŷ_1..ŷ_4:

* selective propagation:     g_s(ŷ_i) with the other three latents zeroed, i = 1..4;
* accumulative propagation:  g_s(ŷ_1, ..., ŷ_i) with the remaining ones zeroed (i = 4: the full decode);
* bitmaps: per latent, the mean over channels of -log2 p(ŷ_i) (the model's estimated bits per latent
  element), nearest-upscaled by 16 to the image size and colour-mapped on one scale for all four.

The image is padded (replicate, centred) to the model's ``pad_multiple`` and every output is cropped back.
Outputs (``<stem>`` = image file name without suffix), all 8-bit RGB PNGs written atomically::

    <stem>_selective_<i>.png  <stem>_accumulative_<i>.png  <stem>_bitmap_<i>.png   (i = 1..4)
    <stem>_contact.png        one sheet: original + the three rows, the title names the weights
    <stem>_ablation.json      estimated bits per latent (likelihood estimates, not a bitstream) and the
                              bitmap colour scale
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rdbench.images import from_tensor, load_rgb8, to_tensor, write_png
from rdbench.results import write_json

COLORMAP = "viridis"


@dataclass
class Ablation:
    """Arrays of one ablation: images are H x W x 3 uint8, bitmaps H x W float32 in bits per element."""

    selective: list[np.ndarray]
    accumulative: list[np.ndarray]
    bitmaps: list[np.ndarray]
    bits: dict[str, float]  # "y1", "z1", ...: estimated bits of the whole (padded) latent


@torch.no_grad()
def propagate(model, rgb: np.ndarray) -> Ablation:
    """Run the three ablations of ``model`` (a TreeNet: ``synthesis`` with None = zeroed) on H x W x 3 uint8."""
    from rdbench.models.treenet import crop_centred, pad_centred

    model = model.eval()
    h, w = rgb.shape[:2]
    x, offset = pad_centred(to_tensor(np.array(rgb)), model.pad_multiple)  # a writable copy for torch
    out = model(x)
    y_hats = out["y_hats"]
    n = len(y_hats)

    def decode(keep: set[int]) -> np.ndarray:
        x_hat = model.synthesis([y if i in keep else None for i, y in enumerate(y_hats)])
        return from_tensor(crop_centred(x_hat, h, w, offset))

    selective = [decode({i}) for i in range(n)]
    accumulative = [decode(set(range(i + 1))) for i in range(n)]
    bitmaps = []
    for i in range(n):
        bits = -torch.log2(out["likelihoods"][f"y{i + 1}"][0]).mean(dim=0)  # h/16 x w/16
        scale = x.shape[-1] // bits.shape[-1]
        full = bits.repeat_interleave(scale, 0).repeat_interleave(scale, 1)[None]
        bitmaps.append(crop_centred(full, h, w, offset)[0].float().numpy())
    totals = {k: float(-torch.log2(v).sum()) for k, v in out["likelihoods"].items()}
    return Ablation(selective, accumulative, bitmaps, totals)


def colourise(bits: np.ndarray, vmax: float, cmap: str = COLORMAP) -> np.ndarray:
    """H x W bits -> H x W x 3 uint8 with ``cmap`` over [0, vmax] (values above vmax saturate)."""
    from matplotlib import colormaps

    scaled = np.clip(bits / vmax, 0.0, 1.0) if vmax > 0 else np.zeros_like(bits)
    return np.rint(colormaps[cmap](scaled)[..., :3] * 255.0).astype(np.uint8)


def write_ablation(result: Ablation, rgb: np.ndarray, out_dir: str | Path, stem: str, title: str) -> dict[str, Path]:
    """Write the PNGs, the contact sheet and the JSON of :func:`propagate`'s ``result``; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vmax = max(float(b.max()) for b in result.bitmaps)
    written: dict[str, Path] = {}
    for i, (sel, acc, bits) in enumerate(zip(result.selective, result.accumulative, result.bitmaps), start=1):
        for kind, image in (("selective", sel), ("accumulative", acc), ("bitmap", colourise(bits, vmax))):
            path = out / f"{stem}_{kind}_{i}.png"
            write_png(path, image)
            written[f"{kind}_{i}"] = path
    written["contact"] = out / f"{stem}_contact.png"
    write_png(written["contact"], contact_sheet(result, rgb, title, vmax))
    h, w = rgb.shape[:2]
    written["json"] = out / f"{stem}_ablation.json"
    write_json(written["json"], {
        "title": title, "image": stem, "width": w, "height": h,
        "estimated_bits": result.bits,
        "estimated_bpp": {k: v / (w * h) for k, v in result.bits.items()},
        "note": "likelihood estimates of the padded image's latents, not a coded bitstream",
        "bitmap": {"unit": "bits per latent element, mean over channels", "colormap": COLORMAP, "vmin": 0.0,
                   "vmax": vmax},
    })
    return written


def contact_sheet(result: Ablation, rgb: np.ndarray, title: str, vmax: float) -> np.ndarray:
    """One RGB sheet: column 0 the original, then per latent i the selective, accumulative and bitmap rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.selective)
    h, w = rgb.shape[:2]
    fig, axes = plt.subplots(3, n + 1, figsize=(2.4 * (n + 1), 3 * 2.4 * h / w + 0.8), squeeze=False)
    rows = [(lambda i: f"selective g_s(ŷ_{i})", result.selective),
            (lambda i: "accumulative g_s(ŷ_1" + (f"..ŷ_{i})" if i > 1 else ")"), result.accumulative),
            (lambda i: f"bits of ŷ_{i}", [colourise(b, vmax) for b in result.bitmaps])]
    for r, (label, images) in enumerate(rows):
        for i, image in enumerate(images, start=1):
            axes[r, i].imshow(image, interpolation="nearest")
            axes[r, i].set_title(label(i), fontsize=7)
        axes[r, 0].axis("off")
        for ax in axes[r, 1:]:
            ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].imshow(rgb)
    axes[0, 0].set_title("original", fontsize=7)
    mappable = plt.cm.ScalarMappable(norm=plt.Normalize(0.0, vmax), cmap=COLORMAP)
    fig.colorbar(mappable, ax=axes[2, 0], fraction=0.9, label="bits / element")
    fig.suptitle(title, fontsize=9)
    fig.canvas.draw()
    sheet = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return sheet


def ablate_image(model, image: str | Path, out_dir: str | Path, title: str) -> dict[str, Path]:
    """Load ``image`` (rdbench input rules), run :func:`propagate` and :func:`write_ablation`."""
    rgb, _ = load_rgb8(image)
    return write_ablation(propagate(model, rgb), rgb, out_dir, Path(image).stem, title)
