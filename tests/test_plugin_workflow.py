"""A new codec is one file: dropped into a copy of codecs/, the small workflow measures it into Table I,
the plots and the report. Two tiny real images, two fast codecs, PSNR only."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from rdbench import images

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("kodak_dir")]

# What a user writes: a real codec (Pillow's JPEG with 4:2:0 chroma), nothing else to touch.
NEW_CODEC = '''
    from rdbench.codecs.base import Codec


    class PillowJPEG420(Codec):
        """Baseline JPEG via Pillow with 4:2:0 chroma subsampling (Pillow's default)."""

        name = "pillow-jpeg420"
        default_points = (20, 50, 90)

        def encode(self, src_png, point, bitstream):
            from PIL import Image

            with Image.open(src_png) as img:
                img.convert("RGB").save(bitstream, format="JPEG", quality=int(point), subsampling=2)

        def decode(self, bitstream, out_png):
            from PIL import Image

            with Image.open(bitstream) as img:
                img.convert("RGB").save(out_png, format="PNG")
'''


def test_a_codec_file_dropped_into_codecs_reaches_table1_the_plots_and_the_report(crop, tmp_path):
    plugin_dir = tmp_path / "codecs"
    shutil.copytree(REPO / "codecs", plugin_dir)
    (plugin_dir / "pillow_jpeg420.py").write_text(textwrap.dedent(NEW_CODEC))
    data = tmp_path / "tiny"
    data.mkdir()
    for i, (top, left) in enumerate([(0, 0), (300, 500)]):
        images.write_png(data / f"tiny{i}.png", crop(64, 96, top, left))
    config = {
        "results": "results", "work": "work", "datasets": [str(data)], "plugins": [str(plugin_dir)],
        "codecs": {"pillow-jpeg420": {"points": [20, 50, 90]}, "pillow-jpeg444": {"points": [20, 50, 90]}},
        "metrics": ["psnr-rgb"], "anchor": "pillow-jpeg444",
        "bd": {"method": "pchip", "averaging": "mean-curve", "bootstrap": 0, "seed": 0},
        "published": {}, "complexity": {"architectures": ["treenet"], "height": 64, "width": 64,
                                        "counters": ["torchinfo"]},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile",
                           str(tmp_path / "config.yaml"), "--cores", "2", "--directory", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = tmp_path / "results"
    table1 = (results / "tables/table1.md").read_text()
    row = next((line for line in table1.splitlines() if "pillow-jpeg420" in line), None)
    assert row is not None, table1
    assert any(ch.isdigit() for ch in row.split("pillow-jpeg420", 1)[1]), f"no BD-rate in its row: {row}"
    assert "pillow-jpeg420" in (results / "plots/tiny/psnr-rgb.svg").read_text()
    assert "pillow-jpeg420" in (results / "plots/grid.svg").read_text()
    report = (results / "report.html").read_text()
    assert "pillow-jpeg420" in report and f"plugin file {(plugin_dir / 'pillow_jpeg420.py').resolve()}" in report
