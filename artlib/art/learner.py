"""What both ART-RL learners share (the t clock of the paper, ``artlib.art.tclock``, and the ψ clock,
``artlib.art.psiclock``): their MLPs and seeded initialisation, the TD error and the critic's
semi-gradient loss, config checks that name the field, checkpoints that resume bit for bit, the
training loop's frame (progress bar, history of named scalars, periodic checkpoint), divergence,
and the protocol a trained clock satisfies, so that what comes after training needs no knowledge
of which learner ran."""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Callable, Protocol

import torch
from torch import nn
from tqdm import tqdm

from ..core.errors import ArtlibError
from ..core.io import torch_load, torch_save


class Diverged(ArtlibError):
    """Training produced a non-finite D, Q, θ, loss or multiplier."""


class Clock(Protocol):
    """A trained clock: a grid at any K, and what the training cost and recorded."""
    clock: str            # "psi" or "t"
    steps: int            # training steps (ψ-nodes or clock steps)
    config: object
    gamma: float
    history: dict[str, list[float]]
    seconds: float

    def sigmas(self, K: int) -> torch.Tensor: ...

    @property
    def evaluations(self) -> int: ...


def mlp(n_in: int, hidden: int, layers: int) -> nn.Sequential:
    """``layers`` linear layers of width ``hidden`` with Softplus, one output, float64."""
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers - 1):
        mods += [nn.Linear(width, hidden, dtype=torch.float64), nn.Softplus()]
        width = hidden
    mods.append(nn.Linear(width, 1, dtype=torch.float64))
    return nn.Sequential(*mods)


def init_mlp(net: nn.Module, generator: torch.Generator) -> None:
    """Deterministic PyTorch-default-like initialisation from our generator."""
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)
                m.bias.copy_(torch.rand(m.bias.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)


def td_errors(v: torch.Tensor, cost: torch.Tensor, v_end: float = 0.0) -> torch.Tensor:
    """δ_k = V_{k+1} − V_k − c_k, with V after the last step the terminal value ``v_end`` [B, K]."""
    v_next = torch.cat([v[:, 1:], v.new_full((v.shape[0], 1), v_end)], 1)
    return v_next - v - cost


def critic_loss(v: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Semi-gradient TD, (22a) as a loss: −Σ_k V_k δ_k with δ held fixed, mean over rollouts; its
    gradient step is ϑ_c += a Σ_k ∂V_k δ_k."""
    return -(v * delta.detach()).sum(1).mean()


def check_fields(cfg, *, integers: dict[str, tuple[int, int]] = (), positive=(), positive_or_none=(),
                 non_negative=(), at_most: dict[str, float] = ()) -> None:
    """Reject config values that cannot run, naming the field: integers within their (lo, hi),
    finite positive numbers, the same or None, finite numbers ≥ 0, and numbers of magnitude at
    most ``at_most[name]`` (larger ones overflow the learner's arithmetic)."""
    for name, (lo, hi) in dict(integers).items():
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ArtlibError(f"{name} must be an integer from {lo} to {hi}, got {v!r}")
    for name in (*positive, *positive_or_none):
        v = getattr(cfg, name)
        if v is None and name in positive_or_none:
            continue
        if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ArtlibError(f"{name} must be a positive number{' or None' if name in positive_or_none else ''}, "
                              f"got {v!r}")
    for name in non_negative:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ArtlibError(f"{name} must be >= 0, got {v!r}")
    for name, hi in dict(at_most).items():
        v = getattr(cfg, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not abs(v) <= hi):
            raise ArtlibError(f"{name} must be at most {hi:g} in size, got {v!r}")


def save_training(path, key: dict, cfg, nets: dict, generator: torch.Generator, *, iteration: int,
                  gamma: float, history: dict, seconds: float) -> None:
    """A resumable checkpoint of a learner (weights-only torch file, written atomically): ``key``
    names the problem it belongs to, ``nets`` the modules and optimisers by name."""
    torch_save(path, {**key, "config": dataclasses.asdict(cfg), "iteration": iteration, "gamma": gamma,
                      **{name: m.state_dict() for name, m in nets.items()},
                      "generator": generator.get_state(), "history": history, "seconds": seconds})


def resume_training(path, key: dict, cfg, nets: dict, generator: torch.Generator):
    """Load ``save_training``'s checkpoint into ``nets`` and ``generator``; returns (γ, iteration,
    history, seconds), or None when there is no checkpoint yet. A checkpoint of another
    configuration or problem, or not one of ours, is refused with one line."""
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


def training_loop(cfg, iteration: Callable[[int, float], tuple[float, dict[str, float]]], *, gamma: float,
                  nets: dict, generator: torch.Generator, key: dict, checkpoint=None, desc: str = "ART-RL",
                  progress: bool = True, setup_seconds: float = 0.0) -> tuple[float, dict[str, list[float]], float]:
    """The frame of a training run: from the checkpoint's iteration (or 0) to ``cfg.iterations``,
    call ``iteration(it, γ) → (γ, named scalars)``, append the scalars to the history, refresh the
    progress bar and checkpoint every ``cfg.checkpoint_every`` iterations and at the end. Returns
    (γ, history, seconds of training, those before a resume included). ``setup_seconds`` (work the
    run did before its loop) count once, in a fresh run: a resumed run's seconds are those its
    checkpoint recorded plus the iterations it runs, so a finished training read back reports the
    seconds it took, on every page that reads it."""
    history: dict[str, list[float]] = {}
    start, spent = 0, setup_seconds
    resumed = resume_training(checkpoint, key, cfg, nets, generator)
    if resumed:
        gamma, start, history, spent = resumed
    t0, seconds = time.perf_counter(), spent
    bar = tqdm(range(start, cfg.iterations), initial=start, total=cfg.iterations, desc=desc, disable=not progress)
    for it in bar:
        gamma, record = iteration(it, gamma)
        for name, value in record.items():
            history.setdefault(name, []).append(value)
        if progress and it % 20 == 0:
            bar.set_postfix(budget=f"{record['budget']:.3g}", gamma=f"{gamma:.3g}")
        done, seconds = it + 1, spent + time.perf_counter() - t0
        if checkpoint is not None and (done % cfg.checkpoint_every == 0 or done == cfg.iterations):
            save_training(checkpoint, key, cfg, nets, generator, iteration=done, gamma=gamma,
                          history=history, seconds=seconds)
    return gamma, history, seconds
