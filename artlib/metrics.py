"""Metrics: exact W2 for Gaussian data, the paper's sample W2, Fréchet distance (paper §5)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from scipy import linalg
from scipy.stats import norm

from .denoisers import GaussianDenoiser
from .errors import ArtlibError
from .samplers import sample


def solver_gain(denoiser: GaussianDenoiser, sigmas: torch.Tensor, solver: str) -> float:
    """The factor a with x_out = a · x_in: every sampler is linear for Gaussian data."""
    one = torch.ones(1, *denoiser.shape, dtype=torch.float64)
    return float(sample(denoiser, one, sigmas, solver=solver).flatten()[0])


def exact_w2(denoiser, sigmas: torch.Tensor, solver: str) -> float:
    """Unsquared W2 between the sampler's output law and the data, exactly (Gaussian models).

    Output is N(0, (a·prior_std)² I) against data N(0, c² I): W2 = √dim · |a·prior_std − c|.
    """
    if not isinstance(denoiser, GaussianDenoiser):
        raise ArtlibError("exact W2 needs a Gaussian model (gauss1d or gaussian:...)")
    a = solver_gain(denoiser, sigmas, solver)
    return math.sqrt(denoiser.dim) * abs(a * denoiser.prior_std - denoiser.c)


def sample_w2_normal(samples: torch.Tensor, std: float = 1.0) -> float:
    """Unsquared W2 between 1-D samples and N(0, std²): sorted samples against the quantiles
    Φ⁻¹((i − ½)/n). Its Monte-Carlo error is a few thousandths at n = 10⁵, of either sign."""
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = x.size
    if n < 2:
        raise ArtlibError("sample W2 needs at least 2 samples")
    q = norm.ppf((np.arange(n) + 0.5) / n) * std
    return float(np.sqrt(np.mean((x - q) ** 2)))


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Squared Fréchet (W2) distance between N(mu1, cov1) and N(mu2, cov2), as in FID."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    with warnings.catch_warnings():   # singular products are expected (e.g. constant pixels)
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov1 @ cov2)
        if not np.isfinite(covmean).all():
            off = np.eye(cov1.shape[0]) * 1e-6
            covmean = linalg.sqrtm((cov1 + off) @ (cov2 + off))
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))


def frechet_distance_samples(a: torch.Tensor, b: torch.Tensor) -> float:
    """Squared Fréchet distance between Gaussian fits of two sample sets [n, ...]."""
    if len(a) < 2 or len(b) < 2:
        raise ArtlibError("a Fréchet distance needs at least 2 samples on each side")
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
