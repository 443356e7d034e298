"""The closed-form optimum of a local-error proxy, and how far any grid is from it (paper §2, (9)–(10)).

A solver of order p − 1 errs on one step of length h in τ by h^p times a coefficient: ½Q for Euler
(p = 2, the paper's proxy, Q = x″), R = (3∇ₓF·Q − x‴)/12 for EDM's Heun (p = 3; the book's method
page derives it). Run at speed θ = dψ/dt, the errors add up to the running cost ∫ w θ^p dt with w the
mean |Q| or |R| along trajectories. If w depends on the noise level only, the Euler–Lagrange
equation under the budget ∫ θ dt = T gives w θ^p = const: the optimal grid is uniform in
Φ(σ) = ∫ w^{1/p} dσ (the equidistribution grid). For a grid σ_0 > … > σ_K = 0 run at unit speed in t
(σ linear in t on each of the K steps of Δt = T/K), the proxy objective is

    J(grid) = ∫ w θ^p dt = (K/T)^{p−1} Σ_k Δσ_k^{p−1} ∫_{step k} w dσ,

and by Jensen and Hölder J ≥ J* = Φ(T)^p / T^{p−1}, with equality only for the equidistribution
grid, so J/J* ≥ 1 says how far a grid is from the optimum of its proxy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.cache import per_model
from ..core.samplers import advance, initial_noise, random_labels, reference_solve
from ..core.schedules import edm_sigmas, equidistributed_sigmas, heun_split_sigmas, root, validate_sigmas
from .dynamics import QOracle

#: The proxy of each solver: its local error's order p (the error is h^p times |Q| or |R|).
ORDERS = {"euler": 2, "heun": 3}


@dataclass(frozen=True)
class ErrorProfile:
    """The mean local-error coefficient along reference trajectories: ``mean[i]`` at ``sigma[i]``
    (decreasing to 0); mean |Q| for the Euler proxy (``order`` 2), mean |R| for Heun's (3), whose
    profile also holds mean |Q| (``euler``: the last step into σ = 0 is Euler's)."""
    sigma: torch.Tensor   # [M]
    mean: torch.Tensor    # [M]
    order: int = 2
    euler: torch.Tensor | None = None   # [M], order 3


def mean_error_along(oracle: QOracle, fine_steps: int, x0: torch.Tensor, order: int = 2):
    """Mean |Q| [fine_steps + 1] (order 2), or mean |R| and mean |Q| (order 3), over a batch along
    the reference Heun trajectories of ``fine_steps`` EDM steps, at every grid σ (the last is 0)."""
    q = torch.empty(fine_steps + 1, dtype=torch.float64)
    r = torch.empty(fine_steps + 1, dtype=torch.float64)

    def record(k: int, sigma: float, x: torch.Tensor) -> None:
        psi = torch.full((x.shape[0],), oracle.T - sigma, dtype=torch.float64, device=x.device)
        if order == 2:
            q[k] = float(oracle.q_norm(x, psi).mean())
            return
        _, qv, _, rv = oracle.heun_terms(x, psi)
        q[k], r[k] = float(qv.flatten(1).norm(dim=1).mean()), float(rv.flatten(1).norm(dim=1).mean())

    x_end = reference_solve(oracle.denoiser, x0, steps=fine_steps, class_labels=oracle.class_labels,
                            callback=record)
    record(fine_steps, 0.0, x_end)
    return q if order == 2 else (r, q)


def q_profile(denoiser, *, n: int = 256, fine_steps: int = 512, seed: int = 0,
              class_labels=None, solver: str = "euler") -> ErrorProfile:
    """The mean local-error coefficient of ``solver``'s proxy along ``n`` reference Heun trajectories
    on a ``fine_steps`` EDM grid, computed once per model and settings (it does not depend on K). A
    class-conditional model's paths draw their labels from the seed's generator unless
    ``class_labels`` are given."""
    order = ORDERS[solver]

    def make() -> ErrorProfile:
        gen, device = torch.Generator().manual_seed(seed), getattr(denoiser, "device", "cpu")
        x0 = initial_noise(denoiser, n, gen, device=device)
        labels = random_labels(denoiser, n, gen, device) if class_labels is None else class_labels
        sigma = edm_sigmas(fine_steps, denoiser.sigma_min, denoiser.sigma_max)
        means = mean_error_along(QOracle(denoiser, class_labels=labels), fine_steps, x0, order)
        return ErrorProfile(sigma, means) if order == 2 else ErrorProfile(sigma, means[0], order, means[1])
    if class_labels is not None:
        return make()
    return per_model(denoiser, ("q_profile", n, fine_steps, seed) + (() if order == 2 else (order,)), make)


def optimal_sigmas(denoiser, K: int, *, n: int = 256, fine_steps: int = 512, seed: int = 0,
                   class_labels=None, solver: str = "euler", last_step: "LastStep | None" = None) -> torch.Tensor:
    """The closed-form optimum of ``solver``'s proxy [K+1]: Euler's, θ* ∝ |Q̄|^{-1/2}; EDM Heun's,
    θ* ∝ |R̄|^{-1/3} over its K − 1 trapezoid steps and the split with its final Euler step that sums
    to the least local error (``heun_split_sigmas``). Exact up to the quadrature for the Gaussian
    models, an estimate (from ``n`` trajectories) for any other. With ``last_step`` the K − 1 steps
    follow the proxy's optimal clock and the final Euler step starts where ``last_step`` measures
    the least endpoint error (for grids run by EDM's Heun)."""
    p = q_profile(denoiser, n=n, fine_steps=fine_steps, seed=seed, class_labels=class_labels, solver=solver)
    if last_step is not None:
        s = p.sigma.numpy()
        w = root(np.maximum(p.mean.numpy(), 0.0), p.order)
        phi = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * (s[:-1] - s[1:]))])
        return last_step.grid(phi / phi[-1], s, K)
    if p.order == 3:
        return heun_split_sigmas(K, p.sigma, p.mean, p.euler)
    return equidistributed_sigmas(K, p.sigma, p.mean)


