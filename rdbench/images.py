"""Images in and out: PNG I/O, input normalisation, colour conversions, padding, tensors.

Everything a codec sees is an 8-bit RGB PNG without ICC profile, written by :func:`load_rgb8`'s
rules; every reconstruction is read back as 8-bit RGB. Colour conversions round (never truncate),
so an 8-bit RGB -> 10-bit YCbCr -> 8-bit RGB round trip is exact or nearly so.

Input rules (each conversion is reported as a note that goes into the result record):
  * truncated / unreadable / zero-sized file      -> ImageError naming the file
  * grey (L, 1), palette (P)                       -> converted to RGB
  * alpha (RGBA, LA, PA, tRNS key) fully opaque    -> alpha dropped
  * alpha with any transparent pixel, or a tRNS   -> ImageError (flatten it yourself: the
    colour key that some pixel matches               reference would otherwise be ambiguous)
  * 16-bit PNG or TIFF (grey or RGB)               -> rounded to 8 bits (x / 257, round half even)
  * more pixels than ``max_pixels`` (100 Mpx)       -> ImageError from the header, before decoding
  * ICC profile                                    -> stripped, pixel values kept as stored
  * EXIF orientation                               -> applied, so the reference is what viewers show
  * CMYK, float, 32-bit integer and other modes    -> ImageError (needs colour management)
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from rdbench.atomic import atomic_path

MAX_PIXELS = 100_000_000  # the default of the max_pixels setting: larger images are refused from the header
Image.MAX_IMAGE_PIXELS = None  # rdbench's own limit (check_pixels) applies, before decoding

# Luma coefficients (Kr, Kb) of the matrices a codec may ask for.
MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


class ImageError(ValueError):
    """An input image rdbench cannot measure, with the reason and what to do."""


def load_rgb8(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> tuple[np.ndarray, list[str]]:
    """Read any supported image as HxWx3 uint8 RGB, applying the module's input rules.

    An image of more than `max_pixels` pixels (None: no limit) is refused from its header, before
    anything is decoded.
    """
    path = Path(path)
    notes: list[str] = []
    bit_depth = _png_bit_depth(path)
    try:
        with Image.open(path) as im:
            check_pixels(path, *im.size, max_pixels)
            im.load()
            orientation = im.getexif().get(0x0112, 1)
            if "icc_profile" in im.info:
                notes.append("ICC profile stripped (pixel values kept as stored)")
            mode = im.mode
            wide = _load16(path, im, bit_depth)
            if wide is not None:
                if orientation != 1:
                    raise ImageError(f"{path}: 16-bit image with EXIF orientation {orientation} is not supported")
                rgb = _round16(path, wide)
                notes.append(f"16-bit {im.format} rounded to 8 bits")  # rint(x / 257)
            else:
                if orientation != 1:
                    im = ImageOps.exif_transpose(im)
                    notes.append("EXIF orientation applied")
                rgb = _to_rgb(im, notes, path)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{path}: cannot decode image ({exc}); the file is truncated or not an image") from exc
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageError(f"{path}: image has zero size ({mode})")
    return np.ascontiguousarray(rgb), notes


def check_pixels(path: str | Path, width: int, height: int, max_pixels: int | None = MAX_PIXELS) -> None:
    """Refuse an image larger than `max_pixels` (the ``max_pixels`` setting) before it is decoded."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(f"{path}: {width}x{height} is {width * height / 1e6:.1f} Mpx, over the limit of "
                         f"{max_pixels / 1e6:g} Mpx (setting max_pixels; raise it if the image is meant)")


