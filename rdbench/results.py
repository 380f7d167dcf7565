"""Result files: atomic JSON writes, the per-cell schema, and the tidy ``rd.csv``.

A cell is one (dataset, codec, point). Its JSON (``results/cells/<dataset>/<codec>/<point>.json``)::

    {
      "schema": "rdbench.cell/1",
      "dataset": "kodak", "codec": "jpeg", "point": 50, "point_label": "50", "point_kind": "quality",
      "manifest": {...},            # see rdbench.provenance.manifest: codec describe(), versions, host
      "metrics": {"psnr-rgb": {"higher_is_better": true, "unit": "dB", ...}, ...},
      "records": [                  # one per image, never just averages
        {"image": "kodim01", "width": 768, "height": 512, "bytes": 12345, "bpp": 0.2512,
         "encode_s": 0.031, "decode_s": 0.004, "source_sha256": "...", "notes": [],
         "metrics": {"psnr-rgb": 31.2, "ms-ssim-rgb": 0.971}}
      ]
    }

A progressive codec (``rdbench.codecs.base.ProgressiveCodec``: every rate point a truncation of one
bitstream) has one cell per dataset, point ``"stream"``, point_kind ``"truncation"``: a record per image
*and* truncation point, each with its own ``"point"`` (``"lsb-1@0.5"``), ``"bytes"`` (the prefix),
``"stream_bytes"``, ``"recon"`` (the reconstruction's file name) and ``"encode_once": true`` (encode_s is
the one encode of the image, shared by its points), plus ``"truncations"``: per image, every point's
prefix length and every chunk boundary of the stream.

``rd.csv`` has one row per codec x point x image (columns ``RD_COLUMNS`` then one per metric);
every table and plot is derived from it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

from rdbench import atomic

CELL_SCHEMA = "rdbench.cell/1"
RD_COLUMNS = ["dataset", "codec", "point", "point_kind", "image", "width", "height", "bytes", "bpp",
              "encode_s", "decode_s"]


def write_json(path: str | Path, data: Any) -> None:
    atomic.write_text(path, json.dumps(data, indent=1, sort_keys=False, default=_jsonable) + "\n")


class CorruptFile(ValueError):
    """A result file that is not valid JSON, or not the schema it should be; names the file."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}; delete it and rerun to remake it")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptFile(path, f"not valid JSON ({exc})") from exc


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_cell(path: str | Path) -> dict:
    cell = read_json(path)
    if not isinstance(cell, dict) or cell.get("schema") != CELL_SCHEMA:
        schema = cell.get("schema") if isinstance(cell, dict) else type(cell).__name__
        raise CorruptFile(path, f"not an rdbench cell (schema {schema!r}, expected {CELL_SCHEMA})")
    return cell


def set_aside_corrupt_cells(paths: Iterable[str | Path]) -> list[tuple[str, str]]:
    """Rename each existing cell that does not read as one to ``<cell>.corrupt``, so it is measured again.

    A cell is written atomically, so a broken one was damaged from outside (a disk, an editor, a bad
    merge); Snakemake would keep it, being present, and every aggregation would fail on it. Returns
    (path, problem) of each one set aside; the file itself is kept beside, never deleted.
    """
    moved = []
    for path in map(Path, paths):
        if not path.is_file():
            continue
        try:
            read_cell(path)
        except CorruptFile as exc:
            os.replace(path, path.with_name(path.name + ".corrupt"))
            moved.append((str(path), exc.problem))
    return moved


def cell_rows(cell: dict) -> Iterable[dict]:
    """Flatten one cell into rd.csv rows."""
    for rec in cell["records"]:
        row = {"dataset": cell["dataset"], "codec": cell["codec"], "point": rec.get("point", cell["point_label"]),
               "point_kind": cell["point_kind"]}
        row.update({k: rec[k] for k in RD_COLUMNS if k in rec})
        row.update(rec.get("metrics", {}))
        yield row


class DatasetMismatch(ValueError):
    """Cells under one dataset name were made from different images (their dataset hashes differ)."""


