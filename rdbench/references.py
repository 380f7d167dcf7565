"""Published reference curves by name, ``<source>:<dataset>/<file>.json`` in the config's ``published``.

Sources (each a public repository at a pinned commit):

``compressai:``  CompressAI's measured curves (``results/image/<dataset>/*.json``), e.g.
                 ``compressai:kodak/bpg_444_x265_ycbcr.json``; CompressAI's results JSON format.
``dpict:``       DPICT's progressive Kodak curves (jaehanlee-mcl/DPICT, top-level CSVs: UTF-8 BOM, CRLF, no
                 header, ``bpp,value`` by decreasing bpp), ``dpict:DPICT_kodak_PSNR.csv`` (88 points, PSNR) and
                 ``dpict:DPICT_kodak_MS_SSIM.csv`` (164 points, MS-SSIM in dB); read by
                 :func:`rdbench.report.formats.load_dpict`.
``mlic:``        MLIC / MLIC+ / MLIC++ curves of JiangWeibeta/MLIC (``results/<dataset>/*.json``, Apache-2.0),
                 e.g. ``mlic:kodak/mlicplusplus_mse.json``, ``mlic:clic_pro_val/mlicplusplus_mse.json`` (CLIC
                 professional *valid*, 41 images). Flat ``{"psnr": [...], "bpp": [...]}`` files, read by
                 :func:`rdbench.report.published.load_compressai_json` under the label in ``LABELS``.

A named file is found:

1. in ``$RDBENCH_REFERENCE/<folder>/<path>`` when that variable is set (a local copy, e.g. on a machine
   without internet; folder ``compressai`` or ``MLIC/results``), else
2. in the cache (``$RDBENCH_CACHE/reference/<folder>/...``), downloaded once from the repository at
   the pinned commit.

Files listed in a source's ``pinned`` are checked against their sha256 wherever they come from; other
names are accepted from a local copy only (nothing unpinned is downloaded). A plain path is used as it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rdbench import atomic
from rdbench.datasets import DatasetError, cache_dir, fetch_url, sha256_file

PREFIX = "compressai:"
COMPRESSAI_COMMIT = "3d3c9bbd92989b1cf19e122281161f7aac8ee769"
COMPRESSAI_URL = f"https://raw.githubusercontent.com/InterDigitalInc/CompressAI/{COMPRESSAI_COMMIT}/results/image/"
PINNED = {  # <dataset>/<file> -> sha256 of the file at COMPRESSAI_COMMIT
    "kodak/bpg_444_x265_ycbcr.json": "532fd0ad11e75971a7e8015386576aae9413197bbd02262406a57525280e1e8c",
    "kodak/vtm.json": "b09a8dd2b9ae98bfbf7c60a14c752ba6a925f4eba87490c41e6b36374b62ee01",
}
MLIC_COMMIT = "4aa9d2a512eb9db382172058e6c278fb0d376e17"
MLIC_URL = f"https://raw.githubusercontent.com/JiangWeibeta/MLIC/{MLIC_COMMIT}/results/"
MLIC_PINNED = {  # sha256 at MLIC_COMMIT, as listed in reference-results/SOURCES.md
    "kodak/mlic_mse.json": "93cc1605f132b508c6971a1dcb1cc22728c932e40079a65d0123041079a5be84",
    "kodak/mlicplus_mse.json": "0bd2f391cf2907b99f68a60d11fd65254f4729d6a2ac4df8dff4ae6849f828ab",
    "kodak/mlicplusplus_mse.json": "3875bcd72753bf7603c7fb9fde9d5ebc27172464a15a3956c819c6ce3a646c95",
    "clic_pro_val/mlic_mse.json": "aeeabbe78ba43afab43e29af7bc3e4b7b403d761fc60e3ec3c6c20bfa42ff62f",
    "clic_pro_val/mlicplus_mse.json": "6e2fbee6cc20f56868c3718b2b4b63503e4bdfd0e7d559f284678cc8181be146",
    "clic_pro_val/mlicplusplus_mse.json": "9657db5fc988174c22ed06d74fb1fd4eef0a48f91972d3f76362b856c967e31e",
    "tecnick/mlic_mse.json": "9ad1ec3d0822fe349106b17c503434757e5a9434313ab07e418846018ea8f1f4",
    "tecnick/mlicplus_mse.json": "881ff442e8a4f615f7953ce9edba7925459fa42d80fe4eee3bbdaa5081d97efa",
    "tecnick/mlicplusplus_mse.json": "7299d4f6629a9a51bc2b8fda05fc94a4bd1dff474f53b869cd431883bfe4d52e",
}


TFC_COMMIT = "dda8cb4c4364e657d13491227e886ff8014f7243"
TFC_URL = f"https://raw.githubusercontent.com/tensorflow/compression/{TFC_COMMIT}/results/image_compression/"
TFC_PINNED = {  # sha256 at TFC_COMMIT, as listed in reference-results/SOURCES.md
    "kodak/PSNR_sRGB_RGB/bpg444.txt": "ea5c34d6e56c25c8af10b7d72af60df4fb8510e9c133df70af9d0d7da6f17e25",
    "kodak/PSNR_sRGB_RGB/bpg420.txt": "02ff0846a5304ce195781a09ffe0788eeab06316ef636b1b44f94c60f04f2e9d",
    "kodak/PSNR_sRGB_RGB/balle-2017-iclr-opt-mse.txt": "5eef65045567100db5b1206bef08a3fd48f7fb26fed5b06deaaa3fe2599fab5b",
    "kodak/PSNR_sRGB_RGB/balle-2018-iclr-opt-mse.txt": "12c9900cca6a6872d1a0f7ce4f9866b21a54e49ec8b2656d47240c09a81c587a",
    "kodak/MS-SSIM_sRGB_RGB/bpg444.txt": "d049e8f0454587603611f6314a1a6f305c35015737e57f2c216c73bf1edab215",
    "kodak/MS-SSIM_sRGB_RGB/bpg420.txt": "9c7eec9ccf9bd871e59b6e73a9ba6901c2b6ec54917af4d25017cdc361def8ab",
    "kodak/MS-SSIM_sRGB_RGB/balle-2017-iclr-opt-mse.txt": "091a9885ab1a657b70dc78248617fbb67ae22cd4c808bc50d41b9095f60a31a4",
    "kodak/MS-SSIM_sRGB_RGB/balle-2018-iclr-opt-mse.txt": "b2f0de9cd0d26ce649d150f8d35810149e259491fda599a76b8b1746d114ed77",
    "tecnick/PSNR_sRGB_RGB/bpg444.txt": "86d3bf5232e344429549dd9c9b057b76d7dfca2deddcefb75f7d2b0b49345507",
    "tecnick/PSNR_sRGB_RGB/bpg420.txt": "f23073773da0b76e7f5e7ebd599065057bb1736df468bb15fe530a63f8b0315b",
    "tecnick/PSNR_sRGB_RGB/balle-2017-iclr-opt-mse.txt": "76a03153566bcf3729ca57b5065e85bccd2603ee10cce59626aba5c86687dfe0",
    "tecnick/PSNR_sRGB_RGB/balle-2018-iclr-opt-mse.txt": "661037d77309e01fcfab2bfe8c6fbf539e88cd59de089695a08b16069a9159dd",
    "tecnick/MS-SSIM_sRGB_RGB/bpg444.txt": "7ad1366e2da0bfea9810acafd348eebd375b9aa5d9d6c2126653168d27a146e7",
    "tecnick/MS-SSIM_sRGB_RGB/bpg420.txt": "8e3698ee9b3099ac72602397f33058dbac3fa776b78e69c7a466a36c0f33a666",
    "tecnick/MS-SSIM_sRGB_RGB/balle-2017-iclr-opt-mse.txt": "4234279b04a24c23ef72fac1c0f0fdeeaebe4fddd8c5fa4f2b51f6ec270cef14",
    "tecnick/MS-SSIM_sRGB_RGB/balle-2018-iclr-opt-mse.txt": "508935938cc1171d95513a38e2ad130f06ac673d39e7d85a5befa6f40d1b9132",
}
C3_COMMIT = "e63e7519641db3d431cff623127fb2dcb825069f"
C3_URL = f"https://raw.githubusercontent.com/google-deepmind/c3_neural_compression/{C3_COMMIT}/baselines/"
C3_PINNED = {  # sha256 at C3_COMMIT, as listed in reference-results/SOURCES.md
    "kodak.py": "63a66fcac34f9ce3af911f35944a70b019548de6ffb2ab10e37a57eaa38caea2",
    "clic2020.py": "829549d819519e835b7e59cd2074a01dd599de3813fc4f168084bc120493bf4d",
}
DPICT_COMMIT = "8fc9cc5bd981c7d57f37d18315a1ba6ae64615d7"
DPICT_URL = f"https://raw.githubusercontent.com/jaehanlee-mcl/DPICT/{DPICT_COMMIT}/"
DPICT_PINNED = {  # sha256 at DPICT_COMMIT (UTF-8 BOM, CRLF), as listed in reference-results/SOURCES.md
    "DPICT_kodak_PSNR.csv": "da52417d560183f895f52b672780c64d0292c7f3e1d2fab9a037cbdf89fc8aef",
    "DPICT_kodak_MS_SSIM.csv": "e6b61ef91240ffc9164967a253542683ccb6b7c2b5a45db3b1c7f9cf8af8c8d2",
}
# The dataset each source's first name component is a curve of (rdbench's dataset names). CompressAI's
# clic2020-professional curves are the CLIC 2020 professional *test* split (CompressAI issues #81, #122).
CLIC_TEST = "clic2020-professional-test"
DATASET_OF = {
    "compressai:": {"kodak": "kodak", "clic2020-professional": CLIC_TEST},
    "mlic:": {"kodak": "kodak", "clic_pro_val": "clic2020-professional-valid", "tecnick": "tecnick"},
    "tfc:": {"kodak": "kodak", "tecnick": "tecnick"},
    "c3:": {"kodak": "kodak", "clic2020": "clic2020-professional-valid"},  # baselines/README.md: the valid split
    "dpict:": {name: "kodak" for name in DPICT_PINNED},
}


@dataclass(frozen=True)
class Source:
    """A repository of published curves: name prefix, local folder under $RDBENCH_REFERENCE, pinned files."""

    prefix: str
    folder: str  # below $RDBENCH_REFERENCE and the cache
    url: str  # base URL at the pinned commit
    commit: str
    pinned: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)  # file name -> curve label (files without a name)
    description: str = ""
    naming: str = "<dataset>/<file>.json"  # how an entry names a curve after the prefix


SOURCES = {s.prefix: s for s in (
    Source(PREFIX, "compressai", COMPRESSAI_URL, COMPRESSAI_COMMIT, PINNED),
    Source("mlic:", "MLIC/results", MLIC_URL, MLIC_COMMIT, MLIC_PINNED,
           {"mlic_mse.json": "MLIC (MSE)", "mlicplus_mse.json": "MLIC+ (MSE)",
            "mlicplusplus_mse.json": "MLIC++ (MSE)"},
           f"published by JiangWeibeta/MLIC at {MLIC_COMMIT[:7]} (Apache-2.0); PSNR in dB, colour space not stated "
           "(read as RGB PSNR)"),
    Source("tfc:", "tensorflow-compression/results/image_compression", TFC_URL, TFC_COMMIT, TFC_PINNED, {},
           f"published by tensorflow/compression at {TFC_COMMIT[:7]} (Apache-2.0); dataset means at a constant "
           "QP or lambda, PSNR and MS-SSIM on sRGB R'G'B'", "<dataset>/<method>"),
    Source("c3:", "c3_neural_compression/baselines", C3_URL, C3_COMMIT, C3_PINNED, {},
           f"published by google-deepmind/c3_neural_compression at {C3_COMMIT[:7]} (Apache-2.0); per-image PSNR "
           "averaged over images, colour space not stated (read as RGB PSNR)", "<file>/<codec>"),
    Source("dpict:", "DPICT", DPICT_URL, DPICT_COMMIT, DPICT_PINNED, {},
           f"published by jaehanlee-mcl/DPICT at {DPICT_COMMIT[:7]} (no licence file: numbers only); DPICT's "
           "progressive Kodak curve, one point per truncation of one bitstream, colour space not stated (read as "
           "RGB PSNR; the MS-SSIM file is in dB)", "<file>.csv"),
)}


class ReferenceCurveError(DatasetError):
    """A named reference curve that cannot be found, fetched or verified."""


def source_of(spec: str | os.PathLike) -> Source | None:
    """The source a ``published`` entry names, or None for a plain path."""
    return next((s for p, s in SOURCES.items() if str(spec).startswith(p)), None)


def is_named(spec: str) -> bool:
    return source_of(spec) is not None


def label_of(spec: str | os.PathLike) -> str | None:
    """The label of a named curve whose file carries no name (MLIC's), else None."""
    source = source_of(spec)
    return source.labels.get(Path(str(spec)).name) if source else None


def dataset_of(spec: str | os.PathLike) -> str | None:
    """The dataset a named curve is of (rdbench's name; CompressAI's CLIC curves: the test split), else None."""
    source = source_of(spec)
    if source is None:
        return None
    first = str(spec)[len(source.prefix):].split("/", 1)[0]
    return DATASET_OF.get(source.prefix, {}).get(first)


def check_dataset(spec: str, dataset: str) -> None:
    """Refuse a named curve listed under another dataset than the one it is of (``published: {dataset: [spec]}``).

    Above all CompressAI's ``clic2020-professional`` curves, which are the CLIC 2020 professional **test**
    split, never curves of ``clic2020-professional-valid`` (41 images)."""
    of = dataset_of(spec)
    if of is None or of == dataset or dataset not in set(DATASET_OF["mlic:"].values()) | {"kodak", CLIC_TEST}:
        return  # a plain path, an unknown name (resolve says so), or a dataset folder of the user's own name
    if of == CLIC_TEST:
        raise ReferenceCurveError(
            f"published: {dataset}: {spec} is CompressAI's curve of the CLIC 2020 professional *test* split "
            f"(CompressAI issues #81 and #122: \"we use the test sets for the CLIC datasets\"), not of {dataset} "
            "(the 41-image valid split the TreeNet paper reports); use c3:clic2020/<codec> or "
            "mlic:clic_pro_val/<file>.json, which are of the valid split")
    raise ReferenceCurveError(f"published: {dataset}: {spec} is a curve of {of}, not of {dataset}; list it under {of}")


def resolve(spec: str | os.PathLike) -> Path:
    """The local file of a ``published`` entry: a named curve (found or fetched), or a path."""
    source = source_of(spec)
    if source is None:
        return Path(spec)
    p = source.prefix
    return fetch(source, str(spec)[len(p):], str(spec))


def fetch(source: Source, name: str, spec: str | None = None) -> Path:
    """The local copy of file ``name`` of ``source`` (from $RDBENCH_REFERENCE, the cache or a download at the
    pinned commit), checked against its sha256 when pinned."""
    p, spec = source.prefix, spec or source.prefix + name
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise ReferenceCurveError(f"{spec}: name a curve as {p}{source.naming}")
    local = os.environ.get("RDBENCH_REFERENCE")
    pinned = sorted(p + n for n in source.pinned)
    if local:
        path = Path(local) / source.folder / name
        if not path.is_file():
            raise ReferenceCurveError(f"{spec}: no {path} (RDBENCH_REFERENCE={local}); unset RDBENCH_REFERENCE "
                                      f"to download the pinned files ({', '.join(pinned)})")
    else:
        path = cache_dir() / "reference" / source.folder / name
        if not path.is_file():
            if name not in source.pinned:
                raise ReferenceCurveError(f"{spec}: rdbench downloads only the pinned curves ({', '.join(pinned)}); "
                                          f"for another one set RDBENCH_REFERENCE to a folder holding "
                                          f"{source.folder}/{name}")
            hint = f"Offline? Set RDBENCH_REFERENCE to a folder with {source.folder}/{name}"
            atomic.write_bytes(path, fetch_url(source.url + name, hint))
    if name in source.pinned and sha256_file(path) != source.pinned[name]:
        raise ReferenceCurveError(f"{path}: sha256 {sha256_file(path)} is not the pinned {source.pinned[name]} of "
                                  f"{spec} (commit {source.commit[:12]}); delete it or fix RDBENCH_REFERENCE")
    return path
