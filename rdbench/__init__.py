"""rdbench: rate-distortion benchmarking and BD-rate harness for image codecs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rdbench")
except PackageNotFoundError:  # running from a source tree without `pip install -e .`
    __version__ = "0+unknown"
