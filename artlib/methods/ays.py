"""Align Your Steps (Sabour et al. 2024, §3.2–3.3 and Algorithm 1): a coordinate search on the
KL upper bound (KLUB), subdivided from 10 to 20 and 40 intervals and read at any K."""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm import tqdm

from ..core.cache import per_model
from ..core.constants import RHO
from ..core.options import check_K, nfe
from ..core.samplers import initial_noise, random_labels, reference_solve
from ..core.schedules import edm_sigmas, validate_sigmas
from .grids import Cost, check_range, with_zero


class Klub:
    """KLUB(σ_lo, σ_hi) = ∫_{σ_lo}^{σ_hi} t⁻³ E‖D(x_t; t) − D(x_hi; σ_hi)‖² dt, x_t = x₀ + tε,
    x_hi = x_t + √(σ_hi² − t²) ε′ (AYS eq. (8) with its Girsanov weight), by Gauss–Legendre
    quadrature in log t with fixed (x₀, ε, ε′): common random numbers, so candidate grids are
    compared without Monte Carlo noise. x₀ are the model's own samples (a fine Heun solve), as
    the data of a pretrained model are not at hand."""

    def __init__(self, den, n: int = 256, nodes: int = 8, seed: int = 0, ref_steps: int = 256):
        self.den, self.nodes = den, nodes
        gen = torch.Generator().manual_seed(seed)
        dev = getattr(den, "device", "cpu")
        z = initial_noise(den, n, gen, device=dev)
        self.labels = random_labels(den, n, gen, dev)
        self.x0 = reference_solve(den, z, steps=ref_steps, class_labels=self.labels)
        self.eps = torch.randn(self.x0.shape, generator=gen, dtype=torch.float64).to(dev)
        self.eps2 = torch.randn(self.x0.shape, generator=gen, dtype=torch.float64).to(dev)
        self.gl_x, self.gl_w = np.polynomial.legendre.leggauss(nodes)
        self.evaluations = n * nfe(ref_steps, "heun")                  # the reference Heun solve

    @torch.no_grad()
    def __call__(self, lo: float, hi: float) -> float:
        return float(self.many([lo], [hi])[0])

    @torch.no_grad()
    def many(self, lo, hi, chunk: int = 4096) -> np.ndarray:
        """KLUB of each interval (lo[i], hi[i]), all quadrature nodes of all intervals evaluated
        in batches of about ``chunk`` samples (the same numbers as one at a time) [len(lo)]."""
        lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        a, b = np.log(lo), np.log(hi)
        t = np.exp(a[:, None] + (self.gl_x[None] + 1) / 2 * (b - a)[:, None])          # [I, q]
        weight = self.gl_w[None] * ((b - a) / 2)[:, None] * t ** -2                  # t⁻³ dt = t⁻² d(log t)
        up = np.broadcast_to(hi[:, None], t.shape)
        n, shape = self.x0.shape[0], self.x0.shape[1:]
        tt, uu = t.ravel(), up.ravel()
        d2 = np.empty(tt.size)
        per = max(1, chunk // n)
        for j in range(0, tt.size, per):
            tj = torch.as_tensor(tt[j:j + per], dtype=torch.float64, device=self.x0.device)
            uj = torch.as_tensor(uu[j:j + per], dtype=torch.float64, device=self.x0.device)
            m = tj.numel()
            view = (m, 1) + (1,) * len(shape)
            xt = self.x0[None] + tj.view(view) * self.eps[None]                        # [m, n, ...]
            xup = xt + torch.sqrt((uj ** 2 - tj ** 2).clamp(min=0)).view(view) * self.eps2[None]
            labels = None if self.labels is None else self.labels.repeat(m, 1)
            sig_t, sig_u = tj.repeat_interleave(n), uj.repeat_interleave(n)
            diff = (self.den(xt.reshape(m * n, *shape), sig_t, labels).to(torch.float64)
                    - self.den(xup.reshape(m * n, *shape), sig_u, labels).to(torch.float64))
            self.evaluations += 2 * m * n
            d2[j:j + m] = diff.reshape(m, n, -1).pow(2).sum(-1).mean(1).cpu().numpy()
        return (weight * d2.reshape(t.shape)).sum(1)


def ays_search(klub: Klub, points: np.ndarray, free: list[int], *, sweeps: int, candidates: int = 11,
               progress: bool = False) -> np.ndarray:
    """AYS Algorithm 1: for each free index i in turn, try ``candidates`` log-spaced values of σ_i
    between its neighbours (the current one included) and keep the one with the smallest KLUB of
    its two intervals; a sweep is one pass; the window halves after a sweep that moved nothing.
    Stops after ``sweeps`` sweeps (AYS's early stopping) or when the window is below 1e-4."""
    s = points.copy()
    width = 1.0
    for _ in tqdm(range(sweeps), disable=not progress, desc="AYS sweeps", leave=False):
        moved = False
        for i in free:
            lo_n, hi_n = math.log(s[i + 1]), math.log(s[i - 1])
            c = math.log(s[i])
            u = np.linspace(-1, 1, candidates)
            u = u[np.abs(u) > 1e-12]                                   # 0 is σ_i itself, kept exactly
            grid = c + width * u * np.where(u < 0, c - lo_n, hi_n - c)
            cand = np.unique(np.concatenate([[s[i]], np.exp(grid[(grid > lo_n) & (grid < hi_n)])]))
            vals = (klub.many(np.full(cand.size, s[i + 1]), cand)
                    + klub.many(cand, np.full(cand.size, s[i - 1])))
            best = float(cand[int(np.argmin(vals))])
            moved |= best != s[i]
            s[i] = best
        if not moved:
            width /= 2
            if width < 1e-4:
                break
    return s


def ays_sigmas(den, K: int, *, n: int = 256, sweeps: int = 6, seed: int = 0,
               progress: bool = False) -> tuple[torch.Tensor, Cost]:
    """Align Your Steps on ``den``: a KLUB coordinate search over 10 intervals from EDM's ρ = 7
    grid between σ_max and σ_end, subdivided twice (20, then 40 intervals: each new point starts at
    the log-midpoint and only new points move, one pass each), then read at K points by
    interpolating log σ linearly in the normalised index (AYS's ``loglinear_interp``), and 0.
    The 40-interval grid is computed once per model and settings; the returned cost is its."""
    K = check_K(K)
    lo, hi = check_range(den.sigma_min, den.sigma_max)
    s, spent = per_model(den, ("ays", n, sweeps, seed), lambda: _ays_table(den, n, sweeps, seed, progress))
    if K == 1:
        return validate_sigmas(torch.tensor([hi, 0.0], dtype=torch.float64)), spent
    pts = np.exp(np.interp(np.linspace(0, 1, K), np.linspace(0, 1, len(s)), np.log(s)))
    pts[0], pts[-1] = hi, lo
    return with_zero(pts, "ays grid"), spent


def _ays_table(den, n, sweeps, seed, progress):
    t0 = time.perf_counter()
    lo, hi = check_range(den.sigma_min, den.sigma_max)
    klub = Klub(den, n=n, seed=seed)
    s = edm_sigmas(11, lo, hi, RHO)[:-1].numpy().copy()                 # 11 points σ_max … σ_end
    s = ays_search(klub, s, list(range(1, 10)), sweeps=sweeps, progress=progress)
    for _ in range(2):
        fine = np.empty(2 * len(s) - 1)
        fine[0::2] = s
        fine[1::2] = np.sqrt(s[:-1] * s[1:])
        s = ays_search(klub, fine, list(range(1, len(fine) - 1, 2)), sweeps=1, progress=progress)
    return s, Cost(klub.evaluations, time.perf_counter() - t0)
