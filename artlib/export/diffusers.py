"""Hand a schedule to diffusers' schedulers. diffusers is optional; nothing here imports it.

What its API takes (diffusers 0.42.1):

- ``EulerDiscreteScheduler.set_timesteps(sigmas=...)`` takes the whole list, final 0 included, and
  makes K steps from K + 1 values; its σ and its arithmetic are float32.
- ``HeunDiscreteScheduler.set_timesteps`` has no ``sigmas=`` argument: it interpolates its training
  σ(t) = √((1 − ᾱ_t)/ᾱ_t) at the timesteps it is given and appends 0 itself. That table is float32,
  so near σ = 0.002 (ᾱ within 4e-6 of 1) it cannot tell σ apart to better than about 1 %. The
  export therefore passes the timesteps that invert the table in log σ (``diffusers_heun_timesteps``:
  the UNet's conditioning, as Euler's) and then writes the grid's σ into ``scheduler.sigmas`` in the
  scheduler's own layout (each inner σ twice), so the steps are the grid's to float32 round-off. The grid's
  non-zero σ must lie inside the scheduler's training range, else it refuses with one line: a
  real UNet cannot be conditioned outside it.
- ``FlowMatchEulerDiscreteScheduler.set_timesteps(sigmas=...)`` takes flow times t, applies its
  ``shift`` s to them (t ↦ s·t/(1 + (s − 1)t); with dynamic shifting s = e^μ, or μ for the linear
  shift type) and appends 0 itself. A grid in the model's own σ (t = σ/(1 + σ)) is therefore passed
  as t = (σ/s)/(1 + σ/s) without its final 0, which the shift maps back to σ/(1 + σ).
- ``DDIMScheduler.step`` takes the previous timestep to be ``t − N/K`` (uniform spacing), so a
  non-uniform grid cannot be run through it; deterministic DDIM is Euler's method in σ on an
  ε-model (Karras et al. 2022), so ``EulerDiscreteScheduler`` with ``sigmas=`` runs the same steps.
  ``ddim_timesteps`` gives a grid's nearest training timesteps, for schedulers that take integer
  ``timesteps=`` (DDPM, DPM-Solver, Heun).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..core.errors import ArtlibError
from ..core.schedules import validate_sigmas


def set_diffusers_schedule(scheduler, sigmas, *, mu: float | None = None) -> None:
    """Give ``scheduler`` (a diffusers Euler-, Heun- or flow-matching Euler scheduler) the grid
    ``sigmas`` [K+1, ending in 0] in the model's own σ; afterwards its steps are the grid's to
    float32 round-off (checked). ``mu``: the dynamic shift of a flow scheduler that uses one."""
    s = validate_sigmas(sigmas)
    name = type(scheduler).__name__
    if name.startswith("FlowMatch"):
        scheduler.set_timesteps(sigmas=flow_sigmas(scheduler, s, mu=mu), mu=mu)
        got, want = scheduler.sigmas.double(), s / (1 + s)
    elif name.startswith("Heun"):
        scheduler.set_timesteps(timesteps=diffusers_heun_timesteps(scheduler, s).tolist())
        exact = s.to(torch.float32)
        scheduler.sigmas = torch.cat([exact[:1], exact[1:-1].repeat_interleave(2), exact[-1:]])
        got, want = torch.cat([scheduler.sigmas[:1], scheduler.sigmas[1::2]]).double(), s   # Heun repeats inner σ
    else:
        scheduler.set_timesteps(sigmas=s.tolist())
        got, want = scheduler.sigmas.double(), s
    if got.numel() != want.numel() or not torch.allclose(got, want, rtol=1e-5, atol=0):
        raise ArtlibError(f"{name} did not take the grid: it holds {got.numel()} sigmas "
                          f"{got[:3].tolist()}..., the grid {want.numel()}")


def flow_shift(scheduler, mu: float | None = None) -> float:
    """The factor s by which a flow-matching scheduler stretches the times it is given."""
    cfg = scheduler.config
    for key in ("shift_terminal", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"):
        if cfg.get(key):
            raise ArtlibError(f"{type(scheduler).__name__} has {key} set, which re-spaces any grid it is given; "
                              "unset it to run a learned grid")
    if not cfg.get("use_dynamic_shifting"):
        return float(cfg.get("shift", 1.0))
    if mu is None:
        raise ArtlibError(f"{type(scheduler).__name__} shifts dynamically: give mu, as its pipeline computes it")
    return math.exp(mu) if cfg.get("time_shift_type", "exponential") == "exponential" else float(mu)


def flow_sigmas(scheduler, sigmas, *, mu: float | None = None) -> list[float]:
    """What a flow-matching scheduler's ``set_timesteps(sigmas=...)`` takes for a grid in the model's
    own σ: t = (σ/s)/(1 + σ/s) of the K non-zero σ, s its shift (module docstring)."""
    s = validate_sigmas(sigmas)[:-1] / flow_shift(scheduler, mu)
    return (s / (1 + s)).tolist()


def ddim_timesteps(table: torch.Tensor, sigmas) -> list[int]:
    """The nearest training timestep (in log σ) of each non-zero σ of a grid, for schedulers that take
    integer ``timesteps=`` [K] (descending); ``table`` is the training σ_t, t = 0 … N−1."""
    s = validate_sigmas(sigmas)[:-1]
    d = (s.log()[:, None] - table.double().log()[None, :]).abs()
    return d.argmin(1).tolist()


def set_timesteps_arguments(scheduler, sigmas, *, mu: float | None = None) -> dict | None:
    """The keyword arguments of ``scheduler.set_timesteps`` that run a grid (JSON-ready), or None
    when the scheduler cannot take one: flow times for flow-matching Euler, the σ list for Euler,
    fractional timesteps for Heun (whose σ ``set_diffusers_schedule`` then writes) and the nearest
    integer timesteps for DDPM and DPM-Solver (which then condition on those)."""
    name = type(scheduler).__name__
    s = validate_sigmas(sigmas)
    if name.startswith("FlowMatch"):
        return {"sigmas": flow_sigmas(scheduler, s, mu=mu)} | ({"mu": mu} if mu is not None else {})
    if name.startswith("Heun"):
        return {"timesteps": diffusers_heun_timesteps(scheduler, s).tolist()}
    if name == "EulerDiscreteScheduler":
        return {"sigmas": s.tolist()}
    if name in ("DDPMScheduler", "DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler"):
        table = ((1 - scheduler.alphas_cumprod.float()) / scheduler.alphas_cumprod.float()) ** 0.5
        return {"timesteps": ddim_timesteps(table, s)}
    return None


def pipeline_arguments(scheduler, sigmas) -> dict[str, dict]:
    """What a schedule file records for a diffusers model with ``scheduler``: the arguments of its own
    scheduler class where it takes a grid, and of the classes that run the grid exactly (Euler with
    ``sigmas=``, Heun for VP models; flow-matching Euler for flow models), each keyed by class name."""
    import diffusers
    own = type(scheduler).__name__
    exact = ["FlowMatchEulerDiscreteScheduler"] if own.startswith("FlowMatch") else \
        ["EulerDiscreteScheduler", "HeunDiscreteScheduler"]
    out = {}
    for name in dict.fromkeys([own, *exact]):
        try:
            args = set_timesteps_arguments(getattr(diffusers, name).from_config(scheduler.config), sigmas)
        except ArtlibError as e:            # e.g. a dynamically shifted flow scheduler needs mu
            args = {"error": str(e)}
        if args is not None:
            out[name] = args
    return out


def diffusers_heun_timesteps(scheduler, sigmas) -> np.ndarray:
    """Fractional timesteps t_k of the grid's non-zero σ_k on the scheduler's training table
    σ(t) = √((1 − ᾱ_t)/ᾱ_t), interpolated linearly in log σ as Euler's ``sigmas=`` and artlib's
    ``diffusers:`` models condition the network (to the table's float32 resolution) [K]. The Heun
    scheduler passes them to the network; its own σ, which it interpolates linearly in σ, are then
    overwritten with the grid's."""
    s = validate_sigmas(sigmas).numpy()[:-1]
    train = ((1 - scheduler.alphas_cumprod) / scheduler.alphas_cumprod).sqrt().double().numpy()
    lo, hi = float(train.min()), float(train.max())
    if s.min() < lo * (1 - 1e-6) or s.max() > hi * (1 + 1e-6):
        raise ArtlibError(f"the grid's sigmas [{s.min():g}, {s.max():g}] are outside this scheduler's training "
                          f"range [{lo:g}, {hi:g}]; build it with trained_betas that cover them")
    # the float32 table may repeat a value at small σ; keep the first t of each value
    keep = np.concatenate([[True], np.diff(train) > 0])
    return np.interp(np.log(s), np.log(train[keep]), np.arange(len(train), dtype=np.float64)[keep])


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
