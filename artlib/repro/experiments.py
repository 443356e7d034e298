"""The computations behind the notebooks, so the notebooks stay thin (paper §5.1, Table 1)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..art.dynamics import QOracle
from ..art.learn import Learned, learn_schedule
from ..art.optimum import optimal_sigmas
from ..art.psiclock import PsiConfig
from ..art.tclock import CLOCK_STEPS, TrainConfig
from ..core.constants import RHO
from ..core.errors import ArtlibError
from ..core.samplers import advance, at_grid_start, initial_noise, sample
from ..core.schedules import edm_sigmas, rescale_schedule, uniform_sigmas
from ..eval.metrics import Reference, endpoint_rmse, exact_w2, frechet_distance_samples, sample_w2_normal
from ..models.gaussian import GaussianDenoiser
from ..models.registry import load_model

#: Table 1 of the paper (unsquared sample W2, Euler), quoted, K → value.
PAPER_TABLE1 = {
    "Uniform": {2: .468, 5: .215, 10: .114, 20: .060, 50: .027, 100: .016},
    "EDM-T (rho=3)": {2: .414, 5: .195, 10: .105, 20: .056, 50: .025, 100: .015},
    "EDM (rho=7)": {2: .664, 5: .319, 10: .177, 20: .094, 50: .041, 100: .023},
    "ART-RL": {2: .345, 5: .149, 10: .079, 20: .042, 50: .020, 100: .013},
}


@dataclass
class OneDimResult:
    """Exact and sample W2 per schedule and K, and each learner's trained runs per K."""
    exact: dict[str, dict[int, float]] = field(default_factory=dict)
    sampled: dict[str, dict[int, float]] = field(default_factory=dict)
    runs: dict[str, dict[int, Learned]] = field(default_factory=dict)
    seconds: dict[str, dict[int, float]] = field(default_factory=dict)


def baseline_schedules(den: GaussianDenoiser, K: int) -> dict[str, torch.Tensor]:
    """The hand-made and closed-form grids of Table 1."""
    return {
        "Uniform": uniform_sigmas(K, den.sigma_min, den.sigma_max),
        "EDM-T (rho=3)": edm_sigmas(K, den.sigma_min, den.sigma_max, 3.0),
        "EDM (rho=7)": edm_sigmas(K, den.sigma_min, den.sigma_max, RHO),
        "Optimum (closed form)": optimal_sigmas(den, K),
    }


def one_dimensional(K_list, learners: dict, *, n_samples: int = 100_000, seed: int = 0,
                    model: str = "gauss1d", solver: str = "euler", train_at_K: bool = False) -> OneDimResult:
    """Train each learner (name → ``PsiConfig`` or ``TrainConfig``), and measure every schedule's
    exact and sample W2 at every K.

    Each learner trains once on its default number of steps and its clock is re-used at every K,
    or (``train_at_K``, the paper's protocol) once per K on K steps; ``seconds[name][K]`` is the
    time of the training that K's grid came from."""
    den = load_model(model)
    res = OneDimResult()
    for name, cfg in learners.items():
        clocks: dict[int | None, tuple[Learned, float]] = {}   # one training per step count
        for K in K_list:
            steps = K if train_at_K else None
            if steps not in clocks:
                t0 = time.perf_counter()
                clocks[steps] = (learn_schedule(den, K, cfg, steps=steps, progress=False), time.perf_counter() - t0)
            res.runs.setdefault(name, {})[K], res.seconds.setdefault(name, {})[K] = clocks[steps]
    for K in K_list:
        grids = {**baseline_schedules(den, K), **{name: res.runs[name][K].at(K) for name in learners}}
        x0 = initial_noise(den, n_samples, torch.Generator().manual_seed(seed))
        for name, s in grids.items():
            res.exact.setdefault(name, {})[K] = exact_w2(den, s, solver)
            res.sampled.setdefault(name, {})[K] = sample_w2_normal(sample(den, x0, s, solver=solver), den.c)
    return res


