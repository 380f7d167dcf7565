"""Checks of a workflow configuration, run when Snakemake parses the workflow, before any job.

Every problem is collected and reported together, on the terminal, so a bad config never costs a
coding job (or the complexity job) before it is found. ``workflow/rules/common.smk`` calls
:func:`check`; the JSON schema (``workflow/schemas/config.schema.yaml``) has already checked the shapes.
"""

from __future__ import annotations

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


def check(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` listing every problem of `config` (a parsed, schema-valid config)."""
    dataset_sources(config["datasets"])
