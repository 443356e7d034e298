"""EDM checkpoints (Karras et al. 2022, github.com/NVlabs/edm) behind the denoiser protocol.

``load_model("edm:PATH_OR_URL")`` unpickles EDM's network snapshot (``network-snapshot-*.pkl``)
and uses its ``'ema'`` network. EDM's pickles store their classes by reference into EDM's own
``torch_utils`` and ``dnnlib`` packages, so a clone of EDM must be importable: pass
``--edm-repo DIR`` or set ``ARTLIB_EDM_REPO=DIR``.

Trust model: unpickling runs code chosen by whoever wrote the file. Load only checkpoints you
would run as a program — EDM's published ones, or your own. URLs must be https (so the file
comes from the host named); they are downloaded once into ``ARTLIB_CACHE`` (default
``~/.cache/artlib``) under a name derived from the URL, written atomically.
"""
from __future__ import annotations

import hashlib
import math
import os
import pickle
import zipfile
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import torch

from ..core.constants import SIGMA_MAX, SIGMA_MIN
from ..core.errors import ArtlibError
from ..core.io import TORCH_MAX_BYTES, check_input_file

_INTERFACE = ("sigma_min", "sigma_max", "img_resolution", "img_channels", "label_dim")


def cache_dir() -> Path:
    """Where downloaded checkpoints live: ``$ARTLIB_CACHE`` or ``~/.cache/artlib``."""
    return Path(os.environ.get("ARTLIB_CACHE", Path.home() / ".cache" / "artlib"))


def fetch(url: str) -> Path:
    """Download an https URL into the cache once (atomically); return the local path."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "https":
        raise ArtlibError(f"refusing to fetch {url!r}: only https URLs are allowed, since a "
                          "checkpoint pickle runs code when loaded (see the trust model in the book)")
    name = hashlib.sha256(url.encode()).hexdigest()[:16] + "-" + (Path(parsed.path).name or "checkpoint.pkl")
    path = cache_dir() / "edm" / name
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".part{os.getpid()}")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            while chunk := r.read(1 << 20):
                f.write(chunk)
        os.replace(tmp, path)
    except OSError as e:
        raise ArtlibError(f"could not download {url}: {e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def use_edm_repo(edm_repo: str | os.PathLike | None) -> None:
    """Make a clone of EDM (its ``torch_utils`` and ``dnnlib``) importable for unpickling:
    ``edm_repo``, else ``$ARTLIB_EDM_REPO``, else nothing."""
    repo = edm_repo or os.environ.get("ARTLIB_EDM_REPO")
    if repo is None:
        return
    repo = Path(repo)
    if not (repo / "torch_utils").is_dir() or not (repo / "dnnlib").is_dir():
        raise ArtlibError(f"EDM repository {repo} has no torch_utils/ and dnnlib/; "
                          "point ARTLIB_EDM_REPO (--edm-repo on the command line) at a clone of github.com/NVlabs/edm")
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))


def load_edm(spec: str, *, edm_repo: str | os.PathLike | None = None,
             device: str | torch.device = "cpu") -> "EDMDenoiser":
    """Load ``PATH_OR_URL`` (the part after ``edm:``) as an ``EDMDenoiser``."""
    if not spec:
        raise ArtlibError("model 'edm:' needs a checkpoint path or https URL, e.g. edm:network-snapshot.pkl")
    use_edm_repo(edm_repo)
    path = fetch(spec) if "://" in spec else Path(spec).expanduser()
    if path.is_dir():
        raise ArtlibError(f"EDM checkpoint {path} is a directory; give the .pkl file")
    if not path.exists():
        raise ArtlibError(f"EDM checkpoint {path} does not exist")
    check_input_file(path, "EDM checkpoint", TORCH_MAX_BYTES)   # never opens a FIFO or a device
    if zipfile.is_zipfile(path):
        raise ArtlibError(f"EDM checkpoint {path} is a zip archive (a torch.save file?), not one of EDM's "
                          "network-snapshot pickles")
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except ModuleNotFoundError as e:
        raise ArtlibError(f"EDM checkpoint {path} needs module {e.name!r}: point ARTLIB_EDM_REPO (--edm-repo "
                          "on the command line) at a clone of github.com/NVlabs/edm") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as e:
        raise ArtlibError(f"EDM checkpoint {path} is not a readable pickle ({type(e).__name__}: {e})") from None
    except OSError as e:
        raise ArtlibError(f"cannot read EDM checkpoint {path}: {e}") from None
    if not isinstance(data, dict) or "ema" not in data:
        raise ArtlibError(f"EDM checkpoint {path} has no 'ema' network (EDM snapshots are dicts "
                          "with an 'ema' entry)")
    net = data["ema"]
    missing = [a for a in _INTERFACE if not hasattr(net, a)]
    if missing or not callable(net):
        raise ArtlibError(f"the 'ema' object in {path} lacks EDM's interface "
                          f"({', '.join(missing) or 'not callable'}); expected EDMPrecond-like "
                          "net(x, sigma, class_labels) with sigma_min, sigma_max, img_resolution, "
                          "img_channels, label_dim")
    return EDMDenoiser(net, device=device)


class EDMDenoiser:
    """An EDM network as D(x, σ, class_labels): float64 in and out, the network's dtype inside.

    σ range: EDM's sampler defaults [0.002, 80] (its ``edm_sampler`` clamps to them) within the
    network's own range.
    """

    def __init__(self, net: torch.nn.Module, *, device: str | torch.device = "cpu"):
        self.net = net.eval().requires_grad_(False).to(device)
        self.device = torch.device(device)
        self.sigma_min = max(SIGMA_MIN, float(net.sigma_min))
        self.sigma_max = min(SIGMA_MAX, float(net.sigma_max))
        if not self.sigma_min < self.sigma_max or not math.isfinite(self.sigma_max):
            raise ArtlibError(f"EDM network sigma range [{net.sigma_min}, {net.sigma_max}] is unusable")
        self.shape = (int(net.img_channels), int(net.img_resolution), int(net.img_resolution))
        self.label_dim = int(net.label_dim)
        self.prior_std = self.sigma_max   # EDM draws latents N(0, I) scaled by the first σ
        self.dtype = next(net.parameters()).dtype if any(True for _ in net.parameters()) else torch.float32

    def to(self, device) -> "EDMDenoiser":
        """The same network on ``device``."""
        return EDMDenoiser(self.net, device=device)

    def __call__(self, x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
        sig = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
        if sig.ndim == 0:
            sig = sig.expand(x.shape[0])
        labels = None
        if self.label_dim:
            if class_labels is None:
                raise ArtlibError("this EDM network is class-conditional; give class labels "
                                  "(the samplers draw them per seed)")
            labels = class_labels.to(self.dtype)
        return self.net(x.to(self.dtype), sig.to(self.dtype), labels).to(x.dtype)
