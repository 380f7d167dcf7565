"""Checks of a workflow configuration, run when Snakemake parses the workflow, before any job.

Every problem is collected and reported together, on the terminal, so a bad config never costs a
coding job (or the complexity job) before it is found: a dataset folder that is not there, two
datasets of one name, an unknown codec or a bad codec option, an unknown metric or variant, an
anchor that is not a configured codec able to run here. ``workflow/rules/common.smk`` calls
:func:`check`; the JSON schema (``workflow/schemas/config.schema.yaml``) has already checked the shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from rdbench import datasets


class ConfigError(ValueError):
    """A configuration that cannot mean what it says; the message lists every problem found."""


def dataset_sources(entries: list[str]) -> dict[str, str]:
    """Name -> entry of the configured datasets; two entries with one name are an error naming both.

    A dataset is known by its name in every path and table (``results/<name>/rd.csv``), so two
    folders both called ``photos`` cannot both be measured under it: rename one.
    """
    sources: dict[str, str] = {}
    for entry in entries:
        name = datasets.name_of(entry)
        if name in sources:
            raise ConfigError(f"datasets: {sources[name]!r} and {entry!r} are both named {name!r}; "
                              "rename one of the folders (a dataset is known by its name in every result)")
        sources[name] = entry
    return sources


def codec_options(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The configured keyword options of a codec (`points` included; `threads` is the workflow's)."""
    return {k: v for k, v in (config["codecs"].get(name) or {}).items() if k != "threads"}


def codec_setting(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """What a codec's cells depend on besides the images (the value of its setting stamp): its options,
    and for a codec with a weights file per point (a learned codec) each file's sha256, so new weights
    rerun that codec's cells while the other codecs' stamps stay as they were."""
    from rdbench.codecs import create

    options = codec_options(config, name)
    codec = create(name, **options)
    if not hasattr(codec, "weights_file"):
        return options
    files = {str(p): codec.weights_file(p) for p in codec.points()}
    return {**options, "weights_sha256": {p: datasets.sha256_file(f) for p, f in files.items() if f.is_file()}}


def use_plugins(config: Mapping[str, Any]) -> None:
    """Apply the ``plugins:`` setting (folders of one-file plugins, relative to the working directory):
    it replaces the default folders (the checkout's codecs/ and metrics/) for this run and its jobs."""
    from rdbench import plugins

    try:
        plugins.use(config.get("plugins"))
    except plugins.PluginError as exc:
        raise ConfigError(f"the config has 1 problem(s):\n- {exc}") from exc


def unavailable_datasets(config: Mapping[str, Any]) -> dict[str, str]:
    """Registered datasets of the config that cannot be had here -> why (``rdbench.datasets.unavailable``). A
    folder that is not there is a config problem instead (:func:`check`)."""
    return {name: reason for name in config["datasets"] if name in datasets.KNOWN
            if (reason := datasets.unavailable(name))}


def check(config: Mapping[str, Any]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Check `config` (parsed, schema-valid); return (codec -> point labels of the codecs that run
    here, codec -> why each other one is skipped). Raise :class:`ConfigError` listing every problem."""
    from rdbench.codecs import STREAM_POINT, create, is_progressive, point_label
    from rdbench.report.build import check_published

    problems: list[str] = []
    for registry in _registries():  # a broken or duplicate plugin file: said once, not once per codec
        try:
            registry.names()
        except Exception as exc:
            if f"plugins: {exc}" not in problems:  # one broken file breaks both registries: say it once
                problems.append(f"plugins: {exc}")
    if problems:
        raise ConfigError(f"the config has {len(problems)} problem(s):\n" + "\n".join(f"- {p}" for p in problems))
    try:
        check_published(config.get("published") or {})
    except Exception as exc:  # a curve listed under another dataset (CompressAI's CLIC test split), a bad entry
        problems.append(str(exc) if str(exc).startswith("published") else f"published: {exc}")
    try:
        dataset_sources(config["datasets"])
    except ConfigError as exc:
        problems.append(str(exc))
    for entry in config["datasets"]:
        if entry not in datasets.KNOWN:
            problems += _folder_problems(entry)
    ready, skipped = {}, {}
    for name in config["codecs"]:
        try:
            codec = create(name, **codec_options(config, name))
            status = codec.available()
        except Exception as exc:  # unknown name, broken plugin, bad option: all reported here
            problems.append(f"codecs: {name}: {exc}")
            continue
        if status:
            ready[name] = [STREAM_POINT] if is_progressive(codec) else [point_label(p) for p in codec.points()]
        else:
            skipped[name] = status.reason
    problems += _metric_problems(config["metrics"])
    anchor = config.get("anchor")
    if not anchor:
        problems.append("anchor: not set; name the BD-rate anchor, one of the configured codecs")
    elif anchor in skipped:
        problems.append(f"anchor: {anchor!r} cannot run here ({skipped[anchor]}); choose another anchor")
    elif anchor not in ready and not any(p.startswith(f"codecs: {anchor}:") for p in problems):
        problems.append(f"anchor: {anchor!r} is not among the configured codecs ({', '.join(config['codecs'])})")
    if problems:
        raise ConfigError(f"the config has {len(problems)} problem(s):\n" + "\n".join(f"- {p}" for p in problems))
    return ready, skipped


def _registries():
    from rdbench.codecs import codecs
    from rdbench.metrics import metrics

    return codecs, metrics


def _folder_problems(entry: str) -> list[str]:
    folder = Path(entry)
    if not folder.is_dir():
        return [f"datasets: {entry!r} is neither a dataset name ({', '.join(datasets.KNOWN)}) nor a folder "
                f"(looked for {folder.absolute()})"]
    try:
        if not datasets.list_images(folder):
            return [f"datasets: {entry}: no images ({', '.join(sorted(datasets.IMAGE_SUFFIXES))})"]
    except datasets.DatasetError as exc:
        return [f"datasets: {exc}"]
    return []


def _metric_problems(names: list[str]) -> list[str]:
    """Unknown metric names from the registry alone; a variant (name:variant) loads its metric."""
    from rdbench.metrics import metrics, resolve

    problems = []
    for spec in names:
        name, _, variant = spec.partition(":")
        try:
            resolve(spec) if variant else metrics.get(name)
        except Exception as exc:
            problems.append(f"metrics: {exc}")
    return problems