def theta_bands(dist, T: float) -> dict[str, np.ndarray]:
    """Per clock step of a ``Distilled``: mean, IQR and 99% band of the normalised sampled θ, and of μ across rollouts."""
    th = dist.theta / (dist.theta.sum(1, keepdim=True) * T / dist.theta.shape[1]) * T
    mu = dist.mu
    q = lambda a, p: np.quantile(a.numpy(), p, axis=0)  # noqa: E731
    return {"mean": th.mean(0).numpy(), "q25": q(th, .25), "q75": q(th, .75), "q005": q(th, .005),
            "q995": q(th, .995), "mu_mean": mu.mean(0).numpy(),
            "collapse": (mu.std(0) / mu.mean(0).abs()).numpy()}


def optimal_theta_1d(t: np.ndarray, T: float = 3.0) -> np.ndarray:
    """θ*(t) of the 1-D example: ψ uniform in Φ(τ) = ∫(1+(T−u)²)^{-3/4} du, θ* = dψ/dt (paper §5.1; the book's one-dimensional chapter)."""
    u = np.linspace(0.0, T, 20001)
    w = (1 + (T - u) ** 2) ** -0.75
    phi = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(u))])
    psi = np.interp(t / T * phi[-1], phi, u)
    return phi[-1] / T * (1 + (T - psi) ** 2) ** 0.75


# ---------------------------------------------------------------------------------------------
# Image tables (paper §5.2–5.3) on EDM checkpoints or the CPU stand-ins (the book's introduction lists the stand-ins)

#: Quoted from the paper, FID (lower is better), NFE → value.
PAPER_TABLE2 = {  # CIFAR-10, Heun
    "Uniform": {3: 280.29, 9: 213.13, 13: 191.69, 19: 168.87, 35: 118.02},
    "EDM": {3: 465.83, 9: 35.54, 13: 6.79, 19: 2.54, 35: 1.85},
    "ART-RL": {3: 152.86, 9: 32.13, 13: 5.44, 19: 2.45, 35: 1.85},
}
PAPER_TABLE7 = {  # CIFAR-10, Euler
    "Uniform": {2: 280.50, 5: 214.60, 7: 194.40, 10: 174.15, 30: 85.83, 50: 53.40, 80: 34.99},
    "EDM": {2: 295.65, 5: 49.10, 7: 27.73, 10: 15.57, 30: 4.21, 50: 3.01, 80: 2.50},
    "ART-RL": {2: 109.11, 5: 28.16, 7: 23.88, 10: 14.34, 30: 4.06, 50: 2.94, 80: 2.46},
}
PAPER_TABLE3 = {  # CIFAR-10, K = 18 schedule re-used, Heun
    "EDM": {7: 85.80, 11: 14.42, 17: 3.11, 23: 2.06, 39: 1.85},
    "ART-RL": {7: 33.73, 11: 6.59, 17: 2.57, 23: 2.00, 39: 1.85},
}
PAPER_TRANSFER = {  # Tables 4–6: the CIFAR-10 schedule on other data, Heun
    "AFHQv2 64, EDM": {3: 375.76, 9: 27.88, 13: 7.56, 19: 2.99, 35: 2.11},
    "AFHQv2 64, ART-RL": {3: 243.48, 9: 20.48, 13: 6.12, 19: 2.85, 35: 2.10},
    "FFHQ 64, EDM": {3: 466.76, 9: 57.13, 13: 15.87, 19: 5.26, 35: 2.73},
    "FFHQ 64, ART-RL": {3: 305.97, 9: 35.73, 13: 11.08, 19: 4.31, 35: 2.67},
    "ImageNet 64, EDM": {3: 437.42, 9: 35.32, 13: 8.18, 19: 3.68, 35: 2.57},
    "ImageNet 64, ART-RL": {3: 147.21, 9: 29.49, 13: 7.01, 19: 3.62, 35: 2.57},
}


def steps_for_nfe(nfe: int, solver: str) -> int:
    """K with nfe(K, solver) = nfe: Euler K = NFE, Heun K = (NFE + 1)/2 (NFE must be odd)."""
    if solver == "heun":
        if nfe < 1 or nfe % 2 == 0:
            raise ArtlibError(f"Heun spends an odd NFE (2K − 1); got {nfe}")
        return (nfe + 1) // 2
    return nfe


