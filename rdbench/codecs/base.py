"""The codec contract: an image file in, a bitstream file out, and back.

    src.png --encode(point)--> bitstream file --decode--> out.png
                                    |
                      rate = 8 * file size / (W * H of src)

The two operations meet only through the bitstream file, so nothing can hide outside the rate.
The harness (``rdbench.run``) owns timing, bpp and metrics; a codec only codes. A codec that cannot
run here says why in ``available()`` and is skipped, never faked.

Writing a plugin (one file; register it under the ``rdbench.codecs`` entry-point group)::

    class MyCodec(Codec):
        name = "mycodec"
        point_kind = "quality"            # what a point means: quality, qp, target-bpp, model-index
        default_points = (10, 30, 50, 70, 90)

        def encode(self, src_png, point, bitstream): ...
        def decode(self, bitstream, out_png): ...
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

Point = int | float | str


@dataclass(frozen=True)
class Availability:
    """Whether a codec can run here; if not, a one-line reason that includes the fix."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok

    @classmethod
    def yes(cls) -> "Availability":
        return cls(True, "")

    @classmethod
    def no(cls, reason: str) -> "Availability":
        return cls(False, reason)


class CodecError(RuntimeError):
    """A codec failed on one image: carries the command, exit code and stderr tail when external."""

    def __init__(self, message: str, command: Sequence[str] | None = None, returncode: int | None = None,
                 stderr: str = "", log_path: str | None = None):
        self.command = list(command) if command else None
        self.returncode = returncode
        self.stderr_tail = stderr[-2000:] if stderr else ""
        self.log_path = log_path
        parts = [message]
        if self.command:
            parts.append(f"command: {' '.join(map(str, self.command))}")
        if returncode is not None:
            parts.append(f"exit code: {returncode}{_signal_note(returncode)}")
        if self.stderr_tail:
            parts.append(f"stderr (tail):\n{self.stderr_tail}")
        elif returncode is not None:
            parts.append("stderr: (empty)")
        if log_path:
            parts.append(f"log: {log_path}")
        super().__init__("\n".join(parts))


def _signal_note(returncode: int) -> str:
    """' (killed by signal SIGSEGV: ...)' for a negative exit code (subprocess's "killed by signal N")."""
    if returncode >= 0:
        return ""
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f" (killed by signal {-returncode})"
    return f" (killed by signal {sig.name}: {signal.strsignal(sig) or sig.name}; the tool crashed or was killed)"


class Codec(ABC):
    """One family of encoders at a ladder of rate points.

    Subclasses set ``name``, ``point_kind`` and ``default_points`` (ascending rate), implement
    ``encode``/``decode``, and take their options as typed keyword arguments of ``__init__``.
    """

    name: ClassVar[str]
    point_kind: ClassVar[str] = "quality"
    default_points: ClassVar[Sequence[Point]] = ()

    def __init__(self, points: Sequence[Point] | None = None):
        self._points = [self.parse_point(p) for p in (points if points is not None else self.default_points)]
        if not self._points:
            raise ValueError(f"codec {self.name!r} has no rate points; give `points` in the config")

    def points(self) -> list[Point]:
        """The rate points, ordered by ascending rate."""
        return list(self._points)

    def parse_point(self, text: Point) -> Point:
        """Turn a point given as text (a path component, a CLI flag) into its typed value."""
        if isinstance(text, str):
            try:
                return int(text)
            except ValueError:
                return float(text)
        return text

    @abstractmethod
    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        """Write the complete bitstream for `src_png` at `point` into `bitstream`."""

    @abstractmethod
    def decode(self, bitstream: Path, out_png: Path) -> None:
        """Rebuild the 8-bit RGB image from `bitstream` alone and write it as PNG to `out_png`."""

    def available(self) -> Availability:
        return Availability.yes()

    def check_size(self, width: int, height: int) -> None:
        """Raise :class:`CodecError` if this codec cannot code a `width` x `height` picture.

        The harness calls it before :meth:`encode`, so a size a tool is known to crash on is refused
        with the reason instead of the crash. Any size is fine by default.
        """

    def describe(self) -> dict[str, Any]:
        """Versions, command lines, colour pipeline: goes into every result's manifest."""
        return {"name": self.name, "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "point_kind": self.point_kind, "points": self.points()}


class ProgressiveCodec(Codec):
    """A codec whose rate points are truncations of one bitstream (DPICT, CTC: trit-plane coding).

        src.png --encode_stream--> full file + {point: prefix bytes}
        full[:bytes(point)] --decode--> out.png        (each prefix alone; rate = 8 x prefix bytes / pixels)

    The harness encodes each image once, cuts the prefix of every point out of the one file and
    decodes each prefix on its own; a dataset has one cell (:data:`STREAM_POINT`) holding every point,
    and the cell records each image's truncation offsets. :meth:`encode` still writes a single point's
    file (the plain contract), by encoding the stream and keeping its prefix.
    """

    progressive: ClassVar[bool] = True
    point_kind = "truncation"

    @abstractmethod
    def encode_stream(self, src_png: Path, bitstream: Path) -> dict[str, int]:
        """Write the full bitstream of `src_png`; return {point label: prefix length in bytes} for every
        point of :meth:`points`, non-decreasing in that order and at most the file's size."""

    def encode(self, src_png: Path, point: Point, bitstream: Path) -> None:
        from rdbench import atomic

        label = point_label(self.parse_point(point))
        with scratch_dir() as tmp:
            offsets = self.encode_stream(src_png, tmp / "stream")
            if label not in offsets:
                raise CodecError(f"{self.name}: point {label!r} is not one of its truncation points "
                                 f"({', '.join(offsets)})")
            atomic.write_bytes(bitstream, (tmp / "stream").read_bytes()[:offsets[label]])


STREAM_POINT = "stream"  # the one cell of a progressive codec per dataset: every truncation point


def is_progressive(codec: Codec | type[Codec]) -> bool:
    return bool(getattr(codec, "progressive", False))


def point_label(point: Point) -> str:
    """The canonical text of a point, as used in paths and tables (37, 0.25, q90)."""
    if isinstance(point, float) and point.is_integer():
        return str(int(point))
    return str(point)


def run_command(command: Sequence[str | os.PathLike], timeout: float = 600, cwd: str | Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run an external tool from an argument list (never a shell string); raise CodecError on failure."""
    args = [str(c) for c in command]
    try:
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, timeout=timeout, text=True,
                              errors="replace", stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise CodecError(f"program not found: {args[0]}", command=args) from exc
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise CodecError(f"timed out after {timeout:g} s", command=args, stderr=stderr) from exc
    if proc.returncode != 0:
        raise CodecError("external tool failed", command=args, returncode=proc.returncode,
                         stderr=proc.stderr or proc.stdout)
    return proc


def find_program(name: str, configured: str | os.PathLike | None = None, env_var: str | None = None) -> str | None:
    """A program's path from an explicit setting, then an environment variable, then PATH."""
    for candidate in (configured, os.environ.get(env_var) if env_var else None):
        if candidate:
            candidate = str(candidate)
            if os.path.isdir(candidate):
                candidate = os.path.join(candidate, name)
            return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which(name)


@contextmanager
def scratch_dir(prefix: str = "rdbench-") -> Iterator[Path]:
    """A temporary directory removed on exit, also when the codec fails."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
