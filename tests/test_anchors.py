"""The paper's anchors (BPG, VTM, JPEG AI), driven through stand-ins of their command lines.

The real tools are not installable here: ``tests/standins/`` holds scripts that parse the real
option names, write a payload whose rate follows the rate point, decode it back and record their
argv. Each test builds the layout a user would have (a bin folder, a VTM tree, a JPEG AI checkout)
with wrappers that run a stand-in under this interpreter. The colour path of the VTM adapter and
its SPS parser are tested for real (24 Kodak images; a libvvenc bitstream).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from rdbench import images
from rdbench.codecs import CodecError, codecs, create
from rdbench.codecs.bpg import BPG
from rdbench.codecs.jpegai import JPEGAI
from rdbench.codecs.vtm import VTM, rgb_to_yuv444, vvc_picture_size, yuv444_to_rgb

STANDINS = Path(__file__).parent / "standins"
ENV_VARS = ("RDBENCH_BPG_DIR", "RDBENCH_VTM_DIR", "RDBENCH_VTM_CFG", "RDBENCH_JPEGAI_DIR", "RDBENCH_JPEGAI_PYTHON",
            "RDBENCH_STANDIN_FAIL", "RDBENCH_STANDIN_PNG16")


def wrapper(path: Path, script: str) -> Path:
    """An executable `path` that runs standins/`script` with this interpreter (which has numpy, Pillow)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(STANDINS / script))} "$@"\n')
    path.chmod(0o755)
    return path


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real installation leaks in: empty PATH, no RDBENCH_* tool variables, argv log on."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("RDBENCH_STANDIN_LOG", str(tmp_path / "argv.jsonl"))


@pytest.fixture
def calls(tmp_path):
    """calls() -> the stand-in invocations so far, as dicts {tool, argv, cwd}."""
    log = tmp_path / "argv.jsonl"
    return lambda: [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


@pytest.fixture
def scratch(tmp_path, monkeypatch) -> Path:
    """The folder where scratch_dir() creates its temporary directories during the test."""
    path = tmp_path / "scratch"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def src(tmp_path, crop) -> Path:
    """A real 40x48 crop of kodim23 as the canonical source PNG."""
    path = tmp_path / "src.png"
    images.write_png(path, crop(40, 48))
    return path


@pytest.fixture
def bpg_dir(tmp_path) -> Path:
    for name in ("bpgenc", "bpgdec"):
        wrapper(tmp_path / "bpg" / name, f"{name}.py")
    return tmp_path / "bpg"


@pytest.fixture
def vtm_tree(tmp_path) -> Path:
    """A VTM checkout as cmake leaves it: bin/EncoderAppStatic, bin/DecoderAppStatic, cfg/encoder_intra_vtm.cfg."""
    root = tmp_path / "VVCSoftware_VTM"
    wrapper(root / "bin" / "EncoderAppStatic", "EncoderApp.py")
    wrapper(root / "bin" / "DecoderAppStatic", "DecoderApp.py")
    (root / "cfg").mkdir()
    (root / "cfg" / "encoder_intra_vtm.cfg").write_text("# all intra\nIntraPeriod : 1\nQP : 32\n")
    return root


@pytest.fixture
def jpegai_checkout(tmp_path) -> Path:
    """A JPEG AI VM checkout layout whose coder modules run the stand-ins, with a .git HEAD."""
    root = tmp_path / "jpeg-ai-reference-software"
    for module, script in (("encoder", "jpegai_encoder.py"), ("decoder", "jpegai_decoder.py")):
        path = root / "src" / "reco" / "coders" / f"{module}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"import runpy, sys\nsys.path.insert(0, {str(STANDINS)!r})\n"
                        f"runpy.run_path({str(STANDINS / script)!r}, run_name='__main__')\n")
    (root / "cfg" / "profiles").mkdir(parents=True)
    for name in ("tools_on", "tools_off", "profiles/simple", "profiles/main", "profiles/high"):
        (root / "cfg" / f"{name}.json").write_text(json.dumps({"name": name}))
    (root / ".git" / "refs" / "heads").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".git" / "refs" / "heads" / "main").write_text("0123456789abcdef0123456789abcdef01234567\n")
    return root


@pytest.fixture
def make(bpg_dir, vtm_tree, jpegai_checkout):
    """make(name, **options) -> an anchor codec wired to its stand-ins."""
    wiring = {"bpg": dict(bin_dir=bpg_dir), "vtm": dict(bin_dir=vtm_tree / "bin"),
              "jpegai": dict(checkout=jpegai_checkout, python=sys.executable)}
    return lambda name, **options: create(name, **{**wiring[name], **options})


