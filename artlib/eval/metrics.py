"""Metrics: exact W2 for Gaussian data, the paper's sample W2, Fréchet distance (paper §5), and the
endpoint error of a grid against a fine reference solve from the same noise."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import norm

from ..core.errors import ArtlibError
from ..core.samplers import at_grid_start, reference_solve, sample, seeded_batch
from ..models.gaussian import GaussianDenoiser


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
    """Squared Fréchet (W2) distance between N(mu1, cov1) and N(mu2, cov2), as in FID:
    |mu1 − mu2|² + tr cov1 + tr cov2 − 2 tr (cov1 cov2)^{1/2}.

    The trace of the root is the sum of √λ over the eigenvalues λ of S cov2 S with S = cov1^{1/2}:
    that matrix is symmetric positive semi-definite with the same eigenvalues as cov1 cov2. Two
    symmetric eigen-decompositions are exact for covariance matrices, never fail on singular ones
    (FID's 2048 dimensions from fewer images), and take about a tenth of the time of the general
    matrix square root (scipy's ``sqrtm``, which EDM's ``fid.py`` calls) at that size. Round-off
    below 0 is clipped."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    cov1, cov2 = np.atleast_2d(cov1), np.atleast_2d(cov2)
    w, v = np.linalg.eigh(cov1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root @ cov2 @ root
    lam = np.linalg.eigvalsh(0.5 * (m + m.T))
    tr_covmean = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * tr_covmean)


def frechet_distance_samples(a: torch.Tensor, b: torch.Tensor) -> float:
    """Squared Fréchet distance between Gaussian fits of two sample sets [n, ...]."""
    if len(a) < 2 or len(b) < 2:
        raise ArtlibError("a Fréchet distance needs at least 2 samples on each side")
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


@dataclass
class Reference:
    """A fixed batch of starting noises (one per seed), their labels and the fine reference solve."""
    x0: torch.Tensor
    labels: torch.Tensor | None
    ref: torch.Tensor
    ref_steps: int


def reference(den, seeds, *, ref_steps: int = 512) -> Reference:
    """Each seed's noise and labels as EDM draws them, and EDM-Heun on a ``ref_steps``-step ρ = 7 grid
    from there: the 'true' endpoint every grid's error is measured against."""
    x0, labels = seeded_batch(den, list(seeds), device=getattr(den, "device", "cpu"))
    return Reference(x0, labels, reference_solve(den, x0, steps=ref_steps, class_labels=labels), ref_steps)


def endpoint_rmse(den, sigmas: torch.Tensor, ref: Reference, solver: str) -> tuple[float, torch.Tensor]:
    """Per-pixel RMSE of the sampler's endpoint against the reference from the same noise (moved to
    the grid's first σ where it starts below σ_max, ``at_grid_start``), and the samples."""
    x = sample(den, at_grid_start(den, ref.x0, float(sigmas[0])), sigmas, solver=solver, class_labels=ref.labels)
    return float((x - ref.ref).pow(2).mean().sqrt()), x.cpu()