def image_grids(den, K: int, learned: dict | None = None, *, methods: dict[str, str] | None = None,
                solver: str = "heun") -> dict[str, torch.Tensor]:
    """EDM (ρ = 7), uniform, the closed-form equidistribution grid, the ``methods`` (label → method
    spec, built for ``solver``) and each learned schedule at K steps; ``learned`` maps a name to a
    ``Learned`` (sampled at K) or a fixed grid (re-used at K)."""
    from ..methods.registry import build
    grids = {"EDM (rho=7)": edm_sigmas(K, den.sigma_min, den.sigma_max, RHO),
             "Uniform": uniform_sigmas(K, den.sigma_min, den.sigma_max),
             "Closed-form optimum": optimal_sigmas(den, K)}
    grids.update({label: build(spec, den, K, solver=solver)[0] for label, spec in (methods or {}).items()})
    for name, s in (learned or {}).items():
        if isinstance(s, Learned):
            grids[name] = s.at(K)
        else:
            grids[name] = s if s.numel() == K + 1 else rescale_schedule(s, K, den.sigma_max)
    return grids


@dataclass
class ImageSweep:
    """RMSE and Fréchet distance per schedule and NFE, the samples, and the sizes used."""
    rmse: dict[str, dict[int, float]] = field(default_factory=dict)
    frechet: dict[str, dict[int, float]] = field(default_factory=dict)
    samples: dict[str, dict[int, torch.Tensor]] = field(default_factory=dict)
    n: int = 0
    n_held_out: int = 0


def image_sweep(den, nfe_list, solver: str, ref: Reference, *, learned: dict | None = None,
                methods: dict[str, str] | None = None, held_out: torch.Tensor | None = None) -> ImageSweep:
    """Every schedule of ``image_grids`` at every NFE: endpoint RMSE (and Fréchet distance in
    pixel space to ``held_out`` data, squared, as FID is)."""
    out = ImageSweep(n=ref.x0.shape[0], n_held_out=0 if held_out is None else held_out.shape[0])
    for nfe_ in nfe_list:
        for name, s in image_grids(den, steps_for_nfe(nfe_, solver), learned, methods=methods, solver=solver).items():
            err, x = endpoint_rmse(den, s, ref, solver)
            out.rmse.setdefault(name, {})[nfe_] = err
            out.samples.setdefault(name, {})[nfe_] = x
            if held_out is not None:
                out.frechet.setdefault(name, {})[nfe_] = frechet_distance_samples(x, held_out)
    return out


#: Schedules whose FID the image chapters measure under `paper` (the paper's three, and the optimum).
FID_SCHEDULES = ("Uniform", "EDM (rho=7)", "ART-RL", "Closed-form optimum")


def fid_sweep(den, model: str, nfe_list, solver: str, *, learned: dict | None = None, samples: int,
              ref: str, inception_weights: str | None = None, workdir: str | None = None,
              schedules=FID_SCHEDULES, batch: int = 64, shard_size: int = 1000,
              grids: dict[str, dict[int, torch.Tensor]] | None = None,
              progress: bool = False) -> dict[str, dict[int, float]]:
    """FID as EDM measures it, for each schedule of ``image_grids`` (or of ``grids``, name → NFE →
    sigmas) named in ``schedules`` at each NFE: ``samples`` images from seeds 0…samples−1 against reference statistics ``ref`` (EDM's
    ``fid-refs`` .npz, path or https URL). With a ``workdir`` each cell keeps its Inception features
    in seed shards under a folder named by the cell's settings, so a killed run resumes and a cell
    that another chapter already measured is not sampled again."""
    import hashlib
    import json
    from pathlib import Path

    from ..eval import fid
    from ..eval.distributed import Comm
    from ..eval.shards import Workdir
    device = str(getattr(den, "device", "cpu"))
    net = fid.inception(inception_weights, device)
    mu, sigma = fid.reference_statistics(ref)
    seeds = list(range(samples))
    out: dict[str, dict[int, float]] = {}
    for nfe_ in nfe_list:
        cells = ({name: g[nfe_] for name, g in grids.items()} if grids is not None
                 else image_grids(den, steps_for_nfe(nfe_, solver), learned))
        for name, s in cells.items():
            if name not in schedules:
                continue
            work = None
            if workdir is not None:
                ident = fid.run_identity(model, s, solver, seeds, shard_size, inception_weights)
                key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
                work = Workdir(Path(workdir) / f"fid-{key}", ident)
            m = fid.generated_moments(den, s, solver, seeds, net, batch=batch, shard_size=shard_size,
                                      workdir=work, comm=Comm(device=device), progress=progress)
            out.setdefault(name, {})[nfe_] = fid.fid_from_moments(m, mu, sigma)
    return out


