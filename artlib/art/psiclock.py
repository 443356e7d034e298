"""ART-RL indexed by the clock position ψ: a change of variables of the paper's problem (9)–(10).

The paper's actor picks the clock speed θ = dψ/dt on a uniform grid in t. Here the same control
problem is indexed by ψ instead. With u = dt/dψ = 1/θ, the running cost and the budget become

    ∫ |Q| θ² dt = ∫ |Q| / u dψ,        ∫ θ dt = T  ⇔  ∫ u dψ = T,

so the pointwise optimum u ∝ |Q̄|^{1/2}, i.e. θ* ∝ |Q̄|^{-1/2} (the equidistribution grid), does
not move. Two further changes of variables make the problem well conditioned at EDM's σ range:

* **Warp.** ψ ∈ [0, T] maps to σ = g(ψ) = σ_max (1 − ψ/T)^ρ (EDM's ρ-ramp, run to σ = 0), and the
  Euler step is taken in σ. The local error of a step of length Δψ is ½|Q_σ| g′² Δψ², so the cost
  weight is Q_eff = |Q_σ| g′(ψ)²; ∫ |Q_eff|^{1/2} dψ = ∫ |Q_σ|^{1/2} dσ, the same optimum again.
  Without the warp, a 20-node grid uniform in σ puts everything below σ ≈ 4 inside its last node.
* **Units.** Q_eff is divided by S, its mean along a walk of the nodes, so costs are O(1) for
  every model. The multiplier moves multiplicatively (γ stays positive and scale-free).

Because every rollout visits the ψ-nodes in the same order whatever the actor does, an action
changes only its own step's cost and the budget, never a later state: the critic V(ψ, log Q_eff)
is a baseline and the actor faces one problem per node. That is why this learner converges where
the t-clock one (``artlib.art.tclock``, the paper's formulation) struggles at image scale.

Algorithm, per iteration (B rollouts, M nodes of spacing Δψ = T/M, each rollout shifted by a
random offset ξ ~ U[0, 1) so that its nodes are 0, ξΔψ, (1+ξ)Δψ, …, T):
  rollout   x_{k+1} = x_k + (g(ψ_k) − g(ψ_{k+1})) F(x_k, g(ψ_k)),   Q_eff,k from one JVP
  policy    u_k = exp(a_k − s²/2),  a_k ~ N(m(ψ_k), s²),  m piecewise linear over M+1 ψ-nodes
  cost      c_k = (Q_eff,k / u_k + γ u_k) Δψ_k / (2T)
  TD error  δ_k = V_{k+1} − V_k − c_k,  V at ψ = T is 0
  critic    minimise −Σ_k V_k δ_k (semi-gradient, δ held fixed)
  actor     minimise −Σ_k log π(a_k) Â_k, Â_k = δ_k standardised per step across the batch
  multiplier γ ← γ exp(a_γ (mean Σ_k u_k Δψ_k − T)/T)
Since the states do not depend on the actions, they are simulated once for a bank of trajectories
(``bank``) and each iteration draws B of them and fresh actions; ``bank=0`` simulates B new
rollouts every iteration instead (the same expectations, more denoiser calls).
Distillation: t(ψ) = ∫₀^ψ e^{m} dψ′ normalised to t(T) = T; K+1 equally spaced t map to ψ_j and
σ_j = g(ψ_j), σ_K = 0. The learned map t ↦ ψ serves every K (the Table 3 re-use rule).
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..core.constants import RHO
from ..core.errors import ArtlibError
from ..core.options import check_K
from ..core.samplers import initial_noise, per_sample, random_labels, step
from ..core.schedules import validate_sigmas
from .dynamics import QOracle
from .learner import Diverged, check_fields, critic_loss, init_mlp, mlp, td_errors, training_loop
from .optimum import ORDERS, LastStep


@dataclass(frozen=True)
class PsiConfig:
    """Hyper-parameters of the ψ-indexed learner (every field is a ``train`` flag)."""
    iterations: int = 500
    """Iterations (each: B rollouts, one critic, actor and multiplier step)."""
    batch: int = 64
    """Rollouts per iteration B."""
    nodes: int = 20
    """ψ-steps per rollout M; the actor's mean is a table over M + 1 equally spaced ψ."""
    heun_states: bool = True
    """Advance the simulated states by Heun steps in σ (one more forward pass per node, no JVP),
    so Q is measured on accurate trajectories; False: Euler, as the paper's environment does."""
    bank: int = 1024
    """States are drawn from this many pre-simulated trajectories (they do not depend on the
    actions, so this changes no expectation); 0: fresh rollouts every iteration."""
    cost: str = "euler"
    """The local error priced per step: ``euler``, the paper's proxy Q_eff/u (Euler's error, ½h²|Q|),
    or ``heun``, R_eff/u² (EDM's Heun step errs by h³|R|; the book's method page)."""
    handover: int = 32
    """Heun's cost: trajectories on which the hand-over to EDM's final Euler step is measured for
    each K (``artlib.art.optimum.LastStep``); 0: K equal steps of the learned clock."""
    rho: float = RHO
    """Warp σ = σ_max (1 − ψ/T)^ρ (ρ = 1: σ linear in ψ, the paper's clock)."""
    policy_std: float = 0.5
    """Standard deviation s of log u (fixed; the paper fixes its policy variance too)."""
    lr_actor: float = 0.03
    """Adam step of the actor's table at the first iteration ..."""
    lr_actor_final: float = 0.003
    """... decayed linearly to this at the last."""
    lr_critic: float = 3e-3
    """Adam step of the critic."""
    lr_gamma: float = 0.05
    """Multiplicative step of γ per unit of relative budget error."""
    gamma0: float = 1.0
    """Initial multiplier (in units of the normalised cost)."""
    warmup: int = 30
    """Iterations at the start in which only the critic learns."""
    hidden: int = 128
    """Critic MLP width (paper: 128)."""
    layers: int = 3
    """Critic MLP depth, linear layers (paper: 3)."""
    seed: int = 0
    """Seed of the one generator that drives noise, offsets, actions and initialisation."""
    checkpoint_every: int = 100
    """Iterations between checkpoints (when a checkpoint path is given)."""

    def validate(self) -> "PsiConfig":
        """Reject values that cannot run, naming the field."""
        if self.cost not in ORDERS:
            raise ArtlibError(f"cost must be one of {', '.join(ORDERS)}, got {self.cost!r}")
        check_fields(self, integers={"iterations": (1, 10 ** 9), "batch": (1, 10 ** 6), "nodes": (1, 10 ** 4),
                                     "hidden": (1, 4096), "layers": (1, 16), "checkpoint_every": (1, 10 ** 9),
                                     "bank": (0, 10 ** 6), "warmup": (0, 10 ** 9), "handover": (0, 10 ** 5)},
                     positive=("rho", "policy_std", "lr_actor", "lr_actor_final", "lr_critic", "gamma0"),
                     non_negative=("lr_gamma",),
                     at_most={"rho": 100, "policy_std": 10, "lr_actor": 10, "lr_actor_final": 10, "lr_critic": 10,
                              "lr_gamma": 10, "gamma0": 1e6})
        return self


