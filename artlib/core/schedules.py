"""Sampling schedules as data (paper §2, §5): 1-D float64 tensors of strictly decreasing σ ending in 0.

A schedule with K steps has K+1 entries. The ART clock runs the other way: τ = σ_max − σ, so a
grid on the clock ψ ∈ [0, T] with T = σ_max maps to sigmas through ``tau_to_sigmas`` and back
through ``sigmas_to_tau`` (the only two places that convert).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .constants import RHO
from .errors import ArtlibError
from .io import atomic_write_many, read_json
from .options import check_K, nfe

FORMAT = "artlib.schedule/1"


def validate_sigmas(sigmas: Any, *, sigma_max: float | None = None, K: int | None = None,
                    what: str = "schedule") -> torch.Tensor:
    """Return ``sigmas`` as a float64 CPU tensor [K+1] after checking it is a valid schedule."""
    try:
        s = torch.as_tensor(sigmas, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ArtlibError(f"{what}: sigmas must be a list of numbers") from None
    if s.ndim != 1 or s.numel() < 2:
        raise ArtlibError(f"{what}: need a 1-D list of at least 2 sigmas, got shape {tuple(s.shape)}")
    if not torch.isfinite(s).all():
        raise ArtlibError(f"{what}: sigmas contain NaN or infinity")
    if s[-1] != 0:
        raise ArtlibError(f"{what}: the last sigma must be exactly 0, got {s[-1].item():g}")
    bad = torch.nonzero(s[1:] >= s[:-1])
    if bad.numel():
        i = bad[0, 0].item()
        raise ArtlibError(f"{what}: sigmas must be strictly decreasing; sigma[{i}]={s[i].item():g} "
                          f"<= sigma[{i + 1}]={s[i + 1].item():g}")
    if K is not None and s.numel() != K + 1:
        raise ArtlibError(f"{what}: K={K} needs {K + 1} sigmas, got {s.numel()}")
    if sigma_max is not None and s[0] > sigma_max * (1 + 1e-9):
        raise ArtlibError(f"{what}: sigma[0]={s[0].item():g} exceeds the model's sigma_max={sigma_max:g}")
    return s


def edm_sigmas(K: int, sigma_min: float, sigma_max: float, rho: float = RHO) -> torch.Tensor:
    """EDM's ρ-ramp (Karras et al. 2022, eq. 5) with K steps [K+1].

    With σ_min > 0 the ramp has K points from σ_max to σ_min and 0 is appended (EDM's
    ``generate.py``); with σ_min = 0 the ramp itself runs over K intervals to 0.
    """
    K = check_K(K)
    if rho <= 0:
        raise ArtlibError(f"rho must be > 0, got {rho}")
    if not 0 <= sigma_min < sigma_max:
        raise ArtlibError(f"need 0 <= sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    n = K + 1 if sigma_min == 0 else K
    frac = torch.arange(n, dtype=torch.float64) / max(n - 1, 1)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    ramp = (hi + frac * (lo - hi)) ** rho
    ramp[0] = sigma_max                      # exactly: (σ_max^{1/ρ})^ρ can be off by an ulp
    if sigma_min == 0:
        ramp[-1] = 0.0
        return ramp
    return torch.cat([ramp, ramp.new_zeros(1)])


def uniform_sigmas(K: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """Equally spaced in τ (the ρ = 1 ramp) [K+1]."""
    return edm_sigmas(K, sigma_min, sigma_max, rho=1.0)


def sigmas_to_tau(sigmas: torch.Tensor, sigma_max: float) -> torch.Tensor:
    """Clock positions τ = σ_max − σ of a schedule (increasing, 0 … σ_max)."""
    return sigma_max - sigmas


def tau_to_sigmas(tau: torch.Tensor, sigma_max: float) -> torch.Tensor:
    """Inverse of ``sigmas_to_tau``; the last entry is set to exactly 0."""
    s = (sigma_max - torch.as_tensor(tau, dtype=torch.float64)).clone()
    s[-1] = 0.0
    return s


def theta_to_sigmas(theta: torch.Tensor, sigma_max: float) -> torch.Tensor:
    """A clock speed θ_k [K] (on t_k = kT/K) to the grid it induces, rescaled so Σθ Δt = T [K+1]."""
    theta = torch.as_tensor(theta, dtype=torch.float64)
    if (theta <= 0).any() or not torch.isfinite(theta).all():
        raise ArtlibError("a schedule's clock speeds must be finite and positive")
    steps = theta / theta.sum() * sigma_max
    tau = torch.cat([steps.new_zeros(1), torch.cumsum(steps, 0)])
    return tau_to_sigmas(tau, sigma_max)


def root(w: np.ndarray, order: int) -> np.ndarray:
    """w^{1/order} (square root for 2, cube root for 3: exact to the last bit where numpy's are)."""
    return np.sqrt(w) if order == 2 else np.cbrt(w) if order == 3 else w ** (1.0 / order)


def equidistributed_sigmas(K: int, sigma_fine: torch.Tensor, q_bar: torch.Tensor, *, order: int = 2) -> torch.Tensor:
    """Grid uniform in Φ(τ) = ∫ w^{1/p} dτ (the closed form of the book's method page) [K+1].

    ``sigma_fine`` [M] is decreasing from σ_max to 0 and ``q_bar`` [M] is the mean local-error
    coefficient w there: |Q| for the Euler proxy (order p = 2), |R| for Heun's (p = 3).
    """
    K = check_K(K)
    s = np.asarray(sigma_fine, dtype=np.float64)
    w = root(np.maximum(np.asarray(q_bar, dtype=np.float64), 0.0), order)
    phi = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * (s[:-1] - s[1:]))])
    if not phi[-1] > 0:
        raise ArtlibError("the mean local error vanishes along the reference trajectories; no equidistribution grid")
    levels = np.linspace(0.0, phi[-1], K + 1)
    out = torch.from_numpy(np.interp(levels, phi, s))
    out[0], out[-1] = s[0], 0.0
    return validate_sigmas(out, what="equidistribution grid")