def ratio_rows(rows: dict[str, dict[int, float]], against: str) -> dict[str, dict[int, float]]:
    """Each row divided by the row ``against``, column by column."""
    return {f"{k} / {against}": {c: v[c] / rows[against][c] for c in v} for k, v in rows.items() if k != against}


# ---------------------------------------------------------------------------------------------
# Learning and diagnosing a schedule, as every chapter does it

def learn(den, *, clock: str = "psi", iterations: int | None = None, batch: int | None = None,
          seed: int = 0, steps: int = CLOCK_STEPS, features: str = "state", K: int = 10,
          workdir: str | None = None, model: str | None = None, cost: str = "euler") -> Learned:
    """ART-RL on ``den`` with the book's settings: the ψ-clock learner (default; ``cost`` ``heun``
    prices Heun's local error) or the paper's t-clock actor-critic (``clock="t"``, actor features
    ``features``; ``clock="paper"``: Algorithm 1's own settings), on ``steps`` training steps.
    With a ``workdir`` the training checkpoints into it, under a name made from ``model`` (its
    string) and the settings, and resumes from there: chapters that train the same model the
    same way share one training."""
    import dataclasses as dc
    if clock == "psi":
        cfg = PsiConfig(seed=seed, cost=cost)
    elif clock == "t":
        cfg = TrainConfig(seed=seed, actor_features=features)
    elif clock == "paper":
        cfg = TrainConfig.paper_protocol(seed=seed)
    else:
        raise ArtlibError(f"clock must be psi, t or paper, got {clock!r}")
    cfg = dc.replace(cfg, **{k: v for k, v in dict(iterations=iterations, batch=batch).items() if v is not None})
    checkpoint = None
    if workdir is not None:
        import hashlib
        import json
        from pathlib import Path
        if model is None:
            raise ArtlibError("learn(workdir=...) needs the model string that names the checkpoint")
        key = json.dumps({"model": model, "config": dc.asdict(cfg), "steps": steps, "K": K}, sort_keys=True)
        checkpoint = Path(workdir) / f"art-rl-{clock}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
    return learn_schedule(den, K, cfg, steps=steps, progress=False, checkpoint=checkpoint)


@dataclass
class Diagnosis:
    """Whether a training worked: budget, policy spread, distance of the grid from θ*."""
    objective_ratio: float     # J(learned grid)/J(closed-form grid), both at K_check steps
    budget_error: float        # |mean budget over the last iterations − T| / T
    spread: float              # range of the learned log clock speed (≈ 0: the policy collapsed)
    worst_speed_ratio: float   # max over σ ∈ [σ_min, σ_max] of |log(θ/θ*)|, as a factor
    K_check: int

    @property
    def problems(self) -> list[str]:
        """Human-readable failures (empty when the training looks healthy)."""
        out = []
        if self.budget_error > 0.05:
            out.append(f"budget missed by {100 * self.budget_error:.0f} %")
        if self.spread < 0.05:
            out.append("the policy collapsed to a constant clock speed")
        if self.objective_ratio > 1.25:
            out.append(f"proxy objective {self.objective_ratio:.2f}x the closed form's")
        return out


