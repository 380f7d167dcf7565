"""Start-up: a command or a job imports only what it uses (issue 14; timings in benchmarks/workflow.py).

Each check runs in a fresh interpreter and reads ``sys.modules`` afterwards, so it fails as soon as a
listing command or a classical codec pulls in torch or compressai again.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "torchvision", "compressai", "torch_geometric", "scipy", "pandas", "matplotlib")


def heavy_modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["codecs"], ["codecs", "--json"], ["datasets"], ["complexity", "--help"],
                                  ["train", "--help"], ["bd", "--help"]])
def test_listing_commands_import_no_heavy_library(argv):
    code = f"import contextlib, io\nfrom rdbench.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n" \
           f"    try:\n        main({argv!r})\n    except SystemExit:\n        pass"
    assert heavy_modules_after(code) == []


def test_rdbench_codecs_still_checks_learned_codecs():
    code = "from rdbench.codecs import create\nprint(create('treenet').available(), create('mbt2018-mean').available())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "`rdbench learned list` prints its URL" in out


@pytest.mark.parametrize("codec", ["jpeg", "webp", "avif", "jpegxl", "jpeg2000", "hevc444", "vvc420"])
def test_classical_codecs_never_import_torch(codec, kodim, tmp_path):
    src = kodim(23)
    code = (f"from pathlib import Path\nfrom rdbench.codecs import create\nfrom rdbench.images import load_rgb8, write_png\n"
            f"c = create({codec!r})\nwrite_png(Path({str(tmp_path)!r}) / 'in.png', load_rgb8(Path({str(src)!r}))[0])\n"
            f"c.encode(Path({str(tmp_path)!r}) / 'in.png', c.points()[0], Path({str(tmp_path)!r}) / 'x.bin')\n"
            f"c.decode(Path({str(tmp_path)!r}) / 'x.bin', Path({str(tmp_path)!r}) / 'out.png')")
    assert [m for m in heavy_modules_after(code) if m.startswith("torch") or m == "compressai"] == []


def test_a_psnr_and_ms_ssim_measure_job_never_imports_torch(kodim, tmp_path):
    """What a measure job runs for classical metrics loads no torch (about 2 s a job); the shim
    (workflow/scripts/measure.py) no longer imports it either, and LPIPS/DISTS/NLPD still load it."""
    images = tmp_path / "ds"
    images.mkdir()
    (images / "kodim23.png").write_bytes(kodim(23).read_bytes())
    work = tmp_path / "work"
    code = (f"from rdbench.run import prepare, code_cell, measure_cell\n"
            f"index = prepare({str(images)!r}, {str(work / 'images')!r})\n"
            f"code_cell('jpeg', {{}}, index, '50', {str(work / 'coded')!r})\n"
            f"measure_cell({str(work / 'coded' / 'coding.json')!r}, index, ['psnr-rgb', 'psnr-y', 'ms-ssim-rgb'], "
            f"{str(tmp_path / 'cell.json')!r})")
    assert [m for m in heavy_modules_after(code) if m.startswith("torch")] == []
    assert json.loads((tmp_path / "cell.json").read_text())["records"][0]["metrics"]["ms-ssim-rgb"] > 0.9
