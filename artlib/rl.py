"""ART-RL: the continuous-time actor-critic of paper §3–4 (Algorithm 1, eqs. (20)–(23)).

Gaussian policy θ ~ N(μ_φ(feat), λ/(|Q| ∨ ε)) with the variance fixed by |Q|; critic
V̂ = NN_c(feat) + λt; per rollout step the TD error
    δ_k = V̂_{k+1} − V̂_k − γθ_kΔt − |Q_k|θ_k²Δt,
critic ϑ_c += a Σ_k ∂NN_c δ_k (22a), actor ϑ_a += a Σ_k ∂log π δ_k (22b), multiplier
γ += a_γ (ψ(T) − T) (23). Averages over B rollouts per iteration replace the paper's single one.
The reward rate −|Q|θ² − γθ makes V̂_K the terminal value λT (V(T) = 0 plus the λt shift).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from .env import ARTEnv
from .errors import ArtlibError
from .io import torch_load, torch_save
from .samplers import initial_noise


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of ART-RL. Defaults are this project's; ``paper_protocol()`` gives the paper's."""
    iterations: int = 400
    """Policy-iteration count N (paper: 5,000)."""
    batch: int = 64
    """Rollouts per iteration B (paper: 1)."""
    lr_actor: float = 1e-3
    """Adam step of the actor (paper: 1e-4)."""
    lr_critic: float = 1e-3
    """Adam step of the critic (paper: 1e-4)."""
    lr_gamma: float = 0.01
    """Step a_γ of the multiplier update (23), in units of ``gamma_scale`` per unit of (ψ(T) − T)/T
    (paper: 1e-4 in absolute units; ``paper_protocol`` sets ``gamma_scale`` to 1)."""
    gamma0: float | None = None
    """Initial multiplier γ; None: the transversality value −2 E|Q| at ψ = T under the identity clock."""
    gamma_scale: float | None = None
    """Units of the γ step; None: |that transversality value| (scale-free across models)."""
    value_unit: float | None = None
    """Rewards and values are divided by this before the critic sees them, so that its outputs are
    O(1) for any model (the policy optimum does not change); None: |γ_T|·T with γ_T the
    transversality multiplier below, the size of the multiplier's reward over the horizon."""
    lam: float = 0.1
    """Policy temperature λ: variance λ/(|Q| ∨ ε) (paper: 0.1)."""
    eps: float = 0.05
    """Floor ε on |Q| in the variance λ/(|Q| ∨ ε) (paper: 1e-6). The paper's floor lets the policy
    std reach ~300 where |Q| ≈ 0 (1-D: |x| ≈ 0); those samples swamp the actor's gradient."""
    theta_clip: float | None = 100.0
    """The environment applies θ clipped to [−c, c] (the policy's sample is kept for (22b)); None: no clip (paper)."""
    warmup: int = 50
    """Iterations at the start in which only the critic learns (actor and γ frozen; paper: 0)."""
    natural: bool = False
    """Precondition (22b) by the policy's Fisher information: weight step k's score by the variance
    λ/|Q_k|, so the actor step no longer scales with |Q| (False: the paper's plain gradient)."""
    hidden: int = 128
    """MLP width (paper: 128)."""
    layers: int = 3
    """MLP depth, linear layers (paper: 3)."""
    actor_features: str = "time"
    """Features the actor sees: ``time`` (t, ψ) or ``state`` (adds log‖x‖, log|Q|)."""
    critic_features: str = "state"
    """Features the critic sees (same choices)."""
    q_estimator: str = "jvp"
    """How rollouts get |Q|: ``jvp`` (one forward-mode JVP per step, exact) or ``difference``
    (|F_k − F_{k−1}| / (ψ_k − ψ_{k−1}) from consecutive drifts along the rollout: no evaluation
    beyond the forward pass, first-order accurate; step 0 uses one JVP)."""
    distill_rollouts: int = 256
    """Rollouts of the final policy averaged by distillation."""
    seed: int = 0
    """Seed of the one generator that drives noise, sampling and initialisation."""
    checkpoint_every: int = 100
    """Iterations between checkpoints (when a checkpoint path is given)."""

    @staticmethod
    def paper_protocol(**overrides: Any) -> "TrainConfig":
        """The paper's Algorithm 1 settings: one rollout per iteration, Adam 1e-4, N = 5,000."""
        base = dict(iterations=5000, batch=1, lr_actor=1e-4, lr_critic=1e-4, lr_gamma=1e-4,
                    eps=1e-6, value_unit=1.0, warmup=0, gamma0=0.0, gamma_scale=1.0,
                    theta_clip=None)
        return TrainConfig(**{**base, **overrides})

    def validate(self) -> "TrainConfig":
        """Reject values that cannot run, naming the field."""
        if not isinstance(self.warmup, int) or self.warmup < 0:
            raise ArtlibError(f"warmup must be an integer >= 0, got {self.warmup!r}")
        for name, hi in (("iterations", 10 ** 9), ("batch", 10 ** 6), ("hidden", 4096), ("layers", 16),
                         ("distill_rollouts", 10 ** 6), ("checkpoint_every", 10 ** 9)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise ArtlibError(f"{name} must be an integer from 1 to {hi}, got {v!r}")
        for name in ("lr_actor", "lr_critic", "lam", "eps"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ArtlibError(f"{name} must be a positive number, got {v!r}")
        for name in ("value_unit", "gamma_scale", "theta_clip"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ArtlibError(f"{name} must be a positive number or None, got {v!r}")
        if self.q_estimator not in ("jvp", "difference"):
            raise ArtlibError(f"q_estimator must be jvp or difference, got {self.q_estimator!r}")
        if not (math.isfinite(self.lr_gamma) and self.lr_gamma >= 0):
            raise ArtlibError(f"lr_gamma must be >= 0, got {self.lr_gamma!r}")
        return self


def mlp(n_in: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` linear layers of width ``hidden`` with Softplus, one output, float64."""
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers - 1):
        mods += [nn.Linear(width, hidden, dtype=torch.float64), nn.Softplus()]
        width = hidden
    mods.append(nn.Linear(width, 1, dtype=torch.float64))
    return nn.Sequential(*mods)


class Actor(nn.Module):
    """Policy mean μ = softplus(NN_a(feat) + b₀) > 0, b₀ = softplus⁻¹(1): starts at the identity clock μ ≡ 1."""

    def __init__(self, n_in: int, hidden: int, layers: int, generator: torch.Generator):
        super().__init__()
        self.net = mlp(n_in, hidden, layers)
        init_mlp(self.net, generator)
        with torch.no_grad():
            self.net[-1].weight.zero_()
            self.net[-1].bias.zero_()

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(self.net(feat).squeeze(-1) + math.log(math.e - 1))


class Critic(nn.Module):
    """NN_c(feat); the λt term of (20) is added by the trainer."""

    def __init__(self, n_in: int, hidden: int, layers: int, generator: torch.Generator):
        super().__init__()
        self.net = mlp(n_in, hidden, layers)
        init_mlp(self.net, generator)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.net(feat).squeeze(-1)


def init_mlp(net: nn.Module, generator: torch.Generator) -> None:
    """Deterministic PyTorch-default-like initialisation from our generator."""
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)
                m.bias.copy_(torch.rand(m.bias.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)


@dataclass
class Rollout:
    """One batch of rollouts under the current policy; tensors are [B, K] unless noted."""
    feat_actor: torch.Tensor   # [B, K, n_a]
    feat_critic: torch.Tensor  # [B, K+1, n_c]
    theta: torch.Tensor
    mu: torch.Tensor
    q: torch.Tensor
    psi: torch.Tensor          # [B, K+1]


def _clip(theta: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    return theta if cfg.theta_clip is None else theta.clamp(-cfg.theta_clip, cfg.theta_clip)


class Diverged(ArtlibError):
    """Training produced a non-finite D, Q or θ."""


def rollout(env: ARTEnv, actor: Actor, cfg: TrainConfig, n: int, generator: torch.Generator) -> Rollout:
    """Roll out n trajectories with θ_k ~ N(μ_k, λ/(|Q_k| ∨ ε)) (no gradients)."""
    x = initial_noise(env.denoiser, n, generator, device=env.device)
    psi = x.new_zeros(n)
    fa, fc, th, mus, qs, psis = [], [], [], [], [], [psi]
    with torch.no_grad():
        for k in range(env.K):
            t = x.new_full((n,), k * env.dt)
            if k == 0 or cfg.q_estimator == "jvp":
                f, qv = env.drift_and_q(x, psi)
                q = qv.flatten(1).norm(dim=1)
            else:   # Q = dF/dψ along the path, from the drifts the rollout computes anyway
                f = env.drift(x, psi)
                dpsi = psi - psi_prev
                q = torch.where(dpsi > 1e-9 * env.T,
                                (f - f_prev).flatten(1).norm(dim=1) / dpsi.clamp(min=1e-300), q)
            f_prev, psi_prev = f, psi
            feat = env.features(cfg.actor_features, t, x, psi, q)
            mu = actor(feat)
            theta = mu + torch.sqrt(policy_variance(q, cfg.lam, cfg.eps)) * torch.randn(
                n, generator=generator, dtype=torch.float64).to(env.device)   # drawn on CPU: same on any device
            _check_finite(env, k, psi, f=f, q=q, theta=theta)
            fa.append(feat)
            fc.append(env.features(cfg.critic_features, t, x, psi, q))
            th.append(theta), mus.append(mu), qs.append(q)
            x, psi = env.step(x, psi, _clip(theta, cfg), f)
            psis.append(psi)
        t = x.new_full((n,), env.T)
        fc.append(env.features(cfg.critic_features, t, x, psi, torch.ones_like(psi)))
    return Rollout(torch.stack(fa, 1), torch.stack(fc, 1), torch.stack(th, 1), torch.stack(mus, 1),
                   torch.stack(qs, 1), torch.stack(psis, 1))


def identity_q_profile(env: ARTEnv, n: int, generator: torch.Generator) -> tuple[torch.Tensor, float]:
    """Mean |Q| over n rollouts under the identity clock θ ≡ 1: at each of the K steps [K], and
    at the end point ψ = T (σ at the environment's floor)."""
    x = initial_noise(env.denoiser, n, generator, device=env.device)
    psi = x.new_zeros(n)
    q_steps = []
    with torch.no_grad():
        for _ in range(env.K):
            f, qv = env.drift_and_q(x, psi)
            q_steps.append(qv.flatten(1).norm(dim=1).mean())
            x, psi = env.step(x, psi, torch.ones_like(psi), f)
        return torch.stack(q_steps), env.q_norm(x, psi).mean().item()


def transversality_gamma(env: ARTEnv, n: int, generator: torch.Generator) -> float:
    """γ = −2 E|Q(x, ψ=T)| θ(T) with θ ≡ 1: the free-end condition ∂L/∂θ = 0 at t = T under the
    identity clock, a scale-correct starting multiplier for any model."""
    return -2.0 * identity_q_profile(env, n, generator)[1]


def _check_finite(env: ARTEnv, k: int, psi: torch.Tensor, **values: torch.Tensor) -> None:
    for name, v in values.items():
        bad = ~torch.isfinite(v.reshape(v.shape[0], -1)).all(1)
        if bad.any():
            i = int(torch.nonzero(bad)[0, 0])
            sigma = float(env.sigma(psi)[i])
            cause = {"f": "the denoiser returned NaN/inf at this σ (check the model and its sigma range)",
                     "q": "the JVP of the denoiser is not finite (non-differentiable op or overflow)",
                     "theta": "the policy diverged (learning rate too high, or |Q| ≈ 0 making the variance huge)"}
            raise Diverged(f"non-finite {name} at rollout step k={k}, sigma={sigma:.6g}: {cause[name]}")


def policy_variance(q: torch.Tensor, lam: float, eps: float) -> torch.Tensor:
    """The policy's variance λ/(|Q| ∨ ε), fixed by the state (paper §4)."""
    return lam / q.clamp(min=eps)


def values_and_td(nn_c: torch.Tensor, cost: torch.Tensor, t_grid: torch.Tensor, lam: float, v_unit: float,
                  T: float) -> tuple[torch.Tensor, torch.Tensor]:
    """In value units (rewards divided by ``v_unit``): V̂_k = NN_c(feat_k) + λ t_k (20) at the K
    steps of the clock ``t_grid`` [K+1], and the TD errors δ with the terminal value λT [B, K] each."""
    lam_v = lam / v_unit
    v = nn_c + lam_v * t_grid[:-1]
    return v, td_errors(v, cost / v_unit, lam_v * T)


def step_costs(q: torch.Tensor, theta: torch.Tensor, gamma: float, dt: float) -> torch.Tensor:
    """−reward per step, (|Q_k| θ_k² + γ θ_k) Δt: the Euler proxy (9) and the budget's price [B, K]."""
    return (q * theta ** 2 + gamma * theta) * dt


def td_errors(v: torch.Tensor, cost: torch.Tensor, v_end: float) -> torch.Tensor:
    """δ_k = V̂_{k+1} − V̂_k − cost_k, with V̂ after the last step the terminal value ``v_end`` [B, K];
    held fixed (detached) in both updates."""
    v_next = torch.cat([v[:, 1:], v.new_full((v.shape[0], 1), v_end)], 1)
    return (v_next - v - cost).detach()


def critic_loss(v: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """(22a) as a loss: its gradient step is ϑ_c += a Σ_k ∂V̂_k δ_k, averaged over rollouts."""
    return -(v * delta).sum(1).mean()


def actor_loss(mu: torch.Tensor, theta: torch.Tensor, var: torch.Tensor, delta: torch.Tensor, *,
               natural: bool = False) -> torch.Tensor:
    """(22b) as a loss: its gradient step is ϑ_a += a Σ_k ∂log π(θ_k) δ_k with
    log π = −(θ − μ)²/(2 var) + const; ``natural`` weights step k's score by var (Fisher)."""
    log_pi = -(theta - mu) ** 2 / (2 * var)
    if natural:
        log_pi = log_pi * var
    return -(log_pi * delta).sum(1).mean()


def multiplier_step(gamma: float, budget: float, T: float, step: float) -> float:
    """(23): γ += a_γ (ψ(T) − T)/T, so γ rises when the rollouts overspend the budget T."""
    return gamma + step * (budget - T) / T


def save_training(path, key: dict, cfg, nets: dict, generator: torch.Generator, *, iteration: int,
                  gamma: float, history: dict, seconds: float) -> None:
    """A resumable checkpoint of a learner (weights-only torch file, written atomically): ``key``
    names the environment it belongs to, ``nets`` the modules and optimisers by name."""
    torch_save(path, {**key, "config": dataclasses.asdict(cfg), "iteration": iteration, "gamma": gamma,
                      **{name: m.state_dict() for name, m in nets.items()},
                      "generator": generator.get_state(), "history": history, "seconds": seconds})


def resume_training(path, key: dict, cfg, nets: dict, generator: torch.Generator):
    """Load ``save_training``'s checkpoint into ``nets`` and ``generator``; returns (γ, iteration,
    history, seconds), or None when there is no checkpoint yet. A checkpoint of another
    configuration or environment, or not one of ours, is refused with one line."""
    if path is None or not Path(path).exists():
        return None
    ck = torch_load(path)
    if ck.get("config") != dataclasses.asdict(cfg) or any(ck.get(k) != v for k, v in key.items()):
        raise ArtlibError(f"checkpoint {path} was written with another configuration; "
                          "remove it or use the same settings")
    try:
        for name, m in nets.items():
            m.load_state_dict(ck[name])
        generator.set_state(ck["generator"])
        return ck["gamma"], ck["iteration"], ck["history"], ck["seconds"]
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        raise ArtlibError(f"checkpoint {path}: not a complete training checkpoint ({type(e).__name__})") from None


@dataclass
class TrainResult:
    """What ``train`` returns: the networks, γ, the configuration with the model-dependent units
    (γ₀, the γ step, the value unit) resolved, and a history of named scalars per iteration."""
    actor: Actor
    critic: Critic
    gamma: float
    config: TrainConfig
    evaluations: int
    """Denoiser evaluations the training spent (``evaluations``)."""
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


def evaluations(cfg: TrainConfig, K: int) -> int:
    """Denoiser evaluations ``train`` spends on K clock steps, a JVP counted as one more: a forward
    pass and a JVP per step of each rollout and, when γ₀, its step or the value unit is left to the
    model (None), the calibration rollouts under the identity clock (K steps and the end point)."""
    calibrate = None in (cfg.gamma0, cfg.gamma_scale, cfg.value_unit)
    return 2 * K * cfg.iterations * cfg.batch + (2 * cfg.distill_rollouts * (K + 1) if calibrate else 0)


def train(cfg: TrainConfig, env: ARTEnv, *, checkpoint: str | os.PathLike | None = None,
          progress: bool = True) -> TrainResult:
    """Algorithm 1 with B rollouts per iteration; resumes from ``checkpoint`` if it exists."""
    cfg.validate()
    gen = torch.Generator().manual_seed(cfg.seed)
    n_a = 2 if cfg.actor_features == "time" else 4
    n_c = 2 if cfg.critic_features == "time" else 4
    actor = Actor(n_a, cfg.hidden, cfg.layers, gen).to(env.device)
    critic = Critic(n_c, cfg.hidden, cfg.layers, gen).to(env.device)
    opt_a = torch.optim.Adam(actor.parameters(), lr=cfg.lr_actor)
    opt_c = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic)
    gamma, start = cfg.gamma0, 0
    if None in (cfg.gamma0, cfg.gamma_scale, cfg.value_unit):
        g_auto = transversality_gamma(env, cfg.distill_rollouts, torch.Generator().manual_seed(cfg.seed))
        gamma = g_auto if gamma is None else gamma
    gamma_scale = abs(g_auto) if cfg.gamma_scale is None else cfg.gamma_scale
    v_unit = abs(g_auto) * env.T if cfg.value_unit is None else cfg.value_unit
    # the settings in absolute units, as rollouts and distillation use them
    eff = dataclasses.replace(cfg, gamma0=gamma, gamma_scale=gamma_scale, value_unit=v_unit)
    history: dict[str, list[float]] = {k: [] for k in ("return", "budget", "gamma", "td_abs")}
    spent = 0.0
    nets = dict(actor=actor, critic=critic, opt_actor=opt_a, opt_critic=opt_c)
    resumed = resume_training(checkpoint, {"K": env.K}, cfg, nets, gen)
    if resumed:
        gamma, start, history, spent = resumed

    t0 = time.perf_counter()
    bar = tqdm(range(start, cfg.iterations), initial=start, total=cfg.iterations,
               desc=f"ART-RL K={env.K}", disable=not progress)
    for it in bar:
        ro = rollout(env, actor, eff, cfg.batch, gen)
        theta_env = _clip(ro.theta, cfg)
        cost = step_costs(ro.q, theta_env, gamma, env.dt)
        v, delta = values_and_td(critic(ro.feat_critic[:, :-1]), cost, env.t_grid, eff.lam, v_unit, env.T)
        loss_c = critic_loss(v, delta)                                          # (22a)
        opt_c.zero_grad(), loss_c.backward(), opt_c.step()

        var = policy_variance(ro.q, eff.lam, eff.eps)
        mu = actor(ro.feat_actor)
        loss_a = actor_loss(mu, ro.theta, var, delta, natural=cfg.natural)     # (22b)
        if it >= cfg.warmup:
            opt_a.zero_grad(), loss_a.backward(), opt_a.step()

        budget = (theta_env.sum(1) * env.dt).mean().item()                     # ψ(T) before clamping
        if it >= cfg.warmup:
            gamma = multiplier_step(gamma, budget, env.T, cfg.lr_gamma * gamma_scale)   # (23)

        if not math.isfinite(gamma) or not torch.isfinite(loss_a) or not torch.isfinite(loss_c):
            raise Diverged(f"training diverged at iteration {it}: non-finite loss or gamma; "
                           "lower the learning rates")
        history["return"].append(-cost.sum(1).mean().item())
        history["budget"].append(budget)
        history["gamma"].append(gamma)
        history["td_abs"].append(delta.abs().mean().item())
        if progress and it % 20 == 0:
            bar.set_postfix(budget=f"{budget:.3f}", gamma=f"{gamma:.3g}")
        done = it + 1
        if checkpoint is not None and (done % cfg.checkpoint_every == 0 or done == cfg.iterations):
            save_training(checkpoint, {"K": env.K}, cfg, nets, gen, iteration=done, gamma=gamma,
                          history=history, seconds=spent + time.perf_counter() - t0)
    return TrainResult(actor, critic, gamma, eff, evaluations(cfg, env.K), history, spent + time.perf_counter() - t0)