TOOLS = {"bpg": ("bpgenc", "bpgdec"), "vtm": ("EncoderApp", "DecoderApp"),
         "jpegai": ("jpegai-encoder", "jpegai-decoder")}


# --------------------------------------------------------------------------- shared behaviour


def test_anchors_are_registered_and_skip_cleanly_when_absent():
    """Entry points resolve; with nothing installed each anchor is unavailable with its fix, never raising."""
    assert (codecs.get("bpg"), codecs.get("vtm"), codecs.get("jpegai")) == (BPG, VTM, JPEGAI)
    hints = {"bpg": "bellard.org/bpg", "vtm": "VVCSoftware_VTM", "jpegai": "obtain the JPEG AI reference software"}
    for name, hint in hints.items():
        status = create(name).available()
        assert not status and hint in status.reason and "\n" not in status.reason


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_round_trip_rate_rises_with_point(name, make, crop, tmp_path, scratch):
    codec = make(name)
    assert codec.available(), codec.available().reason
    src, rgb = tmp_path / "src.png", crop(128, 192)  # large enough for the JPEG AI stand-in to reach 0.06 bpp
    images.write_png(src, rgb)
    low, high = codec.points()[0], codec.points()[-1]
    bpp, quality = [], []
    for point in (low, high):
        stream, out = tmp_path / f"{point}.bin", tmp_path / f"{point}.png"
        codec.encode(src, point, stream)
        codec.decode(stream, out)
        rec = images.read_png(out)  # 8-bit RGB or it raises
        assert rec.shape == rgb.shape
        bpp.append(8 * stream.stat().st_size / (rgb.shape[0] * rgb.shape[1]))
        quality.append(psnr(rgb, rec))
    assert 0 < bpp[0] < bpp[1] and quality[0] < quality[1]
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("name", sorted(TOOLS))
@pytest.mark.parametrize("stage", ["encode", "decode"])
@pytest.mark.parametrize("mode", ["exit", "hang", "no-output", "garbage"])
def test_failures_raise_codec_error_and_clean_up(name, stage, mode, make, src, tmp_path, scratch, monkeypatch):
    if (name, stage, mode) == ("jpegai", "encode", "garbage"):
        pytest.skip("the JPEG AI stream format is not checked at encode (see test_jpegai_garbage_stream)")
    codec = make(name)
    stream, out = tmp_path / "a.bin", tmp_path / "a.png"
    if stage == "decode":
        codec.encode(src, codec.points()[0], stream)
    if mode == "hang":
        codec.timeout = 1.0
    monkeypatch.setenv("RDBENCH_STANDIN_FAIL", f"{TOOLS[name][stage == 'decode']}:{mode}")
    with pytest.raises(CodecError) as info:
        codec.encode(src, codec.points()[0], stream) if stage == "encode" else codec.decode(stream, out)
    err = info.value
    assert err.command and Path(err.command[0]).name in {"bpgenc", "bpgdec", "EncoderAppStatic", "DecoderAppStatic",
                                                         Path(sys.executable).name}
    if mode == "exit":
        assert err.returncode == 3 and "injected failure" in err.stderr_tail
    elif mode == "hang":
        assert "timed out after 1 s" in str(err)
    else:  # the message names the missing or unusable file, which lived in the scratch folder
        assert str(scratch) in str(err)
    assert list(scratch.iterdir()) == []
    assert not (out if stage == "decode" else stream).exists()


# ----------------------------------------------------------------------------------------- BPG


def test_bpg_commands(make, src, tmp_path, calls, bpg_dir):
    codec = make("bpg", level=7)
    codec.encode(src, 37, tmp_path / "a.bpg")
    codec.decode(tmp_path / "a.bpg", tmp_path / "a.png")
    enc, dec = calls()
    assert enc["tool"] == "bpgenc" and enc["argv"][0] == "-o" and Path(enc["argv"][1]).name == "out.bpg"
    assert enc["argv"][2:] == ["-q", "37", "-f", "444", "-b", "8", "-c", "ycbcr", "-e", "x265", "-m", "7", str(src)]
    assert dec["tool"] == "bpgdec" and dec["argv"][0] == "-o" and dec["argv"][2:] == [str(tmp_path / "a.bpg")]
    assert (tmp_path / "a.bpg").read_bytes()[:4] == b"BPG\xfb"
    described = codec.describe()
    assert described["points"] == [47, 42, 37, 32, 27, 22] and "-m 7" in described["encode"]
    assert set(described["sha256"]) == {str(bpg_dir / "bpgenc"), str(bpg_dir / "bpgdec")}


