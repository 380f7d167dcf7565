"""rdbench.images: the input rules of load_rgb8 (one case each), PNG I/O, colour round trips, 4:2:0 helpers.

Every fixture is built from real Kodak pixels in tmp_path; nothing is copied into the repository."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms

from rdbench.images import (
    ImageError,
    downsample_420,
    from_tensor,
    load_rgb8,
    pad_to_multiple,
    read_png,
    rgb_to_ycbcr,
    to_tensor,
    upsample_420,
    write_png,
    ycbcr_to_rgb,
)


@pytest.fixture
def rgb(crop) -> np.ndarray:
    """A real 24x36 crop (non-square, so a transposition shows in the shape)."""
    return crop(24, 36)


def save(tmp_path, name: str, image: Image.Image, **params):
    path = tmp_path / name
    image.save(path, **params)
    return path


def png16(tmp_path, name: str, data: np.ndarray):
    import imagecodecs

    path = tmp_path / name
    path.write_bytes(imagecodecs.png_encode(data))
    return path


# ------------------------------------------------------------------------------------- input rules


def test_plain_rgb_png_is_taken_as_is_without_notes(rgb, tmp_path):
    out, notes = load_rgb8(save(tmp_path, "a.png", Image.fromarray(rgb)))
    assert np.array_equal(out, rgb) and notes == []


def test_truncated_png_is_a_clear_error(photo, tmp_path):
    data = photo.read_bytes()
    for name, cut in (("half.png", len(data) // 2), ("header.png", 20)):
        path = tmp_path / name
        path.write_bytes(data[:cut])
        with pytest.raises(ImageError, match=name):
            load_rgb8(path)
        with pytest.raises(ImageError, match=name):
            read_png(path)


def test_not_an_image_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(ImageError, match="notes.png"):
        load_rgb8(path)


def test_opaque_rgba_drops_alpha_with_a_note(rgb, tmp_path):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    out, notes = load_rgb8(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert np.array_equal(out, rgb) and any("alpha dropped" in n for n in notes)


def test_rgba_with_one_transparent_pixel_is_refused(rgb, tmp_path):
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[3, 4] = 254
    path = save(tmp_path, "a.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))
    with pytest.raises(ImageError, match="transparent.*flatten"):
        load_rgb8(path)


def test_grey_alpha_opaque_becomes_grey_rgb(rgb, tmp_path):
    grey = rgb[..., 1]
    la = Image.fromarray(np.dstack([grey, np.full_like(grey, 255)]), "LA")
    out, notes = load_rgb8(save(tmp_path, "la.png", la))
    assert np.array_equal(out, np.repeat(grey[..., None], 3, 2)) and notes


def test_colour_key_transparency_is_refused_when_used_and_dropped_when_not(rgb, tmp_path):
    used = save(tmp_path, "used.png", Image.fromarray(rgb), transparency=tuple(int(v) for v in rgb[0, 0]))
    with pytest.raises(ImageError, match="tRNS"):
        load_rgb8(used)
    spare = rgb.copy()
    spare[spare == 0] = 1  # no pixel is (0, 0, 0) now
    out, notes = load_rgb8(save(tmp_path, "spare.png", Image.fromarray(spare), transparency=(0, 0, 0)))
    assert np.array_equal(out, spare) and any("tRNS" in n for n in notes)


def test_16bit_rgb_is_rounded_to_8_bits(rgb, tmp_path):
    # x / 257 is rounded, not truncated: x*257 + 100 comes back as x (+100/257 < 0.5).
    data = rgb.astype(np.uint16) * 257
    data[..., 0] += 100
    out, notes = load_rgb8(png16(tmp_path, "rgb16.png", data))
    assert np.array_equal(out, np.rint(data / 257.0).astype(np.uint8))
    assert np.array_equal(out, rgb) and "16-bit PNG rounded to 8 bits" in notes


def test_16bit_grey_becomes_8bit_grey_rgb(rgb, tmp_path):
    base = np.minimum(rgb[..., 2], 254)
    grey = base.astype(np.uint16) * 257 + 200  # +200/257 > 0.5 rounds up to the next code
    out, notes = load_rgb8(png16(tmp_path, "grey16.png", grey))
    expected = base + 1
    assert np.array_equal(out, np.repeat(expected[..., None], 3, 2)) and notes


def test_16bit_with_transparency_is_refused(rgb, tmp_path):
    data = np.dstack([rgb.astype(np.uint16) * 257, np.full(rgb.shape[:2], 65535, np.uint16)])
    data[0, 0, 3] = 0
    with pytest.raises(ImageError, match="transparent"):
        load_rgb8(png16(tmp_path, "rgba16.png", data))


def test_grey_becomes_rgb(rgb, tmp_path):
    out, notes = load_rgb8(save(tmp_path, "g.png", Image.fromarray(rgb[..., 0], "L")))
    assert np.array_equal(out, np.repeat(rgb[..., :1], 3, 2)) and any("grey" in n for n in notes)


def test_palette_becomes_its_colours(rgb, tmp_path):
    pal = Image.fromarray(rgb).quantize(colors=16)
    expected = np.asarray(pal.convert("RGB"))
    out, notes = load_rgb8(save(tmp_path, "p.png", pal))
    assert np.array_equal(out, expected) and any("palette" in n for n in notes)
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= 16


def test_icc_profile_is_stripped_and_pixels_kept(rgb, tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = save(tmp_path, "icc.png", Image.fromarray(rgb), icc_profile=profile)
    out, notes = load_rgb8(path)
    assert np.array_equal(out, rgb) and any("ICC" in n for n in notes)
    write_png(tmp_path / "canon.png", out)  # the canonical copy a codec sees has no profile
    assert b"iCCP" not in (tmp_path / "canon.png").read_bytes()


def test_exif_rotated_jpeg_is_shown_as_viewers_show_it(rgb, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored image must be turned 90 degrees clockwise for display
    out, notes = load_rgb8(save(tmp_path, "rot.jpg", Image.fromarray(rgb), exif=exif, quality=95))
    assert out.shape == (36, 24, 3) and "EXIF orientation applied" in notes
    clockwise, anticlockwise = np.rot90(rgb, -1).astype(int), np.rot90(rgb, 1).astype(int)
    assert np.abs(out - clockwise).mean() < 3 < np.abs(out - anticlockwise).mean()


def test_cmyk_needs_colour_management(rgb, tmp_path):
    with pytest.raises(ImageError, match="CMYK"):
        load_rgb8(save(tmp_path, "c.jpg", Image.fromarray(rgb).convert("CMYK")))


@pytest.mark.parametrize("h, w", [(7, 5), (1, 1), (13, 1)])
def test_odd_and_tiny_sizes_load_exactly(crop, tmp_path, h, w):
    src = crop(h, w)
    out, notes = load_rgb8(save(tmp_path, "odd.png", Image.fromarray(src)))
    assert np.array_equal(out, src) and notes == []


def test_read_png_accepts_only_8bit_rgb(rgb, tmp_path):
    with pytest.raises(ImageError, match="8-bit RGB"):
        read_png(save(tmp_path, "g.png", Image.fromarray(rgb[..., 0], "L")))
    with pytest.raises(ImageError, match="8-bit RGB"):
        read_png(png16(tmp_path, "rgb16.png", rgb.astype(np.uint16) * 257))


def test_write_png_is_atomic_and_exact(rgb, tmp_path):
    write_png(tmp_path / "x.png", rgb)
    assert np.array_equal(read_png(tmp_path / "x.png"), rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]  # no temp file left behind
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "y.png", rgb.astype(np.float32))
    assert not (tmp_path / "y.png").exists()


# ------------------------------------------------------------------------------- colour round trips


@pytest.mark.parametrize("matrix, full_range", [("bt709", True), ("bt709", False), ("bt601", True)])
def test_10bit_ycbcr_round_trip_reproduces_all_kodak_images(kodak_dir, matrix, full_range):
    paths = sorted(kodak_dir.glob("kodim*.png"))
    assert len(paths) == 24
    for path in paths:
        rgb = read_png(path)
        ycc = rgb_to_ycbcr(rgb, matrix, 10, full_range)
        assert ycc.dtype == np.uint16 and ycc.max() <= 1023
        rec = ycbcr_to_rgb(ycc, matrix, 10, full_range)
        err = rec.astype(np.float64) - rgb
        mse = np.mean(err**2)
        assert mse == 0 or 10 * np.log10(255**2 / mse) >= 50, path.name
        assert np.abs(err.mean(axis=(0, 1))).max() < 0.01, path.name


def test_ycbcr_rounds_rather_than_truncates(crop):
    rgb = crop(64, 64)
    err = ycbcr_to_rgb(rgb_to_ycbcr(rgb, "bt601", 8, True), "bt601", 8, True).astype(int) - rgb
    assert np.abs(err).max() <= 1 and abs(err.mean()) < 0.1  # truncation gives errors of 2+ and a -0.5 bias


def test_ycbcr_known_values():
    white_black = np.array([[[255, 255, 255], [0, 0, 0]]], np.uint8)
    assert rgb_to_ycbcr(white_black, "bt709", 10, True).tolist() == [[[1023, 512, 512], [0, 512, 512]]]
    assert rgb_to_ycbcr(white_black, "bt709", 10, False).tolist() == [[[940, 512, 512], [64, 512, 512]]]
    with pytest.raises(ValueError, match="bt601"):
        rgb_to_ycbcr(white_black, "smpte240m")


# ------------------------------------------------------------------------------------ 4:2:0, padding


@pytest.mark.parametrize("h, w", [(7, 5), (1, 1), (8, 6), (3, 10)])
def test_420_helpers_handle_odd_sizes(h, w):
    flat = np.full((h, w), 700, np.uint16)
    small = downsample_420(flat)
    assert small.shape == ((h + 1) // 2, (w + 1) // 2) and small.dtype == np.uint16
    back = upsample_420(small, h, w)
    assert back.shape == (h, w) and back.dtype == np.uint16 and np.all(back == 700)


def test_420_round_trip_of_a_real_chroma_plane_is_close(crop):
    cb = rgb_to_ycbcr(crop(61, 47), "bt709", 10, True)[..., 1]
    back = upsample_420(downsample_420(cb), 61, 47)
    assert back.shape == cb.shape
    err = back.astype(np.float64) - cb
    assert abs(err.mean()) < 0.5 and np.sqrt(np.mean(err**2)) < 12  # 10-bit codes; chroma is smooth


def test_420_downsample_is_the_rounded_2x2_mean():
    plane = np.array([[0, 1, 10], [2, 2, 20]], np.uint16)  # odd width: the last column is replicated
    assert downsample_420(plane).tolist() == [[1, 15]]


def test_pad_to_multiple_replicates_edges(crop):
    img = crop(5, 7)
    padded = pad_to_multiple(img, 4)
    assert padded.shape == (8, 8, 3)
    assert np.array_equal(padded[:5, :7], img) and np.array_equal(padded[7, 7], img[4, 6])


def test_tensor_round_trip_is_exact(crop):
    img = crop(9, 11)
    t = to_tensor(img)
    assert tuple(t.shape) == (1, 3, 9, 11) and float(t.max()) <= 1.0
    assert np.array_equal(from_tensor(t), img)
