"""Deterministic samplers on a given σ grid (paper (3); EDM's Algorithm 1 without churn).

State and σ arithmetic are float64, as in EDM's ``edm_sampler``; the denoiser sees its own
dtype. One loop, one step function per solver. Heun skips its correction on the final step
into σ = 0, so it spends NFE = 2K − 1.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from tqdm import tqdm

from .options import check_solver
from .schedules import validate_sigmas

def drift(denoiser, x: torch.Tensor, sigma: float, class_labels=None) -> torch.Tensor:
    """F(x, σ) = (D(x; σ) − x)/σ, the probability-flow drift in the reverse clock τ [B, ...]."""
    sig = torch.full((x.shape[0],), sigma, dtype=x.dtype, device=x.device)
    return (denoiser(x, sig, class_labels).to(torch.float64) - x) / sigma


def _euler_step(denoiser, x, sigma, sigma_next, labels):
    return x + (sigma - sigma_next) * drift(denoiser, x, sigma, labels)


def _heun_step(denoiser, x, sigma, sigma_next, labels):
    f = drift(denoiser, x, sigma, labels)
    x_next = x + (sigma - sigma_next) * f
    if sigma_next == 0:
        return x_next
    return x + (sigma - sigma_next) * 0.5 * (f + drift(denoiser, x_next, sigma_next, labels))


_STEPS = {"euler": _euler_step, "heun": _heun_step}


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


@torch.no_grad()
def advance(denoiser, x: torch.Tensor, sigmas: list[float], *, solver: str = "heun",
            class_labels: Optional[torch.Tensor] = None,
            callback: Optional[Callable[[int, float, torch.Tensor], None]] = None,
            progress: bool = False) -> torch.Tensor:
    """``sample``'s loop over any decreasing σ list, which need not end at 0 (a segment of a
    solve, e.g. a teacher's between two of its grid points) [B, ...] (float64)."""
    step = _STEPS[check_solver(solver)]
    x = x.to(torch.float64)
    for k in tqdm(range(len(sigmas) - 1), disable=not progress, desc=f"{solver} sampling", leave=False):
        if callback is not None:
            callback(k, sigmas[k], x)
        x = step(denoiser, x, sigmas[k], sigmas[k + 1], class_labels)
    return x


def euler(denoiser, x, sigmas, **kw) -> torch.Tensor:
    """Euler sampler, NFE = K (see ``sample``)."""
    return sample(denoiser, x, sigmas, solver="euler", **kw)


def heun(denoiser, x, sigmas, **kw) -> torch.Tensor:
    """EDM's Heun sampler, NFE = 2K − 1 (see ``sample``)."""
    return sample(denoiser, x, sigmas, solver="heun", **kw)


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
    import numpy as np
    a = np.asarray(x, dtype=np.float64) * 127.5 + 128
    return np.clip(a, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def generate(denoiser, sigmas: torch.Tensor, seeds, *, solver: str = "heun", device="cpu") -> torch.Tensor:
    """uint8 images [n, C, H, W] sampled from ``seeds`` on the grid ``sigmas``, as EDM's
    ``generate.py`` makes them (per-seed noise and labels, then ``to_uint8``)."""
    x0, labels = seeded_batch(denoiser, seeds, device=device)
    x = sample(denoiser, x0, sigmas, solver=solver, class_labels=labels)
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
