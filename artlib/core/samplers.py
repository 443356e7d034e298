"""Deterministic samplers on a given σ grid (paper (3); EDM's Algorithm 1 without churn).

State and σ arithmetic are float64, as in EDM's ``edm_sampler``; the denoiser sees its own
dtype. One loop (``advance``) and one step function (``step``) serve both solvers and every
caller: the samplers, the fine reference solve, GITS's teacher, LD3's differentiable solve and
the ψ-clock learner's simulated trajectories. Heun skips its correction on the final step into
σ = 0, so it spends NFE = 2K − 1.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch
from tqdm import tqdm

from .constants import RHO
from .options import check_solver
from .schedules import edm_sigmas, validate_sigmas


def per_sample(v: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """Broadcast a scalar or [B] time (σ, ψ, θ) against a batch x [B, ...]."""
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    if v.ndim == 0:
        return v
    return v.reshape(v.shape[0], *([1] * (x.ndim - 1)))


def drift(denoiser, x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
    """F(x, σ) = (D(x; σ) − x)/σ, the probability-flow drift in the reverse clock τ [B, ...];
    σ a number, a 0-d tensor (which may carry gradients) or one per sample [B]."""
    if not torch.is_tensor(sigma):   # a number: divide by it as a Python scalar (the samplers' case)
        return (denoiser(x, x.new_full((x.shape[0],), sigma), class_labels).to(torch.float64) - x) / sigma
    s = sigma.to(dtype=x.dtype, device=x.device)
    d = denoiser(x, s.expand(x.shape[0]) if s.ndim == 0 else s, class_labels)
    return (d.to(torch.float64) - x) / per_sample(s, x)


def _gap(sigma, sigma_next, x: torch.Tensor):
    """σ − σ_next, broadcast against x when the σ are per-sample tensors."""
    h = sigma - sigma_next
    return per_sample(h, x) if torch.is_tensor(h) else h


def _is_zero(sigma) -> bool:
    return bool((sigma == 0).all()) if torch.is_tensor(sigma) else sigma == 0


def step(F: Callable, x: torch.Tensor, sigma, sigma_next, solver: str,
         f: torch.Tensor | None = None) -> torch.Tensor:
    """One step of dx/dσ = −F from σ to σ_next [B, ...]: Euler, or Heun's explicit trapezoid with
    Euler's step into σ = 0 (EDM). ``F(x, σ)`` is the drift; ``f`` is F(x, σ) when the caller has
    it already."""
    f = F(x, sigma) if f is None else f
    x_next = x + _gap(sigma, sigma_next, x) * f
    if solver == "euler" or _is_zero(sigma_next):
        return x_next
    return x + _gap(sigma, sigma_next, x) * 0.5 * (f + F(x_next, sigma_next))


def advance(denoiser, x: torch.Tensor, sigmas, *, solver: str = "heun",
            class_labels: Optional[torch.Tensor] = None,
            callback: Optional[Callable[[int, float, torch.Tensor], None]] = None,
            progress: bool = False) -> torch.Tensor:
    """The sampling loop over any decreasing σ sequence, which need not end at 0 (a segment of a
    solve, e.g. a teacher's between two of its grid points) [B, ...] (float64). ``sigmas`` may be a
    tensor carrying gradients (LD3 back-propagates through it); ``callback(k, σ_k, x_k)`` sees the
    state before each step."""
    check_solver(solver)

    def F(x_, s_):
        return drift(denoiser, x_, s_, class_labels)
    x = x.to(torch.float64)
    for k in tqdm(range(len(sigmas) - 1), disable=not progress, desc=f"{solver} sampling", leave=False):
        if callback is not None:
            callback(k, sigmas[k], x)
        x = step(F, x, sigmas[k], sigmas[k + 1], solver)
    return x


@torch.no_grad()
def sample(denoiser, x: torch.Tensor, sigmas: torch.Tensor, *, solver: str = "heun",
           class_labels: Optional[torch.Tensor] = None,
           callback: Optional[Callable[[int, float, torch.Tensor], None]] = None,
           progress: bool = False) -> torch.Tensor:
    """Integrate the PF-ODE from x at sigmas[0] to sigmas[-1] = 0 [B, ...] (float64 result).

    ``callback(k, sigma_k, x_k)`` sees the state before each step.
    """
    return advance(denoiser, x, validate_sigmas(sigmas).tolist(), solver=solver, class_labels=class_labels,
                   callback=callback, progress=progress)


def at_grid_start(denoiser, x: torch.Tensor, sigma0: float) -> torch.Tensor:
    """Noise drawn at σ_max's scale (``initial_noise``, ``seeded_batch``) for a grid that starts at
    σ₀ < σ_max, as a pipeline starts its latents at its first timestep (DDIM's "leading" spacing
    does): x·std(σ₀)/std(σ_max), std(σ) = √(σ² + v) with v = prior_std² − σ_max² the data's share.
    A grid that starts at σ_max gets x unchanged."""
    top = float(getattr(denoiser, "prior_std", denoiser.sigma_max))
    if float(sigma0) >= denoiser.sigma_max:
        return x
    v = max(top ** 2 - float(denoiser.sigma_max) ** 2, 0.0)
    return x * (math.sqrt(float(sigma0) ** 2 + v) / top)


def reference_solve(denoiser, x0: torch.Tensor, *, steps: int, class_labels=None,
                    callback: Optional[Callable[[int, float, torch.Tensor], None]] = None) -> torch.Tensor:
    """EDM-Heun on a ``steps``-step ρ = 7 grid from x0: the fine solve that endpoint errors, GITS's
    KLUB data, LD3's teacher and the mean-|Q| profile are measured on [B, ...] (float64)."""
    grid = edm_sigmas(steps, denoiser.sigma_min, denoiser.sigma_max, RHO)
    return sample(denoiser, x0, grid, solver="heun", class_labels=class_labels, callback=callback)


def seeded_batch(denoiser, seeds, *, device="cpu") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Starting noise and class labels for a list of seeds, as EDM's ``generate.py`` draws them:
    one generator per seed draws the latent, then (class-conditional models) the class index,
    one-hot [n, label_dim]; unconditional models get None. A seed gives the same image in any
    batch. (EDM draws on the GPU's generator, so values agree with EDM only on the same device type.)"""
    label_dim = int(getattr(denoiser, "label_dim", 0) or 0)
    std = getattr(denoiser, "prior_std", denoiser.sigma_max)
    zs, labels = [], []
    for s in seeds:
        g = torch.Generator().manual_seed(int(s))
        zs.append(torch.randn(tuple(denoiser.shape), generator=g, dtype=torch.float64))
        if label_dim:
            labels.append(int(torch.randint(label_dim, (1,), generator=g)))
    x = (torch.stack(zs) * std).to(device)
    if not label_dim:
        return x, None
    return x, torch.eye(label_dim, dtype=torch.float64)[labels].to(device)


def to_uint8(x):
    """Images in [−1, 1] [n, C, H, W] → uint8 [n, H, W, C] as EDM saves them (x·127.5 + 128, clipped)."""
    a = np.asarray(x, dtype=np.float64) * 127.5 + 128
    return np.clip(a, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def generate(denoiser, sigmas: torch.Tensor, seeds, *, solver: str = "heun", device="cpu") -> torch.Tensor:
    """uint8 images [n, C, H, W] sampled from ``seeds`` on the grid ``sigmas``, as EDM's
    ``generate.py`` makes them (per-seed noise and labels, then ``to_uint8``)."""
    x0, labels = seeded_batch(denoiser, seeds, device=device)
    x = sample(denoiser, at_grid_start(denoiser, x0, float(sigmas[0])), sigmas, solver=solver, class_labels=labels)
    return torch.from_numpy(to_uint8(x.cpu())).permute(0, 3, 1, 2)


def initial_noise(denoiser, n: int, generator: torch.Generator | None = None, *,
                  device="cpu") -> torch.Tensor:
    """n starting samples x ~ N(0, prior_std² I) [n, *shape], float64, drawn from one generator
    on the CPU (so the same on any device). For EDM's one-generator-per-seed batches see
    ``seeded_batch``."""
    z = torch.randn((n, *denoiser.shape), generator=generator, dtype=torch.float64)
    return (z * getattr(denoiser, "prior_std", denoiser.sigma_max)).to(device)


def random_labels(denoiser, n: int, generator: torch.Generator, device="cpu") -> torch.Tensor | None:
    """n random one-hot class labels [n, label_dim] from ``generator`` for a class-conditional
    model, else None."""
    d = int(getattr(denoiser, "label_dim", 0) or 0)
    if not d:
        return None
    return torch.eye(d, dtype=torch.float64)[torch.randint(d, (n,), generator=generator)].to(device)
