"""Hand a schedule to diffusers' Euler and Heun schedulers. diffusers is optional; nothing here
imports it.

What its API takes (diffusers 0.42.1):

- ``EulerDiscreteScheduler.set_timesteps(sigmas=...)`` takes the whole list, final 0 included, and
  makes K steps from K + 1 values; its σ and its arithmetic are float32.
- ``HeunDiscreteScheduler.set_timesteps`` has no ``sigmas=`` argument: it interpolates its training
  σ(t) = √((1 − ᾱ_t)/ᾱ_t) at the timesteps it is given and appends 0 itself. That table is float32,
  so near σ = 0.002 (ᾱ within 4e-6 of 1) it cannot tell σ apart to better than about 1 %. The
  export therefore passes the timesteps that invert the table (``diffusers_heun_timesteps``: the
  UNet's conditioning) and then writes the grid's σ into ``scheduler.sigmas`` in the scheduler's
  own layout (each inner σ twice), so the steps are the grid's to float32 round-off. The grid's
  non-zero σ must lie inside the scheduler's training range, else it refuses with one line: a
  real UNet cannot be conditioned outside it.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.errors import ArtlibError
from ..core.schedules import validate_sigmas


def set_diffusers_schedule(scheduler, sigmas) -> None:
    """Give ``scheduler`` (a diffusers Euler- or Heun-type discrete scheduler) the grid ``sigmas``
    [K+1, ending in 0]; afterwards its σ equal the grid's to float32 round-off (checked)."""
    s = validate_sigmas(sigmas)
    name = type(scheduler).__name__
    if name.startswith("Heun"):
        scheduler.set_timesteps(timesteps=diffusers_heun_timesteps(scheduler, s).tolist())
        exact = s.to(torch.float32)
        scheduler.sigmas = torch.cat([exact[:1], exact[1:-1].repeat_interleave(2), exact[-1:]])
        got = torch.cat([scheduler.sigmas[:1], scheduler.sigmas[1::2]])   # Heun repeats inner σ
    else:
        scheduler.set_timesteps(sigmas=s.tolist())
        got = scheduler.sigmas
    if got.numel() != s.numel() or not torch.allclose(got.double(), s, rtol=1e-5, atol=0):
        raise ArtlibError(f"{name} did not take the grid: it holds {got.numel()} sigmas "
                          f"{got[:3].tolist()}..., the grid {s.numel()}")


def diffusers_heun_timesteps(scheduler, sigmas) -> np.ndarray:
    """Fractional timesteps t_k at which the scheduler's linear interpolation of its training
    σ(t) = √((1 − ᾱ_t)/ᾱ_t) gives the grid's non-zero σ_k (to the table's float32 resolution) [K]."""
    s = validate_sigmas(sigmas).numpy()[:-1]
    train = ((1 - scheduler.alphas_cumprod) / scheduler.alphas_cumprod).sqrt().double().numpy()
    lo, hi = float(train.min()), float(train.max())
    if s.min() < lo * (1 - 1e-6) or s.max() > hi * (1 + 1e-6):
        raise ArtlibError(f"the grid's sigmas [{s.min():g}, {s.max():g}] are outside this scheduler's training "
                          f"range [{lo:g}, {hi:g}]; build it with trained_betas that cover them")
    # the float32 table may repeat a value at small σ; keep the first t of each value
    keep = np.concatenate([[True], np.diff(train) > 0])
    return np.interp(s, train[keep], np.arange(len(train), dtype=np.float64)[keep])


def betas_for_sigmas(sigma_min: float, sigma_max: float, steps: int = 1000) -> np.ndarray:
    """``trained_betas`` for a diffusers scheduler whose training σ run geometrically from
    ``sigma_min`` to ``sigma_max`` over ``steps`` timesteps (ᾱ_t = 1/(1 + σ_t²))."""
    if not 0 < sigma_min < sigma_max:
        raise ArtlibError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    sig = np.geomspace(sigma_min, sigma_max, steps)
    abar = 1 / (1 + sig ** 2)
    return 1 - abar / np.concatenate([[1.0], abar[:-1]])


class DiffusersEpsilon:
    """An artlib denoiser in a diffusers UNet's convention: called with the scheduler-scaled input
    x/√(σ² + 1) and a timestep, it returns the noise prediction ε = (x − D(x; σ))/σ. The σ of a
    timestep is read from the scheduler the wrapper is bound to."""

    def __init__(self, denoiser, scheduler, class_labels=None):
        self.den, self.scheduler, self.labels = denoiser, scheduler, class_labels

    def __call__(self, scaled: torch.Tensor, timestep) -> torch.Tensor:
        sigma = float(self.scheduler.sigmas[self.scheduler.step_index])
        x = scaled.to(torch.float64) * (sigma ** 2 + 1) ** 0.5
        d = self.den(x, torch.full((x.shape[0],), sigma, dtype=torch.float64), self.labels).to(torch.float64)
        return ((x - d) / sigma).to(scaled.dtype)


def diffusers_sample(scheduler, model: DiffusersEpsilon, x: torch.Tensor) -> torch.Tensor:
    """The loop a diffusers pipeline runs: scale the input, predict ε, step; from x at σ_0."""
    for t in scheduler.timesteps:
        eps = model(scheduler.scale_model_input(x, t), t)
        x = scheduler.step(eps, t, x).prev_sample
    return x
