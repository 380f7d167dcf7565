"""A name -> object registry fed by entry points and plugin files, shared by codecs and metrics.

Entries are lazy ``"module:attr"`` strings until first looked up, so listing codecs never imports
torch. Built-ins and packaged plugins arrive the same way: through an entry-point group
(``rdbench.codecs``, ``rdbench.metrics``) declared in a package's ``pyproject.toml``. One-file plugins
(``codecs/*.py``, ``metrics/*.py``: :mod:`rdbench.plugins`) arrive through the `files` hook, after the
entry points; a name given twice, by any two of them, is refused naming both.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class RegistryError(KeyError):
    """An unknown or duplicate name, or an entry that could not be loaded."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to objects. Duplicates raise; unknown names suggest the closest ones."""

    def __init__(self, kind: str, group: str | None = None,
                 files: Callable[[], list[tuple[str, Any, str]]] | None = None):
        self.kind = kind
        self.group = group
        self.files = files  # () -> [(name, object, origin)] of the plugin files, re-read by rediscover()
        self._entries: dict[str, Any] = {}  # name -> object, or "module:attr" not yet imported
        self._origin: dict[str, str] = {}  # name -> distribution (or plugin file) that provided it
        self._discovered = group is None
        self._files_read = files is None
        self._frozen = False

    def register(self, name: str, obj: T | str, origin: str = "runtime") -> None:
        if self._frozen:
            raise RegistryError(f"the {self.kind} registry is frozen; cannot add {name!r}")
        self._discover()
        if name in self._entries:
            raise RegistryError(
                f"{self.kind} {name!r} is already registered (by {self._origin[name]}); "
                f"pick another name for the one from {origin}"
            )
        self._entries[name] = obj
        self._origin[name] = origin

    def freeze(self) -> None:
        self._frozen = True

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def origin(self, name: str) -> str:
        self._discover()
        return self._origin[name]

    def __contains__(self, name: str) -> bool:
        self._discover()
        return name in self._entries

    def get(self, name: str) -> T:
        self._discover()
        if name not in self._entries:
            close = difflib.get_close_matches(name, self._entries, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._entries))}"
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = _load(entry, f"{self.kind} {name!r}")
        return entry

    def rediscover(self) -> None:
        """Drop what the plugin files gave and read them again on the next lookup (other folders)."""
        if self.files is None:
            return
        for name in [n for n, o in self._origin.items() if o.startswith("plugin file ")]:
            del self._entries[name], self._origin[name]
        self._files_read = False

    def _discover(self) -> None:
        if not self._discovered:
            self._discover_entry_points()
        if not self._files_read:
            self._files_read = True
            try:
                for name, obj, origin in self.files():
                    if name in self._entries:
                        raise RegistryError(f"{self.kind} {name!r} is defined twice: by {self._origin[name]} and "
                                            f"by {origin}; rename one (its `name`) or remove it")
                    self._entries[name], self._origin[name] = obj, origin
            except Exception:
                self.rediscover()  # every lookup reports a broken or duplicate plugin file, not only the first
                raise

    def _discover_entry_points(self) -> None:
        self._discovered = True
        for ep in entry_points(group=self.group):
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            if ep.name in self._entries:
                if self._entries[ep.name] == ep.value:
                    continue  # the same package seen twice on sys.path (editable installs)
                raise RegistryError(
                    f"{self.kind} {ep.name!r} is provided twice: {self._origin[ep.name]} "
                    f"({self._entries[ep.name]}) and {dist} ({ep.value}); uninstall one"
                )
            self._entries[ep.name] = ep.value
            self._origin[ep.name] = dist


def _load(target: str, what: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except Exception as exc:  # a broken plugin must say which one, not vanish
        raise RegistryError(f"could not load {what} from {target!r}: {type(exc).__name__}: {exc}") from exc
