"""Input images that used to pass wrongly: 16-bit TIFF, and images too large to decode safely."""

import struct
import zlib

import imagecodecs
import numpy as np
import pytest

from rdbench import images, run


def _wide(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)


def test_16_bit_rgb_tiff_is_rounded_as_documented_not_truncated(tmp_path):
    data = _wide((6, 7, 3))
    data[0, 0] = [200, 32767, 65535]  # rint(x / 257): 1, 127, 255; x >> 8 would give 0, 127, 255
    path = tmp_path / "rgb16.tif"
    path.write_bytes(imagecodecs.tiff_encode(data))
    rgb, notes = images.load_rgb8(path)
    assert np.array_equal(rgb, np.rint(data / 257.0).astype(np.uint8))
    assert not np.array_equal(rgb, (data >> 8).astype(np.uint8))
    assert "16-bit TIFF rounded to 8 bits" in notes


def test_16_bit_grey_tiff_is_converted_not_refused(tmp_path):
    grey = _wide((5, 9), seed=1)
    path = tmp_path / "grey16.tif"
    path.write_bytes(imagecodecs.tiff_encode(grey))
    rgb, notes = images.load_rgb8(path)
    assert rgb.shape == (5, 9, 3)
    assert np.array_equal(rgb, np.repeat(np.rint(grey / 257.0).astype(np.uint8)[..., None], 3, axis=2))
    assert any("16-bit TIFF rounded" in n for n in notes)


def _png_header_only(path, width, height):
    """A PNG whose IHDR claims width x height and whose one IDAT holds a few bytes: a bomb's header."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    bomb = _png_header_only(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(images.ImageError, match=r"bomb.png: 20000x20000 is 400.0 Mpx, over the limit of 100 Mpx "
                                                r"\(setting max_pixels"):
        images.load_rgb8(bomb)  # the header alone: its pixel data would not even decode
    small = tmp_path / "small.png"
    images.write_png(small, np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(images.ImageError, match="over the limit of 0.0001 Mpx"):
        images.load_rgb8(small, max_pixels=100)
    assert images.load_rgb8(small, max_pixels=120)[0].shape == (10, 12, 3)


def test_prepare_applies_the_max_pixels_setting_and_writes_no_index(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    images.write_png(folder / "a.png", np.zeros((10, 12, 3), np.uint8))
    _png_header_only(folder / "b.png", 20000, 20000)
    with pytest.raises(images.ImageError, match="(?s)1 image.*b.png: 20000x20000"):
        run.prepare(str(folder), tmp_path / "prep")
    with pytest.raises(images.ImageError, match="a.png: 12x10 .* over the limit"):
        run.prepare(str(folder), tmp_path / "prep", max_pixels=100)
    assert not (tmp_path / "prep" / "index.json").exists()


@pytest.mark.parametrize("n", ["-1", "0", "two"])
def test_rdbench_run_refuses_an_image_count_below_one(n, tmp_path, capsys):
    from rdbench import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--codec", "jpeg", "--dataset", "kodak", "--out", str(tmp_path / "o"), "--images", n])
    assert exit_.value.code == 2
    assert f"argument --images: invalid integer >= 1 value: '{n}'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("n", [-1, 0, True])
def test_prepare_refuses_an_image_count_below_one(n, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    images.write_png(folder / "a.png", np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(ValueError, match=f"max_images must be an integer >= 1 or null .*got {n!r}"):
        run.prepare(str(folder), tmp_path / "prep", max_images=n)
    assert not (tmp_path / "prep").exists()