def test_bpg_normalises_16bit_png(make, src, tmp_path, monkeypatch):
    codec = make("bpg")
    codec.encode(src, 27, tmp_path / "a.bpg")
    codec.decode(tmp_path / "a.bpg", tmp_path / "a8.png")
    monkeypatch.setenv("RDBENCH_STANDIN_PNG16", "1")
    codec.decode(tmp_path / "a.bpg", tmp_path / "a16.png")
    assert images._png_bit_depth(tmp_path / "a16.png") == 8
    np.testing.assert_array_equal(images.read_png(tmp_path / "a16.png"), images.read_png(tmp_path / "a8.png"))


def test_bpg_discovery(bpg_dir, tmp_path, monkeypatch):
    assert not BPG(bin_dir=tmp_path / "empty-path").available()
    only_enc = tmp_path / "only-enc"
    wrapper(only_enc / "bpgenc", "bpgenc.py")
    reason = BPG(bin_dir=only_enc).available().reason
    assert reason.startswith("bpgdec not found") and "RDBENCH_BPG_DIR" in reason
    monkeypatch.setenv("RDBENCH_BPG_DIR", str(bpg_dir))
    assert BPG().available() and BPG().bpgenc == str(bpg_dir / "bpgenc")
    monkeypatch.delenv("RDBENCH_BPG_DIR")
    monkeypatch.setenv("PATH", str(bpg_dir))
    assert BPG().available()


def test_bpg_unavailable_refuses_to_run(src, tmp_path):
    with pytest.raises(CodecError, match="bpg is not available: bpgenc and bpgdec not found"):
        BPG().encode(src, 37, tmp_path / "a.bpg")


@pytest.mark.parametrize("options, message", [
    (dict(points=[22, 47]), "strictly decreasing"), (dict(points=[52]), "0..51"), (dict(points=[30.5]), "integer"),
    (dict(level=0), "1..9"), (dict(encoder="ffmpeg"), "'x265' or 'jctvc'"), (dict(timeout=0), "timeout")])
def test_bpg_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        BPG(**options)


# ----------------------------------------------------------------------------------------- VTM


def test_vtm_commands_and_conformance_window(make, crop, tmp_path, calls, vtm_tree):
    """37x29 is no multiple of 8: the stream signals the crop, and decoding needs only the .bin."""
    src = tmp_path / "odd.png"
    images.write_png(src, crop(29, 37))
    codec = make("vtm", extra_args=["--Level=6.2"])
    assert codec.cfg == vtm_tree / "cfg" / "encoder_intra_vtm.cfg"  # found next to bin/
    codec.encode(src, 32, tmp_path / "a.bin")
    assert vvc_picture_size((tmp_path / "a.bin").read_bytes()) == (37, 29, 3)
    codec.decode(tmp_path / "a.bin", tmp_path / "a.png")
    assert images.read_png(tmp_path / "a.png").shape == (29, 37, 3)
    enc, dec = calls()
    argv = enc["argv"]
    assert argv[:4] == ["-c", str(codec.cfg), "-i", argv[3]] and Path(argv[3]).name == "in.yuv"
    assert argv[4] == "-b" and Path(argv[5]).name == "out.bin" and argv[6:8] == ["-o", os.devnull]
    assert argv[8:] == ["--SourceWidth=37", "--SourceHeight=29", "--FrameRate=1", "--FramesToBeEncoded=1",
                        "--InputBitDepth=10", "--InternalBitDepth=10", "--OutputBitDepth=10",
                        "--InputChromaFormat=444", "--ChromaFormatIDC=444", "--ConformanceWindowMode=1",
                        "--QP=32", "--Level=6.2"]
    assert dec["argv"][:3] == ["-b", str(tmp_path / "a.bin"), "-o"] and dec["argv"][4:] == ["-d", "10"]
    assert Path(dec["argv"][3]).name == "out.yuv"
    assert "sha256" in codec.describe() and str(codec.cfg) in codec.describe()["sha256"]


