"""Wall time of the Snakemake workflow per stage, fresh, on the first N Kodak images (issue 14).

    python benchmarks/workflow.py --images 4 --cores 2                 # the default config
    python benchmarks/workflow.py --images 2 --codecs jpeg webp hevc444 --set 'complexity={architectures: [treenet], height: 256, width: 256, counters: [torchinfo]}'
    python benchmarks/workflow.py --repo /tmp/old-checkout ...          # the same for another rdbench tree

The config (default: the repository's config/config.yaml) is copied into a new scratch folder with
``max_images: N`` and its results/work paths inside the scratch folder, then Snakemake runs it in
four stages (``--until prepare``, ``--until code``, ``--until measure``, then everything: aggregate,
tables, plots, report, complexity, ablations), each a separate `snakemake` call whose wall time
includes its DAG building. Prints one line per stage: seconds, jobs run (by rule) and the total.
Timings on a shared machine are noisy: compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
STAGES = (("prepare", ["--until", "prepare"]), ("code", ["--until", "code"]), ("measure", ["--until", "measure"]),
          ("tables/report", []))
FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: ([\w-]+)\)")


def scratch_config(args, scratch: Path) -> Path:
    config = yaml.safe_load((args.config or args.repo / "config" / "config.yaml").read_text())
    config.update(results=str(scratch / "results"), work=str(scratch / "work"), max_images=args.images)
    if args.codecs:
        config["codecs"] = {name: config["codecs"].get(name) or {} for name in args.codecs}
    if args.metrics:
        config["metrics"] = args.metrics
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = yaml.safe_load(value)
    path = scratch / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_stage(args, scratch: Path, config: Path, extra: list[str]) -> tuple[float, Counter]:
    command = [sys.executable, "-m", "snakemake", "-s", str(args.repo / "Snakefile"), "--directory", str(scratch),
               "--configfile", str(config), "--cores", str(args.cores), *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(args.repo), os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    proc = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    (scratch / "snakemake.log").open("a").write(log)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed (exit {proc.returncode}); the end of its output:\n{log[-3000:]}")
    return seconds, Counter(FINISHED.findall(log))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="first N Kodak images (default 4)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (default 2)")
    parser.add_argument("--config", type=Path, help="config to start from (default: REPO/config/config.yaml)")
    parser.add_argument("--codecs", nargs="+", help="keep only these codecs of the config")
    parser.add_argument("--metrics", nargs="+", help="replace the config's metrics")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=YAML", help="set a top-level config key")
    parser.add_argument("--repo", type=Path, default=REPO, help="the rdbench checkout to run (default: this one)")
    parser.add_argument("--keep", type=Path, help="scratch folder to use and keep (default: a temporary one)")
    args = parser.parse_args()
    args.repo = args.repo.resolve()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="rdbench-workflow-"))
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    config = scratch_config(args, scratch)
    print(f"rdbench workflow benchmark: {args.repo}, {args.images} image(s), --cores {args.cores}, "
          f"load average {os.getloadavg()[0]:.1f}, scratch {scratch}")
    total, jobs = 0.0, Counter()
    try:
        for name, extra in STAGES:
            seconds, done = run_stage(args, scratch, config, extra)
            total, jobs = total + seconds, jobs + done
            rules = ", ".join(f"{rule} {n}" for rule, n in sorted(done.items()))
            print(f"  {name:<14} {seconds:7.1f} s  {sum(done.values()):3d} jobs  ({rules})")
        print(f"  {'total':<14} {total:7.1f} s  {sum(jobs.values()):3d} jobs")
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