class Warp:
    """σ = g(ψ) = σ_max (1 − ψ/T)^ρ on ψ ∈ [0, T], T = σ_max, and its derivative."""

    def __init__(self, sigma_max: float, rho: float):
        self.T, self.rho = float(sigma_max), float(rho)

    def sigma(self, psi):
        """g(ψ) (tensor or array)."""
        return self.T * (1 - psi / self.T) ** self.rho

    def dsigma(self, psi):
        """|g′(ψ)| = ρ (1 − ψ/T)^{ρ−1}."""
        return self.rho * (1 - psi / self.T) ** (self.rho - 1)

    def psi(self, sigma):
        """g⁻¹(σ)."""
        return self.T * (1 - (sigma / self.T) ** (1 / self.rho))


class TableActor(nn.Module):
    """The policy mean m(ψ): piecewise linear over ``nodes`` + 1 equally spaced ψ, started at 0
    (u ≡ 1: the warp's own grid, EDM's ρ-ramp for ρ = 7)."""

    def __init__(self, nodes: int):
        super().__init__()
        self.m = nn.Parameter(torch.zeros(nodes + 1, dtype=torch.float64))

    def forward(self, frac: torch.Tensor) -> torch.Tensor:
        """m at ψ/T = ``frac`` (any shape, values in [0, 1])."""
        pos = frac.clamp(0, 1) * (self.m.numel() - 1)
        i = pos.floor().long().clamp(max=self.m.numel() - 2)
        w = pos - i
        return (1 - w) * self.m[i] + w * self.m[i + 1]


