"""A real single-node SLURM for tests: munged, MariaDB, slurmdbd, slurmctld and slurmd on localhost.

Everything lives in one folder (configs, state, spool, sockets, logs) and listens on free ports, so
it never meets a system SLURM or munge. slurmdbd (with MariaDB) is there because Snakemake's SLURM
executor asks `sacct` for the state of its jobs, and `sacct` needs accounting storage. Debian's
packages: `apt-get install slurm-wlm slurmdbd munge mariadb-server` (`make test` does it as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "mungekey", "mariadb-install-db", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "sacct", "sacctmgr", "scontrol", "sinfo", "squeue", "scancel")


def missing() -> str | None:
    """Why this machine cannot run the cluster, or None."""
    absent = [p for p in DAEMONS + CLIENTS if not shutil.which(p, path=os.environ["PATH"] + ":/usr/sbin:/sbin")]
    if absent:
        return (f"SLURM not installed ({', '.join(absent)} missing): "
                "apt-get install slurm-wlm slurmdbd munge mariadb-server (make test does it as root)")
    if os.geteuid() != 0:
        return "the test SLURM runs its daemons as root (SlurmUser=root); run as root"
    return None


def memory_mb() -> int:
    """Total memory as `free -m` reports it (the node's RealMemory)."""
    out = subprocess.run(["free", "-m"], capture_output=True, text=True, check=True).stdout
    return int(next(line for line in out.splitlines() if line.startswith("Mem:")).split()[1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, ready, timeout: float = 60, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"test SLURM: {what} not ready after {timeout:.0f} s\n{tail}")
        time.sleep(0.5)


class Cluster:
    """`with Cluster(folder) as c:` runs the five daemons; `c.env` is the environment for clients."""

    def __init__(self, root: Path, cpus: int = 2):
        self.root = Path(root)
        self.cpus = min(cpus, os.cpu_count() or 1)
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.ctld_log = self.root / "slurmctld.log"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf), "USER": os.environ.get("USER", "root"),
                    "PATH": os.environ["PATH"] + ":/usr/sbin:/sbin"}
        self.procs: list[subprocess.Popen] = []

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=check, timeout=60)

    def _ok(self, *cmd: str) -> bool:
        return self.run(*cmd, check=False).returncode == 0

    def _daemon(self, name: str, *cmd: str) -> None:
        log = open(self.root / f"{name}.out", "w")
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def __enter__(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start(self) -> None:
        r = self.root
        for d in ("state", "spool", "db"):
            (r / d).mkdir(parents=True, exist_ok=True)
        munge = r / "munge.socket"
        self.run("mungekey", "--create", f"--keyfile={r / 'munge.key'}")
        self._daemon("munged", "munged", "--foreground", "--force", f"--key-file={r / 'munge.key'}",
                     f"--socket={munge}", f"--pid-file={r / 'munged.pid'}", f"--log-file={r / 'munged.log'}",
                     f"--seed-file={r / 'munged.seed'}")
        _wait("munged", munge.exists, log=r / "munged.log")

        db_port, dbd_port, ctld_port, slurmd_port = (_free_port() for _ in range(4))
        self.run("mariadb-install-db", "--no-defaults", f"--datadir={r / 'db'}", "--user=root",
                 "--auth-root-authentication-method=normal", "--skip-test-db")
        self._daemon("mariadb", "mariadbd", "--no-defaults", f"--datadir={r / 'db'}", "--user=root",
                     f"--socket={r / 'mysql.sock'}", f"--port={db_port}", "--bind-address=127.0.0.1",
                     "--skip-log-bin", f"--log-error={r / 'mariadb.log'}")
        _wait("mariadbd", lambda: self._ok("mariadb-admin", "--no-defaults", f"--socket={r / 'mysql.sock'}",
                                           "-uroot", "ping"), log=r / "mariadb.log")

        (r / "slurmdbd.conf").write_text("\n".join([
            "AuthType=auth/munge", f"AuthInfo=socket={munge}", "DbdHost=localhost", "DbdAddr=127.0.0.1",
            f"DbdPort={dbd_port}", "SlurmUser=root", f"LogFile={r / 'slurmdbd.log'}",
            f"PidFile={r / 'slurmdbd.pid'}", "StorageType=accounting_storage/mysql", "StorageHost=127.0.0.1",
            f"StoragePort={db_port}", "StorageUser=root", "StorageLoc=slurm_acct_db", ""]))
        (r / "slurmdbd.conf").chmod(0o600)  # slurmdbd refuses a readable one
        self.conf.write_text("\n".join([
            "ClusterName=rdbench-test", f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}", f"SlurmdPort={slurmd_port}", "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", f"AuthInfo=socket={munge}", "CredType=cred/munge",
            f"StateSaveLocation={r / 'state'}", f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}", f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.ctld_log}", f"SlurmdLogFile={r / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "MpiDefault=none",  # no cgroups needed
            "SchedulerType=sched/backfill", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2", "MinJobAge=3600",
            "JobAcctGatherType=jobacct_gather/linux", "JobAcctGatherFrequency=task=1",
            "AccountingStorageType=accounting_storage/slurmdbd", "AccountingStorageHost=127.0.0.1",
            f"AccountingStoragePort={dbd_port}",
            f"AccountingStoragePass={munge}",  # the munge socket for talking to slurmdbd
            "AccountingStoreFlags=job_comment",  # sacct shows the rule (Snakemake puts it in the comment)
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory_mb()} State=UNKNOWN",
            "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP", ""]))

        self._daemon("slurmdbd", "slurmdbd", "-D")  # reads slurmdbd.conf beside SLURM_CONF
        _wait("slurmdbd", lambda: self._ok("sacctmgr", "-i", "add", "cluster", "rdbench-test"),
              log=r / "slurmdbd.log")
        self._daemon("slurmctld", "slurmctld", "-D", "-i")
        self._daemon("slurmd", "slurmd", "-D", "-N", self.node)
        _wait("the node", lambda: self.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip() == "idle",
              log=self.ctld_log)

    def stop(self) -> None:
        """Cancel what runs, stop the daemons (last started first) and wait for each to end."""
        if self.conf.exists():
            self.run("scancel", "--quiet", f"--user={self.env['USER']}", check=False)
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def jobs(self) -> list[dict]:
        """Every job this cluster ran (sacct, main job lines only): id, name, comment, state."""
        out = self.run("sacct", "-X", "--parsable2", "--noheader", "--starttime", "now-1days",
                       "--format=JobIdRaw,JobName%200,Comment%400,State,Elapsed").stdout
        keys = ("id", "name", "comment", "state", "elapsed")
        return [dict(zip(keys, line.split("|"))) for line in out.splitlines() if line]
