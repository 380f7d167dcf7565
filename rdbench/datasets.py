"""Datasets: the registry of named test sets, local lookup, download and sha256 verification.

Where a dataset's images are found, in order:
  1. ``$RDBENCH_DATA/<name>/`` (e.g. ``RDBENCH_DATA=../shared/datasets``)
  2. the download cache ``$RDBENCH_CACHE/datasets/<name>/`` (default ``~/.cache/rdbench``)
  3. a download from the public source, verified by sha256, into the cache
Any folder of images is a dataset too: pass its path instead of a name.

Kodak's 24 files are verified against the canonical sha256s below (the r0k.us files). CLIC and
Tecnick have no published per-file checksums: rdbench records them on first download
(``SHA256SUMS`` in the cache folder) and verifies them on every later use.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff", ".webp"}

KODAK_SHA256 = {
    "kodim01.png": "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd",
    "kodim02.png": "133d50ad0f2cda48fef30e251f433fa1a98ee08c0f2d07cdab9462e876ccae5d",
    "kodim03.png": "e25ca1ff2f0c0cb5fdfd5f9b0a0bb21ac4c3de3c84a67f35b09a85d3306249db",
    "kodim04.png": "1e079e4adc03524e53f1394a2a8e1c5995f0f70a5aec125b12fa3fdbe33cba37",
    "kodim05.png": "10349e963c5c813d327852f82c1795fa4148d69fedffc4c589bee458e3ac3d53",
    "kodim06.png": "363510303b715d4cbc384e1ce227e466b613a09e1b71ae985882bf8e7fbd9b18",
    "kodim07.png": "a74d606cef80e70a04fb983364f79fb954ad46665edf2a8b7355ce81adfa7998",
    "kodim08.png": "e3cfc1371a5643c7f8cdf1bd565c172abce6aa26e3f2fdce74cbf7c32364089d",
    "kodim09.png": "a0c72eb70826619305388ed9c0f8aa8f491b234155d62673cda270d7021149a2",
    "kodim10.png": "28fb615837dc8e66fc92c40158cac80b57f07d0ce77d22576aa85ac9e2787336",
    "kodim11.png": "7936814b58b5387fce2e4e2488b4ec830dadd95fa9520f358ddb30990b50f2b6",
    "kodim12.png": "d78c37c2f04f23761ed2367dd77e2db584ddd4c3950833fecf89f199a8126980",
    "kodim13.png": "bc34a3ce58dea09dce1704c997171602de90cb34d0c8503a988b77f473d39b08",
    "kodim14.png": "55a94550ff18f3246c4074fd32b77b0c74447c26b6ad274d564d999c0450ba6e",
    "kodim15.png": "d36d884e29bce92adea11de456be4e9a5815e79c112d47453a34a6f6edc84e63",
    "kodim16.png": "a89c7268ccd4718ba424a99fc4643c572cf692ca6eae887185ceb4e9f11d2e54",
    "kodim17.png": "37afcc89fbdcb76d9518e04b2fc011027e2f4cd14b3b2f83cefd721641a47c5b",
    "kodim18.png": "5deb2d91e347cbdcc0d8a595daa8877de0772c9cdbce4956a2f45a0f97648a47",
    "kodim19.png": "8f12d577f9ca36f384f82dec11ed8a4e12a27bd5a32ef117b9bcaf4fe4d0606f",
    "kodim20.png": "3b46c71e3b92a563820ba32936be8330c586c41f938efd94be938386aae4328a",
    "kodim21.png": "ac958597c82073f6bb65129c68f72b651db5b9efd82e11547d07350214bc268b",
    "kodim22.png": "37782d92a1cfb36ff586047d5c0a2fa75e042fd0b58f90f866b4ab91349c4e03",
    "kodim23.png": "2ed596d7de74cc43d23add4c116763f49d7b5a78b21444fe84caece531ee933b",
    "kodim24.png": "ac96f39dacff2ec303ddb8a7eb72d59f77af2b491144926335938338ee63473d",
}


class DatasetError(RuntimeError):
    """A dataset that cannot be found, downloaded or verified, with what to do about it."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    urls: tuple[str, ...]  # one URL per file, or one archive URL
    archive_member_prefix: str = ""  # for archives: keep members under this folder
    sha256: dict[str, str] = field(default_factory=dict)  # known per-file checksums (empty: record on first use)