def _to_rgb(im: Image.Image, notes: list[str], path: Path) -> np.ndarray:
    mode = im.mode
    # tRNS: a palette alpha table (P) or a single transparent colour key (RGB, L, 1).
    keyed = "transparency" in im.info
    if mode == "RGB" and not keyed:
        return np.asarray(im, dtype=np.uint8)
    if mode in ("L", "1") and not keyed:
        notes.append(f"grey ({mode}) converted to RGB")
        return np.asarray(im.convert("RGB"))
    if mode == "P" and not keyed:
        notes.append("palette converted to RGB")
        return np.asarray(im.convert("RGB"))
    if mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or (keyed and mode in ("RGB", "L", "1")):
        rgba = np.asarray(im.convert("RGBA"))
        if (rgba[..., 3] != 255).any():
            raise ImageError(
                f"{path}: has transparent pixels ({mode}{', tRNS' if keyed else ''}); rdbench measures "
                "opaque RGB: flatten it onto a background first (e.g. `magick in.png -flatten out.png`)"
            )
        notes.append(f"opaque alpha dropped ({mode}{', unused tRNS' if keyed else ''})")
        return np.ascontiguousarray(rgba[..., :3])
    raise ImageError(
        f"{path}: unsupported mode {mode!r}; convert it to 8-bit sRGB (RGB, grey or palette PNG) first"
    )


def _png_bit_depth(path: Path) -> int | None:
    """Bit depth from the IHDR chunk of a PNG, or None for other files."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc})") from exc
    if len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return None


def _load16(path: Path, im: Image.Image, png_bit_depth: int | None) -> np.ndarray | None:
    """The samples of a 16-bit image as HxWxC uint16, or None for an 8-bit one.

    PIL reads 16-bit RGB TIFF (and PNG) as 8-bit by dropping the low byte (x >> 8), so those are
    decoded by imagecodecs; 16-bit grey arrives from PIL intact as mode ``I;16``.
    """
    import imagecodecs

    if png_bit_depth == 16:
        data = imagecodecs.png_decode(path.read_bytes())
    elif im.format == "TIFF" and set(_tuple(im.tag_v2.get(258, 8))) == {16}:
        if im.tag_v2.get(262) not in (1, 2):  # BlackIsZero grey, RGB
            raise ImageError(f"{path}: 16-bit TIFF with photometric interpretation {im.tag_v2.get(262)} is not "
                             "supported; convert it to RGB or grey first")
        data = imagecodecs.tiff_decode(path.read_bytes())
    elif im.mode.startswith("I;16"):
        data = np.asarray(im)
    else:
        return None
    if data.dtype != np.uint16:
        raise ImageError(f"{path}: the header says 16-bit but it decoded as {data.dtype}")
    return data if data.ndim == 3 else data[..., None]


def _tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _round16(path: Path, data: np.ndarray) -> np.ndarray:
    """HxWxC uint16 (grey, grey+alpha, RGB, RGBA) -> HxWx3 uint8: alpha must be opaque; rint(x / 257)."""
    if data.shape[2] in (2, 4):  # grey+alpha or RGBA (libpng also expands a tRNS colour key to alpha)
        if (data[..., -1] != 65535).any():
            raise ImageError(f"{path}: 16-bit image has transparent pixels; flatten it first")
        data = data[..., :-1]
    if data.shape[2] == 1:
        data = np.repeat(data, 3, axis=2)
    if data.shape[2] != 3:
        raise ImageError(f"{path}: 16-bit image with {data.shape[2]} channels is not supported")
    return np.rint(data.astype(np.float64) / 257.0).astype(np.uint8)


def read_png(path: str | Path) -> np.ndarray:
    """Read a PNG that must already be 8-bit RGB (a canonical source or a reconstruction)."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode != "RGB" or _png_bit_depth(path) not in (8, None):
                raise ImageError(f"{path}: expected 8-bit RGB, got mode {im.mode}")
            return np.asarray(im, dtype=np.uint8).copy()
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{path}: cannot decode PNG ({exc})") from exc


