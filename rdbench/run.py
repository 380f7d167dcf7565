"""The benchmark engine: prepare a dataset, code one cell, measure it, aggregate.

    prepare(dataset)            -> WORK/<dataset>/images/{<image>.png, index.json}   canonical RGB8 PNGs
    code_cell(codec, point)     -> WORK/<dataset>/coded/<codec>/<point>/{<image>.bin, <image>.png,
                                                                          <image>.json, coding.json}
    measure_cell(...)           -> RESULTS/cells/<dataset>/<codec>/<point>.json        (rdbench.results schema)
    aggregate(cells)            -> RESULTS/<dataset>/rd.csv

The Snakemake workflow and `rdbench run` call the same functions. Every file is written atomically,
and a cell keeps one small JSON per finished image, so a killed run resumes where it stopped and a
finished one does no work again. A codec failing on one image does not lose the others: they are
kept, and the cell raises :class:`CellError` naming every failed image.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from rdbench import atomic, datasets, images, provenance, results
from rdbench.codecs import STREAM_POINT, Codec, CodecError, codecs, create, is_progressive, point_label
from rdbench.progressive import code_stream

log = logging.getLogger("rdbench")


class CellError(RuntimeError):
    """Some images of a cell failed; the others are saved and a rerun retries only the failed ones."""


class CodecUnavailable(RuntimeError):
    """The codec cannot run here; the message is its available() reason."""


# ----------------------------------------------------------------------------------------- prepare


def prepare(dataset: str, out_dir: str | Path, max_images: int | None = None, download: bool = True,
            max_pixels: int | None = images.MAX_PIXELS) -> Path:
    """Write the dataset's images as canonical 8-bit RGB PNGs plus ``index.json``; returns the index path.

    Every image is checked first; any that cannot be measured is reported together in one error,
    before anything is coded. An image of more than `max_pixels` pixels is one of those, refused
    from its header before it is decoded.
    """
    ds = datasets.resolve(dataset, download=download)
    selected = _selected(ds.images, max_images)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic.remove_stale(out_dir)
    entries, errors = [], []
    for src in selected:
        try:
            rgb, notes = images.load_rgb8(src, max_pixels)
        except images.ImageError as exc:
            errors.append(str(exc))
            continue
        dst = out_dir / f"{src.stem}.png"
        images.write_png(dst, rgb, compress_level=6)
        entries.append({"image": src.stem, "source": str(src), "source_sha256": datasets.sha256_file(src),
                        "png_sha256": datasets.sha256_file(dst), "width": rgb.shape[1], "height": rgb.shape[0],
                        "notes": notes})
        for note in notes:
            log.warning("%s: %s", src.name, note)
    if errors:
        raise images.ImageError(f"{len(errors)} image(s) of {dataset} cannot be measured:\n" + "\n".join(errors))
    index = {"dataset": ds.name, "origin": ds.origin, "root": str(ds.root), "images": entries,
             "hash": provenance.dataset_hash([e["source_sha256"] for e in entries])}
    index_path = out_dir / "index.json"
    results.write_json(index_path, index)
    return index_path


def _selected(images: Sequence[Path], max_images: int | None) -> Sequence[Path]:
    """The first `max_images` images (None: all); 0, -1 or a non-integer is an error, not a slice."""
    if max_images is None:
        return images
    if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
        raise ValueError(f"max_images must be an integer >= 1 or null (all images), got {max_images!r}")
    return images[:max_images]


# -------------------------------------------------------------------------------------------- code


def code_cell(codec_name: str, options: dict[str, Any], index_path: str | Path, point: str,
              out_dir: str | Path, threads: int = 1) -> Path:
    """Encode and decode every image of the index at one point; returns ``coding.json``."""
    codec = create(codec_name, **options)
    progressive = is_progressive(codec)
    if progressive and point != STREAM_POINT:
        raise ValueError(f"codec {codec_name!r} is progressive: its one cell per dataset is {STREAM_POINT!r} "
                         f"(every truncation point from one encode), not {point!r}")
    # Whether it can code this point: a learned codec with weights for point 1 only codes point 1.
    if not (status := (codec if progressive else create(codec_name, **{**options, "points": [point]})).available()):
        raise CodecUnavailable(f"codec {codec_name!r} is not available: {status.reason}")
    index = results.read_json(index_path)
    typed_point = STREAM_POINT if progressive else codec.parse_point(point)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic.remove_stale(out_dir)  # this job owns the folder: temp files in it are a killed run's
    src_dir = Path(index_path).parent
    description = codec.describe()
    fingerprint = _fingerprint(description, options, typed_point)

    def one(entry: dict) -> dict:
        done = out_dir / f"{entry['image']}.json"
        if done.is_file():
            try:
                record = results.read_json(done)
            except results.CorruptFile as exc:  # damaged from outside: code the image again
                log.warning("%s; coding %s again", exc, entry["image"])
                record = {}
            if (isinstance(record, dict) and record.get("png_sha256") == entry["png_sha256"]
                    and record.get("fingerprint") == fingerprint):
                return record
        if progressive:
            return code_stream(codec, src_dir / f"{entry['image']}.png", entry, out_dir, fingerprint)
        return _code_image(codec, typed_point, src_dir / f"{entry['image']}.png", entry, out_dir, fingerprint)

    records, failures = _map(one, index["images"], threads)
    truncations = {}
    if progressive:  # one record per image and truncation point; the offsets kept per image
        truncations = {r["image"]: r["truncations"] for r in records}
        records = [point_record for r in records for point_record in r["records"]]
    if failures:
        raise CellError(f"{codec_name} at {point}: {len(failures)} of {len(index['images'])} image(s) failed "
                        f"(the rest are saved; rerun to retry):\n" + "\n".join(failures))
    dataset = {"name": index["dataset"], "hash": index["hash"], "n_images": len(records), "origin": index["origin"],
               "root": index["root"]}
    coding = {"dataset": index["dataset"], "codec": codec_name, "point": typed_point,
              "point_label": point_label(typed_point), "point_kind": codec.point_kind,
              "manifest": provenance.manifest(description, options, _plugin(codec_name), dataset),
              "records": records}
    if progressive:
        coding["truncations"] = truncations
    path = out_dir / "coding.json"
    results.write_json(path, coding)
    return path


def _fingerprint(description: dict, options: dict, point) -> str:
    """What must match for a saved per-image result to be reused: codec, versions, options, point."""
    blob = json.dumps({"codec": description, "options": options, "point": point}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _code_image(codec: Codec, point, src: Path, entry: dict, out_dir: Path, fingerprint: str) -> dict:
    name = entry["image"]
    bitstream, recon = out_dir / f"{name}.bin", out_dir / f"{name}.png"
    for stale in (bitstream, recon):
        stale.unlink(missing_ok=True)
    codec.check_size(entry["width"], entry["height"])
    t0 = time.perf_counter()
    codec.encode(src, point, bitstream)
    t1 = time.perf_counter()
    if not bitstream.is_file() or bitstream.stat().st_size == 0:
        raise CodecError(f"{codec.name} wrote no bitstream for {name} at {point}")
    codec.decode(bitstream, recon)
    t2 = time.perf_counter()
    rec = images.read_png(recon)
    width, height = entry["width"], entry["height"]
    if rec.shape != (height, width, 3):
        raise CodecError(f"{codec.name} decoded {name} as {rec.shape[1]}x{rec.shape[0]}, expected {width}x{height}")
    size = bitstream.stat().st_size
    record = {"image": name, "width": width, "height": height, "bytes": size, "bpp": 8.0 * size / (width * height),
              "encode_s": t1 - t0, "decode_s": t2 - t1, "source_sha256": entry["source_sha256"],
              "png_sha256": entry["png_sha256"], "notes": entry["notes"], "fingerprint": fingerprint}
    results.write_json(out_dir / f"{name}.json", record)
    return record


def _map(fn, entries: Sequence[dict], threads: int) -> tuple[list[dict], list[str]]:
    """Apply fn to each entry (in threads for external tools), collecting per-image failures."""
    records, failures = [], []

    def guarded(entry):
        try:
            return fn(entry), None
        except Exception as exc:  # one image's failure must not lose the others
            log.error("%s: %s", entry["image"], exc)
            return None, f"- {entry['image']}: {type(exc).__name__}: {exc}"

    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            outcomes = list(pool.map(guarded, entries))
    else:
        outcomes = [guarded(e) for e in entries]
    for record, failure in outcomes:
        if failure:
            failures.append(failure)
        else:
            records.append(record)
    return records, failures


def _plugin(codec_name: str) -> str:
    """Where the codec comes from: a distribution and its version, or a plugin file and its sha256."""
    origin = codecs.origin(codec_name)
    if origin.startswith("plugin file "):
        path = origin.removeprefix("plugin file ")
        return f"{origin} (sha256 {datasets.sha256_file(path)})"
    try:
        from importlib.metadata import version

        return f"{origin} {version(origin)}"
    except Exception:
        return origin


# ----------------------------------------------------------------------------------------- measure


def measure_cell(coding_path: str | Path, index_path: str | Path, metric_names: Sequence[str],
                 out_path: str | Path, features_dir: str | Path | None = None) -> Path:
    """Compute every metric for every image of a coded cell; writes the cell JSON.

    Metrics are named as in the config: ``name`` or ``name:variant``. Values already measured for the
    same reconstruction (sha256) and metric description are reused, so adding a metric computes only
    that metric. They are looked up in a previous `out_path` and in ``.measured.json`` beside the
    reconstructions, a copy of the cell that survives Snakemake deleting a job's outputs before it
    reruns it, and in ``.measuring.json``, the images measured so far by a job that was killed. An image too small for a metric gets ``null`` for it and the
    reason under ``metric_errors``; the other metrics still count. A metric's warnings (MS-SSIM on
    fewer than five scales, say) are kept under ``metric_notes``.

    Reference-side work (LPIPS and DISTS features of each reference image) is done once per image and
    metric description and kept in `features_dir` (default: ``features/`` beside the dataset's
    ``images/``) for every cell of the dataset (:mod:`rdbench.metrics.reference`).
    """
    from rdbench.metrics import resolve
    from rdbench.metrics.reference import ReferenceFeatures

    coding = results.read_json(coding_path)
    chosen = {name: resolve(name) for name in metric_names}
    described = {name: m.describe() for name, m in chosen.items()}
    coded_dir, src_dir = Path(coding_path).parent, Path(index_path).parent
    store = ReferenceFeatures(features_dir if features_dir is not None else src_dir.parent / "features")
    cache, partial = coded_dir / ".measured.json", coded_dir / ".measuring.json"
    for target in (out_path, cache, partial):
        atomic.remove_stale(target)
    previous: dict = {}  # (image, recon sha256) -> (values, notes), merged over every file that has some
    for path in (cache, partial, out_path):
        for key, (values, notes) in _previous_values(path, described).items():
            merged = previous.setdefault(key, ({}, {}))
            merged[0].update(values)
            merged[1].update(notes)
    records, computed = [], 0
    for rec in coding["records"]:
        recon_path = coded_dir / rec.get("recon", f"{rec['image']}.png")
        recon_sha = datasets.sha256_file(recon_path)
        kept_values, kept_notes = previous.get((rec["image"], recon_sha), ({}, {}))
        values, notes, errors = dict(kept_values), {n: m for n, m in kept_notes.items() if n in kept_values}, {}
        todo = [n for n in chosen if n not in values]
        if todo:
            ref, dist = images.read_png(src_dir / f"{rec['image']}.png"), images.read_png(recon_path)
            computed += len(todo)
            for name in todo:
                values[name], error, note = _measure(chosen[name], ref, dist,
                                                     lambda m=chosen[name]: store.get(m, ref, rec["png_sha256"]))
                for kept, message in ((errors, error), (notes, note)):
                    if message:
                        kept[name] = message
                        log.warning("%s: %s", rec["image"], message)
        record = {**rec, "recon_sha256": recon_sha, "metrics": {n: values[n] for n in chosen}}
        if errors:
            record["metric_errors"] = errors
        if notes:
            record["metric_notes"] = notes
        records.append(record)
        if todo:  # what is measured so far: a job killed midway resumes from the next image
            results.write_json(partial, _cell(coding, described, records))
    cell = _cell(coding, described, records)
    results.write_json(out_path, cell)
    results.write_json(cache, cell)
    partial.unlink(missing_ok=True)
    log.info("%s %s %s: %d metric value(s) computed, %d reused; reference features: %d computed, %d loaded",
             coding["dataset"], coding["codec"], coding["point_label"], computed,
             len(records) * len(chosen) - computed, store.computed, store.loaded)
    return Path(out_path)


def _cell(coding: dict, described: dict, records: list[dict]) -> dict:
    cell = {"schema": results.CELL_SCHEMA, **{k: coding[k] for k in ("dataset", "codec", "point", "point_label",
                                                                      "point_kind", "manifest")},
            "metrics": described, "records": records}
    if "truncations" in coding:  # a progressive codec's cell: every image's truncation offsets
        cell["truncations"] = coding["truncations"]
    return cell


def _measure(metric, reference, distorted, features=lambda: None) -> tuple[float | None, str, str]:
    """(value, error, caveat) of one metric on one pair: ``None`` and the reason for an image too small
    for it; a caveat from its MetricWarnings (MS-SSIM on fewer than 5 scales), other warnings passed on.
    `features()` gives the metric's reference features (computed or loaded), or None."""
    from rdbench.metrics.common import ImageTooSmallError, MetricWarning

    value, error = None, ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = metric(reference, distorted, features=features())
        except ImageTooSmallError as exc:
            error = str(exc)
    caveats = []
    for w in caught:
        if issubclass(w.category, MetricWarning):
            caveats.append(str(w.message))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return value, error, "; ".join(caveats)