KNOWN: dict[str, DatasetSpec] = {
    "kodak": DatasetSpec(
        "kodak", "Kodak PhotoCD, 24 images 768x512 / 512x768",
        tuple(f"https://r0k.us/graphics/kodak/kodak/{f}" for f in KODAK_SHA256), sha256=KODAK_SHA256),
    "clic2020-professional-valid": DatasetSpec(
        "clic2020-professional-valid", "CLIC 2020 professional validation, 41 images up to 2048 px",
        ("https://data.vision.ee.ethz.ch/cvl/clic/professional_valid_2020.zip",), archive_member_prefix="valid/"),
    "tecnick": DatasetSpec(
        "tecnick", "Tecnick SAMPLING RGB 1200x1200, 100 images",
        ("https://sourceforge.net/projects/testimages/files/OLD/OLD_SAMPLING/testimages.zip/download",),
        archive_member_prefix="RGB/RGB_OR_1200x1200/"),
}


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    images: tuple[Path, ...]
    origin: str  # "RDBENCH_DATA", "cache", "download" or "folder"

    def image_ids(self) -> list[str]:
        return [p.stem for p in self.images]


def cache_dir() -> Path:
    return Path(os.environ.get("RDBENCH_CACHE", Path.home() / ".cache" / "rdbench"))


# Image names that would be rdbench's own files in a coded cell's folder (coding.json, .measured.json):
# refused, as are hidden files (``._x.png`` of macOS archives is no image).
RESERVED_STEMS = frozenset({"coding"})


def list_images(folder: Path) -> tuple[Path, ...]:
    """The images directly in `folder`, sorted. Images in subfolders are not part of it: having any
    is an error (point the dataset at the subfolder, or move them), never a silent omission."""
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    stems = [p.stem for p in images]
    if len(set(stems)) != len(stems):
        dup = sorted({s for s in stems if stems.count(s) > 1})
        raise DatasetError(f"{folder}: several files share a name stem ({', '.join(dup)}); rename them")
    if clash := [p.name for p in images if p.stem in RESERVED_STEMS or p.stem.startswith(".")]:
        raise DatasetError(f"{folder}: {', '.join(clash)}: hidden, or named like rdbench's own files "
                           f"({', '.join(sorted(RESERVED_STEMS))}.json); rename or remove them")
    nested = sorted(d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
                    and any(f.suffix.lower() in IMAGE_SUFFIXES and f.is_file() for f in d.rglob("*")))
    if nested:
        raise DatasetError(f"{folder}: images in subfolder(s) {', '.join(f'{n}/' for n in nested)} would be left "
                           "out (a dataset is the images directly in its folder); name the subfolder as the "
                           "dataset, or move its images up or elsewhere")
    return tuple(images)


def name_of(name_or_path: str) -> str:
    """The name a dataset entry goes by: a registered name, or the folder's own name."""
    if name_or_path in KNOWN:
        return name_or_path
    return Path(os.path.abspath(name_or_path)).name


def resolve(name_or_path: str, download: bool = True) -> Dataset:
    """Find (or fetch) a dataset by registered name, or use a folder of images."""
    spec = KNOWN.get(name_or_path)
    if spec is None:
        folder = Path(name_or_path)
        if folder.is_dir():
            images = list_images(folder)
            if not images:
                raise DatasetError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            return Dataset(name_of(name_or_path), folder, images, "folder")
        raise DatasetError(f"unknown dataset {name_or_path!r}: use one of {', '.join(KNOWN)} or a folder of images")
    if root := os.environ.get("RDBENCH_DATA"):
        local = Path(root) / spec.name
        if local.is_dir():
            return Dataset(spec.name, local, _verified(spec, local), "RDBENCH_DATA")
    cached = cache_dir() / "datasets" / spec.name
    if (cached / "SHA256SUMS").is_file():
        return Dataset(spec.name, cached, _verified(spec, cached), "cache")
    if not download:
        raise DatasetError(_missing_message(spec))
    _download(spec, cached)
    return Dataset(spec.name, cached, _verified(spec, cached), "download")