def diagnose(learned: Learned, den, *, K_check: int = 50, last: int = 50) -> Diagnosis:
    """``Diagnosis`` of a learned schedule against the closed form from the same |Q̄| profile."""
    from ..art.optimum import objective_ratio, optimal_speed, q_profile, speed_profile
    prof = q_profile(den)
    ours, best = learned.at(K_check), optimal_sigmas(den, K_check)
    ratio = objective_ratio(ours, prof) / objective_ratio(best, prof)
    budget = np.mean(learned.run.history["budget"][-last:])
    mid, speed = speed_profile(ours)
    inside = (mid >= max(den.sigma_min, 1e-3 * den.sigma_max)) & (mid <= den.sigma_max)
    log_ratio = np.log(speed[inside] / optimal_speed(prof, mid[inside]))
    log_ratio -= np.median(log_ratio)
    spread = float(np.ptp(np.log(speed)))
    return Diagnosis(float(ratio), float(abs(budget - den.sigma_max) / den.sigma_max), spread,
                     float(np.exp(np.abs(log_ratio).max())), K_check)


def plot_clock(ax, learned: dict, den, *, K: int = 50) -> None:
    """Clock speed |dσ/dt| against σ (log–log) of each learned schedule at K steps, and θ*(σ)."""
    from ..art.optimum import optimal_speed, q_profile, speed_profile
    from .report import colour
    prof = q_profile(den)
    for name, l in learned.items():
        mid, speed = speed_profile(l.at(K))
        ax.loglog(mid, speed, "o-", ms=3, color=colour(name), label=name)
    sig = np.geomspace(max(den.sigma_min, 1e-3 * den.sigma_max), den.sigma_max, 200)
    ax.loglog(sig, optimal_speed(prof, sig), "k:", lw=2, label="closed-form θ*")
    ax.set_xlabel("σ")
    ax.set_ylabel("clock speed |dσ/dt|")


# ---------------------------------------------------------------------------------------------
# Your own model: diffusers pipelines

def stock_schedules(den) -> dict[str, str]:
    """What a diffusers pipeline runs without a learned schedule, as method specs (label → spec):
    DDIM's leading and trailing spacing, Euler's default and Karras' σ for a VP model; flow-matching
    Euler with the scheduler's shift, SD3's shift 3 and Karras' σ for a flow model."""
    if den.kind == "flow":
        return {"pipeline: flow Euler, its shift": "pipeline", "pipeline: flow Euler, shift 3": "pipeline:shift=3",
                "pipeline: flow Euler, Karras σ": "pipeline:karras=1"}
    spacing = den.scheduler.config.get("timestep_spacing", "linspace")
    return {"DDIM, leading": "ddim", "DDIM, trailing": "ddim:trailing=1",
            f"pipeline: Euler, {spacing} spacing": "pipeline", "pipeline: Euler, Karras σ": "pipeline:karras=1"}


def through_diffusers(den, sigmas: torch.Tensor, ref: Reference) -> tuple[float, float]:
    """The grid run by the model's own diffusers scheduler loop (Euler with ``sigmas=``, or flow
    Euler with its shift undone) from the reference's noise: (endpoint RMSE against the reference,
    largest difference from artlib's Euler on the same grid, relative to its largest value)."""
    import diffusers

    from ..export.diffusers import set_diffusers_schedule
    cls = "FlowMatchEulerDiscreteScheduler" if den.kind == "flow" else "EulerDiscreteScheduler"
    sched = getattr(diffusers, cls).from_config(den.scheduler.config)
    set_diffusers_schedule(sched, sigmas)
    x0 = at_grid_start(den, ref.x0, float(sigmas[0]))
    theirs = den.run_scheduler(sched, x0, float(sigmas[0]), ref.labels)
    ours = sample(den, x0, sigmas, solver="euler", class_labels=ref.labels)
    return (float((theirs - ref.ref).pow(2).mean().sqrt()),
            float((theirs - ours).abs().max() / ours.abs().max()))


