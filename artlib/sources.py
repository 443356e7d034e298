"""Schedule sources by name: the one table behind ``--schedule NAME[:k=v,...]`` in every command and
the notebooks. A spec is checked (name, option names and ranges) by ``parse`` before any work, and
turned into a grid by ``build``, which also reports the method's provenance and cost."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .errors import ArtlibError
from .options import check_K, check_solver, nfe, parse_kv


@dataclass(frozen=True)
class Source:
    """A named schedule method: its options with defaults and allowed ranges, and a builder
    (den, K, solver, seed, options, progress) → (sigmas, evaluations)."""
    build: Callable[..., tuple[torch.Tensor, int]]
    defaults: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float, bool]] = field(default_factory=dict)   # (lo, hi, integer)


def _closed(f):
    return lambda den, K, solver, seed, o, progress: (f(den, K, o), 0)


def _uniform(den, K, o):
    from .schedules import uniform_sigmas
    return uniform_sigmas(K, den.sigma_min, den.sigma_max)


def _edm(den, K, o):
    from .schedules import edm_sigmas
    return edm_sigmas(K, den.sigma_min, den.sigma_max, o["rho"])


def _logsnr(den, K, o):
    from .peers import logsnr_sigmas
    return logsnr_sigmas(K, den.sigma_min, den.sigma_max)


def _time(rho):
    def make(den, K, o):
        from .peers import vp_time_sigmas
        return vp_time_sigmas(K, den.sigma_min, den.sigma_max, rho)
    return make


def _ays_gauss(den, K, o):
    from .peers import ays_gauss_sigmas
    return ays_gauss_sigmas(K, den.sigma_min, den.sigma_max, o["c"])


def _dmn(den, K, o):
    from .peers import dmn_sigmas
    return dmn_sigmas(K, den.sigma_min, den.sigma_max, int(o["order"]))


def _optimal(den, K, solver, seed, o, progress):
    from .optimum import optimal_sigmas
    n, fine = int(o["n"]), int(o["fine_steps"])
    s = optimal_sigmas(den, K, n=n, fine_steps=fine, seed=seed)
    return s, n * (nfe(fine, "heun") + 2 * (fine + 1))   # per path: a Heun solve, a forward + JVP at its points


def _ays(den, K, solver, seed, o, progress):
    from .peers import ays_sigmas
    s, cost = ays_sigmas(den, K, n=int(o["n"]), sweeps=int(o["sweeps"]), seed=seed, progress=progress)
    return s, cost.evaluations


def _gits(den, K, solver, seed, o, progress):
    from .peers import gits_sigmas
    s, cost = gits_sigmas(den, K, teacher_points=int(o["points"]), batch=int(o["batch"]),
                          metric="l2" if o["l2"] else "dev", gamma=o["gamma"], seed=seed, progress=progress)
    return s, cost.evaluations


def _ld3(den, K, solver, seed, o, progress):
    from .peers import ld3_sigmas
    s, cost = ld3_sigmas(den, K, solver, n=int(o["n"]), iterations=int(o["iterations"]), lr=o["lr"],
                         radius=o["radius"], seed=seed, progress=progress)
    return s, cost.evaluations


SOURCES: dict[str, Source] = {
    "uniform": Source(_closed(_uniform)),
    "edm": Source(_closed(_edm), {"rho": 7.0}, {"rho": (0.01, 1000, False)}),
    "optimal": Source(_optimal, {"n": 256, "fine_steps": 512},
                      {"n": (1, 10 ** 6, True), "fine_steps": (2, 10 ** 5, True)}),
    "logsnr": Source(_closed(_logsnr)),
    "time-uniform": Source(_closed(_time(1.0))),
    "time-quadratic": Source(_closed(_time(2.0))),
    "ays-gauss": Source(_closed(_ays_gauss), {"c": 0.5}, {"c": (1e-6, 1e6, False)}),
    "ays": Source(_ays, {"n": 256, "sweeps": 6}, {"n": (2, 10 ** 6, True), "sweeps": (1, 1000, True)}),
    "gits": Source(_gits, {"points": 61, "batch": 256, "gamma": 1.15, "l2": 0},
                   {"points": (3, 1000, True), "batch": (1, 10 ** 6, True), "gamma": (1e-3, 1e3, False),
                    "l2": (0, 1, True)}),
    "dmn": Source(_closed(_dmn), {"order": 3}, {"order": (1, 3, True)}),
    "ld3": Source(_ld3, {"n": 64, "iterations": 200, "lr": 0.05, "radius": 0.0},
                  {"n": (1, 10 ** 5, True), "iterations": (1, 10 ** 6, True), "lr": (1e-6, 10, False),
                   "radius": (0, 1, False)}),
}


@dataclass(frozen=True)
class Spec:
    """A parsed ``NAME[:k=v,...]`` with every option filled in."""
    name: str
    options: dict[str, float]

    def __str__(self) -> str:
        src = SOURCES[self.name]
        given = {k: v for k, v in self.options.items() if v != src.defaults.get(k)}
        return self.name + (":" + ",".join(f"{k}={v:g}" for k, v in sorted(given.items())) if given else "")


def names() -> str:
    return ", ".join(SOURCES)


def parse(spec: str, *, what: str = "--schedule") -> Spec:
    """Check a built-in schedule spec (name, option names, their ranges) before any work."""
    if not isinstance(spec, str) or not spec.strip():
        raise ArtlibError(f"{what} is empty; use one of {names()} or a .json file")
    name, _, rest = spec.strip().partition(":")
    if name not in SOURCES:
        raise ArtlibError(f"{what}: unknown schedule {spec!r}; use one of {names()}, or a file "
                          f"(ending in .json or written with a /, e.g. ./{spec})")
    src = SOURCES[name]
    opts = parse_kv(rest, what=f"{what} {spec!r}")
    unknown = sorted(set(opts) - set(src.defaults))
    if unknown:
        raise ArtlibError(f"{what} {spec!r}: unknown option(s) {', '.join(unknown)}; "
                          f"allowed: {', '.join(src.defaults) or 'none'}")
    for k, v in opts.items():
        lo, hi, integer = src.ranges[k]
        if not lo <= v <= hi or (integer and v != int(v)):
            kind = "an integer" if integer else "a number"
            raise ArtlibError(f"{what} {spec!r}: {k} must be {kind} from {lo:g} to {hi:g}, got {v:g}")
    return Spec(name, {**src.defaults, **opts})


def build(spec: Spec | str, den, K: int, *, solver: str = "euler", seed: int = 0,
          progress: bool = False) -> tuple[torch.Tensor, dict[str, Any]]:
    """The grid of ``spec`` at K steps for ``den`` [K+1], and its provenance: the method, its
    options, the seed, and the cost (denoiser evaluations, seconds)."""
    spec = parse(spec) if isinstance(spec, str) else spec
    K = check_K(K)
    check_solver(solver)
    t0 = time.perf_counter()
    sigmas, evaluations = SOURCES[spec.name].build(den, K, solver, seed, spec.options, progress)
    return sigmas, {"method": str(spec), "options": dict(spec.options), "seed": seed,
                    "cost": {"evaluations": int(evaluations), "seconds": round(time.perf_counter() - t0, 3)}}
