"""CPU stand-ins for the paper's image models: exact-score Gaussian mixtures fitted to real
images that ship inside scikit-learn and scikit-image (no downloads).

* ``digits`` — scikit-learn's 1,797 handwritten digits, 8×8 (the CIFAR-10 analogue);
* ``faces``  — the 100 face crops of scikit-image's ``lfw_subset`` (25×25), resized to 8×8 and
  mirrored (200 images; the FFHQ/AFHQ analogue);
* ``patches`` — 8×8 patches of six scikit-image photographs in grey (the ImageNet analogue).

Pixels are scaled to [−1, 1] as EDM's data are. A fixed 80 % of each set (seeded permutation)
is fitted by scikit-learn's ``GaussianMixture`` (full covariances, ``reg_covar`` 1e-3, seed 0);
the other 20 % is held out for the Fréchet distance. The mixture's denoiser is exact
(``GMMDenoiser``), so every error measured on a stand-in is the sampler's and the schedule's.
With ``conditional=1`` digits fit one Gaussian per class and the denoiser takes EDM's one-hot
class labels.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..core.constants import SIGMA_MAX, SIGMA_MIN
from ..core.errors import ArtlibError
from .gaussian import GMMDenoiser

DATASETS = ("digits", "faces", "patches")
_COMPONENTS = {"digits": 10, "faces": 3, "patches": 10}
_PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "rocket", "brick")


@lru_cache(maxsize=None)
def _images(name: str) -> tuple[np.ndarray, np.ndarray]:
    """All images of a stand-in as [N, 8, 8] in [−1, 1], and integer labels [N] (−1: none)."""
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        return d.images / 8.0 - 1.0, d.target.astype(np.int64)
    if name == "faces":
        from skimage.data import lfw_subset
        from skimage.transform import resize
        faces = lfw_subset()[:100]                       # the first 100 are faces, the rest not
        small = np.stack([resize(f, (8, 8), anti_aliasing=True) for f in faces])
        small = np.concatenate([small, small[:, :, ::-1]])
        return small * 2.0 - 1.0, np.full(len(small), -1)
    if name == "patches":
        from skimage import data
        from skimage.color import rgb2gray
        from sklearn.feature_extraction.image import extract_patches_2d
        out = []
        for i, photo in enumerate(_PHOTOS):
            img = getattr(data, photo)()
            img = rgb2gray(img) if img.ndim == 3 else img / 255.0
            out.append(extract_patches_2d(img, (8, 8), max_patches=1000, random_state=i))
        return np.concatenate(out) * 2.0 - 1.0, np.full(6000, -1)
    raise ArtlibError(f"unknown stand-in {name!r}; choose one of {', '.join(DATASETS)}")


def split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, held-out images, held-out labels): a seeded 80/20 split."""
    x, y = _images(name)
    perm = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    return x[perm[:cut]], y[perm[:cut]], x[perm[cut:]], y[perm[cut:]]


@lru_cache(maxsize=None)
def gmm_standin(name: str, components: int | None = None, conditional: bool = False,
                sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX) -> GMMDenoiser:
    """The exact-score mixture fitted to a stand-in's training split (shape [1, 8, 8]), one object
    per arguments (per-model caches key on it); the fit is shared by every σ range."""
    weights, means, covs, labels = _fit(name, components, conditional)
    return GMMDenoiser(torch.from_numpy(weights), torch.from_numpy(means), torch.from_numpy(covs),
                       shape=(1, 8, 8), sigma_min=sigma_min, sigma_max=sigma_max,
                       component_labels=labels)


@lru_cache(maxsize=None)
def _fit(name: str, components: int | None, conditional: bool):
    """(weights, means, covariances, component labels or None) of the mixture fitted to the split."""
    from sklearn.mixture import GaussianMixture
    x, y, _, _ = split(name)
    flat = x.reshape(len(x), -1)
    if conditional:
        if name != "digits":
            raise ArtlibError(f"stand-in {name!r} has no classes; conditional=1 needs digits")
        parts = [GaussianMixture(1, covariance_type="full", reg_covar=1e-3, random_state=0)
                 .fit(flat[y == c]) for c in range(10)]
        weights = np.array([(y == c).mean() for c in range(10)])
        means = np.concatenate([p.means_ for p in parts])
        covs = np.concatenate([p.covariances_ for p in parts])
        labels = torch.arange(10)
    else:
        j = components or _COMPONENTS[name]
        g = GaussianMixture(j, covariance_type="full", reg_covar=1e-3, random_state=0).fit(flat)
        weights, means, covs, labels = g.weights_, g.means_, g.covariances_, None
    return weights, means, covs, labels


def held_out(name: str) -> torch.Tensor:
    """The held-out 20 % of a stand-in as [n, 1, 8, 8] float64, for Fréchet distances."""
    return torch.from_numpy(split(name)[2]).unsqueeze(1)
