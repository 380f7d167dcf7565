"""After a kill: no orphan job runs on, no temp file stays, a measurement resumes where it stopped."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rdbench import results, run


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_job_ends_when_the_snakemake_that_started_it_is_killed(tmp_path):
    marker = tmp_path / "child.pid"
    parent = textwrap.dedent(f"""
        import subprocess, sys, time
        child = ("from rdbench.jobs import end_with_parent; import os, time; end_with_parent(); "
                 "open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(120)")
        subprocess.Popen([sys.executable, "-c", child])
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], env={**os.environ, "PYTHONPATH": os.getcwd()})
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(marker.read_text())
    proc.kill()  # SIGKILL: the parent runs no handler
    proc.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the child runs on as an orphan"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def coded(tmp_path, prepared_noise):
    index = prepared_noise(3)
    return index, run.code_cell("jpeg", {}, index, "50", tmp_path / "coded")


def test_temp_files_of_a_killed_writer_are_cleared_by_the_rerun(coded, tmp_path):
    index, coding = coded
    out = tmp_path / "cells" / "50.json"
    leftovers = [coding.parent / ".im0.json.x1y2.tmp", coding.parent / ".coding.json.a.tmp",
                 out.parent / ".50.json.k3.tmp"]
    out.parent.mkdir(parents=True)
    for path in leftovers:
        path.write_bytes(b"")  # what atomic_path leaves behind a SIGKILL
    other = out.parent / ".60.json.k3.tmp"  # another job's: not this one's to remove
    other.write_bytes(b"")
    run.code_cell("jpeg", {}, index, "50", coding.parent)
    run.measure_cell(coding, index, ["psnr-rgb"], out)
    assert [p for p in leftovers if p.exists()] == [] and other.exists()


def test_a_measurement_killed_midway_resumes_from_the_next_image(coded, tmp_path, monkeypatch):
    index, coding = coded
    out = tmp_path / "cells" / "50.json"
    real, calls = run._measure, []

    def killed_at_the_third(metric, ref, dist, *features):
        if len(calls) == 2:
            raise KeyboardInterrupt  # as SIGTERM/SIGINT would, midway
        calls.append(1)
        return real(metric, ref, dist, *features)

    monkeypatch.setattr(run, "_measure", killed_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        run.measure_cell(coding, index, ["psnr-rgb"], out)
    assert not out.exists()
    monkeypatch.setattr(run, "_measure", lambda *a: (calls.append(1), real(*a))[1])
    calls.clear()
    cell = results.read_cell(run.measure_cell(coding, index, ["psnr-rgb"], out))
    assert len(calls) == 1  # only the image the kill interrupted
    assert [r["image"] for r in cell["records"]] == ["im0", "im1", "im2"]
    assert not (coding.parent / ".measuring.json").exists()
