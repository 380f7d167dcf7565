"""Published curves in their repositories' own formats, parsed as published (no converted copies).

``tfc:<dataset>/<method>``  tensorflow/compression ``results/image_compression/<dataset>/<metric>/<method>.txt``:
                            ``#`` header lines (the first names the method: ``... data for "BPG (4:4:4)" on
                            kodak.``), then ``bpp, value`` lines. rdbench reads ``PSNR_sRGB_RGB`` as ``psnr-rgb``
                            and ``MS-SSIM_sRGB_RGB`` (linear 0..1) as ``ms-ssim-rgb``; both must share the bpp.
``c3:<file>/<codec>``       google-deepmind/c3_neural_compression ``baselines/<file>.py``: ``RESULTS =
                            immutabledict({codec: {"bpp": (...), "psnr": (...), "meta": {...}}})``, read with
                            :mod:`ast` (the module is never imported or executed); ``psnr`` is per-image PSNR
                            averaged over images (baselines/README.md), read as ``psnr-rgb``.
``dpict:<file>.csv``         jaehanlee-mcl/DPICT ``DPICT_kodak_PSNR.csv`` / ``DPICT_kodak_MS_SSIM.csv``: UTF-8 with a
                            BOM, CRLF, no header, ``bpp,value`` by decreasing bpp (one row per truncation point of
                            a progressive stream). PSNR is read as ``psnr-rgb``, the MS-SSIM file (in dB) as
                            ``ms-ssim-rgb`` = 1 - 10^(-dB/10). Labels: "DPICT" and "DPICT (MS-SSIM file)".
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from rdbench import references
from rdbench.bd import BDError
from rdbench.report.published import PublishedCurve

TFC_METRICS = {"psnr-rgb": "PSNR_sRGB_RGB", "ms-ssim-rgb": "MS-SSIM_sRGB_RGB"}
TFC_NAME = re.compile(r'^#.*data for "(?P<name>[^"]+)" on')


def _parts(spec: str, source: references.Source) -> tuple[str, str]:
    name = spec[len(source.prefix):]
    first, sep, second = name.partition("/")
    if not sep or not first or not second or "/" in second or ".." in (first, second):
        raise references.ReferenceCurveError(f"{spec}: name a curve as {source.prefix}{source.naming}")
    return first, second


def load_tfc(spec: str) -> PublishedCurve:
    """One method of tensorflow/compression on one dataset: PSNR and MS-SSIM on R'G'B'."""
    source = references.SOURCES["tfc:"]
    dataset, method = _parts(spec, source)
    bpp, metrics, name, files = None, {}, None, []
    for metric, folder in TFC_METRICS.items():
        path = references.fetch(source, f"{dataset}/{folder}/{method}.txt", spec)
        files.append(str(path))
        header, rate, values = _read_tfc(path)
        name = name or header
        if bpp is not None and not np.array_equal(bpp, rate):
            raise BDError(f"{path}: its bpp values differ from those of {files[0]}; rdbench needs one rate per point")
        bpp, metrics[metric] = rate, values
    return PublishedCurve(name or method, name or method, source.description, " + ".join(files), bpp, metrics)


def _read_tfc(path: Path) -> tuple[str | None, np.ndarray, np.ndarray]:
    lines = [(number, line.strip()) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    names = [m["name"] for _, line in lines if (m := TFC_NAME.match(line))]
    data = _bpp_value_rows(path, [(n, line) for n, line in lines if line and not line.startswith("#")])
    return (names[0] if names else None), data[:, 0], data[:, 1]


def _bpp_value_rows(path: Path, lines: list[tuple[int, str]]) -> np.ndarray:
    """(number, text) lines of 'bpp,value' -> an N x 2 array; names the file and line of a bad one."""
    rows = []
    for number, line in lines:
        try:
            rate, value = (float(x) for x in line.split(","))
        except ValueError as exc:
            raise BDError(f"{path}:{number}: expected 'bpp, value', got {line!r}") from exc
        rows.append((rate, value))
    if len(rows) < 2:
        raise BDError(f"{path}: fewer than two rate points")
    return np.array(rows)


def load_c3(spec: str) -> PublishedCurve:
    """One codec of c3_neural_compression's baselines file (PSNR only)."""
    source = references.SOURCES["c3:"]
    file, codec = _parts(spec, source)
    path = references.fetch(source, f"{file}.py", spec)
    results = _c3_results(path)
    if codec not in results:
        raise references.ReferenceCurveError(f"{spec}: {path} has no codec {codec!r}; it has {sorted(results)}")
    entry = results[codec]
    try:
        bpp, psnr = np.asarray(entry["bpp"], float), np.asarray(entry["psnr"], float)
    except (KeyError, TypeError, ValueError) as exc:
        raise BDError(f"{path}: {codec!r} needs numeric 'bpp' and 'psnr' tuples ({exc})") from exc
    if bpp.shape != psnr.shape or bpp.ndim != 1:
        raise BDError(f"{path}: {codec!r} has {bpp.shape} bpp values and {psnr.shape} psnr values")
    meta = entry.get("meta") or {}
    description = source.description + (f"; c3's source for it: {meta['source']}" if meta.get("source") else "")
    return PublishedCurve(codec, codec, description, str(path), bpp, {"psnr-rgb": psnr})


def _c3_results(path: Path) -> dict:
    """The ``RESULTS`` literal of a c3 baselines module, without running it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as exc:
        raise BDError(f"{path}: not a Python file ({exc})") from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RESULTS" for t in node.targets):
            return _literal(node.value, path)
    raise BDError(f"{path}: no RESULTS = ... assignment (c3_neural_compression's baselines format)")


def _literal(node: ast.AST, path: Path):
    """A literal of dicts, tuples and numbers/strings; ``immutabledict.immutabledict(x)`` reads as ``x``."""
    if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "immutabledict" \
            and len(node.args) == 1 and not node.keywords:
        return _literal(node.args[0], path)
    if isinstance(node, ast.Dict):
        return {_literal(k, path): _literal(v, path) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(e, path) for e in node.elts)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand, path)
    raise BDError(f"{path}:{getattr(node, 'lineno', '?')}: RESULTS holds something other than literals "
                  f"({type(node).__name__}); rdbench reads it without executing the file")


DPICT_FILES = {"DPICT_kodak_PSNR.csv": ("psnr-rgb", "DPICT"),
               "DPICT_kodak_MS_SSIM.csv": ("ms-ssim-rgb", "DPICT (MS-SSIM file)")}


def load_dpict(spec: str) -> PublishedCurve:
    """One of DPICT's two Kodak CSVs, points sorted by rising bpp."""
    source = references.SOURCES["dpict:"]
    name = spec[len(source.prefix):]
    if name not in DPICT_FILES:
        raise references.ReferenceCurveError(f"{spec}: DPICT publishes {', '.join(source.prefix + f for f in DPICT_FILES)}")
    path = references.fetch(source, name, spec)
    lines = enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1)
    data = _bpp_value_rows(path, [(number, line) for number, line in lines if line.strip()])
    data = data[np.argsort(data[:, 0], kind="stable")]
    metric, label = DPICT_FILES[name]
    values = data[:, 1] if metric == "psnr-rgb" else 1.0 - 10.0 ** (-data[:, 1] / 10.0)
    extra = {"ms-ssim-db-rgb": data[:, 1]} if metric == "ms-ssim-rgb" else {}
    return PublishedCurve(label, label, source.description, str(path), data[:, 0], {metric: values, **extra})


LOADERS = {"tfc:": load_tfc, "c3:": load_c3, "dpict:": load_dpict}
