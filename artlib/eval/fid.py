"""FID with torch-fidelity's Inception-v3 features (the TF-compatible "inception-v3-compat"
network whose pool features FID is defined on), against EDM's reference statistics (an .npz
with ``mu`` and ``sigma``) or a folder of images.

EDM's protocol: 50,000 images from seeds 0–49999. torch-fidelity downloads its Inception
weights on first use; offline, pass ``weights=`` / ``--inception-weights PATH`` (the file
torch-fidelity stores as ``weights-inception-2015-12-05-6726825d.pth``). EDM computed its
reference statistics with its own copy of the same TF network, so FIDs agree with EDM's up to
small numerical differences between the two implementations.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from ..core.errors import ArtlibError
from ..core.io import check_input_file
from ..core.samplers import generate
from ..models.registry import model_identity
from .distributed import Comm
from .images import read_images
from .metrics import frechet_distance
from .shards import Workdir, seeds_digest, shard_ranges

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def inception(weights: str | os.PathLike | None = None, device: str = "cpu"):
    """torch-fidelity's FID Inception returning 2048-d pool features, from a local file if given."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    if weights is not None and not Path(weights).is_file():
        raise ArtlibError(f"Inception weights {weights} not found")
    said = io.StringIO()       # torch hub's "Downloading: ..." line, shown only if the download works
    try:
        with contextlib.redirect_stderr(said):
            net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                              feature_extractor_weights_path=None if weights is None else str(weights))
    except OSError as e:   # no network and no local weights
        raise ArtlibError(f"cannot get the FID Inception weights ({str(e).splitlines()[0] if str(e) else 'offline'}); "
                          "offline, give the path of torch-fidelity's weights file") from None
    except Exception as e:
        if weights is None:
            raise
        raise ArtlibError(f"Inception weights {weights} do not load: {str(e).splitlines()[0]}") from None
    sys.stderr.write(said.getvalue())
    return net.eval().to(device)


def _to_rgb_uint8(images: torch.Tensor) -> torch.Tensor:
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ArtlibError(f"FID needs uint8 images [N, 1 or 3, H, W], got {images.dtype} {tuple(images.shape)}")
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


@torch.no_grad()
def features(batches: Iterable[torch.Tensor], net, *, device: str = "cpu", progress: bool = False,
             total: int | None = None) -> np.ndarray:
    """Pool features [N, 2048] (float64) of uint8 image batches [n, C, H, W] (grey is repeated to RGB)."""
    out = []
    for b in tqdm(batches, disable=not progress, total=total, desc="Inception features"):
        out.append(net(_to_rgb_uint8(b).to(device))[0].double().cpu().numpy())
    if not out:
        raise ArtlibError("FID: no images")
    return np.concatenate(out)


def statistics(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of features, as EDM's reference .npz files store them."""
    if len(feats) < 2:
        raise ArtlibError("FID statistics need at least 2 images")
    return feats.mean(0), np.cov(feats, rowvar=False)


@dataclass
class Moments:
    """Count, mean and centred second moment M2 = Σ (x − mean)(x − mean)ᵀ of feature vectors.
    Moments of two sets add exactly as the sets' union would (Chan, Golub and LeVeque 1979), so
    shards scored apart, or on different ranks, combine into the statistics of all images."""
    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, feats: np.ndarray) -> "Moments":
        f = np.asarray(feats, dtype=np.float64)
        mean = f.mean(0)
        c = f - mean
        return cls(len(f), mean, c.T @ c)

    def __add__(self, other: "Moments") -> "Moments":
        if self.n == 0:
            return other
        if other.n == 0:
            return self
        n = self.n + other.n
        d = other.mean - self.mean
        return Moments(n, self.mean + d * (other.n / n), self.m2 + other.m2 + np.outer(d, d) * (self.n * other.n / n))

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """(mu, sigma) with the unbiased covariance, as ``statistics`` and EDM's fid-refs."""
        if self.n < 2:
            raise ArtlibError("FID statistics need at least 2 images")
        return self.mean, self.m2 / (self.n - 1)


def generated_moments(den, sigmas: torch.Tensor, solver: str, seeds: list[int], net, *,
                      batch: int = 64, shard_size: int = 1000, workdir: Workdir | None = None,
                      comm: Comm | None = None, progress: bool = False) -> Moments | None:
    """Feature moments of the images a model samples from ``seeds`` on the grid ``sigmas``.

    Seeds are cut into shards (``artlib.eval.shards``), and shard i is scored by rank i mod N in
    batches that start at the shard's start, so an image's features do not depend on the number
    of ranks. Rank 0 gathers each shard's features and adds their moments in shard order, so the
    result is the same bits for any number of ranks, given the same threads per process (a float32
    convolution sums in another order on another thread count; set ``OMP_NUM_THREADS``, which the
    fid command records). With a ``workdir`` each shard's features are stored (float32, as the
    network gives them) with a record that is checked when the run is resumed. Returns the moments
    on rank 0, None on the others."""
    comm = comm or Comm()
    shards = shard_ranges(len(seeds), shard_size)
    bar = tqdm(total=len(seeds), unit="img", disable=not (progress and comm.main),
               desc=f"{solver} sampling + Inception" + (f" ({comm.world} processes)" if comm.world > 1 else ""))
    total = None                                      # rank 0's running moments
    for first in range(0, len(shards), comm.world):
        i, feats = first + comm.rank, None
        if i < len(shards) and workdir is not None and workdir.has(i):
            feats, why = workdir.load(i, len(shards[i]))
            if feats is None:
                print(f"{workdir.what} {workdir.path}: shard {i} {why}; computing it again", file=sys.stderr)
        if i < len(shards) and feats is None:
            feats = _shard_features(den, sigmas, solver, seeds, shards[i], net, batch, comm.device, bar)
            if not np.isfinite(feats).all():
                raise ArtlibError(f"shard {i} (seeds {seeds[shards[i].start]}–{seeds[shards[i].stop - 1]}): the "
                                  "Inception features hold NaN or infinity (check the model's samples)")
            if workdir is not None:
                workdir.save(i, feats)
        parts = comm.gather(feats)
        if comm.main:
            for f in parts:
                if f is not None:
                    m = Moments.of(f)
                    total = m if total is None else total + m
            bar.update(total.n - bar.n)
    bar.close()
    return total if comm.main else None