def unavailable(name: str, timeout: float = 5.0) -> str | None:
    """Why the registered dataset ``name`` cannot be had here (None: it can): not in $RDBENCH_DATA, not in the
    cache, and its host does not answer (a HEAD request, ``timeout`` seconds). The workflow skips such a dataset
    with this reason (Table I shows its published rows and says why), as it skips a codec that cannot run."""
    spec = KNOWN[name]
    root = os.environ.get("RDBENCH_DATA")
    if (root and (Path(root) / name).is_dir()) or (cache_dir() / "datasets" / name / "SHA256SUMS").is_file():
        return None
    try:
        urllib.request.urlopen(urllib.request.Request(spec.urls[0], method="HEAD"), timeout=timeout).close()
    except OSError as exc:
        where = f"not in RDBENCH_DATA={root}" if root else "RDBENCH_DATA is not set"
        return (f"dataset {name!r} is not available here ({where}, not in the cache {cache_dir() / 'datasets'}, "
                f"and its host does not answer: {exc}). Fix: set RDBENCH_DATA=DIR with the images in DIR/{name}/, "
                f"or run where {spec.urls[0].split('/')[2]} is reachable")
    return None


def _missing_message(spec: DatasetSpec) -> str:
    return (f"dataset {spec.name!r} not found locally and downloads are off or failed. Either set "
            f"RDBENCH_DATA=DIR with the images in DIR/{spec.name}/, or allow rdbench to download it from "
            f"{spec.urls[0]}{' (and siblings)' if len(spec.urls) > 1 else ''}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(spec: DatasetSpec, folder: Path) -> tuple[Path, ...]:
    images = list_images(folder)
    known = spec.sha256 or _read_sums(folder / "SHA256SUMS")
    if spec.sha256:
        missing = sorted(set(spec.sha256) - {p.name for p in images})
        if missing:
            raise DatasetError(f"{folder}: {spec.name} is incomplete, missing {', '.join(missing[:5])}"
                               f"{' ...' if len(missing) > 5 else ''}")
        images = tuple(p for p in images if p.name in spec.sha256)
    for path in images:
        expected = known.get(path.name)
        if expected and sha256_file(path) != expected:
            raise DatasetError(f"{path}: sha256 mismatch (expected {expected}); the file is corrupt or not the "
                               f"canonical {spec.name} image: replace it")
    if not images:
        raise DatasetError(f"{folder}: no images for dataset {spec.name}")
    return images


def _read_sums(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[Path(name.strip().lstrip("*")).name] = digest
    return sums


def _download(spec: DatasetSpec, dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=_ensure(dest.parent)))
    try:
        if len(spec.urls) == 1 and spec.urls[0].split("/download")[0].endswith(".zip"):
            _extract(fetch_url(spec.urls[0]), spec.archive_member_prefix, tmp)
        else:
            for url in spec.urls:
                (tmp / url.rsplit("/", 1)[1]).write_bytes(fetch_url(url))
        sums = {p.name: sha256_file(p) for p in list_images(tmp)}
        for name, digest in spec.sha256.items():
            if sums.get(name) != digest:
                raise DatasetError(f"downloaded {name} of {spec.name} has sha256 {sums.get(name)}, expected {digest}")
        (tmp / "SHA256SUMS").write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_url(url: str, hint: str = "Offline? Put the images in $RDBENCH_DATA/<dataset>/ and set RDBENCH_DATA"
              ) -> bytes:
    """The body of `url`; a failure is a :class:`DatasetError` that ends with `hint`."""
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()
    except OSError as exc:
        raise DatasetError(f"download of {url} failed ({exc}). {hint}") from exc


def _extract(blob: bytes, prefix: str, dest: Path) -> None:
    """Keep the archive's images whose path contains `prefix` (all images when it is empty)."""
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for member in archive.namelist():
            if Path(member).suffix.lower() in IMAGE_SUFFIXES and prefix in member:
                (dest / Path(member).name).write_bytes(archive.read(member))


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
