"""The small workflow end to end under Snakemake: real codecs on real images, caching, kill + resume."""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
             "--configfile", str(REPO / ".test/config_small/config.yaml"), "--cores", "2"]
TIMINGS = {"encode_s", "decode_s"}

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("kodak_dir")]


def snakemake(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(SNAKEMAKE + ["--directory", str(workdir), *extra], capture_output=True, text=True,
                          timeout=900)


def rd_rows(workdir: Path) -> list[dict]:
    with open(workdir / "results/kodak/rd.csv") as f:
        return [{k: v for k, v in row.items() if k not in TIMINGS} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("wf-full")
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir


def test_small_workflow_writes_rd_csv_and_skips_absent_codecs(finished):
    rows = rd_rows(finished)
    assert len(rows) == 3 * 3 * 3  # codecs x points x images
    assert {r["codec"] for r in rows} == {"jpeg", "webp", "hevc444"}
    for codec in ("jpeg", "webp", "hevc444"):
        per_point = {}
        for r in rows:
            if r["codec"] == codec:
                per_point.setdefault(r["point"], []).append((float(r["bpp"]), float(r["psnr-rgb"])))
        means = sorted((sum(b for b, _ in v) / 3, sum(p for _, p in v) / 3) for v in per_point.values())
        assert [p for _, p in means] == sorted(p for _, p in means), f"{codec}: PSNR must rise with rate"
    availability = json.loads((finished / "results/availability.json").read_text())
    assert "bpg" in availability["skipped"] and "bpgenc" in availability["skipped"]["bpg"]
    assert (finished / "results/logs/code/kodak/jpeg/50.log").is_file()
    assert all((finished / f"results/plots/grid.{ext}").stat().st_size > 1000 for ext in ("pdf", "svg", "png"))
    assert "| kodak | webp | 20 | 3 |" in (finished / "results/tables/runtime.md").read_text()
    assert 'id="runtime"' in (finished / "results/report.html").read_text()


def test_a_second_run_does_no_work(finished):
    before = {p: p.stat().st_mtime_ns for p in (finished / "results").rglob("*") if p.is_file()}
    proc = snakemake(finished)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr
    after = {p: p.stat().st_mtime_ns for p in (finished / "results").rglob("*") if p.is_file()}
    assert before == after


def test_a_killed_run_restarted_gives_the_same_rd_csv(finished, tmp_path):
    proc = subprocess.Popen(SNAKEMAKE + ["--directory", str(tmp_path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "work").rglob("*.bin")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.kill()  # a hard kill of Snakemake alone: no cleanup handlers run, its jobs are not told
    proc.wait()
    deadline = time.monotonic() + 30
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(proc.pid), "jobs run on as orphans after Snakemake was killed"
    assert not (tmp_path / "results/kodak/rd.csv").exists(), "killed too late to test resuming"
    # README's command after a hard kill: `snakemake --unlock && snakemake --cores 8` (no other flag)
    assert snakemake(tmp_path, "--unlock").returncode == 0  # a SIGKILL leaves Snakemake's lock behind
    again = snakemake(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert rd_rows(tmp_path) == rd_rows(finished)
    assert not list((tmp_path / "work").rglob("*.tmp"))


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group, but zombies, remains."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def test_a_fresh_clone_with_committed_results_recodes_but_measures_only_what_is_new(finished, tmp_path):
    import shutil

    shutil.copytree(finished / "results", tmp_path / "results")  # what a clone has: results/, no work/
    for path in sorted((tmp_path / "results").rglob("*")):
        os.utime(path)  # and git dates every file at checkout time, writing them in path order
    dry = snakemake(tmp_path, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-3000:] + dry.stderr[-3000:]
    more = ["--config", 'metrics=["psnr-rgb","ms-ssim-rgb","psnr-y"]']
    assert snakemake(tmp_path, "-n", *more).returncode == 0  # a dry run first must not hide the change
    proc = snakemake(tmp_path, *more)
    assert proc.returncode == 0, proc.stderr[-3000:]
    logs = sorted((tmp_path / "results/logs/measure").rglob("*.log"))
    assert len(logs) == 9
    for log in logs:  # psnr-y is new (3 images); psnr-rgb and ms-ssim-rgb come from the committed cells
        assert "3 metric value(s) computed, 6 reused" in log.read_text(), log
    keep = lambda rows: [{k: r[k] for k in ("codec", "point", "image", "bpp", "psnr-rgb", "ms-ssim-rgb")} for r in rows]
    assert keep(rd_rows(tmp_path)) == keep(rd_rows(finished))
    # a codec added to the config gets its cells, the others are not touched again
    cells = {p: p.stat().st_mtime_ns for p in (tmp_path / "results/cells").rglob("*.json")}
    proc = snakemake(tmp_path, "--config", 'metrics=["psnr-rgb","ms-ssim-rgb","psnr-y"]', "codecs={avif: {points: [30]}}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {r["codec"] for r in rd_rows(tmp_path)} == {"jpeg", "webp", "hevc444", "avif"}
    assert cells == {p: p.stat().st_mtime_ns for p in cells}
