"""The computations behind the notebooks, so the notebooks stay thin (paper §5.1, Table 1)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .denoisers import GaussianDenoiser, load_model
from .distill import Distilled, distill
from .env import ARTEnv
from .metrics import exact_w2, sample_w2_normal
from .rl import TrainConfig, TrainResult, train
from .samplers import initial_noise, sample
from .schedules import edm_sigmas, optimal_sigmas, uniform_sigmas

#: Table 1 of the paper (unsquared sample W2, Euler), quoted, K → value.
PAPER_TABLE1 = {
    "Uniform": {2: .468, 5: .215, 10: .114, 20: .060, 50: .027, 100: .016},
    "EDM-T (rho=3)": {2: .414, 5: .195, 10: .105, 20: .056, 50: .025, 100: .015},
    "EDM (rho=7)": {2: .664, 5: .319, 10: .177, 20: .094, 50: .041, 100: .023},
    "ART-RL": {2: .345, 5: .149, 10: .079, 20: .042, 50: .020, 100: .013},
}


@dataclass
class OneDimResult:
    """Exact and sample W2 per schedule and K, plus the trained runs."""
    exact: dict[str, dict[int, float]] = field(default_factory=dict)
    sampled: dict[str, dict[int, float]] = field(default_factory=dict)
    runs: dict[int, tuple[TrainResult, Distilled]] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)


def baseline_schedules(den: GaussianDenoiser, K: int) -> dict[str, torch.Tensor]:
    """The hand-made and closed-form grids of Table 1."""
    return {
        "Uniform": uniform_sigmas(K, den.sigma_min, den.sigma_max),
        "EDM-T (rho=3)": edm_sigmas(K, den.sigma_min, den.sigma_max, 3.0),
        "EDM (rho=7)": edm_sigmas(K, den.sigma_min, den.sigma_max, 7.0),
        "Optimum (closed form)": optimal_sigmas(den, K),
    }


def one_dimensional(K_list, cfg: TrainConfig, *, n_samples: int = 100_000, seed: int = 0,
                    model: str = "gauss1d", solver: str = "euler") -> OneDimResult:
    """Train ART-RL per K, distil, and measure every schedule's exact and sample W2."""
    den = load_model(model)
    res = OneDimResult()
    for K in K_list:
        t0 = time.perf_counter()
        env = ARTEnv(den, K)
        run = train(cfg, env, progress=False)
        dist = distill(run.actor, env, cfg)
        res.runs[K], res.seconds[K] = (run, dist), time.perf_counter() - t0
        grids = {**baseline_schedules(den, K), "ART-RL (ours)": dist.sigmas}
        x0 = initial_noise(den, n_samples, torch.Generator().manual_seed(seed))
        for name, s in grids.items():
            res.exact.setdefault(name, {})[K] = exact_w2(den, s, solver)
            res.sampled.setdefault(name, {})[K] = sample_w2_normal(sample(den, x0, s, solver=solver), den.c)
    return res


def markdown_table(rows: dict[str, dict[int, float]], columns, *, fmt: str = "{:.3f}",
                   header: str = "K") -> str:
    """A Markdown table: one row per entry of ``rows``, one column per key in ``columns``."""
    lines = [f"| {header} | " + " | ".join(str(c) for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for name, vals in rows.items():
        cells = [fmt.format(vals[c]) if c in vals else "–" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def theta_bands(dist: Distilled, T: float) -> dict[str, np.ndarray]:
    """Per clock step: mean, IQR and 99% band of the normalised sampled θ, and of μ across rollouts."""
    th = dist.theta / (dist.theta.sum(1, keepdim=True) * T / dist.theta.shape[1]) * T
    mu = dist.mu
    q = lambda a, p: np.quantile(a.numpy(), p, axis=0)  # noqa: E731
    return {"mean": th.mean(0).numpy(), "q25": q(th, .25), "q75": q(th, .75), "q005": q(th, .005),
            "q995": q(th, .995), "mu_mean": mu.mean(0).numpy(),
            "collapse": (mu.std(0) / mu.mean(0).abs()).numpy()}


def optimal_theta_1d(t: np.ndarray, T: float = 3.0) -> np.ndarray:
    """θ*(t) of the 1-D example: ψ uniform in Φ(τ) = ∫(1+(T−u)²)^{-3/4} du, θ* = dψ/dt (SPEC §4.1)."""
    u = np.linspace(0.0, T, 20001)
    w = (1 + (T - u) ** 2) ** -0.75
    phi = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(u))])
    psi = np.interp(t / T * phi[-1], phi, u)
    return phi[-1] / T * (1 + (T - psi) ** 2) ** 0.75
