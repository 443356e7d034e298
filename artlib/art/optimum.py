"""The closed-form optimum of the Euler proxy, and how far any grid is from it (paper §2, (9)–(10)).

If mean |Q| along trajectories depends on the noise level only, the Euler–Lagrange equation of
∫ |Q̄(ψ)| θ² dt under the budget ∫ θ dt = T gives |Q̄| θ² = const: the optimal grid is uniform in
Φ(σ) = ∫ |Q̄|^{1/2} dσ (the equidistribution grid). For a grid σ_0 > … > σ_K = 0 run at unit
speed in t (σ linear in t on each of the K steps of Δt = T/K), the proxy objective is

    J(grid) = ∫ |Q̄| θ² dt = (K/T) Σ_k Δσ_k² ⟨|Q̄|⟩_k,

⟨·⟩_k the mean over step k. By Jensen and Cauchy–Schwarz J ≥ J* = (∫ |Q̄|^{1/2} dσ)² / T, with
equality only for the equidistribution grid, so J/J* ≥ 1 says how far a grid is from the optimum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.cache import per_model
from ..core.samplers import initial_noise, reference_solve
from ..core.schedules import edm_sigmas, equidistributed_sigmas, validate_sigmas
from .dynamics import QOracle


@dataclass(frozen=True)
class QProfile:
    """Mean |Q| along reference trajectories: ``q_bar[i]`` at ``sigma[i]`` (decreasing to 0)."""
    sigma: torch.Tensor   # [M]
    q_bar: torch.Tensor   # [M]


def mean_q_along(oracle: QOracle, fine_steps: int, x0: torch.Tensor) -> torch.Tensor:
    """Mean |Q| over a batch along the reference Heun trajectories of ``fine_steps`` EDM steps, at
    every grid σ (the last is 0) [fine_steps + 1]."""
    q = torch.empty(fine_steps + 1, dtype=torch.float64)

    def record(k: int, sigma: float, x: torch.Tensor) -> None:
        psi = torch.full((x.shape[0],), oracle.T - sigma, dtype=torch.float64, device=x.device)
        q[k] = float(oracle.q_norm(x, psi).mean())

    x_end = reference_solve(oracle.denoiser, x0, steps=fine_steps, class_labels=oracle.class_labels,
                            callback=record)
    record(fine_steps, 0.0, x_end)
    return q


def q_profile(denoiser, *, n: int = 256, fine_steps: int = 512, seed: int = 0,
              class_labels=None) -> QProfile:
    """Mean |Q| along ``n`` reference Heun trajectories on a ``fine_steps`` EDM grid, computed once
    per model and settings (it does not depend on K)."""
    def make() -> QProfile:
        oracle = QOracle(denoiser, class_labels=class_labels)
        x0 = initial_noise(denoiser, n, torch.Generator().manual_seed(seed),
                           device=getattr(denoiser, "device", "cpu"))
        return QProfile(edm_sigmas(fine_steps, denoiser.sigma_min, denoiser.sigma_max),
                        mean_q_along(oracle, fine_steps, x0))
    return make() if class_labels is not None else per_model(denoiser, ("q_profile", n, fine_steps, seed), make)


def optimal_sigmas(denoiser, K: int, *, n: int = 256, fine_steps: int = 512, seed: int = 0,
                   class_labels=None) -> torch.Tensor:
    """Closed-form equidistribution optimum θ* ∝ |Q̄|^{-1/2} [K+1]; exact up to the quadrature
    for the Gaussian models, an estimate (from ``n`` trajectories) for any other denoiser."""
    p = q_profile(denoiser, n=n, fine_steps=fine_steps, seed=seed, class_labels=class_labels)
    return equidistributed_sigmas(K, p.sigma, p.q_bar)


def _phi_total(profile: QProfile) -> tuple[float, float]:
    """T = σ_max and Φ(T) = ∫₀^T |Q̄|^{1/2} dσ (trapezoid)."""
    s = profile.sigma.numpy()
    w = np.sqrt(np.maximum(profile.q_bar.numpy(), 0.0))
    return float(s[0]), float(np.sum(0.5 * (w[1:] + w[:-1]) * (s[:-1] - s[1:])))


def proxy_objective(sigmas: torch.Tensor, profile: QProfile) -> float:
    """J(grid) = (K/T) Σ_k Δσ_k² ⟨|Q̄|⟩_k: the Euler proxy ∫ |Q̄| θ² dt of the grid (module docstring)."""
    s = validate_sigmas(sigmas).numpy()
    K, T = s.size - 1, float(s[0])
    fs = profile.sigma.numpy()[::-1]
    fq = profile.q_bar.numpy()[::-1]
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (fq[1:] + fq[:-1]) * np.diff(fs))])  # ∫₀^σ |Q̄|
    integral = np.interp(s[:-1], fs, cum) - np.interp(s[1:], fs, cum)
    return float(K / T * np.sum((s[:-1] - s[1:]) * integral))


def optimal_objective(profile: QProfile) -> float:
    """J* = (∫ |Q̄|^{1/2} dσ)² / T, the continuum minimum of the proxy."""
    T, phi = _phi_total(profile)
    return phi ** 2 / T


def objective_ratio(sigmas: torch.Tensor, profile: QProfile) -> float:
    """J(grid)/J* ≥ 1: how far a grid is from the proxy's optimum (1 = the optimum)."""
    return proxy_objective(sigmas, profile) / optimal_objective(profile)


def speed_profile(sigmas: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """A grid as (σ at step midpoints, clock speed |dσ/dt| = Δσ_k K/T): the learned θ in σ units."""
    s = validate_sigmas(sigmas).numpy()
    K, T = s.size - 1, float(s[0])
    return 0.5 * (s[:-1] + s[1:]), (s[:-1] - s[1:]) * K / T


def optimal_speed(profile: QProfile, sigma: np.ndarray) -> np.ndarray:
    """θ*(σ) = (Φ(T)/T) |Q̄(σ)|^{-1/2}: the optimal clock speed in σ units at ``sigma``."""
    T, phi = _phi_total(profile)
    q = np.interp(sigma, profile.sigma.numpy()[::-1], np.maximum(profile.q_bar.numpy()[::-1], 1e-300))
    return phi / T / np.sqrt(q)
