"""ART-RL in the paper's formulation: the t-clock decision process, the continuous-time actor-critic
of paper §3–4 (Algorithm 1, eqs. (20)–(23)) and its distillation into a grid (§5.1, App. C).

**The decision process.** State (x, ψ) per sample, control θ. One step of the clock t (K steps of
Δt = T/K) is the explicit Euler step of ẋ = θ F(x, ψ), ψ̇ = θ (4) with ψ kept in [0, T]; F and Q
come from the Q oracle (``artlib.art.dynamics``).

**The learner.** Gaussian policy θ ~ N(μ_φ(feat), λ/(|Q| ∨ ε)) with the variance fixed by |Q|;
critic V̂ = NN_c(feat) + λt; per rollout step the TD error
    δ_k = V̂_{k+1} − V̂_k − γθ_kΔt − |Q_k|θ_k²Δt,
critic ϑ_c += a Σ_k ∂NN_c δ_k (22a), actor ϑ_a += a Σ_k ∂log π δ_k (22b), multiplier
γ += a_γ (ψ(T) − T) (23). Averages over B rollouts per iteration replace the paper's single one.
The reward rate −|Q|θ² − γθ makes V̂_K the terminal value λT (V(T) = 0 plus the λt shift).

**Distillation.** Each rollout's clock-speed sequence is rescaled so that Σ_k θ_k Δt = T, the
sequences are averaged over rollouts, and τ_k = Σ_{j<k} θ̄_j Δt gives the grid. Inference then
needs no actor, critic or Q. ``source="mean"`` averages the policy mean μ_k seen along the rollouts
(this project's default: far less noisy); ``"sampled"`` averages the sampled θ_k as the paper.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..core.errors import ArtlibError
from ..core.options import check_K
from ..core.samplers import initial_noise, per_sample, random_labels
from ..core.schedules import rescale_schedule, theta_to_sigmas
from .dynamics import QOracle
from .learner import Diverged, check_fields, critic_loss, init_mlp, mlp, td_errors, training_loop

FEATURES = ("time", "state")


class ARTEnv:
    """The t-clock decision process: batched ART dynamics on K clock steps of Δt = T/K, asking
    ``oracle`` for F and Q."""

    def __init__(self, denoiser, K: int, *, class_labels: torch.Tensor | None = None):
        self.oracle = QOracle(denoiser, class_labels=class_labels)
        self.K = check_K(K)
        self.T = self.oracle.T
        self.dt = self.T / self.K
        self.device = self.oracle.device   # rollouts run where the model is

    @property
    def t_grid(self) -> torch.Tensor:
        """The clock's steps t_k = k T/K, k = 0 … K [K+1]."""
        return torch.arange(self.K + 1, dtype=torch.float64, device=self.device) * self.dt

    def step(self, x: torch.Tensor, psi: torch.Tensor, theta: torch.Tensor,
             f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Explicit Euler of (4) under θ [B]: ψ moves by θΔt, clamped to [0, T]; x follows ψ."""
        psi_next = (psi + theta * self.dt).clamp(0.0, self.T)
        return x + per_sample(psi_next - psi, x) * f, psi_next

    def features(self, kind: str, t: torch.Tensor, x: torch.Tensor, psi: torch.Tensor,
                 q: torch.Tensor) -> torch.Tensor:
        """Inputs of actor/critic [B, n]. ``time``: (t/T, ψ/T). ``state`` adds log‖x‖_rms and log|Q|."""
        base = [t / self.T, psi / self.T]
        if kind == "time":
            return torch.stack(base, 1)
        if kind == "state":
            rms = x.flatten(1).pow(2).mean(1).sqrt()
            return torch.stack(base + [torch.log(rms + 1e-12) / 5, torch.log(q + 1e-12) / 10], 1)
        raise ArtlibError(f"unknown feature set {kind!r}; choose one of {', '.join(FEATURES)}")


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
        check_fields(self, integers={"iterations": (1, 10 ** 9), "batch": (1, 10 ** 6), "hidden": (1, 4096),
                                     "layers": (1, 16), "distill_rollouts": (1, 10 ** 6),
                                     "checkpoint_every": (1, 10 ** 9), "warmup": (0, 10 ** 9)},
                     positive=("lr_actor", "lr_critic", "lam", "eps"),
                     positive_or_none=("value_unit", "gamma_scale", "theta_clip"), non_negative=("lr_gamma",),
                     at_most={"lr_actor": 10, "lr_critic": 10, "lr_gamma": 10, "lam": 1e6, "eps": 1e6,
                              "gamma0": 1e12, "gamma_scale": 1e12, "value_unit": 1e12, "theta_clip": 1e6})
        if self.gamma0 is not None and (isinstance(self.gamma0, bool) or not math.isfinite(self.gamma0)):
            raise ArtlibError(f"gamma0 must be a finite number or None, got {self.gamma0!r}")
        if self.q_estimator not in ("jvp", "difference"):
            raise ArtlibError(f"q_estimator must be jvp or difference, got {self.q_estimator!r}")
        for name in ("actor_features", "critic_features"):
            if getattr(self, name) not in FEATURES:
                raise ArtlibError(f"{name} must be one of {', '.join(FEATURES)}, got {getattr(self, name)!r}")
        return self


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


def rollout(env: ARTEnv, actor: Actor, cfg: TrainConfig, n: int, generator: torch.Generator) -> Rollout:
    """Roll out n trajectories with θ_k ~ N(μ_k, λ/(|Q_k| ∨ ε)) (no gradients)."""
    x = initial_noise(env.oracle.denoiser, n, generator, device=env.device)
    labels = _labels(env, n, generator)
    psi = x.new_zeros(n)
    fa, fc, th, mus, qs, psis = [], [], [], [], [], [psi]
    with torch.no_grad():
        for k in range(env.K):
            t = x.new_full((n,), k * env.dt)
            if k == 0 or cfg.q_estimator == "jvp":
                f, qv = env.oracle.drift_and_q(x, psi, class_labels=labels)
                q = qv.flatten(1).norm(dim=1)
            else:   # Q = dF/dψ along the path, from the drifts the rollout computes anyway
                f = env.oracle.drift(x, psi, class_labels=labels)
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
    x = initial_noise(env.oracle.denoiser, n, generator, device=env.device)
    labels = _labels(env, n, generator)
    psi = x.new_zeros(n)
    q_steps = []
    with torch.no_grad():
        for _ in range(env.K):
            f, qv = env.oracle.drift_and_q(x, psi, class_labels=labels)
            q_steps.append(qv.flatten(1).norm(dim=1).mean())
            x, psi = env.step(x, psi, torch.ones_like(psi), f)
        return torch.stack(q_steps), env.oracle.drift_and_q(x, psi, class_labels=labels)[1].flatten(1).norm(dim=1).mean().item()


def _labels(env: ARTEnv, n: int, generator: torch.Generator):
    """The environment's labels, or (a class-conditional model without them) one drawn per rollout."""
    if env.oracle.class_labels is not None:
        return None     # the oracle applies its own
    return random_labels(env.oracle.denoiser, n, generator, env.device)


def transversality_gamma(env: ARTEnv, n: int, generator: torch.Generator) -> float:
    """γ = −2 E|Q(x, ψ=T)| θ(T) with θ ≡ 1: the free-end condition ∂L/∂θ = 0 at t = T under the
    identity clock, a scale-correct starting multiplier for any model."""
    return -2.0 * identity_q_profile(env, n, generator)[1]


def _check_finite(env: ARTEnv, k: int, psi: torch.Tensor, **values: torch.Tensor) -> None:
    for name, v in values.items():
        bad = ~torch.isfinite(v.reshape(v.shape[0], -1)).all(1)
        if bad.any():
            i = int(torch.nonzero(bad)[0, 0])
            sigma = float(env.oracle.sigma(psi)[i])
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
    return v, td_errors(v, cost / v_unit, lam_v * T).detach()   # δ is held fixed in both updates


def step_costs(q: torch.Tensor, theta: torch.Tensor, gamma: float, dt: float) -> torch.Tensor:
    """−reward per step, (|Q_k| θ_k² + γ θ_k) Δt: the Euler proxy (9) and the budget's price [B, K]."""
    return (q * theta ** 2 + gamma * theta) * dt


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


def _calibrate(cfg: TrainConfig, env: ARTEnv) -> TrainConfig:
    """The settings in absolute units, as rollouts and distillation use them: γ₀, the γ step's unit
    and the value unit, each from the transversality multiplier where left to the model (None)."""
    if None not in (cfg.gamma0, cfg.gamma_scale, cfg.value_unit):
        return cfg
    g_auto = transversality_gamma(env, cfg.distill_rollouts, torch.Generator().manual_seed(cfg.seed))
    return dataclasses.replace(cfg, gamma0=g_auto if cfg.gamma0 is None else cfg.gamma0,
                               gamma_scale=abs(g_auto) if cfg.gamma_scale is None else cfg.gamma_scale,
                               value_unit=abs(g_auto) * env.T if cfg.value_unit is None else cfg.value_unit)


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
    eff = _calibrate(cfg, env)

    def iteration(it: int, gamma: float) -> tuple[float, dict[str, float]]:
        ro = rollout(env, actor, eff, cfg.batch, gen)
        theta_env = _clip(ro.theta, cfg)
        cost = step_costs(ro.q, theta_env, gamma, env.dt)
        v, delta = values_and_td(critic(ro.feat_critic[:, :-1]), cost, env.t_grid, eff.lam, eff.value_unit, env.T)
        loss_c = critic_loss(v, delta)                                          # (22a)
        opt_c.zero_grad(), loss_c.backward(), opt_c.step()
        loss_a = actor_loss(actor(ro.feat_actor), ro.theta, policy_variance(ro.q, eff.lam, eff.eps), delta,
                            natural=cfg.natural)                              # (22b)
        budget = (theta_env.sum(1) * env.dt).mean().item()                     # ψ(T) before clamping
        if it >= cfg.warmup:
            opt_a.zero_grad(), loss_a.backward(), opt_a.step()
            gamma = multiplier_step(gamma, budget, env.T, cfg.lr_gamma * eff.gamma_scale)   # (23)
        if not math.isfinite(gamma) or not torch.isfinite(loss_a) or not torch.isfinite(loss_c):
            raise Diverged(f"training diverged at iteration {it}: non-finite loss or gamma; "
                           "lower the learning rates")
        return gamma, {"return": -cost.sum(1).mean().item(), "budget": budget, "gamma": gamma,
                       "td_abs": delta.abs().mean().item()}

    nets = dict(actor=actor, critic=critic, opt_actor=opt_a, opt_critic=opt_c)
    gamma, history, seconds = training_loop(cfg, iteration, gamma=eff.gamma0, nets=nets, generator=gen,
                                            key={"K": env.K}, checkpoint=checkpoint,
                                            desc=f"ART-RL K={env.K}", progress=progress)
    return TrainResult(actor, critic, gamma, eff, evaluations(cfg, env.K), history, seconds)


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


@dataclass
class TClock:
    """A trained t-clock policy distilled into a grid on its K training steps (the
    ``artlib.art.learner.Clock`` protocol): at another K the grid is re-used by Table 3's rule
    (``rescale_schedule``)."""
    run: TrainResult
    env: ARTEnv
    distilled: Distilled
    clock = "t"

    @property
    def steps(self) -> int:
        return self.env.K

    @property
    def config(self) -> TrainConfig:
        return self.run.config

    @property
    def gamma(self) -> float:
        return self.run.gamma

    @property
    def history(self) -> dict[str, list[float]]:
        return self.run.history

    @property
    def seconds(self) -> float:
        return self.run.seconds

    @property
    def evaluations(self) -> int:
        """Training's evaluations (``evaluations``) plus the distillation's rollouts."""
        return self.run.evaluations + 2 * self.env.K * self.run.config.distill_rollouts

    def sigmas(self, K: int) -> torch.Tensor:
        """The distilled grid at K steps [K+1]."""
        grid = self.distilled.sigmas
        return grid if K == self.env.K else rescale_schedule(grid, K, self.env.T)


#: Steps of the training environment unless asked otherwise: the clock is learned once on this
#: grid and sampled at whatever K is wanted. Fewer steps give the critic too little to resolve θ(t)
#: (at K = 2 a rollout measures Q twice); more made training less reliable in our runs (on
#: N(0, I₈) with σ_max = 10 a 50-step clock missed the optimum by 2.7× where the 20-step clock,
#: re-used at K = 50 and 100, came within 4 %), and cost more.
CLOCK_STEPS = 20


def learn(cfg: TrainConfig, denoiser, *, steps: int | None = None, checkpoint=None, progress: bool = True,
          class_labels=None) -> TClock:
    """Train on ``steps`` clock steps (default ``CLOCK_STEPS``) and distil: the learner of
    ``artlib.art.learn``."""
    env = ARTEnv(denoiser, CLOCK_STEPS if steps is None else steps, class_labels=class_labels)
    run = train(cfg, env, checkpoint=checkpoint, progress=progress)
    return TClock(run, env, distill(run, env))
