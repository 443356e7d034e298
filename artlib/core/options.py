"""Parsing and naming rules: ``key=value`` option strings, step counts, solver names and NFE,
and EDM's seed syntax. Everything above imports these from here. Messages name the value, not a
command-line flag: the command line adds its flag (``artlib.cli.checks.flag``)."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .errors import ArtlibError


def check_K(K: int) -> int:
    """K as an int after checking it is an integer >= 1 (the step count of a schedule)."""
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ArtlibError(f"K must be an integer >= 1, got {K!r}")
    return int(K)


def parse_kv(text: str, *, what: str) -> dict[str, float]:
    """Parse ``a=1,b=2.5`` into floats, with errors that name the bad piece."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, val = part.partition("=")
        if not eq or not key.strip():
            raise ArtlibError(f"{what}: expected key=value, got {part!r}")
        try:
            num = float(val)
        except ValueError:
            raise ArtlibError(f"{what}: {key.strip()}={val!r} is not a number") from None
        if not math.isfinite(num):
            raise ArtlibError(f"{what}: {key.strip()} must be finite")
        if key.strip() in out:
            raise ArtlibError(f"{what}: {key.strip()} is given twice")
        out[key.strip()] = num
    return out


def check_options(options: dict[str, float], allowed: Sequence[str], *, what: str) -> None:
    """Reject option keys that ``what`` does not take."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ArtlibError(f"{what}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed) or 'none'}")


SOLVERS = ("euler", "heun")


def nfe(K: int, solver: str) -> int:
    """Network evaluations for K steps: Euler K, Heun 2K − 1 (the only source of NFE for tables)."""
    check_solver(solver)
    return K if solver == "euler" else 2 * K - 1


def check_solver(solver: str) -> str:
    """Reject an unknown solver name."""
    if solver not in SOLVERS:
        raise ArtlibError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    return solver


def parse_seeds(text: str, *, limit: int = 1_000_000) -> list[int]:
    """EDM's seed syntax: ``0-63``, ``1,5,9`` or a mix ``0-3,10``; rejects empty or reversed
    ranges, seeds outside [0, 2³²) (EDM's range), a seed given twice and more than ``limit`` seeds,
    counted before any list is built."""
    ranges, total = [], 0
    for part in str(text).split(","):
        a, sep, b = part.strip().partition("-")
        try:
            lo, hi = int(a), int(b) if sep else int(a)
        except ValueError:
            raise ArtlibError(f"cannot parse the seeds {part!r}; use e.g. 0-63 or 1,5,9") from None
        if lo < 0 or hi < lo:
            raise ArtlibError(f"seed range {part!r} is empty or negative; use low-high with low <= high")
        if hi >= 2 ** 32:
            raise ArtlibError(f"seed {hi} is over the largest seed, 2^32 - 1")
        total += hi - lo + 1
        if total > limit:
            raise ArtlibError(f"{text!r} is over {limit:,} seeds; split the run")
        ranges.append((lo, hi))
    last = None
    for lo, hi in sorted(ranges):          # a seed given twice would be one image counted twice
        if last is not None and lo <= last:
            raise ArtlibError(f"seeds {text!r} repeat seed {lo}; give each seed once")
        last = hi if last is None else max(last, hi)
    return [s for lo, hi in ranges for s in range(lo, hi + 1)]
