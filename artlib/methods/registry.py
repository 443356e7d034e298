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
    build: Callable[..., tuple[torch.Tensor, int]]
    """(den, K, solver, seed, options, progress) → (sigmas [K+1], denoiser evaluations spent)."""
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

    def usage(self, name: str) -> str:
        """``name[:k=default,...]``, as the help text shows it."""
        opts = ",".join(f"{k}={v:g}" for k, v in self.defaults.items())
        return name + (f"[:{opts}]" if opts else "")


def _closed(f: Callable) -> Callable:
    """A builder for a grid that is a formula of (den, K, options): no evaluations."""
    return lambda den, K, solver, seed, o, progress: (f(den, K, o), 0)


def _optimal(den, K, solver, seed, o, progress):
    from ..art.optimum import optimal_sigmas
    n, fine = int(o["n"]), int(o["fine_steps"])
    s = optimal_sigmas(den, K, n=n, fine_steps=fine, seed=seed)
    return s, n * (nfe(fine, "heun") + 2 * (fine + 1))   # per path: a Heun solve, a forward + JVP at its points


def _ays(den, K, solver, seed, o, progress):
    from .ays import ays_sigmas
    s, cost = ays_sigmas(den, K, n=int(o["n"]), sweeps=int(o["sweeps"]), seed=seed, progress=progress)
    return s, cost.evaluations


def _gits(den, K, solver, seed, o, progress):
    from .gits import gits_sigmas
    s, cost = gits_sigmas(den, K, teacher_points=int(o["points"]), batch=int(o["batch"]),
                          metric="l2" if o["l2"] else "dev", gamma=o["gamma"], seed=seed, progress=progress)
    return s, cost.evaluations


def _ld3(den, K, solver, seed, o, progress):
    from .ld3 import ld3_sigmas
    s, cost = ld3_sigmas(den, K, solver, n=int(o["n"]), iterations=int(o["iterations"]), lr=o["lr"],
                         radius=o["radius"], seed=seed, progress=progress)
    return s, cost.evaluations


def _dmn(den, K, o):
    from .dmn import dmn_sigmas
    return dmn_sigmas(K, den.sigma_min, den.sigma_max, int(o["order"]))


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
                    "l2": (0, 1, True)}, shared=True, seeded=True),
    "ays": Method(_ays, "AYS", "AYS", "#393b79", "Align Your Steps' KLUB search (Sabour et al. 2024, Alg. 1)",
                  {"n": 256, "sweeps": 6}, {"n": (2, 10 ** 6, True), "sweeps": (1, 1000, True)},
                  shared=True, seeded=True),
    "ld3": Method(_ld3, "LD3 (L2)", "LD3", "#000000",
                  "LD3-style endpoint error, back-propagated through the solve (Tong et al. 2025)",
                  {"n": 64, "iterations": 200, "lr": 0.05, "radius": 0.0},
                  {"n": (1, 10 ** 5, True), "iterations": (1, 10 ** 6, True), "lr": (1e-6, 10, False),
                   "radius": (0, 1, False)}, solver_specific=True, seeded=True),
    "optimal": Method(_optimal, "Closed-form optimum", "Closed-form", "#2ca02c",
                      "the closed-form optimum of the paper's Euler proxy (equidistribution)",
                      {"n": 256, "fine_steps": 512}, {"n": (1, 10 ** 6, True), "fine_steps": (2, 10 ** 5, True)},
                      shared=True, seeded=True),
}


def usage() -> str:
    """Every method with its options' defaults, comma-separated (help text)."""
    return ", ".join(m.usage(name) for name, m in METHODS.items())


def bench_rows() -> dict[str, str]:
    """The leaderboard's rows: label → method name, in the registry's order."""
    return {m.label: name for name, m in METHODS.items() if m.bench}


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
        return self.name + (":" + ",".join(f"{k}={v:g}" for k, v in sorted(given.items())) if given else "")


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
    t0 = time.perf_counter()
    sigmas, evaluations = METHODS[spec.name].build(den, K, solver, seed, spec.options, progress)
    return sigmas, {"method": str(spec), "options": dict(spec.options), "seed": seed,
                    "cost": {"evaluations": int(evaluations), "seconds": round(time.perf_counter() - t0, 3)}}