def _shard_features(den, sigmas, solver, seeds, shard: range, net, batch: int, device, bar) -> np.ndarray:
    """Inception features [len(shard), 2048] (float32) of one shard's images, in batches from its start."""
    out = []
    for lo in range(shard.start, shard.stop, batch):
        imgs = generate(den, sigmas, seeds[lo:min(lo + batch, shard.stop)], solver=solver, device=device)
        out.append(net(_to_rgb_uint8(imgs).to(device))[0].float().cpu().numpy())
        bar.update(len(imgs))
    return np.concatenate(out)


def fid_from_moments(m: Moments, ref_mu: np.ndarray, ref_sigma: np.ndarray) -> float:
    """FID of feature moments against reference statistics."""
    mu, sigma = m.statistics()
    if mu.shape != ref_mu.shape:
        raise ArtlibError(f"reference statistics have {ref_mu.shape[0]} dimensions, features {mu.shape[0]}")
    return frechet_distance(mu, sigma, ref_mu, ref_sigma)


def run_identity(model: str, sigmas: torch.Tensor, solver: str, seeds: list[int], shard_size: int,
                 weights: str | os.PathLike | None) -> dict[str, Any]:
    """What a FID work folder records of its run (``artlib.eval.shards``): the model (and its file's
    hash), grid, solver, seeds, shard size and the feature network's weights file (path and size)."""
    net = ({"inception": "torch-fidelity inception-v3-compat (downloaded)"} if weights is None else
           {"inception": str(Path(weights).resolve()), "inception_bytes": Path(weights).stat().st_size})
    return {"command": "fid", **model_identity(model), "sigmas": sigmas.tolist(), "solver": solver,
            "seeds": seeds_digest(seeds), "shard_size": shard_size, **net}


def folder_batches(folder: str | os.PathLike, batch: int = 64) -> Iterator[torch.Tensor]:
    """uint8 batches [n, C, H, W] of the images in a folder (sorted by name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtlibError(f"image folder {folder} does not exist or is not a directory")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise ArtlibError(f"no .png/.jpg images in {folder}")
    for i in range(0, len(files), batch):
        yield read_images(files[i:i + batch])


def reference_statistics(ref: str | os.PathLike, net=None, *, device: str = "cpu",
                         batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) from an .npz with ``mu`` and ``sigma`` (EDM's fid-refs) or from a folder of images."""
    if str(ref).startswith(("https://", "http://")):   # EDM's fid-refs URLs, downloaded once
        from ..models.edm import fetch
        ref = fetch(str(ref))
    ref = Path(ref)
    if ref.suffix == ".npz":
        check_input_file(ref, "reference statistics", 1 << 30)
        try:
            with np.load(ref, allow_pickle=False) as z:
                if "mu" not in z or "sigma" not in z:
                    raise ArtlibError(f"reference statistics {ref}: needs arrays 'mu' and 'sigma' (EDM's fid-refs format)")
                mu, sigma = np.asarray(z["mu"], dtype=np.float64), np.asarray(z["sigma"], dtype=np.float64)
        except ArtlibError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ArtlibError(f"reference statistics {ref}: not an .npz archive of plain arrays ({type(e).__name__})") from None
        if mu.ndim != 1 or sigma.shape != (mu.size, mu.size) or not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise ArtlibError(f"reference statistics {ref}: need finite mu [d] and sigma [d, d], got {mu.shape} and "
                              f"{sigma.shape}")
        return mu, sigma
    if net is None:
        raise ArtlibError("a folder reference needs the Inception network")
    return statistics(features(folder_batches(ref, batch), net, device=device))


def fid(batches: Iterable[torch.Tensor], ref_mu: np.ndarray, ref_sigma: np.ndarray, net, *,
        device: str = "cpu", progress: bool = False, total: int | None = None) -> tuple[float, int]:
    """(FID, number of images) of uint8 image batches against reference statistics."""
    feats = features(batches, net, device=device, progress=progress, total=total)
    mu, sigma = statistics(feats)
    if mu.shape != ref_mu.shape:
        raise ArtlibError(f"reference statistics have {ref_mu.shape[0]} dimensions, features {mu.shape[0]}")
    return frechet_distance(mu, sigma, ref_mu, ref_sigma), len(feats)