def check_one_dataset(cell_paths: Iterable[str | Path], expected: dict | None = None) -> None:
    """Refuse to mix cells whose dataset has one name but different content.

    A dataset is known by its name *and* its content: the hash over its images' sha256s, which every
    cell's manifest records. Two folders called ``photos``, or one folder whose images changed, give
    one name two hashes; their cells must never meet in one rd.csv. `expected` (name, hash, root)
    is the dataset about to be coded, checked against the cells already there.
    """
    seen: dict[tuple[str, str], tuple[str, str]] = {}  # (name, hash) -> (root, first cell)
    if expected:
        seen[(expected["name"], expected["hash"])] = (expected.get("root", "?"), "the dataset to code now")
    for path in cell_paths:
        ds = read_cell(path).get("manifest", {}).get("dataset") or {}
        if not ds.get("hash"):  # a cell made elsewhere, without rdbench's provenance: nothing to compare
            continue
        key = (ds["name"], ds["hash"])
        seen.setdefault(key, (ds.get("root", "?"), str(path)))
        clash = [(k, v) for k, v in seen.items() if k[0] == ds["name"] and k != key]
        if clash:
            (_, other_hash), (other_root, other_cell) = clash[0]
            root, first = seen[key]
            raise DatasetMismatch(
                f"dataset {ds['name']!r} names two different sets of images: {other_root} "
                f"(hash {other_hash[:12]}, {other_cell}) and {root} (hash {ds['hash'][:12]}, {first}). "
                "Give each its own folder name or results folder (--out), or delete the stale cells")


def write_rd_csv(cells: Iterable[str | Path], out_csv: str | Path) -> int:
    """Aggregate cell JSONs into the tidy table; returns the number of rows written.

    Cells of one dataset name made from different images are refused (:func:`check_one_dataset`).
    """
    rows: list[dict] = []
    metric_names: list[str] = []
    cells = sorted(map(str, cells))
    check_one_dataset(cells)
    for path in cells:
        cell = read_cell(path)
        for name in cell.get("metrics", {}):
            if name not in metric_names:
                metric_names.append(name)
        rows.extend(cell_rows(cell))
    rows.sort(key=lambda r: (r["dataset"], r["codec"], float(r["bpp"]), r["image"]))
    columns = RD_COLUMNS + metric_names
    from io import StringIO

    buf = StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    atomic.remove_stale(out_csv)
    atomic.write_text(out_csv, buf.getvalue())
    return len(rows)


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e-3 and value != 0 else f"{value:.6f}".rstrip("0").rstrip(".")
    return "" if value is None else value


def read_rd_csv(path: str | Path):
    """rd.csv as a pandas DataFrame with numeric columns parsed."""
    import pandas as pd

    return pd.read_csv(path, dtype={"point": str, "image": str})


STAMP_DIGEST = "[0-9a-f]{12}"


def setting_stamp(results_dir: str | Path, name: str, value: Any) -> str:
    """``results_dir/settings/<name>-<digest>.json``: a setting's value and since when it holds.

    Rules list stamps as inputs. Snakemake notices changed params only through its records in
    .snakemake/, which a fresh clone of the committed results lacks, and git dates every file of a
    clone at checkout time; so the settings of the committed run are committed too, each with the
    time it took effect ("since"), and the file name carries a digest of the value.

    Parsing the workflow writes no file, so a dry run changes nothing. The stamp of the current value
    either exists, and is dated back at its "since" (results made before that time rerun, those made
    after stay up to date: in a fresh clone and after an interrupted run alike), or does not exist
    yet: the workflow's ``setting`` rule writes it (:func:`write_setting`), and every job that lists
    it reruns, in the dry run's plan as in the run.
    """
    value = json.loads(json.dumps(value, default=str))
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(results_dir) / "settings" / f"{name}-{digest}.json"
    if path.exists():
        date_setting(path)
    return str(path)


def date_setting(path: str | Path) -> None:
    """Date a setting stamp at its "since" (git dates a clone's files at checkout; Snakemake touches
    every output when its job ends, a little after the stamp was written)."""
    since = read_json(path)["since"]
    if os.stat(path).st_mtime != since:
        os.utime(path, (since, since))


def write_setting(path: str | Path, value: Any) -> None:
    """Write the stamp of a setting's new value, dated now, and remove the stamps of its other values."""
    path = Path(path)
    name = path.stem.rsplit("-", 1)[0]
    now = int(time.time())
    write_json(path, {"value": value, "since": now})
    os.utime(path, (now, now))
    for old in path.parent.glob(f"{name}-*.json"):
        if old != path and old.stem.rsplit("-", 1)[0] == name:
            old.unlink()
