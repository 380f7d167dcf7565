"""Metric registry, fed by the ``rdbench.metrics`` entry-point group (built-ins included)."""

from rdbench.metrics.base import Metric, check_pair, metric
from rdbench.registry import Registry

metrics: Registry[Metric] = Registry("metric", group="rdbench.metrics")

__all__ = ["Metric", "check_pair", "metric", "metrics"]