def write_png(path: str | Path, rgb: np.ndarray, compress_level: int = 1) -> None:
    """Write HxWx3 uint8 as PNG atomically (temp file + rename), without any colour profile."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"write_png wants HxWx3 uint8, got {rgb.shape} {rgb.dtype}")
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, "RGB").save(tmp, format="PNG", compress_level=compress_level)


# ---------------------------------------------------------------------------------------- colour


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str = "bt601", bits: int = 8, full_range: bool = True) -> np.ndarray:
    """HxWx3 uint8 RGB -> HxWx3 uint16 Y, Cb, Cr integers of `bits` depth, rounded."""
    kr, kb = _coefficients(matrix)
    x = rgb.astype(np.float64) / 255.0
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - kb))
    cr = (x[..., 0] - y) / (2 * (1 - kr))
    if full_range:
        scale, y_off, c_scale = (1 << bits) - 1, 0.0, (1 << bits) - 1
    else:
        scale, y_off, c_scale = 219 << (bits - 8), 16 << (bits - 8), 224 << (bits - 8)
    out = np.stack([y * scale + y_off, cb * c_scale + (1 << (bits - 1)), cr * c_scale + (1 << (bits - 1))], -1)
    return np.clip(np.rint(out), 0, (1 << bits) - 1).astype(np.uint16)


def ycbcr_to_rgb(ycc: np.ndarray, matrix: str = "bt601", bits: int = 8, full_range: bool = True) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`: integer planes -> HxWx3 uint8 RGB, rounded and clipped."""
    kr, kb = _coefficients(matrix)
    v = ycc.astype(np.float64)
    if full_range:
        scale, y_off, c_scale = (1 << bits) - 1, 0.0, (1 << bits) - 1
    else:
        scale, y_off, c_scale = 219 << (bits - 8), 16 << (bits - 8), 224 << (bits - 8)
    y = (v[..., 0] - y_off) / scale
    cb = (v[..., 1] - (1 << (bits - 1))) / c_scale
    cr = (v[..., 2] - (1 << (bits - 1))) / c_scale
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.rint(np.stack([r, g, b], -1) * 255.0), 0, 255).astype(np.uint8)


def _coefficients(matrix: str) -> tuple[float, float]:
    if matrix not in MATRICES:
        raise ValueError(f"unknown colour matrix {matrix!r}; choose one of {', '.join(MATRICES)}")
    return MATRICES[matrix]


def downsample_420(plane: np.ndarray) -> np.ndarray:
    """2x2 box average of one chroma plane (centre-sited), rounded; odd sizes are edge-padded."""
    p = pad_to_multiple(plane[..., None], 2)[..., 0].astype(np.float64)
    avg = (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4.0
    return np.rint(avg).astype(plane.dtype)


def upsample_420(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre-sited bilinear 2x upsampling (weights 3/4, 1/4), rounded, cropped to height x width."""
    p = plane.astype(np.float64)
    for axis in (0, 1):
        prev = np.concatenate([np.take(p, [0], axis), np.take(p, range(p.shape[axis] - 1), axis)], axis)
        nxt = np.concatenate([np.take(p, range(1, p.shape[axis]), axis), np.take(p, [-1], axis)], axis)
        even, odd = 0.75 * p + 0.25 * prev, 0.75 * p + 0.25 * nxt
        p = np.stack([even, odd], axis + 1).reshape(*p.shape[:axis], -1, *p.shape[axis + 1 :])
    return np.rint(p[:height, :width]).astype(plane.dtype)


# ----------------------------------------------------------------------------- padding / tensors


def pad_to_multiple(img: np.ndarray, multiple: int, centred: bool = False) -> np.ndarray:
    """Edge-replicate an HxWxC array so both sides are multiples of `multiple`."""
    h, w = img.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    top, left = (ph // 2, pw // 2) if centred else (0, 0)
    return np.pad(img, ((top, ph - top), (left, pw - left), (0, 0)), mode="edge")


def to_tensor(rgb: np.ndarray):
    """HxWx3 uint8 -> 1x3xHxW float32 torch tensor in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float().div_(255.0)


def from_tensor(x) -> np.ndarray:
    """1x3xHxW float tensor in [0, 1] -> HxWx3 uint8, rounded (never truncated) and clipped."""
    import torch

    return x[0].detach().clamp(0, 1).mul(255.0).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of a PNG from its IHDR without decoding; falls back to PIL."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return struct.unpack(">II", head[16:24])
    with Image.open(path) as im:
        return im.size