@dataclass
class PsiRollout:
    """A batch of rollouts; tensors are [B, M+1] (one entry per step, M+1 steps with the offset)."""
    frac: torch.Tensor     # ψ_k / T at the start of each step
    dpsi: torch.Tensor     # step length Δψ_k
    q: torch.Tensor        # Q_eff,k / S (normalised cost weight)
    a: torch.Tensor        # log-speed action a_k
    u: torch.Tensor        # u_k = exp(a_k − s²/2)


def critic_features(frac: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Critic inputs (ψ/T, log Q_eff / 10) [..., 2]."""
    return torch.stack([frac, torch.log(q.clamp(min=1e-300)) / 10], -1)


def step_costs(q: torch.Tensor, u: torch.Tensor, dpsi: torch.Tensor, gamma: float, T: float,
               order: int = 2) -> torch.Tensor:
    """c_k = (W_eff/u^{p−1} + γu) Δψ/(2T): the local error of a step at speed 1/u (order p = 2: Euler's,
    W = Q; p = 3: Heun's, W = R) plus the budget's price, per step."""
    return (q / u ** (order - 1) + gamma * u) * dpsi / (2 * T)


def standardised(delta: torch.Tensor) -> torch.Tensor:
    """δ standardised per step across the batch (a positive rescaling per step: fixed points stay)."""
    return (delta - delta.mean(0)) / (delta.std(0) + 1e-12)


def actor_loss(actor: TableActor, ro: PsiRollout, adv: torch.Tensor, std: float) -> torch.Tensor:
    """−Σ_k log π(a_k) Â_k, mean over rollouts (score-function gradient of the expected return)."""
    log_pi = -(ro.a - actor(ro.frac)) ** 2 / (2 * std ** 2)
    return -(log_pi * adv).sum(1).mean()


def multiplier_step(gamma: float, budget: float, T: float, lr: float) -> float:
    """γ exp(a_γ (budget − T)/T): up when the rollouts spend more than T, down when less."""
    return gamma * math.exp(lr * (budget - T) / T)


@dataclass
class Walks:
    """States of simulated trajectories, [n, M+1] each: ψ_k/T at the start of every step, its length
    Δψ_k and the cost weight W_eff,k."""
    frac: torch.Tensor
    dpsi: torch.Tensor
    w: torch.Tensor


def simulate(oracle: QOracle, warp: Warp, nodes: int, n: int, generator: torch.Generator,
             chunk: int = 256, heun: bool = True, order: int = 2) -> Walks:
    """States of n trajectories over randomly offset ψ-nodes, W_eff = |Q_σ| g′² for Euler's cost
    (``order`` 2) or |R_σ| g′³ for Heun's (3). No actions are needed: the state at a node does not
    depend on them. Runs in chunks of ``chunk`` trajectories, each drawing its offsets, noise and
    labels from ``generator``."""
    parts = [_simulate(oracle, warp, nodes, min(chunk, n - i), generator, heun, order) for i in range(0, n, chunk)]
    return Walks(*(torch.cat(p) for p in zip(*parts)))


def _simulate(oracle: QOracle, warp: Warp, M: int, n: int, generator: torch.Generator, heun: bool,
              order: int = 2):
    T = warp.T
    off = torch.rand(n, generator=generator, dtype=torch.float64)
    nodes = torch.cat([torch.zeros(n, 1, dtype=torch.float64),
                       ((torch.arange(M, dtype=torch.float64) + off[:, None]) / M).clamp(max=1.0),
                       torch.ones(n, 1, dtype=torch.float64)], 1) * T           # [n, M+2]
    x = initial_noise(oracle.denoiser, n, generator, device=oracle.device)
    labels = random_labels(oracle.denoiser, n, generator, oracle.device)

    def F(x_, sig_):   # the drift at σ ∨ σ_floor, as the oracle evaluates it
        return oracle.drift(x_, T - sig_, class_labels=labels)
    w = []
    with torch.no_grad():
        for k in range(M + 1):
            psi, psi_next = nodes[:, k].to(oracle.device), nodes[:, k + 1].to(oracle.device)
            sig, sig_next = warp.sigma(psi), warp.sigma(psi_next)
            if order == 2:
                f, qv = oracle.drift_and_q(x, T - sig, class_labels=labels)   # D and Q at σ ∨ σ_floor
            else:
                f, q2, x3, qv = oracle.heun_terms(x, T - sig, class_labels=labels)
            wk = qv.flatten(1).norm(dim=1) * warp.dsigma(psi) ** order
            if not (torch.isfinite(wk).all() and torch.isfinite(f).all()):
                raise Diverged(f"non-finite drift or local error at sigma={float(sig.min()):.6g}: "
                               "check the model and its sigma range")
            w.append(wk.cpu())
            if order == 2:
                # the last step runs into σ = 0, where step() takes Euler's step and evaluates no drift
                x = step(F, x, sig, sig_next, "heun" if heun else "euler", f=f)
            else:   # a third-order Taylor step from the derivatives R needed anyway (Euler's into σ = 0)
                h = per_sample(sig - sig_next, x)
                x = x + h * f + (h ** 2 / 2 * q2 + h ** 3 / 6 * x3 if k < M else 0)
    return nodes[:, :-1] / T, nodes.diff(dim=1), torch.stack(w, 1)


def act(actor: TableActor, frac: torch.Tensor, dpsi: torch.Tensor, q: torch.Tensor, std: float,
        generator: torch.Generator) -> PsiRollout:
    """Actions a_k ~ N(m(ψ_k), s²) at given states, u_k = exp(a_k − s²/2) (E u = e^m)."""
    with torch.no_grad():
        a_mean = actor(frac)
        a = a_mean + std * torch.randn(a_mean.shape, generator=generator, dtype=torch.float64)
    return PsiRollout(frac, dpsi, q, a, torch.exp(a - std ** 2 / 2))


def rollout(oracle: QOracle, warp: Warp, actor: TableActor, cfg: PsiConfig, n: int,
            generator: torch.Generator, scale: float = 1.0) -> PsiRollout:
    """n fresh rollouts under the current policy, Q_eff divided by ``scale`` (no gradients)."""
    walks = simulate(oracle, warp, cfg.nodes, n, generator, heun=cfg.heun_states, order=ORDERS[cfg.cost])
    return act(actor, walks.frac, walks.dpsi, walks.w / scale, cfg.policy_std, generator)


@dataclass
class PsiResult:
    """A trained ψ-clock policy: its actor, critic, γ, the cost scale S and the history (the
    ``artlib.art.learner.Clock`` protocol)."""
    actor: TableActor
    critic: nn.Module
    gamma: float
    scale: float
    warp: Warp
    config: PsiConfig
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    last: LastStep | None = None
    """Heun's cost: where the grid hands over to EDM's final Euler step (measured per K)."""
    clock = "psi"

    @property
    def steps(self) -> int:
        """Training steps: the ψ-nodes M."""
        return self.config.nodes

    @property
    def evaluations(self) -> int:
        """Denoiser evaluations the training spent (``evaluations``)."""
        return evaluations(self.config) + (self.last.evaluations if self.last else 0)

    def clock_map(self, fine: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """The learned map as (ψ [fine+1], t(ψ) [fine+1]), t(ψ) = ∫ e^{m} normalised to t(T) = T."""
        T = self.warp.T
        frac = torch.linspace(0, 1, fine + 1, dtype=torch.float64)
        speed = torch.exp(self.actor(frac)).detach().numpy()
        t = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]))])
        return frac.numpy() * T, t / t[-1] * T

    def sigmas(self, K: int) -> torch.Tensor:
        """The learned grid at K steps: equally spaced t mapped through ψ(t) and σ = g(ψ) [K+1]; for
        Heun's cost, K − 1 such steps down to the σ from which EDM's final Euler step ends nearest a
        fine solve (``artlib.art.optimum.LastStep``)."""
        K = check_K(K)
        psi, t = self.clock_map()
        if self.last is not None:
            return self.last.grid(t / t[-1], self.warp.sigma(psi), K)
        s = torch.from_numpy(self.warp.sigma(np.interp(np.linspace(0, self.warp.T, K + 1), t, psi)))
        s[0], s[-1] = self.warp.T, 0.0
        return validate_sigmas(s, what="learned ψ-clock grid")


def evaluations(cfg: PsiConfig) -> int:
    """Denoiser evaluations a training spends, a JVP counted as one more: each simulated trajectory
    takes M + 1 drift-and-Q evaluations (2 each) and, with Heun states, M more forward passes; or,
    for Heun's cost, M + 1 evaluations of R (5 each, whose derivatives also advance the state); the
    bank is simulated once, fresh rollouts (bank = 0) once for the scale and once per iteration."""
    walks = cfg.bank or (cfg.iterations + 1) * cfg.batch
    if cfg.cost == "heun":
        return walks * 5 * (cfg.nodes + 1)
    return walks * (2 * (cfg.nodes + 1) + (cfg.nodes if cfg.heun_states else 0))


def cost_scale(q: torch.Tensor, dpsi: torch.Tensor, T: float) -> float:
    """S: the mean of Q_eff along the walks, (1/T) E Σ_k Q_eff,k Δψ_k (a pure scale)."""
    return float((q * dpsi).sum(1).mean() / T)


def train(cfg: PsiConfig, oracle: QOracle, *, checkpoint: str | os.PathLike | None = None,
          progress: bool = True) -> PsiResult:
    """The ψ-indexed actor-critic (module docstring); resumes from ``checkpoint`` if it exists."""
    cfg.validate()
    gen = torch.Generator().manual_seed(cfg.seed)
    warp, T = Warp(oracle.T, cfg.rho), oracle.T
    actor = TableActor(cfg.nodes)
    critic = mlp(2, cfg.hidden, cfg.layers)
    init_mlp(critic, gen)
    opt_a = torch.optim.Adam(actor.parameters(), lr=cfg.lr_actor)
    opt_c = torch.optim.Adam(critic.parameters(), lr=cfg.lr_critic)
    order = ORDERS[cfg.cost]
    t0 = time.perf_counter()
    first = simulate(oracle, warp, cfg.nodes, cfg.bank or cfg.batch, gen, heun=cfg.heun_states, order=order)   # the bank, or the scale's batch
    simulated = time.perf_counter() - t0
    scale = cost_scale(first.w, first.dpsi, T)
    bank = (first.frac, first.dpsi, first.w / scale) if cfg.bank else None

    def iteration(it: int, gamma: float) -> tuple[float, dict[str, float]]:
        if bank is None:
            ro = rollout(oracle, warp, actor, cfg, cfg.batch, gen, scale)
        else:
            pick = torch.randint(cfg.bank, (cfg.batch,), generator=gen)
            ro = act(actor, bank[0][pick], bank[1][pick], bank[2][pick], cfg.policy_std, gen)
        cost = step_costs(ro.q, ro.u, ro.dpsi, gamma, T, order)
        v = critic(critic_features(ro.frac, ro.q)).squeeze(-1)
        delta = td_errors(v, cost)
        opt_c.zero_grad(), critic_loss(v, delta).backward(), opt_c.step()
        budget = float((ro.u * ro.dpsi).sum(1).mean())
        if it >= cfg.warmup:
            frac_done = (it - cfg.warmup) / max(cfg.iterations - cfg.warmup - 1, 1)
            for group in opt_a.param_groups:
                group["lr"] = cfg.lr_actor + frac_done * (cfg.lr_actor_final - cfg.lr_actor)
            opt_a.zero_grad(), actor_loss(actor, ro, standardised(delta.detach()), cfg.policy_std).backward()
            opt_a.step()
            gamma = multiplier_step(gamma, budget, T, cfg.lr_gamma)
        if not (math.isfinite(gamma) and torch.isfinite(actor.m).all() and torch.isfinite(v).all()):
            raise Diverged(f"training diverged at iteration {it}: non-finite policy, value or multiplier")
        return gamma, {"cost": float(cost.sum(1).mean()), "budget": budget, "gamma": gamma,
                       "td_abs": float(delta.detach().abs().mean()), "m_first": float(actor.m[0].detach()),
                       "m_last": float(actor.m[-1].detach())}

    nets = dict(actor=actor, critic=critic, opt_actor=opt_a, opt_critic=opt_c)
    gamma, history, seconds = training_loop(cfg, iteration, gamma=cfg.gamma0, nets=nets, generator=gen,
                                            key={"T": T}, checkpoint=checkpoint, desc="ART-RL (psi clock)",
                                            progress=progress, setup_seconds=simulated)
    return PsiResult(actor, critic, gamma, scale, warp, cfg, history, seconds)


def learn(cfg: PsiConfig, denoiser, *, steps: int | None = None, checkpoint=None, progress: bool = True,
          class_labels=None) -> PsiResult:
    """Train on ``steps`` ψ-nodes (default ``cfg.nodes``): the learner of ``artlib.art.learn``."""
    if steps is not None:
        cfg = dataclasses.replace(cfg, nodes=steps)
    run = train(cfg, QOracle(denoiser, class_labels=class_labels), checkpoint=checkpoint, progress=progress)
    if cfg.cost == "heun" and cfg.handover:
        run.last = LastStep(denoiser, n=cfg.handover, seed=cfg.seed + 1, class_labels=class_labels)
    return run
