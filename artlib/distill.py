"""Distillation of a learned policy into a fixed grid (paper §5.1, App. C).

Each rollout's clock-speed sequence is rescaled so that Σ_k θ_k Δt = T, the sequences are
averaged over rollouts, and τ_k = Σ_{j<k} θ̄_j Δt gives the grid. Inference then needs no
actor, critic or Q. ``source="mean"`` averages the policy mean μ_k seen along the rollouts
(this project's default: far less noisy); ``"sampled"`` averages the sampled θ_k as the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .env import ARTEnv
from .errors import ArtlibError
from .rl import Actor, TrainConfig, rollout
from .schedules import theta_to_sigmas


@dataclass
class Distilled:
    """A distilled schedule and the rollouts it came from."""
    sigmas: torch.Tensor     # [K+1]
    theta_bar: torch.Tensor  # [K] mean normalised clock speed
    theta: torch.Tensor      # [n, K] sampled θ per rollout (unnormalised)
    mu: torch.Tensor         # [n, K] policy mean per rollout
    psi: torch.Tensor        # [n, K+1]


def distill(actor: Actor, env: ARTEnv, cfg: TrainConfig, *, n: int | None = None,
            source: str = "mean", seed: int | None = None) -> Distilled:
    """Roll out the final policy n times and average the normalised speeds into a grid."""
    if source not in ("mean", "sampled"):
        raise ArtlibError(f"unknown distillation source {source!r}; choose mean or sampled")
    n = n or cfg.distill_rollouts
    gen = torch.Generator().manual_seed(cfg.seed + 1_000_003 if seed is None else seed)
    ro = rollout(env, actor, cfg, n, gen)
    speeds = ro.mu if source == "mean" else ro.theta
    total = speeds.sum(1, keepdim=True) * env.dt
    keep = total.squeeze(1) > 1e-3 * env.T   # a rollout whose speeds sum to ~0 cannot be rescaled
    if not keep.any():
        raise ArtlibError("distillation: every rollout's clock speeds sum to about 0")
    theta_bar = (speeds[keep] / total[keep] * env.T).mean(0)
    if (theta_bar <= 0).any():
        raise ArtlibError("distillation: the mean clock speed is not positive everywhere; "
                          "train longer or distil from the policy mean")
    return Distilled(theta_to_sigmas(theta_bar, env.T), theta_bar, ro.theta, ro.mu, ro.psi)