def _phi_total(profile: ErrorProfile) -> tuple[float, float]:
    """T = σ_max and Φ(T) = ∫₀^T w^{1/p} dσ (trapezoid)."""
    s = profile.sigma.numpy()
    w = root(np.maximum(profile.mean.numpy(), 0.0), profile.order)
    return float(s[0]), float(np.sum(0.5 * (w[1:] + w[:-1]) * (s[:-1] - s[1:])))


def proxy_objective(sigmas: torch.Tensor, profile: ErrorProfile) -> float:
    """J(grid) = (K/T)^{p−1} Σ_k Δσ_k^{p−1} ∫_{step k} w dσ: the proxy ∫ w θ^p dt of the grid
    (module docstring)."""
    s = validate_sigmas(sigmas).numpy()
    K, T, p = s.size - 1, float(s[0]), profile.order
    fs = profile.sigma.numpy()[::-1]
    fq = profile.mean.numpy()[::-1]
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (fq[1:] + fq[:-1]) * np.diff(fs))])  # ∫₀^σ w
    integral = np.interp(s[:-1], fs, cum) - np.interp(s[1:], fs, cum)
    return float((K / T) ** (p - 1) * np.sum((s[:-1] - s[1:]) ** (p - 1) * integral))


def optimal_objective(profile: ErrorProfile) -> float:
    """J* = Φ(T)^p / T^{p−1}, the continuum minimum of the proxy."""
    T, phi = _phi_total(profile)
    return phi ** profile.order / T ** (profile.order - 1)


def objective_ratio(sigmas: torch.Tensor, profile: ErrorProfile) -> float:
    """J(grid)/J* ≥ 1: how far a grid is from the proxy's optimum (1 = the optimum)."""
    return proxy_objective(sigmas, profile) / optimal_objective(profile)


