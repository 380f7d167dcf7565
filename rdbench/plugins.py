"""One-file plugins: every ``*.py`` of the plugin folders, loaded by path, no packaging.

    <checkout>/codecs/*.py   Codec subclasses     -> the codec registry  (rdbench.codecs.codecs)
    <checkout>/metrics/*.py  @metric functions    -> the metric registry (rdbench.metrics.metrics)

The folders are ``$RDBENCH_PLUGINS`` when set (``os.pathsep``-separated; the workflow's ``plugins:``
setting sets it for its jobs), else the top-level ``codecs/`` and ``metrics/`` of the rdbench checkout.
A file may define codecs and metrics alike, whichever folder it is in. Each file is imported under a
module name of its own (``rdbench_plugin_<stem>_<hash of its path>``), never as ``codecs.<stem>``: a
folder named ``codecs`` must not shadow the standard library's ``codecs`` module, and two files called
``jpeg.py`` in two folders must not replace each other. Files starting with ``_`` are skipped.

A file that fails to import is an error naming the file, the line and the traceback's last line;
two definitions of one name (in two files, or a file and an installed package) are refused by the
registry naming both. Nothing is turned into a warning. A plugin file is executed when a registry is
first used, so keep heavy imports (torch, ...) inside the functions: `rdbench codecs` stays fast.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

ENV = "RDBENCH_PLUGINS"
DEFAULT_FOLDERS = ("codecs", "metrics")


class PluginError(RuntimeError):
    """A plugin folder or file that cannot be used; the message names it."""


def checkout_root() -> Path | None:
    """The rdbench checkout (the folder with pyproject.toml above the package), or None when installed."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def folders() -> list[Path]:
    """The plugin folders of this process: ``$RDBENCH_PLUGINS``, else the checkout's codecs/ and metrics/."""
    value = os.environ.get(ENV)
    if value is not None:
        named = [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
        missing = [str(p) for p in named if not p.is_dir()]
        if missing:
            raise PluginError(f"{ENV} names {', '.join(missing)}, which is not a folder; fix the setting "
                              f"(folders separated by {os.pathsep!r}) or unset it")
        return [p.resolve() for p in named]
    root = checkout_root()
    return [root / name for name in DEFAULT_FOLDERS if root is not None and (root / name).is_dir()]


def use(paths: list[str | os.PathLike] | None, base: str | os.PathLike = ".") -> str | None:
    """Make `paths` (relative to `base`) this process's and its children's plugin folders.

    What the workflow's ``plugins:`` setting does (``None`` leaves the environment as it is). Raises
    :class:`PluginError` naming a folder that is not there. Returns the value set for ``$RDBENCH_PLUGINS``.
    """
    if paths is None:
        return os.environ.get(ENV)
    resolved = [(Path(base) / Path(p).expanduser()).resolve() for p in paths]
    missing = [str(p) for p in resolved if not p.is_dir()]
    if missing:
        raise PluginError(f"plugins: {', '.join(missing)} is not a folder; name folders of plugin files")
    value = os.pathsep.join(map(str, resolved))
    if os.environ.get(ENV) != value:
        os.environ[ENV] = value
        reset()
    return value


def files() -> list[Path]:
    """Every plugin file, in folder order then name order."""
    return [f for folder in folders() for f in sorted(folder.glob("*.py")) if not f.name.startswith("_")]


def module_name(path: Path) -> str:
    """The unique, stable module name a plugin file is imported under."""
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"rdbench_plugin_{stem}_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"


def load_file(path: str | os.PathLike) -> ModuleType:
    """Import one Python file by path under :func:`module_name` (once per process).

    Raises :class:`PluginError` naming the file, the failing line and the traceback's last line."""
    path = Path(path).resolve()
    name = module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin file {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look the module up while it runs
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # a plugin that calls sys.exit() is broken too
        del sys.modules[name]
        raise PluginError(f"plugin file {path} is broken{_where(exc, path)}: {_last_line(exc)}; "
                          "fix the file or move it out of the plugin folder") from exc
    return module


def _last_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _where(exc: BaseException, path: Path) -> str:
    """' (line N)': the last line of `path` in the traceback (a SyntaxError's own line number)."""
    if isinstance(exc, SyntaxError) and exc.lineno and exc.filename and Path(exc.filename).resolve() == path:
        return f" (line {exc.lineno})"
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path]
    return f" (line {lines[-1]})" if lines else ""


_lock = threading.RLock()
_found: dict[str, list[tuple[str, Any, str]]] | None = None


def reset() -> None:
    """Forget what was found (the registries discover again on their next lookup)."""
    global _found
    with _lock:
        _found = None
    for registry in _registries():
        registry.rediscover()


def found(kind: str) -> list[tuple[str, Any, str]]:
    """(name, object, origin) of every `kind` ("codec" or "metric") the plugin files define."""
    global _found
    with _lock:
        if _found is None:
            collected: dict[str, list] = {"codec": [], "metric": []}
            for path in files():
                module = load_file(path)
                for kind_, name, obj in _definitions(module):
                    collected[kind_].append((name, obj, f"plugin file {path}"))
            _found = collected
        return list(_found[kind])


def _definitions(module: ModuleType):
    """("codec" | "metric", name, object) for what `module` itself defines (not what it imports)."""
    import inspect

    from rdbench.codecs.base import Codec
    from rdbench.metrics.base import Metric

    for obj in vars(module).values():
        if (isinstance(obj, type) and issubclass(obj, Codec) and obj.__module__ == module.__name__
                and not inspect.isabstract(obj) and "name" in vars(obj)):
            yield "codec", obj.name, obj
        elif isinstance(obj, Metric) and getattr(obj.fn, "__module__", None) == module.__name__:
            yield "metric", obj.name, obj


def _registries():
    """The registries fed from plugin files, where they are imported already."""
    return [r for r in (getattr(sys.modules.get("rdbench.codecs"), "codecs", None),
                        getattr(sys.modules.get("rdbench.metrics"), "metrics", None)) if r is not None]
