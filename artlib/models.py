"""The model registry: a model string such as ``gauss1d``, ``gaussian:c=0.5,dim=64``, ``digits``,
``gmm:PATH.npz``, ``digits-net`` or ``edm:PATH_OR_URL`` → a denoiser behind EDM's protocol.
Adding a model means adding a branch here (and its module below)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from .denoisers import GaussianDenoiser, load_gmm_npz
from .edm import load_edm
from .errors import ArtlibError
from .options import check_options, parse_kv
from .smallnet import WEIGHTS, load_net
from .standins import gmm_standin

_MODELS_HELP = ("gauss1d, gaussian:c=C,dim=D[,sigma_min=..,sigma_max=..], "
                "digits|faces|patches[:components=J,conditional=1], gmm:PATH.npz, digits-net[:WEIGHTS], "
                "edm:PATH_OR_URL")

def load_model(spec: str, device: str | torch.device | None = None):
    """Build a denoiser from a model string such as ``gauss1d`` or ``gaussian:c=0.5,dim=64``,
    on ``device`` if given (models without tensors ignore it)."""
    den = _build(spec)
    return den.to(device) if device is not None and hasattr(den, "to") else den


def _build(spec: str):
    if not isinstance(spec, str) or not spec.strip():
        raise ArtlibError(f"empty model string; known models: {_MODELS_HELP}")
    kind, _, rest = spec.strip().partition(":")
    what = f"model {spec!r}"
    if kind == "gauss1d":
        opts = parse_kv(rest, what=what)
        check_options(opts, [], what=what)
        return GaussianDenoiser(c=1.0, dim=1, sigma_min=0.0, sigma_max=3.0)
    if kind == "gaussian":
        opts = parse_kv(rest, what=what)
        check_options(opts, ["c", "dim", "sigma_min", "sigma_max"], what=what)
        dim = opts.get("dim", 1.0)
        if dim != int(dim):
            raise ArtlibError(f"{what}: dim must be an integer, got {dim:g}")
        return GaussianDenoiser(c=opts.get("c", 1.0), dim=int(dim),
                                sigma_min=opts.get("sigma_min", 0.002), sigma_max=opts.get("sigma_max", 80.0))
    if kind in ("digits", "faces", "patches"):
        opts = parse_kv(rest, what=what)
        check_options(opts, ["components", "conditional", "sigma_min", "sigma_max"], what=what)
        j = opts.get("components")
        if j is not None and (j != int(j) or not 1 <= j <= 64):
            raise ArtlibError(f"{what}: components must be an integer from 1 to 64, got {j:g}")
        if opts.get("conditional", 0) not in (0, 1):
            raise ArtlibError(f"{what}: conditional must be 0 or 1")
        return gmm_standin(kind, None if j is None else int(j), bool(opts.get("conditional", 0)),
                           opts.get("sigma_min", 0.002), opts.get("sigma_max", 80.0))
    if kind == "gmm":
        if not rest:
            raise ArtlibError(f"{what}: give the mixture file, gmm:PATH.npz")
        return load_gmm_npz(rest)
    if kind == "digits-net":
        return load_net(rest or WEIGHTS)
    if kind == "edm":
        return load_edm(rest)
    raise ArtlibError(f"unknown model {spec!r}; known models: {_MODELS_HELP}")


def model_identity(spec: str) -> dict[str, str]:
    """What a work folder's manifest records of a model (``artlib.shards``): the model string and,
    when it names a local file (``gmm:``, ``digits-net``, ``edm:PATH``), that file's SHA-256, so a
    file replaced under the same name is not resumed into. URLs are identified by the string."""
    kind, _, rest = spec.strip().partition(":")
    path = {"gmm": rest, "digits-net": rest or str(WEIGHTS), "edm": rest}.get(kind)
    out = {"model": spec}
    if path and "://" not in path and Path(path).is_file():
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out["model_sha256"] = h.hexdigest()
    return out