def speed_profile(sigmas: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """A grid as (σ at step midpoints, clock speed |dσ/dt| = Δσ_k K/T): the learned θ in σ units."""
    s = validate_sigmas(sigmas).numpy()
    K, T = s.size - 1, float(s[0])
    return 0.5 * (s[:-1] + s[1:]), (s[:-1] - s[1:]) * K / T


def optimal_speed(profile: ErrorProfile, sigma: np.ndarray) -> np.ndarray:
    """θ*(σ) = (Φ(T)/T) w(σ)^{-1/p}: the optimal clock speed in σ units at ``sigma``."""
    T, phi = _phi_total(profile)
    q = np.interp(sigma, profile.sigma.numpy()[::-1], np.maximum(profile.mean.numpy()[::-1], 1e-300))
    return phi / T / root(q, profile.order)


class LastStep:
    """Where EDM's Heun grid hands over to its final Euler step, chosen by measured endpoint error.

    The K − 1 trapezoid steps err by h³R, the final Euler step into σ = 0 by about ½h²Q, and the two
    errors have opposite signs along the trajectories: summed magnitudes (``heun_split_sigmas``)
    miss that they cancel. Given a clock, a map from u ∈ [0, 1] to σ (σ_max at 0, 0 at 1) whose K − 1
    equal steps make the trapezoid part, ``grid`` picks σ_last = σ(u_last) by the RMS distance of
    the Heun endpoint to a fine solve from ``n`` noises of their own seed (not the evaluation's):
    24 candidates log-spaced in σ from 10⁻⁴σ_max to σ_max/2, then 12 between the best one's neighbours. The
    reference is solved once; every candidate costs n (2K − 1) evaluations, counted in
    ``evaluations``."""

    #: Candidates tried per grid: a coarse scan, then a finer one around its best.
    COARSE, FINE = 24, 12

    def __init__(self, denoiser, *, n: int = 32, fine_steps: int = 256, seed: int = 1, class_labels=None):
        self.denoiser, self.n, self.fine_steps, self.seed = denoiser, n, fine_steps, seed
        self.class_labels = class_labels
        self.evaluations = 0
        self._ref = None

    @classmethod
    def cost(cls, K: int, n: int = 32, fine_steps: int = 256) -> int:
        """Denoiser evaluations of the reference and one K-step grid's candidates."""
        return n * (2 * fine_steps - 1) + (cls.COARSE + cls.FINE) * n * (2 * K - 1)

    def _reference(self):
        if self._ref is None:
            den, dev = self.denoiser, getattr(self.denoiser, "device", "cpu")
            gen = torch.Generator().manual_seed(self.seed)
            z = initial_noise(den, self.n, gen, device=dev)
            labels = random_labels(den, self.n, gen, dev) if self.class_labels is None else self.class_labels
            self._ref = (z, labels, reference_solve(den, z, steps=self.fine_steps, class_labels=labels))
            self.evaluations += self.n * (2 * self.fine_steps - 1)
        return self._ref

    def error(self, sigmas: torch.Tensor) -> float:
        """RMS endpoint distance of EDM's Heun on ``sigmas`` to the reference."""
        z, labels, target = self._reference()
        self.evaluations += self.n * (2 * (len(sigmas) - 1) - 1)
        x = advance(self.denoiser, z, sigmas, solver="heun", class_labels=labels)
        return float((x - target).flatten(1).pow(2).sum(1).mean().sqrt())

    def grid(self, u: np.ndarray, sigma: np.ndarray, K: int) -> torch.Tensor:
        """The K-step grid [K+1] of the clock (``u`` increasing from 0 to 1, ``sigma`` decreasing from
        σ_max to 0) with its K − 1 trapezoid steps equally spaced in u down to the best σ_last."""
        if K == 1:
            return validate_sigmas(torch.tensor([float(sigma[0]), 0.0], dtype=torch.float64), what="Heun grid")

        def make(u_last: float) -> torch.Tensor:
            head = np.interp(np.linspace(0.0, u_last, K), u, sigma)
            head[0] = sigma[0]
            return validate_sigmas(torch.from_numpy(np.concatenate([head, [0.0]])), what="Heun grid")
        levels = np.geomspace(1e-4 * sigma[0], 0.5 * sigma[0], self.COARSE)      # σ_last candidates
        coarse = np.interp(levels, sigma[::-1], u[::-1])
        errs = [self.error(make(c)) for c in coarse]
        i = int(np.argmin(errs))
        fine = np.linspace(coarse[max(i - 1, 0)], coarse[min(i + 1, self.COARSE - 1)], self.FINE + 2)[1:-1]
        best = min([(e, c) for e, c in zip(errs, coarse)] + [(self.error(make(c)), c) for c in fine])
        return make(best[1])
