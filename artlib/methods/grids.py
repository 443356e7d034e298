"""Closed-form peer grids and what every schedule method shares, on artlib's conventions (EDM's
VE ODE, σ = t, schedules end in 0).

- ``logsnr_sigmas``: logSNR-uniform, i.e. geometric σ (DPM-Solver's ``logSNR`` in EDM's σ).
- ``vp_time_sigmas``: DPM-Solver's ``time_uniform`` (ρ = 1) and ``time_quadratic`` (ρ = 2) VP-time
  grids, mapped to σ with EDM's VP noise schedule (Lu et al. 2022; Karras et al. 2022, Table 1).
- ``ays_gauss_sigmas``: the closed form of Align Your Steps for N(0, c² I) data and Euler
  (Sabour et al. 2024, Theorem 3.1): arctan(σ/c) linear in the step index.

Step-count convention (EDM's ``generate.py``, as ``edm_sigmas``): K steps are K points from σ_max
down to σ_end followed by 0, where σ_end is the model's σ_min. Methods that need σ_end > 0
(logSNR, VP time, KLUB, DMN) use ``SIGMA_END_FLOOR`` = EDM's σ_min, 0.002, on models whose σ_min
is 0. Each function returns a float64 tensor [K+1]; the model-based methods (``ays``, ``gits``,
``ld3``) also return what they cost (``Cost``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..core.constants import SIGMA_DATA, SIGMA_MIN
from ..core.errors import ArtlibError
from ..core.options import check_K
from ..core.schedules import validate_sigmas

#: σ_end of methods that need a positive smallest noise level, on models whose σ_min is 0.
SIGMA_END_FLOOR = SIGMA_MIN


@dataclass
class Cost:
    """What a schedule optimiser spent: denoiser evaluations (forward; a backward counts as one
    more) and wall-clock seconds."""
    evaluations: int
    seconds: float


def sigma_end(sigma_min: float) -> float:
    """The smallest non-zero σ of a peer grid: the model's σ_min, or ``SIGMA_END_FLOOR`` if that is 0."""
    return float(sigma_min) if sigma_min > 0 else SIGMA_END_FLOOR


def with_zero(points: torch.Tensor | np.ndarray, what: str) -> torch.Tensor:
    """K points from σ_max to σ_end, then 0 (K steps) [K+1]."""
    p = torch.as_tensor(np.asarray(points, dtype=np.float64))
    return validate_sigmas(torch.cat([p, p.new_zeros(1)]), what=what)


def check_range(sigma_min: float, sigma_max: float) -> tuple[float, float]:
    """(σ_end, σ_max) of a model's range, after checking it."""
    if not 0 <= sigma_min < sigma_max:
        raise ArtlibError(f"need 0 <= sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    lo = sigma_end(sigma_min)
    if not lo < sigma_max:
        raise ArtlibError(f"sigma_max={sigma_max:g} must exceed the smallest peer sigma {lo:g}")
    return lo, float(sigma_max)


def logsnr_sigmas(K: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """logSNR-uniform: λ = −log σ equally spaced, i.e. σ_k = σ_max (σ_end/σ_max)^{k/(K−1)}, then 0.
    This is EDM's ρ-ramp in the limit ρ → ∞ (not ρ = 1, as AYS's appendix B.2 writes)."""
    K = check_K(K)
    lo, hi = check_range(sigma_min, sigma_max)
    frac = np.arange(K) / max(K - 1, 1)
    return with_zero(hi * (lo / hi) ** frac, "logSNR grid")


def _vp_sigma(t: np.ndarray, beta_d: float, beta_min: float) -> np.ndarray:
    return np.sqrt(np.expm1(0.5 * beta_d * t ** 2 + beta_min * t))


def vp_time_sigmas(K: int, sigma_min: float, sigma_max: float, rho: float = 1.0,
                   eps_s: float = 1e-3) -> torch.Tensor:
    """DPM-Solver's VP-time grids in σ: t_k = (1 + (k/(K−1))(ε_s^{1/ρ} − 1))^ρ from t = 1 to ε_s,
    σ(t) = √(exp(½β_d t² + β_min t) − 1) with β_d, β_min fitted so that σ(1) = σ_max and
    σ(ε_s) = σ_end (EDM's VP parametrisation). ρ = 1: ``time_uniform``; ρ = 2: ``time_quadratic``."""
    K = check_K(K)
    lo, hi = check_range(sigma_min, sigma_max)
    if not (rho > 0 and 0 < eps_s < 1):
        raise ArtlibError(f"time grid: need rho > 0 and 0 < eps_s < 1, got rho={rho}, eps_s={eps_s}")
    beta_d = 2 * (math.log(lo ** 2 + 1) / eps_s - math.log(hi ** 2 + 1)) / (eps_s - 1)
    beta_min = math.log(hi ** 2 + 1) - 0.5 * beta_d
    frac = np.arange(K) / max(K - 1, 1)
    t = (1 + frac * (eps_s ** (1 / rho) - 1)) ** rho
    s = _vp_sigma(t, beta_d, beta_min)
    s[0], s[-1] = hi, (lo if K > 1 else hi)
    return with_zero(s, f"time grid (rho={rho:g})")


def ays_gauss_sigmas(K: int, sigma_min: float, sigma_max: float, c: float = SIGMA_DATA) -> torch.Tensor:
    """AYS's optimum for N(0, c² I) data under Euler (Theorem 3.1): arctan(σ_k/c) linear in k.
    With σ_min > 0 the K points run from σ_max to σ_min and 0 follows; with σ_min = 0 the ramp
    itself reaches 0 (arctan(0) = 0) in K steps."""
    K = check_K(K)
    if not (c > 0 and math.isfinite(c)):
        raise ArtlibError(f"ays-gauss: c must be a positive number, got {c}")
    if not 0 <= sigma_min < sigma_max:
        raise ArtlibError(f"need 0 <= sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    n = K + 1 if sigma_min == 0 else K
    frac = np.arange(n) / max(n - 1, 1)
    a_hi, a_lo = math.atan(sigma_max / c), math.atan(sigma_min / c)
    s = c * np.tan(frac * a_lo + (1 - frac) * a_hi)
    s[0] = sigma_max
    if sigma_min == 0:
        s[-1] = 0.0
        return validate_sigmas(torch.from_numpy(s), what="ays-gauss grid")
    s[-1] = sigma_min
    return with_zero(s, "ays-gauss grid")