def heun_step_errors(den, *, sigma: float, steps, n: int = 8, seed: int = 0, exact_substeps: int = 4096):
    """One EDM Heun step of each length h in ``steps`` from σ, started on the reference path (a
    fine solve from σ_max to σ of ``n`` noises): the measured error against a solve of the same
    interval in ``exact_substeps`` Heun steps (or, on N(0, c²I), the exact solution), and the
    prediction h³|R| (``QOracle.heun_terms``), each the mean over the noises. Returns (h, measured,
    predicted) as arrays."""
    x0 = initial_noise(den, n, torch.Generator().manual_seed(seed))
    x = advance(den, x0, torch.linspace(den.sigma_max, sigma, 257, dtype=torch.float64), solver="heun")
    oracle = QOracle(den)
    r = oracle.heun_terms(x, torch.full((n,), oracle.T - sigma, dtype=torch.float64))[3]
    measured, predicted = [], []
    for h in steps:
        one = advance(den, x, torch.tensor([sigma, sigma - h], dtype=torch.float64), solver="heun")
        if isinstance(den, GaussianDenoiser):
            exact = x * np.sqrt((den.c ** 2 + (sigma - h) ** 2) / (den.c ** 2 + sigma ** 2))
        else:
            exact = advance(den, x, torch.linspace(sigma, sigma - h, exact_substeps + 1, dtype=torch.float64), solver="heun")
        measured.append(float((exact - one).flatten(1).norm(dim=1).mean()))
        predicted.append(float((h ** 3 * r).flatten(1).norm(dim=1).mean()))
    return np.asarray(steps, dtype=np.float64), np.array(measured), np.array(predicted)


def proxy_diagnosis(den, nfe_list, ref: Reference, *, data_std: float = 1.0, n: int = 64,
                    fine_steps: int = 128) -> dict[str, dict[int, float]]:
    """Why the Euler proxy's optimum can lose to a pipeline's stock grid on a diffusers model (Euler
    endpoint RMSE per NFE): the closed form as the chapters build it, from the model's σ_max; for a
    VP model, the same started where DDIM's leading spacing starts (its first timestep's σ, the
    noise moved there as ``at_grid_start`` does); and then each σ's local error weighted by how much
    the flow shrinks an error made there by σ = 0, c/√(c² + σ²) for Gaussian data of std
    c = ``data_std``: the proxy sums errors where they are made, and from a σ_max of 157 (VP) or 999
    (flow) most of those made early are contracted away."""
    from ..art.optimum import q_profile
    from ..core.schedules import equidistributed_sigmas
    from ..methods.pipeline import ddim_sigmas
    p = q_profile(den, n=n, fine_steps=fine_steps)
    s, q = p.sigma.numpy(), p.mean.numpy()
    variants = {"closed form (Euler proxy), from σ_max": (False, False)}
    if den.kind == "vp":
        variants["… started where DDIM's leading spacing starts"] = (True, False)
    variants[f"… with errors weighted by the flow's contraction (c = {data_std:g})"] = (den.kind == "vp", True)
    rows: dict[str, dict[int, float]] = {label: {} for label in variants}
    for f in nfe_list:
        start = float(ddim_sigmas(den, f)[0]) if den.kind == "vp" else s[0]
        lower = np.concatenate([[start], s[s < start]])
        for label, (moved, damped) in variants.items():
            grid_s = lower if moved else s
            w = np.interp(grid_s, s[::-1], q[::-1])
            if damped:
                w = w * data_std / np.sqrt(data_std ** 2 + grid_s ** 2)
            grid = equidistributed_sigmas(f, torch.from_numpy(grid_s), torch.from_numpy(w))
            rows[label][f] = endpoint_rmse(den, grid, ref, "euler")[0]
    return rows


def paper_protocol_estimate(den, *, probe: int = 50, K: int = 18, seed: int = 0) -> dict[str, float]:
    """What the paper's own protocol (Algorithm 1: one rollout per iteration, Adam 10⁻⁴, 5,000
    iterations, trained at K) would cost on ``den``: ``probe`` iterations are timed and the rest
    extrapolated. Returns seconds per iteration, the estimated seconds for all iterations and the
    denoiser evaluations they spend (each rollout step a forward pass and a JVP)."""
    cfg = TrainConfig.paper_protocol(seed=seed)
    t0 = time.perf_counter()
    learn_schedule(den, K, TrainConfig.paper_protocol(seed=seed, iterations=probe), steps=K, progress=False)
    per = (time.perf_counter() - t0) / probe
    return {"iterations": cfg.iterations, "seconds per iteration": per, "estimated seconds": per * cfg.iterations,
            "evaluations": cfg.iterations * cfg.batch * K * 2}