def heun_split_sigmas(K: int, sigma_fine, r_bar, q_bar) -> torch.Tensor:
    """EDM's Heun grid at the least summed local error [K+1]: K − 1 trapezoid steps from σ_max down
    to σ_last, uniform in Φ = ∫ |R̄|^{1/3} dσ (each errs by about (ΔΦ)³), then Euler's step into 0,
    which errs by about E(σ_last) = ∫₀^{σ_last} σ |Q̄| dσ; σ_last minimises
    (Φ(σ_max) − Φ(σ_last))³/(K − 1)² + E(σ_last). ``sigma_fine`` [M] decreases from σ_max to 0;
    ``r_bar`` and ``q_bar`` [M] are mean |R| and |Q| there. K = 1 is the one Euler step."""
    K = check_K(K)
    s = np.asarray(sigma_fine, dtype=np.float64)[::-1]          # increasing from 0
    r = np.maximum(np.asarray(r_bar, dtype=np.float64), 0.0)[::-1]
    q = np.maximum(np.asarray(q_bar, dtype=np.float64), 0.0)[::-1]
    if K == 1:
        return validate_sigmas(torch.tensor([s[-1], 0.0], dtype=torch.float64), what="Heun grid")
    w = np.cbrt(r)
    phi = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(s))])
    euler = np.concatenate([[0.0], np.cumsum(0.5 * (s[1:] * q[1:] + s[:-1] * q[:-1]) * np.diff(s))])
    if not phi[-1] > 0:
        raise ArtlibError("the mean local error vanishes along the reference trajectories; no equidistribution grid")
    j = 1 + int(np.argmin(((phi[-1] - phi) ** 3 / (K - 1) ** 2 + euler)[1:-1]))
    points = np.interp(np.linspace(phi[j], phi[-1], K), phi, s)[::-1].copy()
    points[0], points[-1] = s[-1], s[j]
    return validate_sigmas(torch.from_numpy(np.concatenate([points, [0.0]])), what="Heun grid")


def rescale_schedule(sigmas: torch.Tensor, K: int, sigma_max: float) -> torch.Tensor:
    """Re-use a schedule at another step count K (Table 3) [K+1].

    The rule interpolates τ linearly in the normalised clock t/T: the schedule is a map
    t ↦ ψ(t), sampled at K+1 equally spaced t. Documented in the book's schedule-reuse chapter.
    """
    K = check_K(K)
    s = validate_sigmas(sigmas)
    tau = sigmas_to_tau(s, float(s[0])) / float(s[0])
    t_old = np.linspace(0.0, 1.0, s.numel())
    tau_new = np.interp(np.linspace(0.0, 1.0, K + 1), t_old, tau.numpy())
    return tau_to_sigmas(torch.from_numpy(tau_new) * sigma_max, sigma_max)


def save_schedule(path: str | os.PathLike, sigmas: torch.Tensor, *, solver: str, method: str,
                  model: str, sigma_min: float, sigma_max: float, **provenance: Any) -> None:
    """Write a schedule as JSON (format ``artlib.schedule/1``), atomically, and beside it
    ``<name>.sigmas.txt``: the bare descending σ list with its trailing 0, one line, in the form
    diffusers (``set_timesteps(sigmas=...)``) and k-diffusion samplers take unchanged.
    """
    from . import __version__

    s = validate_sigmas(sigmas, sigma_max=sigma_max)
    K = s.numel() - 1
    obj = {
        "format": FORMAT,
        "sigmas": [float(v) for v in s.tolist()],
        "K": K,
        "solver": solver,
        "nfe": nfe(K, solver),
        "sigma_min": float(sigma_min),
        "sigma_max": float(sigma_max),
        "method": method,
        "model": model,
        "artlib_version": __version__,
        **provenance,
    }

    def write_schedule(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    atomic_write_many([   # the JSON and its .sigmas.txt land together, or neither does
        (export_path(path), lambda tmp: Path(tmp).write_text("[" + ", ".join(repr(float(v)) for v in s.tolist()) + "]\n")),
        (path, write_schedule)])


def export_path(path: str | os.PathLike) -> Path:
    """The plain σ list written beside a schedule JSON: ``NAME.json`` → ``NAME.sigmas.txt``."""
    p = Path(path)
    return p.with_name((p.name[:-5] if p.name.endswith(".json") else p.name) + ".sigmas.txt")


def load_schedule(path: str | os.PathLike, *, sigma_max: float | None = None,
                  K: int | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Read a schedule JSON; returns (sigmas [K+1], the whole JSON object)."""
    obj = read_json(path, what="schedule file")
    if not isinstance(obj, dict) or "sigmas" not in obj:
        raise ArtlibError(f"{path}: not a schedule file (no 'sigmas' list)")
    if not isinstance(obj["sigmas"], list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in obj["sigmas"]):
        raise ArtlibError(f"{path}: 'sigmas' must be a list of numbers")
    s = validate_sigmas(obj["sigmas"], sigma_max=sigma_max, K=K, what=str(path))
    if "K" in obj and obj["K"] != s.numel() - 1:
        raise ArtlibError(f"{path}: 'K'={obj['K']} disagrees with {s.numel()} sigmas")
    return s, obj

