"""The stock schedules of diffusers pipelines, as σ grids in the model's own σ: what a pipeline user
runs without a learned schedule. They need a ``diffusers:`` model (its scheduler's config).

- ``ddim_sigmas``: ``DDIMScheduler``'s integer timesteps (``leading`` spacing, its default, or
  ``trailing``), each at its training σ, then 0 (DDIM's final step to ᾱ = 1). DDIM steps from t
  to t − ⌊N/K⌋; where K does not divide the N training steps, ``trailing`` then lands between its
  listed timesteps, which the grid follows (K = 5, 10, 20 divide N = 1,000).
- ``pipeline_sigmas``: the grid the model's scheduler family sets by default for K steps: Euler's
  (``linspace`` spacing, or Karras' ρ = 7 ramp) for VP models; flow-matching Euler's (linear in the
  flow time, stretched by its ``shift``, or Karras') for flow models, whose first time t = 1
  (σ = ∞) is taken at the model's σ_max.
"""
from __future__ import annotations

import torch

from ..core.errors import ArtlibError
from ..core.options import check_K
from ..core.schedules import validate_sigmas


def _scheduler(den, cls: str, **overrides):
    import diffusers
    return getattr(diffusers, cls).from_config(den.scheduler.config, **overrides)


def ddim_sigmas(den, K: int, *, trailing: bool = False) -> torch.Tensor:
    """DDIM's K timesteps (leading or trailing spacing) at their training σ, then 0 [K+1]."""
    K = check_K(K)
    if den.kind != "vp":
        raise ArtlibError("DDIM's spacing is a VP schedule; this model is a flow-matching one")
    sched = _scheduler(den, "DDIMScheduler", timestep_spacing="trailing" if trailing else "leading",
                       set_alpha_to_one=True)
    sched.set_timesteps(K)
    s = den.table.cpu()[sched.timesteps.long()]
    return validate_sigmas(torch.cat([s, s.new_zeros(1)]), what="DDIM grid")


def pipeline_sigmas(den, K: int, *, karras: bool = False, shift: float = 0.0) -> torch.Tensor:
    """The grid of the model's scheduler family at K steps by its defaults (Karras' ramp with
    ``karras``; another flow ``shift`` if given) [K+1]."""
    K = check_K(K)
    if den.kind == "flow":
        sched = _scheduler(den, "FlowMatchEulerDiscreteScheduler", use_karras_sigmas=karras,
                           **({"shift": shift} if shift else {}))
        sched.set_timesteps(K)
        t = sched.sigmas.double()
        s = t / (1 - t).clamp(min=1e-300)
        s[0] = min(float(s[0]), den.sigma_max)
    else:
        if shift:
            raise ArtlibError("shift is a flow-matching scheduler's; this model is a VP one")
        sched = _scheduler(den, "EulerDiscreteScheduler", use_karras_sigmas=karras)
        sched.set_timesteps(K)
        s = sched.sigmas.double()
    s[-1] = 0.0
    return validate_sigmas(s.clamp(max=den.sigma_max), what="pipeline grid")
