"""The workflow with a progressive codec: one ``stream`` cell per dataset, its curve in rd.csv and the plot.

Real jpeg (the anchor) and the real trit-plane coder with a RANDOM-INIT ``dpict`` model (see
test_progressive.py) on one Kodak image, under Snakemake. The editable install of this checkout may
predate the ``dpict`` entry point, so the jobs find it through a throwaway distribution on PYTHONPATH
(the same entry point as pyproject.toml's).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("compressai")

REPO = Path(__file__).resolve().parent.parent
POINTS = ["lsb-2@0.5", "lsb-2@1", *(f"lsb-{k}@{f}" for k in (1, 0) for f in ("0.2", "0.4", "0.6", "0.8", "1"))]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("kodak_dir")]


def test_workflow_codes_one_stream_cell_and_draws_its_curve(tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from test_progressive import RANDOM, random_model

    from rdbench.codecs.learned import save_weights, weights_path

    save_weights(random_model(), weights_path("dpict", 1, tmp_path / "weights"), {"notes": RANDOM, "lambda": None})
    dist = tmp_path / "ep" / "rdbench_trit_test-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rdbench-trit-test\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[rdbench.codecs]\ndpict = rdbench.codecs.tritplane:DPICTCodec\n")
    config = {"results": "results", "work": "work", "datasets": ["kodak"], "max_images": 1,
              "codecs": {"jpeg": {"points": [10, 50, 90]},
                         "dpict": {"points": POINTS, "weights_dir": str(tmp_path / "weights")}},
              "metrics": ["psnr-rgb"], "anchor": "jpeg",
              "bd": {"method": "pchip", "averaging": "mean-curve", "bootstrap": 0, "seed": 0, "ms_ssim_db": False},
              "published": {"kodak": ["dpict:DPICT_kodak_PSNR.csv"]},
              "complexity": {"architectures": ["treenet"], "height": 256, "width": 256, "counters": ["torchinfo"]}}
    (tmp_path / "config.yaml").write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path / "ep"), *sys.path])}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile",
                           str(tmp_path / "config.yaml"), "--cores", "2", "--directory", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = tmp_path / "run" / "results"
    cell = json.loads((results / "cells/kodak/dpict/stream.json").read_text())
    assert [r["point"] for r in cell["records"]] == POINTS and "kodim01" in cell["truncations"]
    with open(results / "kodak/rd.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["codec"] == "dpict"]
    assert [r["point"] for r in rows] == POINTS and {r["point_kind"] for r in rows} == {"truncation"}
    assert [float(r["bpp"]) for r in rows] == sorted(float(r["bpp"]) for r in rows)
    assert (results / "plots/kodak/psnr-rgb.png").stat().st_size > 10_000
    table = (results / "tables/table1.md").read_text()
    assert "| dpict | n/a |" in table and "| DPICT (published) |" in table  # random weights: no overlap, said so
    assert "the curves do not overlap" in table
