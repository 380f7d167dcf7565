"""The anchors' edges as the real tools have them (bpgenc 0.9.8, VTM 23.13), through stand-ins that
behave the same: bpgenc's SIGSEGV on tiny pictures, VTM options that cannot work with the adapter."""

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from rdbench import images, run
from rdbench.codecs import CodecError, create
from rdbench.codecs.base import run_command

STANDINS = Path(__file__).parent / "standins"


@pytest.fixture
def bpg_dir(tmp_path, monkeypatch):
    folder = tmp_path / "bpg"
    folder.mkdir()
    for name in ("bpgenc", "bpgdec"):
        path = folder / name
        path.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(STANDINS / f"{name}.py"))} "$@"\n')
        path.chmod(0o755)
    monkeypatch.setenv("RDBENCH_STANDIN_LOG", str(tmp_path / "argv.jsonl"))
    return folder


def _png(path, height, width):
    images.write_png(path, np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    return path


def test_a_tool_killed_by_a_signal_is_named_with_it(bpg_dir, tmp_path):
    tiny = _png(tmp_path / "tiny.png", 16, 16)
    with pytest.raises(CodecError) as err:  # the stand-in, like bpgenc 0.9.8, segfaults on 16x16
        run_command([bpg_dir / "bpgenc", "-o", tmp_path / "o.bpg", "-q", "32", tiny])
    message = str(err.value)
    assert "exit code: -11 (killed by signal SIGSEGV: Segmentation fault" in message
    assert "stderr: (empty)" in message


def test_bpg_refuses_a_size_bpgenc_crashes_on_before_calling_it(bpg_dir, tmp_path):
    codec = create("bpg", bin_dir=str(bpg_dir))
    for height, width in ((16, 16), (8, 12)):
        with pytest.raises(CodecError, match=f"crashes \\(SIGSEGV\\) on pictures of 16x16 and smaller; this one is "
                                             f"{width}x{height}"):
            codec.encode(_png(tmp_path / "t.png", height, width), 32, tmp_path / "t.bpg")
    assert not (tmp_path / "argv.jsonl").exists()  # bpgenc was never called
    codec.encode(_png(tmp_path / "w.png", 16, 17), 32, tmp_path / "w.bpg")  # one side over 16 codes
    assert [json.loads(line)["tool"] for line in (tmp_path / "argv.jsonl").read_text().splitlines()] == ["bpgenc"]


def test_the_harness_asks_the_codec_about_each_size_before_encoding(bpg_dir, tmp_path, monkeypatch):
    folder = tmp_path / "set"
    folder.mkdir()
    _png(folder / "big.png", 24, 32)
    _png(folder / "tiny.png", 12, 12)
    index = run.prepare(str(folder), tmp_path / "prep")
    with pytest.raises(run.CellError, match="(?s)1 of 2 image.*tiny: CodecError: bpg: bpgenc 0.9.8 crashes"):
        run.code_cell("bpg", {"bin_dir": str(bpg_dir)}, index, "32", tmp_path / "coded")
    assert (tmp_path / "coded" / "big.json").is_file()
    calls = [json.loads(line) for line in (tmp_path / "argv.jsonl").read_text().splitlines()]
    assert [c["tool"] for c in calls] == ["bpgenc", "bpgdec"]  # for big only


@pytest.mark.parametrize("arg, reason", [
    ("--Profile=main_10", "profile main_10 has no 4:4:4"),
    ("--QP=30", "overrides --QP, which the adapter sets"),
    ("--InputBitDepth=8", "overrides --InputBitDepth"),
    ("--ChromaFormatIDC=420", "overrides --ChromaFormatIDC"),
])
def test_vtm_extra_args_that_cannot_work_are_refused_when_configured(arg, reason):
    with pytest.raises(ValueError, match=reason):
        create("vtm", extra_args=[arg])


def test_vtm_extra_args_that_can_work_pass():
    codec = create("vtm", extra_args=["--Profile=main_10_444_still_picture", "--Level=6.2", "--Profile=auto"])
    assert codec.extra_args[1] == "--Level=6.2"
