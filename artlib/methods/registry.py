"""Every schedule method by name: one row per method, behind ``--schedule NAME[:k=v,...]`` in every
command, the leaderboard and the notebooks. A row holds the builder, the options with defaults and
ranges, the method's label and colour on every page, and what the contract tests need to know of
it (does its grid depend on the solver, on the seed; does one table serve every K). The help text,
the leaderboard's rows and the book's colours are generated from the rows: a new method is one
function and one row. A spec is checked (name, option names and ranges) by ``parse`` before any
work, and turned into a grid by ``build``, which also reports the method's provenance and cost."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..core.constants import RHO, SIGMA_DATA
from ..core.errors import ArtlibError
from ..core.options import check_K, check_solver, nfe, parse_kv
from ..core.schedules import edm_sigmas, uniform_sigmas
from . import grids


@dataclass(frozen=True)
class Method:
    """A named schedule method."""
    build: Callable[..., tuple[torch.Tensor, int, int]]
    """(den, K, solver, seed, options, progress) → (sigmas [K+1], denoiser evaluations spent, the
    part of them spent on what is kept per model and serves every K: counted once on a bench)."""
    label: str
    """Its row in the leaderboard and the tables."""
    family: str
    """The name prefix whose series get ``colour`` on every page."""
    colour: str
    summary: str
    """One line: what the method is, and whose."""
    defaults: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float, bool]] = field(default_factory=dict)   # (lo, hi, integer)
    bench: bool = True
    """A row of the leaderboard."""
    shared: bool = False
    """One table serves every K and both solvers (its cost counts once per model)."""
    solver_specific: bool = False
    """The grid depends on the solver it is built for."""
    seeded: bool = False
    """The grid depends on the seed (the method draws samples)."""
    needs: str = ""
    """What kind of model the method needs, if not any: ``diffusers`` (its scheduler's config)."""
    variants: tuple[tuple[str, str, str], ...] = ()
    """Further bench rows (label, options, the solver they are for), e.g. the closed form of Heun's cost."""
    estimate: Callable[[int, str, dict], tuple[float, float]] = lambda K, solver, o: (0.0, 0.0)
    """(K, solver, options) → (denoiser evaluations, samples held in memory at once): what the
    command line checks against its budget before any work."""

    def usage(self, name: str) -> str:
        """``name[:k=default,...]``, as the help text shows it."""
        opts = ",".join(f"{k}={v:g}" for k, v in self.defaults.items())
        return name + (f"[:{opts}]" if opts else "")


def _closed(f: Callable) -> Callable:
    """A builder for a grid that is a formula of (den, K, options): no evaluations."""
    return lambda den, K, solver, seed, o, progress: (f(den, K, o), 0, 0)


def _optimal(den, K, solver, seed, o, progress):
    from ..art.optimum import LastStep, optimal_sigmas
    if o["last"] and solver != "heun":
        raise ArtlibError("optimal: last=1 places the hand-over to Heun's final Euler step; use it with the heun solver")
    last = LastStep(den, seed=seed + 1) if o["last"] else None
    s = optimal_sigmas(den, K, n=int(o["n"]), fine_steps=int(o["fine_steps"]), seed=seed,
                       solver="heun" if o["heun"] else "euler", last_step=last)
    profile = _optimal_cost(K, solver, {**o, "last": 0})[0]
    return s, profile + (last.evaluations if last else 0), profile


def _ays(den, K, solver, seed, o, progress):
    from .ays import ays_sigmas
    s, cost = ays_sigmas(den, K, n=int(o["n"]), sweeps=int(o["sweeps"]), seed=seed, progress=progress)
    return s, cost.evaluations, cost.evaluations


def _gits(den, K, solver, seed, o, progress):
    from .gits import gits_sigmas
    s, cost = gits_sigmas(den, K, teacher_points=int(o["points"]), batch=int(o["batch"]),
                          metric="l2" if o["l2"] else "dev", gamma=o["gamma"], seed=seed, progress=progress)
    return s, cost.evaluations, cost.evaluations


def _ld3(den, K, solver, seed, o, progress):
    from .ld3 import ld3_sigmas
    s, cost = ld3_sigmas(den, K, solver, n=int(o["n"]), iterations=int(o["iterations"]), lr=o["lr"],
                         radius=o["radius"], seed=seed, progress=progress)
    return s, cost.evaluations, 0


def _ddim(den, K, o):
    from .pipeline import ddim_sigmas
    return ddim_sigmas(den, K, trailing=bool(o["trailing"]))


def _pipeline(den, K, o):
    from .pipeline import pipeline_sigmas
    return pipeline_sigmas(den, K, karras=bool(o["karras"]), shift=o["shift"])


def _dmn(den, K, o):
    from .dmn import dmn_sigmas
    return dmn_sigmas(K, den.sigma_min, den.sigma_max, int(o["order"]))


def _optimal_cost(K, solver, o):
    # per path: a Heun solve, and at each of its points a forward pass and a JVP (Q), or the five
    # evaluations of Heun's R (a nested JVP and one more)
    per_point = 5 if o["heun"] else 2
    profile = o["n"] * (nfe(int(o["fine_steps"]), "heun") + per_point * (o["fine_steps"] + 1))
    if o["last"]:
        from ..art.optimum import LastStep
        profile += LastStep.cost(K)
    return profile, o["n"] * 4


def _ays_cost(K, solver, o):
    # the KLUB's reference solve, then per sweep 9 points × ≤ 11 candidates × 2 intervals × 8 nodes × 2
    # denoiser calls on n samples, and one pass over 10 and 20 new points; memory: the data and
    # noises and one chunk of 4,096 samples
    return o["n"] * (nfe(256, "heun") + (o["sweeps"] * 9 + 30) * 11 * 2 * 8 * 2), o["n"] * 4 + 4096


def _gits_cost(K, solver, o):
    # a Heun teacher of 4 substeps per interval; memory: its M states and slopes and the jumps from one
    return o["batch"] * (o["points"] - 1) * 9, o["batch"] * 4 * o["points"]


def _ld3_cost(K, solver, o):
    # the teacher, then per iteration a forward and a backward pass through the solve, whose graph
    # holds every step's activations
    steps = nfe(K, solver)
    return o["n"] * (nfe(256, "heun") + 2 * o["iterations"] * steps), o["n"] * 4 * (steps + 1)


METHODS: dict[str, Method] = {
    "uniform": Method(_closed(lambda den, K, o: uniform_sigmas(K, den.sigma_min, den.sigma_max)),
                      "Uniform", "Uniform", "#7f7f7f", "equally spaced in σ (the paper's Uniform)"),
    "edm": Method(_closed(lambda den, K, o: edm_sigmas(K, den.sigma_min, den.sigma_max, o["rho"])),
                  "EDM (rho=7)", "EDM", "#1f77b4", "EDM's ρ-ramp (Karras et al. 2022, eq. 5)",
                  {"rho": RHO}, {"rho": (0.01, 1000, False)}),
    "logsnr": Method(_closed(lambda den, K, o: grids.logsnr_sigmas(K, den.sigma_min, den.sigma_max)),
                     "logSNR", "logSNR", "#17becf", "logSNR-uniform, geometric σ (Lu et al. 2022)"),
    "time-uniform": Method(_closed(lambda den, K, o: grids.vp_time_sigmas(K, den.sigma_min, den.sigma_max, 1.0)),
                           "time-uniform", "time-uniform", "#bcbd22",
                           "DPM-Solver's time_uniform VP grid in σ (Lu et al. 2022)"),
    "time-quadratic": Method(_closed(lambda den, K, o: grids.vp_time_sigmas(K, den.sigma_min, den.sigma_max, 2.0)),
                             "time-quadratic", "time-quadratic", "#e377c2",
                             "DPM-Solver's time_quadratic VP grid in σ (Lu et al. 2022)"),
    "ays-gauss": Method(_closed(lambda den, K, o: grids.ays_gauss_sigmas(K, den.sigma_min, den.sigma_max, o["c"])),
                        "AYS closed form (c=0.5)", "AYS closed", "#9c9ede",
                        "AYS's optimum for N(0, c²I) data (Sabour et al. 2024, Theorem 3.1)",
                        {"c": SIGMA_DATA}, {"c": (1e-6, 1e6, False)}),
    "dmn": Method(_closed(_dmn), "DMN", "DMN", "#637939",
                  "DMN / StepOptim's model-free error bound (Xue et al. 2024)",
                  {"order": 3}, {"order": (1, 3, True)}),
    "gits": Method(_gits, "GITS", "GITS", "#8c6d31",
                   "GITS's dynamic programme on a teacher grid (Chen et al. 2024)",
                   {"points": 61, "batch": 256, "gamma": 1.15, "l2": 0},
                   {"points": (3, 1000, True), "batch": (1, 10 ** 6, True), "gamma": (1e-3, 1e3, False),
                    "l2": (0, 1, True)}, shared=True, seeded=True, estimate=_gits_cost),
    "ays": Method(_ays, "AYS", "AYS", "#393b79", "Align Your Steps' KLUB search (Sabour et al. 2024, Alg. 1)",
                  {"n": 256, "sweeps": 6}, {"n": (2, 10 ** 6, True), "sweeps": (1, 1000, True)},
                  shared=True, seeded=True, estimate=_ays_cost),
    "ld3": Method(_ld3, "LD3 (L2)", "LD3", "#000000",
                  "LD3-style endpoint error, back-propagated through the solve (Tong et al. 2025)",
                  {"n": 64, "iterations": 200, "lr": 0.05, "radius": 0.0},
                  {"n": (1, 10 ** 5, True), "iterations": (1, 10 ** 6, True), "lr": (1e-6, 10, False),
                   "radius": (0, 1, False)}, solver_specific=True, seeded=True, estimate=_ld3_cost),
    "ddim": Method(_closed(_ddim), "DDIM (leading)", "DDIM", "#a05d56",
                   "a diffusers pipeline's DDIM timesteps, leading or trailing spacing", {"trailing": 0},
                   {"trailing": (0, 1, True)}, bench=False, needs="diffusers"),
    "pipeline": Method(_closed(_pipeline), "pipeline default", "pipeline", "#c49c94",
                       "a diffusers pipeline's default grid (Euler or flow-matching Euler; karras=1: Karras')",
                       {"karras": 0, "shift": 0}, {"karras": (0, 1, True), "shift": (0, 100, False)},
                       bench=False, needs="diffusers"),
    "optimal": Method(_optimal, "Closed-form optimum", "Closed-form", "#2ca02c",
                      "the closed-form optimum of the paper's Euler proxy (equidistribution); heun=1: of Heun's "
                      "local error; last=1: Heun's final Euler step placed by measured endpoint error",
                      {"n": 256, "fine_steps": 512, "heun": 0, "last": 0},
                      {"n": (1, 10 ** 6, True), "fine_steps": (2, 10 ** 5, True), "heun": (0, 1, True),
                       "last": (0, 1, True)},
                      shared=True, seeded=True, estimate=_optimal_cost,
                      variants=(("Closed-form optimum (Heun cost)", "heun=1,last=1", "heun"),)),
}


def usage() -> str:
    """Every method with its options' defaults, comma-separated (help text)."""
    return ", ".join(m.usage(name) for name, m in METHODS.items())


def bench_rows(solver: str | None = None) -> dict[str, str]:
    """The leaderboard's rows: label → method spec, in the registry's order, with the variants for
    ``solver``."""
    rows = {}
    for name, m in METHODS.items():
        if m.bench:
            rows[m.label] = name
            rows.update({label: f"{name}:{opts}" for label, opts, for_solver in m.variants if for_solver == solver})
    return rows


def colours() -> dict[str, str]:
    """Each method family's colour, by the name prefix of its series."""
    return {m.family: m.colour for m in METHODS.values()}


@dataclass(frozen=True)
class Spec:
    """A parsed ``NAME[:k=v,...]`` with every option filled in."""
    name: str
    options: dict[str, float]

    def __str__(self) -> str:
        row = METHODS[self.name]
        given = {k: v for k, v in self.options.items() if v != row.defaults.get(k)}
        text = {k: str(int(v)) if v == int(v) and abs(v) < 1e15 else f"{v:g}" for k, v in given.items()}
        return self.name + (":" + ",".join(f"{k}={text[k]}" for k in sorted(text)) if given else "")


def parse(spec: str, *, what: str = "schedule") -> Spec:
    """Check a built-in schedule spec (name, option names, their ranges) before any work."""
    if not isinstance(spec, str) or not spec.strip():
        raise ArtlibError(f"{what} is empty; use one of {', '.join(METHODS)} or a .json file")
    name, _, rest = spec.strip().partition(":")
    if name not in METHODS:
        raise ArtlibError(f"{what}: unknown schedule {spec!r}; use one of {', '.join(METHODS)}, or a file "
                          f"(ending in .json or written with a /, e.g. ./{spec})")
    row = METHODS[name]
    opts = parse_kv(rest, what=f"{what} {spec!r}")
    unknown = sorted(set(opts) - set(row.defaults))
    if unknown:
        raise ArtlibError(f"{what} {spec!r}: unknown option(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(row.defaults) or 'none'}")
    for k, v in opts.items():
        lo, hi, integer = row.ranges[k]
        if not lo <= v <= hi or (integer and v != int(v)):
            kind = "an integer" if integer else "a number"
            raise ArtlibError(f"{what} {spec!r}: {k} must be {kind} from {lo:g} to {hi:g}, got {v:g}")
    return Spec(name, {**row.defaults, **opts})


def build(spec: Spec | str, den, K: int, *, solver: str = "euler", seed: int = 0,
          progress: bool = False) -> tuple[torch.Tensor, dict[str, Any]]:
    """The grid of ``spec`` at K steps for ``den`` [K+1], and its provenance: the method, its
    options, the seed, and the cost (denoiser evaluations, seconds)."""
    spec = parse(spec) if isinstance(spec, str) else spec
    K = check_K(K)
    check_solver(solver)
    if METHODS[spec.name].needs == "diffusers" and getattr(den, "scheduler", None) is None:
        raise ArtlibError(f"{spec.name} is a diffusers pipeline's schedule: it needs a diffusers model "
                          "(diffusers:DIR, digits-vp, digits-flow)")
    t0 = time.perf_counter()
    sigmas, evaluations, per_model = METHODS[spec.name].build(den, K, solver, seed, spec.options, progress)
    return sigmas, {"method": str(spec), "options": dict(spec.options), "seed": seed,
                    "cost": {"evaluations": int(evaluations), "per_model": int(per_model),
                             "seconds": round(time.perf_counter() - t0, 3)}}
