"""The model registry: one row per family of model strings (``gauss1d``, ``gaussian:c=0.5,dim=64``,
``digits``, ``gmm:PATH.npz``, ``digits-net``, ``edm:PATH_OR_URL``, ...). A row says how the string
is written, builds the denoiser behind EDM's protocol, names the local file a string refers to (its
hash identifies the model in work folders) and, for the stand-ins, the held-out data. The help
text, ``load_model`` and ``model_identity`` are generated from the rows: a new family is one
builder and one row."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ..core.constants import SIGMA_MAX, SIGMA_MIN
from ..core.errors import ArtlibError
from ..core.options import check_options, parse_kv


def _no_file(rest: str) -> list[str]:
    return []


@dataclass(frozen=True)
class Family:
    """One family of model strings ``NAME[:REST]``."""
    usage: str
    """How a string of the family is written (help text and errors)."""
    build: Callable[[str, str], Any]
    """(REST, a description for errors) → the denoiser."""
    files: Callable[[str], list[str]] = _no_file
    """The local files a string names (hashed into work-folder manifests)."""
    held_out: Callable[[], torch.Tensor] | None = None
    """Held-out data [n, C, H, W] of a stand-in, for the Fréchet distance; None for other models."""


def _options(rest: str, what: str, allowed: list[str]) -> dict[str, float]:
    opts = parse_kv(rest, what=what)
    check_options(opts, allowed, what=what)
    return opts


def _gauss1d(rest: str, what: str):
    from .gaussian import GaussianDenoiser
    _options(rest, what, [])
    return GaussianDenoiser(c=1.0, dim=1, sigma_min=0.0, sigma_max=3.0)


def _gaussian(rest: str, what: str):
    from .gaussian import GaussianDenoiser
    opts = _options(rest, what, ["c", "dim", "sigma_min", "sigma_max"])
    dim = opts.get("dim", 1.0)
    if dim != int(dim) or not 1 <= dim <= 10 ** 7:
        raise ArtlibError(f"{what}: dim must be an integer from 1 to 10000000, got {dim:g}")
    return GaussianDenoiser(c=opts.get("c", 1.0), dim=int(dim), sigma_min=opts.get("sigma_min", SIGMA_MIN),
                            sigma_max=opts.get("sigma_max", SIGMA_MAX))


def _standin(name: str):
    def build(rest: str, what: str):
        from .standins import gmm_standin
        opts = _options(rest, what, ["components", "conditional", "sigma_min", "sigma_max"])
        j = opts.get("components")
        if j is not None and (j != int(j) or not 1 <= j <= 64):
            raise ArtlibError(f"{what}: components must be an integer from 1 to 64, got {j:g}")
        if opts.get("conditional", 0) not in (0, 1):
            raise ArtlibError(f"{what}: conditional must be 0 or 1")
        return gmm_standin(name, None if j is None else int(j), bool(opts.get("conditional", 0)),
                           opts.get("sigma_min", SIGMA_MIN), opts.get("sigma_max", SIGMA_MAX))
    return build


def _held_out(name: str):
    def data() -> torch.Tensor:
        from .standins import held_out
        return held_out(name)
    return data


def _gmm(rest: str, what: str):
    from .gaussian import load_gmm_npz
    if not rest:
        raise ArtlibError(f"{what}: give the mixture file, gmm:PATH.npz")
    return load_gmm_npz(rest)


def _digits_net(rest: str, what: str):
    from .smallnet import WEIGHTS, load_net
    return load_net(rest or WEIGHTS)


def _net_file(rest: str) -> list[str]:
    from .smallnet import WEIGHTS
    return [rest or str(WEIGHTS)]


def _edm(rest: str, what: str):
    from .edm import load_edm
    return load_edm(rest)


def _diffusers(rest: str, what: str):
    from .diffusers import load
    return load(rest, what)


def _diffusers_files(rest: str) -> list[str]:
    from .diffusers import identity_files
    return identity_files(rest)


def _digits_diffusers(kind: str):
    """``digits-vp`` / ``digits-flow``: the committed diffusers models, with any ``diffusers:`` keys."""
    def build(rest: str, what: str):
        from .diffusers import load
        from .digits_diffusers import FOLDERS
        return load(f"{FOLDERS[kind]}" + (f",{rest}" if rest else ""), what)

    def files(rest: str) -> list[str]:
        from .digits_diffusers import FOLDERS
        return _diffusers_files(f"{FOLDERS[kind]}" + (f",{rest}" if rest else ""))
    return build, files


FAMILIES: dict[str, Family] = {
    "gauss1d": Family("gauss1d", _gauss1d),
    "gaussian": Family("gaussian:c=C,dim=D[,sigma_min=..,sigma_max=..]", _gaussian),
    **{name: Family(f"{name}[:components=J,conditional=1]" if name == "digits" else name + "[:components=J]",
                    _standin(name), held_out=_held_out(name)) for name in ("digits", "faces", "patches")},
    "gmm": Family("gmm:PATH.npz", _gmm, files=lambda rest: [rest]),
    "digits-net": Family("digits-net[:WEIGHTS]", _digits_net, files=_net_file),
    "edm": Family("edm:PATH_OR_URL", _edm, files=lambda rest: [rest] if "://" not in rest else []),
    "diffusers": Family("diffusers:DIR[,scheduler=DIR,quantize=1,prompt=EMB.safetensors,negative=NEG.safetensors,"
                        "guidance=W,sigma_max=S,size=S,dtype=float64]", _diffusers, files=_diffusers_files),
    "digits-vp": Family("digits-vp[:KEY=VALUE,...]", *_digits_diffusers("vp")),
    "digits-flow": Family("digits-flow[:KEY=VALUE,...]", *_digits_diffusers("flow")),
}


def usage() -> str:
    """Every family's model string, comma-separated (help text and errors)."""
    return ", ".join(f.usage for f in FAMILIES.values())


def family(spec: str) -> tuple[Family, str]:
    """The row of a model string and the string's part after ``NAME:``."""
    if not isinstance(spec, str) or not spec.strip():
        raise ArtlibError(f"empty model string; known models: {usage()}")
    kind, _, rest = spec.strip().partition(":")
    if kind not in FAMILIES:
        raise ArtlibError(f"unknown model {spec!r}; known models: {usage()}")
    return FAMILIES[kind], rest


def load_model(spec: str, device: str | torch.device | None = None):
    """Build a denoiser from a model string such as ``gauss1d`` or ``gaussian:c=0.5,dim=64``,
    on ``device`` if given (models without tensors ignore it)."""
    row, rest = family(spec)
    den = row.build(rest, f"model {spec!r}")
    return den.to(device) if device is not None and hasattr(den, "to") else den


def held_out_data(spec: str) -> torch.Tensor | None:
    """The held-out images of a stand-in model string [n, C, H, W], or None for other models."""
    row, _ = family(spec)
    return row.held_out() if row.held_out is not None else None


def model_files(spec: str) -> list[str]:
    """The local files a model string reads (none for built-in models and URLs)."""
    row, rest = family(spec)
    return row.files(rest)


def model_identity(spec: str) -> dict[str, str]:
    """What a work folder's manifest records of a model (``artlib.eval.shards``): the model string
    and, when it names local files, their SHA-256 (one hash over them all, in order), so a file
    replaced under the same name is not resumed into. URLs are identified by the string."""
    row, rest = family(spec)
    paths = [p for p in row.files(rest) if Path(p).is_file()]
    out = {"model": spec}
    if paths:
        h = hashlib.sha256()
        for path in paths:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        out["model_sha256"] = h.hexdigest()
    return out
