"""Distillation of a learned policy into a fixed grid (paper §5.1, App. C).

Each rollout's clock-speed sequence is rescaled so that Σ_k θ_k Δt = T, the sequences are
averaged over rollouts, and τ_k = Σ_{j<k} θ̄_j Δt gives the grid. Inference then needs no
actor, critic or Q. ``source="mean"`` averages the policy mean μ_k seen along the rollouts
(this project's default: far less noisy); ``"sampled"`` averages the sampled θ_k as the paper.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from .env import ARTEnv
from .errors import ArtlibError
from . import psiclock
from .psiclock import PsiConfig, PsiResult
from .rl import TrainConfig, TrainResult, rollout, train
from .schedules import rescale_schedule, theta_to_sigmas


@dataclass
class Distilled:
    """A distilled schedule and the rollouts it came from."""
    sigmas: torch.Tensor     # [K+1]
    theta_bar: torch.Tensor  # [K] mean normalised clock speed
    theta: torch.Tensor      # [n, K] sampled θ per rollout (unnormalised)
    mu: torch.Tensor         # [n, K] policy mean per rollout
    psi: torch.Tensor        # [n, K+1]


def distill(run: TrainResult, env: ARTEnv, *, n: int | None = None,
            source: str = "mean", seed: int | None = None) -> Distilled:
    """Roll out the trained policy n times and average the normalised speeds into a grid on the
    environment's K steps."""
    if source not in ("mean", "sampled"):
        raise ArtlibError(f"unknown distillation source {source!r}; choose mean or sampled")
    cfg = run.config
    n = n or cfg.distill_rollouts
    gen = torch.Generator().manual_seed(cfg.seed + 1_000_003 if seed is None else seed)
    ro = rollout(env, run.actor, cfg, n, gen)
    speeds = (ro.mu if source == "mean" else ro.theta).cpu()
    total = speeds.sum(1, keepdim=True) * env.dt
    keep = total.squeeze(1) > 1e-3 * env.T   # a rollout whose speeds sum to ~0 cannot be rescaled
    if not keep.any():
        raise ArtlibError("distillation: every rollout's clock speeds sum to about 0")
    theta_bar = (speeds[keep] / total[keep] * env.T).mean(0)
    if (theta_bar <= 0).any():
        raise ArtlibError("distillation: the mean clock speed is not positive everywhere; "
                          "train longer or distil from the policy mean")
    return Distilled(theta_to_sigmas(theta_bar, env.T), theta_bar, ro.theta.cpu(), ro.mu.cpu(), ro.psi.cpu())


#: Steps of the training environment unless asked otherwise: the clock is learned once on this
#: grid and sampled at whatever K is wanted. Fewer steps give the critic too little to resolve θ(t)
#: (at K = 2 a rollout measures Q twice); more made training less reliable in our runs (on
#: N(0, I₈) with σ_max = 10 a 50-step clock missed the optimum by 2.7× where the 20-step clock,
#: re-used at K = 50 and 100, came within 4 %), and cost more.
CLOCK_STEPS = 20


@dataclass
class Learned:
    """A learned K-step schedule, and the training run (and, for the t clock, the distillation)
    it came from."""
    sigmas: torch.Tensor        # [K+1]
    run: TrainResult | PsiResult
    env: ARTEnv                 # the training environment
    distilled: Distilled | None = None   # t clock only: on the training environment's steps

    @property
    def clock(self) -> str:
        """``psi`` (the default learner, ``artlib.psiclock``) or ``t`` (the paper's, ``artlib.rl``)."""
        return "psi" if isinstance(self.run, PsiResult) else "t"

    @property
    def evaluations(self) -> int:
        """Denoiser evaluations the training spent (a JVP counted as one more): ψ clock
        ``psiclock.evaluations``; t clock ``rl.evaluations`` plus distillation's rollouts."""
        if isinstance(self.run, PsiResult):
            return psiclock.evaluations(self.run.config)
        return self.run.evaluations + 2 * self.env.K * self.run.config.distill_rollouts

    def at(self, K: int) -> torch.Tensor:
        """The learned clock as a K-step grid (the Table 3 re-use rule) [K+1]."""
        if isinstance(self.run, PsiResult):
            return self.run.sigmas(K)
        return _reuse(self.distilled.sigmas, self.env, K)


def _reuse(sigmas: torch.Tensor, env: ARTEnv, K: int) -> torch.Tensor:
    return sigmas if K == env.K else rescale_schedule(sigmas, K, env.T)


def learn_schedule(denoiser, K: int, cfg: TrainConfig | PsiConfig | None = None, *,
                   steps: int | None = None, checkpoint=None, progress: bool = True,
                   class_labels=None) -> Learned:
    """ART-RL for a K-step schedule.

    With a ``PsiConfig`` (the default) the ψ-indexed learner runs on ``steps`` ψ-nodes (default
    its ``nodes``) and its continuous clock is sampled at K. With a ``TrainConfig`` the paper's
    t-clock actor-critic trains on ``steps`` clock steps (default ``CLOCK_STEPS``), is distilled,
    and the clock is re-used at K steps with the Table 3 rule (``rescale_schedule``)."""
    cfg = PsiConfig() if cfg is None else cfg
    if isinstance(cfg, PsiConfig):
        if steps is not None:
            cfg = dataclasses.replace(cfg, nodes=steps)
        env = ARTEnv(denoiser, cfg.nodes, class_labels=class_labels)
        run = psiclock.train(cfg, env, checkpoint=checkpoint, progress=progress)
        return Learned(run.sigmas(K), run, env)
    env = ARTEnv(denoiser, CLOCK_STEPS if steps is None else steps, class_labels=class_labels)
    run = train(cfg, env, checkpoint=checkpoint, progress=progress)
    dist = distill(run, env)
    return Learned(_reuse(dist.sigmas, env, K), run, env, dist)
