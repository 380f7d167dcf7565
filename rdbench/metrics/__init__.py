"""Metric registry, fed by the ``rdbench.metrics`` entry-point group (built-ins included) and by the
one-file plugins of the plugin folders (top-level ``metrics/``; :mod:`rdbench.plugins`)."""

from rdbench.metrics.base import Metric, check_pair, metric
from rdbench.registry import Registry


def _plugin_files():
    from rdbench import plugins

    return plugins.found("metric")


metrics: Registry[Metric] = Registry("metric", group="rdbench.metrics", files=_plugin_files)


def resolve(spec: str) -> Metric:
    """The metric a config or column names: ``name`` (its default variant) or ``name:variant``."""
    name, _, variant = spec.partition(":")
    found = metrics.get(name)
    return found.with_variant(variant) if variant else found


__all__ = ["Metric", "check_pair", "metric", "metrics", "resolve"]
