"""The seven classical codecs on real Kodak pixels: round trips through the file alone, odd sizes,
unavailable paths, and the colour pipelines of the two video codecs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rdbench.codecs import CodecError, create
from rdbench.images import read_png, write_png

CLASSICAL = ["jpeg", "jpeg2000", "webp", "avif", "jpegxl", "hevc444", "vvc420"]
# Elsewhere than the Kodak round trip, the same pipeline with a faster vvenc preset keeps the suite quick.
QUICK = {"vvc420": {"preset": "faster"}}

DECODE_IN_FRESH_PROCESS = """
import json, sys
from rdbench.codecs import create
codec = create(sys.argv[1], **json.loads(sys.argv[2]))
for bitstream, out_png in zip(sys.argv[3::2], sys.argv[4::2]):
    codec.decode(bitstream, out_png)
"""


def make(name: str, **options):
    return create(name, **{**QUICK.get(name, {}), **options})


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def write_crop(crop, tmp_path: Path, h: int, w: int) -> Path:
    path = tmp_path / f"crop_{h}x{w}.png"
    write_png(path, crop(h, w))
    return path


@pytest.mark.parametrize("name", CLASSICAL)
def test_kodak_round_trip_decoded_in_a_fresh_process(name, photo, tmp_path):
    codec = create(name)  # default options: the configuration a benchmark runs
    assert codec.available(), codec.available().reason
    ref = read_png(photo)
    h, w = ref.shape[:2]
    low, high = codec.points()[0], codec.points()[-2]
    files = {p: tmp_path / f"{name}_{p}.bin" for p in (low, high)}
    for point, path in files.items():
        codec.encode(photo, point, path)
        assert path.is_file() and path.stat().st_size > 0
    args = [a for p, path in files.items() for a in (str(path), str(tmp_path / f"out_{p}.png"))]
    proc = subprocess.run([sys.executable, "-c", DECODE_IN_FRESH_PROCESS, name, "{}", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = {}
    for point, path in files.items():
        rec = read_png(tmp_path / f"out_{point}.png")  # raises unless 8-bit RGB
        assert rec.shape == ref.shape and rec.dtype == np.uint8
        result[point] = (8 * path.stat().st_size / (h * w), psnr(ref, rec))
    (bpp_low, psnr_low), (bpp_high, psnr_high) = result[low], result[high]
    assert 0.005 < bpp_low < 0.6, result
    assert bpp_low < bpp_high < 4.0, result
    assert 22 < psnr_low < psnr_high - 3, result


@pytest.mark.parametrize("name", CLASSICAL)
def test_odd_and_tiny_sizes_round_trip(name, crop, tmp_path):
    encoder, decoder = make(name), make(name)  # decoding uses only the file and a new instance
    top = encoder.points()[-1]
    for h, w in [(1, 1), (7, 5), (33, 17)]:
        src = write_crop(crop, tmp_path, h, w)
        encoder.encode(src, top, tmp_path / "b.bin")
        decoder.decode(tmp_path / "b.bin", tmp_path / "out.png")
        rec = read_png(tmp_path / "out.png")
        assert rec.shape == (h, w, 3)
        assert psnr(read_png(src), rec) > 30, (h, w)


@pytest.mark.parametrize("name", CLASSICAL)
def test_describe_names_versions_and_colour(name):
    info = make(name).describe()
    json.dumps(info)  # goes into the JSON manifest
    assert info["name"] == name and info["points"] == make(name).points()
    assert any(ch.isdigit() for ch in info["library"]), info["library"]
    assert info["colour"]


@pytest.mark.parametrize("name, bad", [("jpeg", 0), ("jpeg", 101), ("jpeg2000", 5), ("webp", -1), ("avif", 101),
                                       ("jpegxl", 30), ("hevc444", 51), ("hevc444", 36.5), ("vvc420", 64)])
def test_bad_points_name_the_allowed_range(name, bad):
    with pytest.raises(ValueError, match=name):
        create(name, points=[bad])


def test_default_ladders_ascend_in_rate_on_a_crop(crop, tmp_path):
    src = write_crop(crop, tmp_path, 64, 96)
    for name in CLASSICAL:
        codec = make(name)
        sizes = []
        for point in codec.points():
            codec.encode(src, point, tmp_path / "b.bin")
            sizes.append((tmp_path / "b.bin").stat().st_size)
        assert len(sizes) >= 6 and sizes == sorted(sizes), (name, sizes)


# ------------------------------------------------------------------------------------ unavailable


def test_vvc_with_missing_ffmpeg_says_why_and_raises_with_the_command(crop, tmp_path):
    codec = create("vvc420", ffmpeg="/nonexistent/ffmpeg")
    status = codec.available()
    assert not status and "/nonexistent/ffmpeg" in status.reason and "imageio-ffmpeg" in status.reason
    src = write_crop(crop, tmp_path, 16, 16)
    with pytest.raises(CodecError) as err:
        codec.encode(src, 37, tmp_path / "b.bin")
    assert err.value.command[0] == "/nonexistent/ffmpeg" and "libvvenc" in err.value.command
    assert not (tmp_path / "b.bin").exists()


def test_vvc_with_an_ffmpeg_lacking_vvenc_says_so():
    true = shutil.which("true")
    if true is None:
        pytest.skip("no `true` program")
    status = create("vvc420", ffmpeg=true).available()
    assert not status and "libvvenc" in status.reason


def test_still_codec_without_its_library_format(monkeypatch, crop, tmp_path):
    import imagecodecs

    monkeypatch.setattr(imagecodecs.AVIF, "available", False)
    codec = create("avif")
    status = codec.available()
    assert not status and "AVIF" in status.reason and "pip install" in status.reason
    with pytest.raises(CodecError, match="not available"):
        codec.encode(write_crop(crop, tmp_path, 8, 8), 50, tmp_path / "b.bin")


def test_hevc_without_libx265_says_so(monkeypatch):
    import av

    monkeypatch.setattr(av, "codecs_available", set(av.codecs_available) - {"libx265"})
    status = create("hevc444").available()
    assert not status and "libx265" in status.reason


@pytest.mark.parametrize("name", ["hevc444", "vvc420"])
def test_video_bitstream_without_header_is_refused(name, tmp_path):
    (tmp_path / "short.bin").write_bytes(b"\x00\x03")
    with pytest.raises(CodecError, match="too short"):
        create(name).decode(tmp_path / "short.bin", tmp_path / "out.png")


# ----------------------------------------------------------------------------------------- colour


def rgb_cube(step: int = 3) -> np.ndarray:
    v = np.arange(0, 256, step, dtype=np.uint8)
    return np.stack(np.meshgrid(v, v, v, indexing="ij"), -1).reshape(-1, 1, 3)


def test_hevc444_colour_pipeline_8bit_bt601_full_range_has_no_bias(kodak_dir):
    from rdbench.codecs.hevc import planes_to_rgb, rgb_to_planes

    cube = rgb_cube()
    err = planes_to_rgb(rgb_to_planes(cube)).astype(np.float64) - cube
    assert np.abs(err).max() <= 1  # rounding, never truncation (that would give -1 bias and errors of 2+)
    assert np.abs(err.mean(axis=(0, 1))).max() < 0.005
    total, count = np.zeros(3), 0
    for path in sorted(kodak_dir.glob("kodim*.png")):
        rgb = read_png(path)
        rec = planes_to_rgb(rgb_to_planes(rgb))
        assert psnr(rgb, rec) > 50, path.name
        total += (rec.astype(np.float64) - rgb).sum(axis=(0, 1))
        count += rgb.shape[0] * rgb.shape[1]
    assert np.abs(total / count).max() < 0.05


def test_vvc420_colour_pipeline_10bit(photo):
    from rdbench.codecs.vvc import planes_to_rgb, rgb_to_planes
    from rdbench.images import rgb_to_ycbcr, ycbcr_to_rgb

    cube = rgb_cube()
    assert np.array_equal(ycbcr_to_rgb(rgb_to_ycbcr(cube, "bt709", 10, True), "bt709", 10, True), cube)
    rgb = read_png(photo)
    planes = rgb_to_planes(rgb)
    assert planes[0].shape == rgb.shape[:2] and planes[1].shape == (rgb.shape[0] // 2, rgb.shape[1] // 2)
    assert max(int(p.max()) for p in planes) <= 1023
    rec = planes_to_rgb(planes)
    assert psnr(rgb, rec) > 38  # only 4:2:0 loses anything
    assert np.abs((rec.astype(np.float64) - rgb).mean(axis=(0, 1))).max() < 0.1


@pytest.mark.parametrize("name", ["hevc444", "vvc420"])
def test_codec_at_top_quality_reproduces_its_colour_pipeline(name, crop, tmp_path):
    """Near-lossless coding lands on the no-codec pipeline: ffmpeg/PyAV converted no colours."""
    from importlib import import_module

    module = import_module({"hevc444": "rdbench.codecs.hevc", "vvc420": "rdbench.codecs.vvc"}[name])
    src = write_crop(crop, tmp_path, 64, 96)
    rgb = read_png(src)
    codec = make(name)
    codec.encode(src, 0, tmp_path / "b.bin")
    codec.decode(tmp_path / "b.bin", tmp_path / "out.png")
    pipeline = module.planes_to_rgb(module.rgb_to_planes(rgb))
    assert psnr(pipeline, read_png(tmp_path / "out.png")) > 50


def test_hevc444_stream_signals_full_range_bt601_and_is_standard(crop, tmp_path):
    import io

    import av

    src = write_crop(crop, tmp_path, 40, 56)
    create("hevc444").encode(src, 37, tmp_path / "b.bin")
    data = (tmp_path / "b.bin").read_bytes()
    assert data[:4] == bytes([0, 56, 0, 40]) and data[4:8] == b"\x00\x00\x00\x01"  # header, then Annex B
    with av.open(io.BytesIO(data[4:]), format="hevc") as container:
        frame = next(container.decode(video=0))
    assert frame.format.name == "yuv444p" and (frame.width, frame.height) == (56, 40)
    assert frame.color_range == 2 and frame.colorspace == 6  # JPEG (full) range, BT.601 (smpte170m)


def test_vvc420_stream_signals_range_and_matrix(crop, tmp_path):
    codec = make("vvc420")
    src = write_crop(crop, tmp_path, 40, 56)
    codec.encode(src, 37, tmp_path / "b.bin")
    (tmp_path / "b.266").write_bytes((tmp_path / "b.bin").read_bytes()[4:])
    probe = subprocess.run([codec.ffmpeg, "-hide_banner", "-i", str(tmp_path / "b.266")], capture_output=True,
                           text=True, env={**os.environ, "LC_ALL": "C"})
    assert "yuv420p10le(pc, bt709/bt709/iec61966-2-1" in probe.stderr, probe.stderr


def test_benchmark_script_prints_a_table(kodak_dir):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "codecs.py"
    proc = subprocess.run([sys.executable, str(script), "--data", str(kodak_dir), "--images", "1",
                           "--codecs", "jpeg,nonexistent-codec", "--points", "10,90", "--no-workflow"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("jpeg ")]
    assert [r[1] for r in rows] == ["10", "90"] and float(rows[0][2]) < float(rows[1][2])  # bpp rises
    assert "skipped nonexistent-codec" in proc.stdout
