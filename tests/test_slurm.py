"""The small workflow on a real SLURM (tests/slurm_cluster.py) through snakemake-executor-plugin-slurm
and profiles/slurm: every job goes through sbatch, the cells equal a local run's, and a job cancelled
with scancel mid-run is redone by the next `snakemake` call from the images it had finished."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import slurm_cluster

REPO = Path(__file__).resolve().parent.parent
CONFIG = str(REPO / ".test/config_small/config.yaml")
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", CONFIG]
TIMINGS = {"encode_s", "decode_s"}
# The rules of the small config that run as SLURM jobs (`setting` is a localrule, `all` has no job).
RULES = {"prepare", "availability", "code", "measure", "aggregate", "complexity", "bd_tables", "rd_plots",
         "grid_figure", "runtime_table", "report_html"}
VICTIM = "hevc444/22"  # the slowest cell (x265 veryslow, ~5-15 s an image): cancelled between images

# the module fixture (a local run beside two SLURM calls) counts towards the first test: ~9 min on 2 cores
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("kodak_dir"), pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if reason := slurm_cluster.missing():
        pytest.skip(reason)
    with slurm_cluster.Cluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c


def cells(workdir: Path) -> dict:
    """Every cell JSON, less what differs between two runs of the same thing (timings, date)."""
    out = {}
    for path in sorted((workdir / "results/cells").rglob("*.json")):
        cell = json.loads(path.read_text())
        cell["manifest"].pop("date")
        cell["records"] = [{k: v for k, v in r.items() if k not in TIMINGS} for r in cell["records"]]
        out[str(path.relative_to(workdir))] = cell
    return out


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """A local run, and beside it (at the same time: the SLURM run mostly waits) the SLURM run whose
    VICTIM job is cancelled mid-cell, then the second call that finishes it. Wall times in seconds."""
    local, remote, logs = (tmp_path_factory.mktemp(name) for name in ("local", "on-slurm", "logs"))
    slurm = SNAKEMAKE + ["--profile", str(REPO / "profiles/slurm"), "--directory", str(remote)]
    t0 = time.monotonic()
    with open(logs / "local.log", "w+") as local_log, open(logs / "first.log", "w+") as first_log:
        local_run = subprocess.Popen(SNAKEMAKE + ["--cores", "1", "--directory", str(local)], stdout=local_log,
                                     stderr=subprocess.STDOUT)
        first = subprocess.Popen(slurm + ["--retries", "0"], env=cluster.env, stdout=first_log,
                                 stderr=subprocess.STDOUT)
        try:
            victim = cancel_mid_cell(cluster, remote / "work/kodak/coded" / VICTIM)
        except BaseException:
            local_run.kill(), first.kill()
            raise
        first.wait(timeout=1800)
        first_s = time.monotonic() - t0
        second = subprocess.run(slurm, env=cluster.env, capture_output=True, text=True, timeout=1800)
        slurm_s = time.monotonic() - t0
        local_run.wait(timeout=1800)
        first_log.seek(0), local_log.seek(0)
        first_out, local_out = first_log.read(), local_log.read()
    assert local_run.returncode == 0, local_out[-3000:]
    return {"local": local, "remote": remote, "victim": victim, "first": (first.returncode, first_out),
            "second": second, "seconds": {"slurm first call": first_s, "slurm both calls": slurm_s}}


def cancel_mid_cell(cluster, folder: Path) -> dict:
    """scancel the SLURM job of one code cell once it has saved an image but not the cell."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if list(folder.glob("kodim*.json")) and not (folder / "coding.json").exists():
            comment = f"rule_code_wildcards_kodak_{VICTIM.replace('/', '_')}"
            out = cluster.run("squeue", "-h", "-t", "R", "-o", "%i|%k").stdout
            job = next(line.split("|")[0] for line in out.splitlines() if line.split("|")[1] == comment)
            cluster.run("scancel", job)
            images = {p.name: p.stat().st_mtime_ns for p in folder.glob("kodim*.json")}
            return {"job": job, "images": images}
        time.sleep(0.2)
    raise AssertionError(f"{folder}: no image of the cell saved within 15 min")


def test_every_job_of_the_workflow_ran_on_slurm(runs, cluster, record_property):
    code, out = runs["first"]
    assert code != 0, "the cancelled job must fail the first call"
    assert "SLURM run ID" in out, out[-3000:]
    second = runs["second"]
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    jobs = cluster.jobs()
    by_rule = {}
    for job in jobs:
        by_rule.setdefault(job["comment"].split("_wildcards_")[0].removeprefix("rule_"), []).append(job)
    assert set(by_rule) == RULES, by_rule.keys()
    assert len(by_rule["code"]) == 9 + 1 and len(by_rule["measure"]) == 9  # the cancelled cell twice
    states = {j["id"]: j["state"] for j in jobs}
    assert states.pop(runs["victim"]["job"]).startswith("CANCELLED")
    assert set(states.values()) == {"COMPLETED"}, states
    assert runs["victim"]["job"] in cluster.ctld_log.read_text()  # slurmctld scheduled it
    record_property("slurm", f"{len(jobs)} SLURM jobs, ids {', '.join(j['id'] for j in jobs)}; "
                             + ", ".join(f"{k} {v:.0f} s" for k, v in runs["seconds"].items()))


def test_cells_on_slurm_equal_a_local_run(runs):
    remote, local = cells(runs["remote"]), cells(runs["local"])
    assert len(local) == 9
    assert remote == local


def test_the_cancelled_job_is_redone_from_its_saved_images(runs):
    folder = runs["remote"] / "work/kodak/coded" / VICTIM
    kept = runs["victim"]["images"]
    assert {name: (folder / name).stat().st_mtime_ns for name in kept} == kept  # reused, not coded again
    cell = json.loads((runs["remote"] / f"results/cells/kodak/{VICTIM}.json").read_text())
    assert sorted(r["image"] for r in cell["records"]) == ["kodim01", "kodim02", "kodim03"]
    assert not list(folder.glob("*.tmp"))