def keep_measured(cell_path: str | Path, coded_dir: str | Path) -> None:
    """Offer an existing cell's metric values to the next :func:`measure_cell` of `coded_dir`.

    The workflow's code rule calls this before Snakemake deletes the cell to measure it again, so a
    fresh clone (committed results, no work/) recodes but reuses every value whose reconstruction
    is bit-identical. Values already kept beside the reconstructions win.
    """
    cache = Path(coded_dir) / ".measured.json"
    if Path(cell_path).is_file() and not cache.exists():
        try:
            results.write_json(cache, results.read_cell(cell_path))
        except results.CorruptFile as exc:  # nothing to keep from it
            log.warning("%s", exc)


def _previous_values(out_path: str | Path, described: dict) -> dict:
    try:
        old = results.read_cell(out_path)
    except (OSError, ValueError):
        return {}
    same = [n for n, d in described.items() if old.get("metrics", {}).get(n) == d]
    return {(r["image"], r.get("recon_sha256")): ({n: r["metrics"][n] for n in same if r["metrics"].get(n) is not None},
                                                  {n: m for n, m in r.get("metric_notes", {}).items() if n in same})
            for r in old["records"]}


# --------------------------------------------------------------------------------------- aggregate


def aggregate(cell_paths: Sequence[str | Path], out_csv: str | Path) -> int:
    return results.write_rd_csv(cell_paths, out_csv)