def test_vtm_discovery(vtm_tree, tmp_path, monkeypatch):
    reason = VTM().available().reason
    assert "EncoderApp (or EncoderAppStatic)" in reason and "RDBENCH_VTM_DIR" in reason and "cmake" in reason
    monkeypatch.setenv("RDBENCH_VTM_DIR", str(vtm_tree / "bin"))
    assert VTM().available()
    monkeypatch.setenv("RDBENCH_VTM_CFG", str(tmp_path / "missing.cfg"))
    reason = VTM().available().reason
    assert "encoder_intra_vtm.cfg not found" in reason and "missing.cfg" in reason
    bare = tmp_path / "bare-bin"  # binaries without a cfg/ beside them, no cfg configured
    wrapper(bare / "EncoderApp", "EncoderApp.py")
    wrapper(bare / "DecoderApp", "DecoderApp.py")
    monkeypatch.delenv("RDBENCH_VTM_CFG")
    assert "RDBENCH_VTM_CFG" in VTM(bin_dir=bare).available().reason
    assert VTM(bin_dir=bare, cfg=vtm_tree / "cfg" / "encoder_intra_vtm.cfg").available()


@pytest.mark.parametrize("options, message", [
    (dict(points=[22, 27]), "strictly decreasing"), (dict(points=[64]), "0..63"), (dict(matrix="srgb"), "bt709"),
    (dict(extra_args=["-q", "3"]), "--Name=value"), (dict(timeout=-1), "timeout")])
def test_vtm_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        VTM(**options)


def test_vtm_checks_the_stream_it_gets(make, src, tmp_path, monkeypatch, scratch):
    """An SPS that disagrees with the source is caught at encode; a non-VVC file is refused at decode."""
    codec = make("vtm")
    monkeypatch.setenv("RDBENCH_STANDIN_FAIL", "EncoderApp:wrong-size")
    with pytest.raises(CodecError, match=r"signals 45x40 chroma_format_idc 3, expected 48x40 4:4:4"):
        codec.encode(src, 37, tmp_path / "a.bin")
    assert not (tmp_path / "a.bin").exists() and list(scratch.iterdir()) == []
    with pytest.raises(CodecError, match=f"{src} is not a VVC bitstream: no sequence parameter set"):
        codec.decode(src, tmp_path / "x.png")


def test_sps_parser_on_a_real_vvc_stream(tmp_path):
    """libvvenc (imageio-ffmpeg's ffmpeg) writes a 98x54 4:2:0 picture padded to 104x56 with a conformance window."""
    import imageio_ffmpeg

    ffmpeg, out = imageio_ffmpeg.get_ffmpeg_exe(), tmp_path / "real.266"
    if "libvvenc" not in subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout:
        pytest.skip("this ffmpeg build has no libvvenc")
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=98x54:rate=1",
                    "-frames:v", "1", "-pix_fmt", "yuv420p10le", "-c:v", "libvvenc", "-preset", "faster", str(out)],
                   check=True, capture_output=True, timeout=120)
    assert vvc_picture_size(out.read_bytes()) == (98, 54, 1)


@pytest.mark.parametrize("data, message", [
    (b"", "no sequence parameter set"), (b"\x00\x00\x01\x00\xa1\x10", "no sequence parameter set"),
    (b"\x00\x00\x01\x00\x79\x00\x0b", "truncated")])
def test_sps_parser_rejects_garbage(data, message):
    with pytest.raises(ValueError, match=message):
        vvc_picture_size(data)


def kodak_round_trip_psnrs(kodim, round_trip) -> list[float]:
    """RGB PSNR of round_trip(rgb) for all 24 Kodak images."""
    out = []
    for n in range(1, 25):
        rgb, _ = images.load_rgb8(kodim(n))
        out.append(psnr(rgb, round_trip(rgb)))
    return out


def truncating_8bit_round_trip(rgb: np.ndarray) -> np.ndarray:
    """CompressAI bench's VTM colour path: float BT.709 YCbCr, `(x * 255).astype(uint8)` both ways."""
    kr, kb = 0.2126, 0.0722
    x = rgb / 255.0
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    ycc = np.stack([y, (x[..., 2] - y) / (2 * (1 - kb)) + 0.5, (x[..., 0] - y) / (2 * (1 - kr)) + 0.5], -1)
    ycc = (np.clip(ycc, 0, 1) * 255).astype(np.uint8) / 255.0
    y, cb, cr = ycc[..., 0], ycc[..., 1] - 0.5, ycc[..., 2] - 0.5
    r, b = y + 2 * (1 - kr) * cr, y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return (np.clip(np.stack([r, g, b], -1), 0, 1) * 255).astype(np.uint8)


