"""The workflow's config means what it says: the named config is the whole config, a dry run writes
nothing, and every config error stops the workflow before its first job, on the terminal."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from rdbench import images, results

REPO = Path(__file__).resolve().parent.parent


def snakemake(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                           str(workdir), "--cores", "1", *extra], capture_output=True, text=True, timeout=600)


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder dataset of two generated 24x32 images."""
    folder = tmp_path / "data" / "photos"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(2):
        images.write_png(folder / f"im{i}.png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return folder


def write_config(path: Path, photos: Path, **changes) -> Path:
    config = {"results": "results", "work": "work", "datasets": [str(photos)],
              "codecs": {"jpeg": {"points": [20, 50]}, "webp": {"points": [30]}},
              "metrics": ["psnr-rgb"], "anchor": "jpeg", "bd": {"method": "pchip"}, "published": {}}
    config.update(changes)
    path.write_text(yaml.safe_dump(config))
    return path


def planned(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> number of jobs, from a dry run's job stats table."""
    table = proc.stdout.split("Job stats:")[1].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def test_a_two_codec_config_plans_only_its_codecs_and_a_dry_run_writes_nothing(tmp_path, photos):
    config = write_config(tmp_path / "tiny.yaml", photos)
    proc = snakemake(tmp_path, "-n", "--configfile", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = planned(proc)
    assert jobs["code"] == jobs["measure"] == 3  # jpeg at 20 and 50, webp at 30: none of the defaults
    assert set(re.findall(r"codec=(\w+)", proc.stdout)) == {"jpeg", "webp"}
    assert jobs["setting"] == 6  # metrics, report, plots, availability, codec-jpeg, codec-webp: all new, written by jobs
    assert not (tmp_path / "results").exists()  # the dry run wrote nothing, under results/settings/ or else


@pytest.mark.slow
def test_a_changed_setting_is_seen_by_a_dry_run_and_then_by_the_run(tmp_path, photos):
    config = write_config(tmp_path / "tiny.yaml", photos, codecs={"jpeg": {"points": [50]}})
    rd = "results/photos/rd.csv"  # the target: coding and measuring, not the report
    assert snakemake(tmp_path, rd, "--configfile", str(config)).returncode == 0
    stamps = sorted(p.name for p in (tmp_path / "results/settings").iterdir())
    config = write_config(tmp_path / "tiny.yaml", photos, codecs={"jpeg": {"points": [50], "optimize": False}})
    dry = snakemake(tmp_path, rd, "-n", "--configfile", str(config))
    assert planned(dry)["code"] == 1 and planned(dry)["setting"] == 1, dry.stdout[-3000:]
    assert sorted(p.name for p in (tmp_path / "results/settings").iterdir()) == stamps
    proc = snakemake(tmp_path, rd, "--configfile", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in snakemake(tmp_path, rd, "-n", "--configfile", str(config)).stdout
    now = sorted(p.name for p in (tmp_path / "results/settings").iterdir())
    assert len(now) == len(stamps) and [n for n in now if n.startswith("codec-jpeg-")] != \
        [n for n in stamps if n.startswith("codec-jpeg-")]  # the old value's stamp is gone


@pytest.mark.slow
def test_a_corrupt_cell_is_named_on_the_terminal_and_measured_again(tmp_path, photos):
    config = write_config(tmp_path / "tiny.yaml", photos, codecs={"jpeg": {"points": [50]}})
    rd = "results/photos/rd.csv"
    assert snakemake(tmp_path, rd, "--configfile", str(config)).returncode == 0
    cell = tmp_path / "results/cells/photos/jpeg/50.json"
    good = cell.read_text()
    cell.write_text(good[: len(good) // 2])
    proc = snakemake(tmp_path, rd, "--configfile", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{cell.relative_to(tmp_path)}: not valid JSON" in proc.stderr
    assert results.read_cell(cell)["records"] and cell.with_name("50.json.corrupt").is_file()
    assert len((tmp_path / rd).read_text().splitlines()) == 1 + 2


def test_every_config_error_stops_the_workflow_before_any_job_and_is_on_the_terminal(tmp_path, photos):
    config = write_config(tmp_path / "bad.yaml", photos,
                          datasets=[str(photos), str(tmp_path / "nowhere" / "set")],
                          codecs={"jpeg": {"optimize": "no"}, "webp": {}, "bpg": {"bin_dir": str(tmp_path)}},
                          metrics=["psnr-rgb", "psnr", "lpips:nope"], anchor="bpg")
    proc = snakemake(tmp_path, "--configfile", str(config))
    assert proc.returncode != 0
    for problem in ("the config has 5 problem(s)",
                    f"'{tmp_path / 'nowhere' / 'set'}' is neither a dataset name",
                    "codecs: jpeg: codec 'jpeg': option optimize='no' (str) is not true or false",
                    "metrics: unknown metric 'psnr'", "metrics: metric 'lpips' has no variant 'nope'",
                    "anchor: 'bpg' cannot run here"):
        assert problem in proc.stderr, (problem, proc.stderr[-3000:])
    assert not (tmp_path / "work").exists() and not (tmp_path / "results").exists()
    assert not (tmp_path / "logs").exists()


def test_new_weights_change_a_learned_codecs_setting_and_nothing_else(tmp_path):
    """The codec stamp of a learned codec carries its weights' sha256 (new weights rerun its cells); a
    classical codec's stamp is its options alone, as committed."""
    from rdbench.config import codec_setting

    for point in (1, 2, 3, 4):
        (tmp_path / "treenet").mkdir(exist_ok=True)
        (tmp_path / "treenet" / f"{point}.safetensors").write_bytes(b"weights %d" % point)
    config = {"codecs": {"treenet": {"weights_dir": str(tmp_path)}, "jpeg": {"points": [20, 50]}}}
    before = codec_setting(config, "treenet")
    assert set(before["weights_sha256"]) == {"1", "2", "3", "4"} and before["weights_dir"] == str(tmp_path)
    (tmp_path / "treenet" / "3.safetensors").write_bytes(b"better weights")
    after = codec_setting(config, "treenet")
    assert after["weights_sha256"]["3"] != before["weights_sha256"]["3"]
    assert {p: v for p, v in after["weights_sha256"].items() if p != "3"} == \
        {p: v for p, v in before["weights_sha256"].items() if p != "3"}
    assert codec_setting(config, "jpeg") == {"points": [20, 50]}


def test_complexity_timing_is_a_config_switch(tmp_path, photos):
    """complexity.time turns Table II's measured time on (with its run count and threads) or off; a bad
    value stops the workflow at validation."""
    target = "results/complexity/table2.csv"
    small = {"architectures": ["treenet"], "height": 128, "width": 128, "counters": ["torchinfo"]}
    on = write_config(tmp_path / "on.yaml", photos,
                      complexity={**small, "time": {"enabled": True, "repeats": 2, "threads": [1]}})
    proc = snakemake(tmp_path, target, "-n", "-p", "--configfile", str(on))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--counters torchinfo --time --repeats 2 --threads 1 --out" in proc.stdout, proc.stdout[-3000:]
    off = write_config(tmp_path / "off.yaml", photos, complexity=small)  # the default: no timing
    proc = snakemake(tmp_path, target, "-n", "-p", "--configfile", str(off))
    assert proc.returncode == 0 and "--counters torchinfo  --out" in proc.stdout, proc.stdout[-3000:]
    bad = write_config(tmp_path / "bad.yaml", photos, complexity={**small, "time": {"enabled": True, "repeats": 0}})
    proc = snakemake(tmp_path, target, "-n", "--configfile", str(bad))
    assert proc.returncode != 0 and "repeats" in proc.stdout + proc.stderr, proc.stdout[-3000:]


@pytest.mark.parametrize("max_images, ablations", [(2, 0), (23, 4)])
def test_ablations_are_planned_only_when_max_images_keeps_their_image(tmp_path, kodak_dir, max_images, ablations):
    """kodim23 is the 23rd Kodak image: `max_images: 6` used to plan ablations of a file never prepared."""
    config = write_config(tmp_path / "config.yaml", kodak_dir, datasets=["kodak"], codecs={"treenet": {}},
                          anchor="treenet", max_images=max_images)
    proc = snakemake(tmp_path, "-n", "--configfile", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert planned(proc).get("ablate", 0) == ablations
    assert ("no TreeNet ablations: kodim23 is not among the 2 Kodak image(s)" in proc.stderr) == (not ablations)