def run(codec_name: str, dataset: str, out: str | Path, points: Sequence[str] | None = None,
        max_images: int | None = None, metric_names: Sequence[str] = ("psnr-rgb", "psnr-y", "ms-ssim-rgb"),
        options: dict[str, Any] | None = None, threads: int = 1, max_pixels: int | None = images.MAX_PIXELS) -> Path:
    """Everything for one codec on one dataset (what `rdbench run` does); returns the rd.csv path.

    The codec, its options and points, the metrics and the dataset are all checked before any work.
    """
    from rdbench.metrics import resolve

    out = Path(out)
    options = dict(options or {})
    codec = create(codec_name, **options)
    if points:  # only these: the availability check and the manifest cover exactly what runs
        options["points"] = [codec.parse_point(p) for p in points]
        codec = create(codec_name, **options)
    for name in metric_names:
        resolve(name)
    if not (status := codec.available()):
        raise CodecUnavailable(f"codec {codec_name!r} is not available: {status.reason}")
    labels = [point_label(p) for p in codec.points()]
    if is_progressive(codec):  # one cell holds every truncation point
        labels = [STREAM_POINT]
    ds = datasets.resolve(dataset)
    content = provenance.dataset_hash([datasets.sha256_file(p) for p in _selected(ds.images, max_images)])
    results.check_one_dataset(sorted((out / "cells" / ds.name).glob("*/*.json")),
                              {"name": ds.name, "hash": content, "root": str(ds.root)})
    ds_name = ds.name
    index = prepare(dataset, out / "work" / ds_name / "images", max_images, max_pixels=max_pixels)
    cells = []
    for label in labels:
        coded = code_cell(codec_name, options, index, label, out / "work" / ds_name / "coded" / codec_name / label,
                          threads)
        cells.append(measure_cell(coded, index, metric_names, out / "cells" / ds_name / codec_name / f"{label}.json"))
        log.info("%s %s %s done", ds_name, codec_name, label)
    all_cells = sorted((out / "cells" / ds_name).glob("*/*.json"))
    csv_path = out / ds_name / "rd.csv"
    aggregate(all_cells, csv_path)
    return csv_path