def test_vtm_colour_path_is_near_lossless_on_kodak(kodim):
    """8-bit RGB -> 10-bit YCbCr planes (the bytes VTM reads) -> 8-bit RGB: >= 50 dB on every image."""

    def adapter_path(rgb):
        height, width = rgb.shape[:2]
        return yuv444_to_rgb(rgb_to_yuv444(rgb, "bt709"), width, height, "bt709")

    values = kodak_round_trip_psnrs(kodim, adapter_path)
    assert min(values) >= 50.0, values
    assert values == [float("inf")] * 24  # measured: 10-bit rounding makes it exact (8-bit rounding: ~53 dB)


def test_truncating_8bit_colour_path_fails_the_threshold(kodim):
    """The check above can fail: the truncating 8-bit path loses ~6 dB and stays below 50 dB on every image."""
    values = kodak_round_trip_psnrs(kodim, truncating_8bit_round_trip)
    assert max(values) < 50.0 and 40.0 < min(values), values


def test_yuv_reader_rejects_out_of_range_samples():
    data = np.full((3, 2, 2), 1024, dtype="<u2").tobytes()
    with pytest.raises(ValueError, match="exceeds 1023"):
        yuv444_to_rgb(data, 2, 2)
    with pytest.raises(ValueError, match="expected 24"):
        yuv444_to_rgb(data[:-2], 2, 2)


# ------------------------------------------------------------------------------------- JPEG AI


def test_jpegai_commands(make, src, tmp_path, calls, jpegai_checkout):
    codec = make("jpegai", profile="main", points=["0.06", 0.5])
    assert codec.points() == [0.06, 0.5]
    codec.encode(src, 0.06, tmp_path / "a.bin")
    codec.decode(tmp_path / "a.bin", tmp_path / "a.png")
    enc, dec = calls()
    assert enc["cwd"] == dec["cwd"] == str(jpegai_checkout)
    assert enc["argv"][0] == str(src.resolve()) and Path(enc["argv"][1]).name == "out.bin"
    assert Path(enc["argv"][1]).is_absolute()
    assert enc["argv"][2:] == ["--set_target_bpp", "6", "--cfg", "cfg/tools_on.json", "cfg/profiles/main.json"]
    assert dec["argv"][0] == str((tmp_path / "a.bin").resolve()) and Path(dec["argv"][1]).name == "out.png"
    described = codec.describe()
    assert described["profile"] == "main" and described["git_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert set(described["cfg_sha256"]) == {"cfg/tools_on.json", "cfg/profiles/main.json"}


def test_jpegai_discovery(jpegai_checkout, tmp_path, monkeypatch):
    assert "RDBENCH_JPEGAI_DIR" in JPEGAI().available().reason
    monkeypatch.setenv("RDBENCH_JPEGAI_DIR", str(jpegai_checkout))
    assert "RDBENCH_JPEGAI_PYTHON" in JPEGAI().available().reason
    monkeypatch.setenv("RDBENCH_JPEGAI_PYTHON", str(tmp_path / "no-python"))
    assert "not an executable file" in JPEGAI().available().reason
    monkeypatch.setenv("RDBENCH_JPEGAI_PYTHON", sys.executable)
    assert JPEGAI().available()
    (jpegai_checkout / "cfg" / "profiles" / "simple.json").unlink()
    reason = JPEGAI(profile="simple").available().reason
    assert "missing cfg/profiles/simple.json" in reason and "obtain the JPEG AI reference software" in reason
    assert "missing src/reco/coders/encoder.py" in JPEGAI(checkout=tmp_path).available().reason


def test_jpegai_garbage_stream(make, src, tmp_path, monkeypatch):
    """The stream format is the VM's: a garbage stream passes encode and fails at decode, with the decoder's stderr."""
    codec = make("jpegai")
    monkeypatch.setenv("RDBENCH_STANDIN_FAIL", "jpegai-encoder:garbage")
    codec.encode(src, 0.25, tmp_path / "a.bin")
    with pytest.raises(CodecError, match="not a stand-in JPEG AI stream") as info:
        codec.decode(tmp_path / "a.bin", tmp_path / "a.png")
    assert info.value.returncode == 1 and not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("options, message", [
    (dict(profile="base"), "simple, main, high"), (dict(tools="some"), "tools_on.json"),
    (dict(points=[0.125]), "multiple of 0.01"), (dict(points=[0.5, 0.25]), "strictly increasing"),
    (dict(points=[0]), "positive"), (dict(timeout=0), "timeout")])
def test_jpegai_rejects_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        JPEGAI(**options)
