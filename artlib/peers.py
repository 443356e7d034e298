"""Peer timestep-schedule methods, on artlib's conventions (EDM's VE ODE, σ = t, schedules end in 0).

- ``logsnr_sigmas``: logSNR-uniform, i.e. geometric σ (DPM-Solver's ``logSNR`` in EDM's σ).
- ``vp_time_sigmas``: DPM-Solver's ``time_uniform`` (ρ = 1) and ``time_quadratic`` (ρ = 2) VP-time
  grids, mapped to σ with EDM's VP noise schedule (Lu et al. 2022; Karras et al. 2022, Table 1).
- ``ays_gauss_sigmas``: the closed form of Align Your Steps for N(0, c² I) data and Euler
  (Sabour et al. 2024, Theorem 3.1): arctan(σ/c) linear in the step index.
- ``ays_sigmas``: Align Your Steps' KL-upper-bound (KLUB) coordinate search (Sabour et al. 2024,
  §3.2–3.3 and Algorithm 1), with its subdivision from 10 to 20 and 40 intervals.
- ``gits_sigmas``: GITS, a dynamic programme over a teacher grid (Chen et al. 2024, "On the
  Trajectory Regularity of ODE-based Diffusion Sampling", §4).
- ``dmn_sigmas``: DMN / StepOptim, the model-free bound on a multistep solver's error (Xue et al.
  2024, "Accelerating Diffusion Sampling with Optimized Time Steps").
- ``ld3_sigmas``: LD3-style direct optimisation of the sampler's endpoint error against a teacher
  (Tong et al. 2025, "Learning to Discretize Denoising Diffusion ODEs"), by back-propagation
  through the solve.

Step-count convention (EDM's ``generate.py``, as ``edm_sigmas``): K steps are K points from σ_max
down to σ_end followed by 0, where σ_end is the model's σ_min. Methods that need σ_end > 0
(logSNR, VP time, KLUB, DMN) use ``SIGMA_END_FLOOR`` = 0.002 (EDM's σ_min) on models whose σ_min
is 0. Each function returns a float64 tensor [K+1]; the model-based ones also return what they
cost, in denoiser evaluations.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from .errors import ArtlibError
from .options import check_K, check_solver, nfe
from .samplers import advance, drift, initial_noise, random_labels, sample
from .schedules import edm_sigmas, validate_sigmas

#: σ_end of methods that need a positive smallest noise level, on models whose σ_min is 0.
SIGMA_END_FLOOR = 0.002


@dataclass
class Cost:
    """What a schedule optimiser spent: denoiser evaluations (forward; a backward counts as one
    more) and wall-clock seconds."""
    evaluations: int
    seconds: float


def sigma_end(sigma_min: float) -> float:
    """The smallest non-zero σ of a peer grid: the model's σ_min, or ``SIGMA_END_FLOOR`` if that is 0."""
    return float(sigma_min) if sigma_min > 0 else SIGMA_END_FLOOR


def _with_zero(points: torch.Tensor | np.ndarray, what: str) -> torch.Tensor:
    """K points from σ_max to σ_end, then 0 (K steps) [K+1]."""
    p = torch.as_tensor(np.asarray(points, dtype=np.float64))
    return validate_sigmas(torch.cat([p, p.new_zeros(1)]), what=what)


def _check_range(sigma_min: float, sigma_max: float) -> tuple[float, float]:
    if not 0 <= sigma_min < sigma_max:
        raise ArtlibError(f"need 0 <= sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    lo = sigma_end(sigma_min)
    if not lo < sigma_max:
        raise ArtlibError(f"sigma_max={sigma_max:g} must exceed the smallest peer sigma {lo:g}")
    return lo, float(sigma_max)


# ----------------------------------------------------------------------------------------------
# Closed-form grids


def logsnr_sigmas(K: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """logSNR-uniform: λ = −log σ equally spaced, i.e. σ_k = σ_max (σ_end/σ_max)^{k/(K−1)}, then 0.
    This is EDM's ρ-ramp in the limit ρ → ∞ (not ρ = 1, as AYS's appendix B.2 writes)."""
    K = check_K(K)
    lo, hi = _check_range(sigma_min, sigma_max)
    frac = np.arange(K) / max(K - 1, 1)
    return _with_zero(hi * (lo / hi) ** frac, "logSNR grid")


def _vp_sigma(t: np.ndarray, beta_d: float, beta_min: float) -> np.ndarray:
    return np.sqrt(np.expm1(0.5 * beta_d * t ** 2 + beta_min * t))


def vp_time_sigmas(K: int, sigma_min: float, sigma_max: float, rho: float = 1.0,
                   eps_s: float = 1e-3) -> torch.Tensor:
    """DPM-Solver's VP-time grids in σ: t_k = (1 + (k/(K−1))(ε_s^{1/ρ} − 1))^ρ from t = 1 to ε_s,
    σ(t) = √(exp(½β_d t² + β_min t) − 1) with β_d, β_min fitted so that σ(1) = σ_max and
    σ(ε_s) = σ_end (EDM's VP parametrisation). ρ = 1: ``time_uniform``; ρ = 2: ``time_quadratic``."""
    K = check_K(K)
    lo, hi = _check_range(sigma_min, sigma_max)
    if not (rho > 0 and 0 < eps_s < 1):
        raise ArtlibError(f"time grid: need rho > 0 and 0 < eps_s < 1, got rho={rho}, eps_s={eps_s}")
    beta_d = 2 * (math.log(lo ** 2 + 1) / eps_s - math.log(hi ** 2 + 1)) / (eps_s - 1)
    beta_min = math.log(hi ** 2 + 1) - 0.5 * beta_d
    frac = np.arange(K) / max(K - 1, 1)
    t = (1 + frac * (eps_s ** (1 / rho) - 1)) ** rho
    s = _vp_sigma(t, beta_d, beta_min)
    s[0], s[-1] = hi, (lo if K > 1 else hi)
    return _with_zero(s, f"time grid (rho={rho:g})")


def ays_gauss_sigmas(K: int, sigma_min: float, sigma_max: float, c: float = 0.5) -> torch.Tensor:
    """AYS's optimum for N(0, c² I) data under Euler (Theorem 3.1): arctan(σ_k/c) linear in k.
    With σ_min > 0 the K points run from σ_max to σ_min and 0 follows; with σ_min = 0 the ramp
    itself reaches 0 (arctan(0) = 0) in K steps."""
    K = check_K(K)
    if not (c > 0 and math.isfinite(c)):
        raise ArtlibError(f"ays-gauss: c must be a positive number, got {c}")
    if not 0 <= sigma_min < sigma_max:
        raise ArtlibError(f"need 0 <= sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    n = K + 1 if sigma_min == 0 else K
    frac = np.arange(n) / max(n - 1, 1)
    a_hi, a_lo = math.atan(sigma_max / c), math.atan(sigma_min / c)
    s = c * np.tan(frac * a_lo + (1 - frac) * a_hi)
    s[0] = sigma_max
    if sigma_min == 0:
        s[-1] = 0.0
        return validate_sigmas(torch.from_numpy(s), what="ays-gauss grid")
    s[-1] = sigma_min
    return _with_zero(s, "ays-gauss grid")


# ----------------------------------------------------------------------------------------------
# DMN / StepOptim: model-free


def dmn_objective(lam: torch.Tensor, order: int = 3, trunc: int | None = None) -> torch.Tensor:
    """StepOptim's bound on a multistep exponential integrator's error, for λ = −log σ increasing
    [N+1] (differentiable). Step s runs λ_s → λ_{s+1} with order 1 at s = 0 and N−1, 2 at s = 1
    and N−2, ``order`` otherwise (capped); the data-prediction error at node n is modelled as
    ε_n = σ_n. Steps of order 1 add |(e^{λ_{s+1}} − e^{λ_s}) ε_s|; higher-order steps s ≥ trunc add
    their Lagrange weights J·ε into per-node sums c_n (the loss adds Σ|c_n|), steps s < trunc add
    √Σ(J·ε)². trunc defaults to 3 when N ≤ 7, else 0 (LD3's copy of the code)."""
    N = lam.numel() - 1
    trunc = (3 if N <= 7 else 0) if trunc is None else trunc
    E, eps, h = torch.exp(lam), torch.exp(-lam), lam[1:] - lam[:-1]
    loss = lam.new_zeros(())
    c = [lam.new_zeros(()) for _ in range(N + 1)]
    for s in range(N):
        p = min(1 if s in (0, N - 1) else 2 if s in (1, N - 2) else 3, order)
        hs = h[s]
        H0 = torch.expm1(hs)
        H1 = hs * torch.exp(hs) - H0
        H2 = hs ** 2 * torch.exp(hs) - 2 * H1
        if p == 1:
            loss = loss + ((E[s + 1] - E[s]) * eps[s]).abs()
            continue
        if p == 2:
            hn = h[s - 1]
            nodes = [s - 1, s]
            J = [-E[s] * H1 / hn, E[s] * (H1 + hn * H0) / hn]
        else:
            h0, h1 = h[s - 2], h[s - 1]
            nodes = [s - 2, s - 1, s]
            J = [E[s] * (H2 + h1 * H1) / (h0 * (h0 + h1)),
                 -E[s] * (H2 + (h0 + h1) * H1) / (h0 * h1),
                 E[s] * (H2 + (2 * h1 + h0) * H1 + h1 * (h0 + h1) * H0) / (h1 * (h0 + h1))]
        terms = [j * eps[n] for j, n in zip(J, nodes)]
        if s >= trunc:
            for n, t in zip(nodes, terms):
                c[n] = c[n] + t
        else:
            loss = loss + torch.sqrt(sum(t ** 2 for t in terms))
    return loss + sum(ci.abs() for ci in c)


def dmn_sigmas(K: int, sigma_min: float, sigma_max: float, order: int = 3) -> torch.Tensor:
    """DMN (StepOptim): minimise ``dmn_objective`` over the K points from σ_max to σ_end (ends
    fixed, λ increasing), from the logSNR grid, by L-BFGS on softmax-parametrised increments. No
    denoiser evaluation. With order 1 the objective is Σ(σ_s/σ_{s+1} − 1), minimised exactly by
    the geometric (logSNR) grid."""
    from scipy.optimize import minimize
    K = check_K(K)
    if order not in (1, 2, 3):
        raise ArtlibError(f"dmn: order must be 1, 2 or 3, got {order}")
    lo, hi = _check_range(sigma_min, sigma_max)
    if K <= 2:
        return logsnr_sigmas(K, sigma_min, sigma_max)
    l0, l1 = -math.log(hi), -math.log(lo)

    def lam_of(w: torch.Tensor) -> torch.Tensor:
        inc = torch.softmax(w, 0) * (l1 - l0)
        return torch.cat([w.new_full((1,), l0), l0 + torch.cumsum(inc, 0)])

    def f(wnp: np.ndarray):
        w = torch.tensor(wnp, dtype=torch.float64, requires_grad=True)
        val = dmn_objective(lam_of(w), order)
        (g,) = torch.autograd.grad(val, w)
        return float(val.detach()), g.numpy()

    res = minimize(f, np.zeros(K - 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-12})
    lam = lam_of(torch.from_numpy(res.x)).detach().numpy()
    s = np.exp(-lam)
    s[0], s[-1] = hi, lo
    return _with_zero(s, "dmn grid")


# ----------------------------------------------------------------------------------------------
# GITS: dynamic programme on a teacher grid


def gits_path(cost: np.ndarray, jumps: int, gamma: float) -> list[int]:
    """Indices 0 = p_0 < … < p_jumps = M−1 minimising Σ_m γ^m C[p_m, p_{m+1}] (C [M, M], only
    i < j used), by dynamic programming from the end; ties go to the smaller index."""
    M = cost.shape[0]
    if not 1 <= jumps <= M - 1:
        raise ArtlibError(f"gits: {jumps} jumps do not fit a teacher grid of {M} points")
    INF = math.inf
    # V[k][i]: the best discounted cost of reaching M−1 from i in k jumps, the first weighted γ^0
    V = np.full((jumps + 1, M), INF)
    nxt = np.full((jumps + 1, M), -1, dtype=int)
    V[0, M - 1] = 0.0
    for k in range(1, jumps + 1):
        for i in range(M - 1):
            best, arg = INF, -1
            for j in range(i + 1, M):
                if V[k - 1, j] == INF:
                    continue
                v = cost[i, j] + gamma * V[k - 1, j]
                if v < best:
                    best, arg = v, j
            V[k, i], nxt[k, i] = best, arg
    path, i = [0], 0
    for k in range(jumps, 0, -1):
        i = int(nxt[k, i])
        path.append(i)
    return path


def teacher_grid(points: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """GITS's teacher grid: ``points`` EDM ρ = 7 values from σ_max to σ_min (σ_min may be 0)."""
    if sigma_min == 0:
        return edm_sigmas(points - 1, 0.0, sigma_max, 7.0)
    return edm_sigmas(points, sigma_min, sigma_max, 7.0)[:-1]


def gits_sigmas(den, K: int, *, teacher_points: int = 61, batch: int = 256, metric: str = "dev",
                gamma: float = 1.15, substeps: int = 4, seed: int = 0, progress: bool = False) -> tuple[torch.Tensor, Cost]:
    """GITS: a teacher (Heun with ``substeps`` steps per interval) over ``teacher_points`` EDM ρ = 7
    points from σ_max to σ_min; the cost of one Euler jump from teacher state i to j, C_ij, is
    the mean over ``batch`` trajectories of ``dev`` (the jump's distance from the straight line
    through the trajectory's ends, minus the teacher's) or ``l2`` (‖x̂_ij − X_j‖); the grid is
    the path of ``gits_path`` with discount γ. With σ_min > 0 the path has K − 1 jumps and 0 is
    appended; with σ_min = 0 it has K jumps. Defaults: the GITS repository's CIFAR-10 ones. The
    teacher and its cost matrix do not depend on K or γ and are computed once per model and
    settings; the returned cost is theirs."""
    K = check_K(K)
    if metric not in ("dev", "l2"):
        raise ArtlibError(f"gits: metric must be dev or l2, got {metric!r}")
    if not (isinstance(teacher_points, int) and 3 <= teacher_points <= 1000):
        raise ArtlibError(f"gits: teacher_points must be an integer from 3 to 1000, got {teacher_points}")
    jumps = K if den.sigma_min == 0 else K - 1
    if jumps > teacher_points - 1:
        raise ArtlibError(f"gits: K={K} needs more than the teacher's {teacher_points} points")
    key = ("gits", teacher_points, batch, metric, substeps, seed)
    cache = _TABLES.setdefault(den, {})
    if key not in cache:
        cache[key] = _gits_table(den, teacher_points, batch, metric, substeps, seed, progress)
    tau, cost, spent = cache[key]
    if jumps == 0:
        return validate_sigmas(torch.tensor([den.sigma_max, 0.0], dtype=torch.float64)), spent
    s = tau[gits_path(cost, jumps, gamma)].clone()
    out = validate_sigmas(s if den.sigma_min == 0 else torch.cat([s, s.new_zeros(1)]), what="gits grid")
    return out, spent


#: Per-model tables that do not depend on K (GITS's teacher costs, AYS's 40-interval grid).
_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def line_deviation(y: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance of each point y [..., B, d] from the straight line through a and b [B, d] (one
    line per trajectory): GITS's "dev" metric [..., B]."""
    line = b - a
    unit = line / line.norm(dim=-1, keepdim=True).clamp(min=1e-300)
    r = y - a
    return (r - (r * unit).sum(-1, keepdim=True) * unit).norm(dim=-1)


def _gits_table(den, teacher_points, batch, metric, substeps, seed, progress):
    import time
    t0 = time.perf_counter()
    tau = teacher_grid(teacher_points, den.sigma_min, den.sigma_max)
    M = tau.numel()
    gen = torch.Generator().manual_seed(seed)
    device = getattr(den, "device", "cpu")
    x = initial_noise(den, batch, gen, device=device)
    labels = random_labels(den, batch, gen, device)
    states, slopes, evals = [x], [], 0
    with torch.no_grad():
        for i in tqdm(range(M - 1), disable=not progress, desc="GITS teacher", leave=False):
            slopes.append(-drift(den, states[-1], float(tau[i]), labels))    # dx/dσ at the teacher state
            fine = np.linspace(float(tau[i]), float(tau[i + 1]), substeps + 1).tolist()
            states.append(advance(den, states[-1], fine, solver="heun", class_labels=labels))
            evals += batch * (2 * substeps - (1 if float(tau[i + 1]) == 0 else 0)) + batch
    X = torch.stack(states).flatten(2).cpu()                           # [M, B, d]
    S = torch.stack(slopes).flatten(2).cpu()                           # [M−1, B, d]
    def dev(y: torch.Tensor) -> torch.Tensor:                         # [.., B, d] → [..] mean over B
        return line_deviation(y, X[0], X[-1]).mean(-1)

    dev_X = dev(X)
    cost = np.full((M, M), np.inf)
    for i in range(M - 1):
        jump = X[i][None] + (tau[i + 1:] - tau[i]).view(-1, 1, 1) * S[i][None]   # [M−1−i, B, d]
        c = dev(jump) - dev_X[i + 1:] if metric == "dev" else (jump - X[i + 1:]).norm(dim=-1).mean(1)
        cost[i, i + 1:] = c.numpy()
    return tau, cost, Cost(evals, time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------------
# Align Your Steps: the KLUB coordinate search


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
        self.x0 = sample(den, z, edm_sigmas(ref_steps, den.sigma_min, den.sigma_max, 7.0), solver="heun",
                         class_labels=self.labels)
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
    lo, hi = _check_range(den.sigma_min, den.sigma_max)
    key = ("ays", n, sweeps, seed)
    cache = _TABLES.setdefault(den, {})
    if key not in cache:
        cache[key] = _ays_table(den, n, sweeps, seed, progress)
    s, spent = cache[key]
    if K == 1:
        return validate_sigmas(torch.tensor([hi, 0.0], dtype=torch.float64)), spent
    pts = np.exp(np.interp(np.linspace(0, 1, K), np.linspace(0, 1, len(s)), np.log(s)))
    pts[0], pts[-1] = hi, lo
    return _with_zero(pts, "ays grid"), spent


def _ays_table(den, n, sweeps, seed, progress):
    import time
    t0 = time.perf_counter()
    lo, hi = _check_range(den.sigma_min, den.sigma_max)
    klub = Klub(den, n=n, seed=seed)
    s = edm_sigmas(11, lo, hi, 7.0)[:-1].numpy().copy()                 # 11 points σ_max … σ_end
    s = ays_search(klub, s, list(range(1, 10)), sweeps=sweeps, progress=progress)
    for _ in range(2):
        fine = np.empty(2 * len(s) - 1)
        fine[0::2] = s
        fine[1::2] = np.sqrt(s[:-1] * s[1:])
        s = ays_search(klub, fine, list(range(1, len(fine) - 1, 2)), sweeps=1, progress=progress)
    return s, Cost(klub.evaluations, time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------------
# LD3-style direct optimisation


def ld3_sigmas(den, K: int, solver: str = "euler", *, n: int = 64, iterations: int = 200, lr: float = 0.05,
               radius: float = 0.0, ref_steps: int = 256, seed: int = 0,
               progress: bool = False) -> tuple[torch.Tensor, Cost]:
    """Direct optimisation of the grid against a teacher: minimise the mean squared distance between
    ``solver``'s endpoint on the grid and a fine Heun solve (``ref_steps`` ρ = 7 steps) from the
    same ``n`` noises, by back-propagation through the solve and Adam on the K − 1 interior points
    (log σ_k = log σ_max − Σ softplus(w), so they stay ordered; the last step runs to 0). Starts
    from EDM's ρ = 7 grid. ``radius`` > 0 gives LD3's soft loss: each sample's starting noise may
    move within a ball of that radius (relative to ‖z‖), so the grid is not asked to fix what a
    nearby start would. With ``radius`` = 0 this is plain L2: on a fixed teacher the lower bound
    on the endpoint error of any time-only grid."""
    import time
    K = check_K(K)
    check_solver(solver)
    if not 0 <= radius <= 1:
        raise ArtlibError(f"ld3: radius must be in [0, 1], got {radius}")
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    dev = getattr(den, "device", "cpu")
    z = initial_noise(den, n, gen, device=dev)
    labels = random_labels(den, n, gen, dev)
    target = sample(den, z, edm_sigmas(ref_steps, den.sigma_min, den.sigma_max, 7.0), solver="heun",
                    class_labels=labels)
    evals = n * nfe(ref_steps, "heun")                                   # the teacher's Heun solve
    init = edm_sigmas(K, den.sigma_min, den.sigma_max, 7.0)
    if K == 1:
        return init, Cost(evals, time.perf_counter() - t0)
    hi = float(den.sigma_max)
    gaps = -torch.diff(torch.log(init[:-1]))                           # K − 1 log-gaps, all > 0
    w = torch.log(torch.expm1(gaps)).clone().requires_grad_(True)      # softplus⁻¹
    dz = torch.zeros_like(z, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    opt_z = torch.optim.SGD([dz], lr=1.0) if radius > 0 else None
    per_nfe = n * nfe(K, solver)
    best, best_w = math.inf, w.detach().clone()

    def grid(wv: torch.Tensor) -> torch.Tensor:
        inner = hi * torch.exp(-torch.cumsum(torch.nn.functional.softplus(wv), 0))
        return torch.cat([wv.new_full((1,), hi), inner, wv.new_zeros(1)])

    for _ in tqdm(range(iterations), disable=not progress, desc="LD3", leave=False):
        s = grid(w)
        x = _solve_differentiable(den, z + dz, s, solver, labels)
        loss = (x - target).flatten(1).pow(2).mean(1).mean()
        opt.zero_grad()
        if opt_z is not None:
            opt_z.zero_grad()
        loss.backward()
        evals += 2 * per_nfe
        if float(loss.detach()) < best:
            best, best_w = float(loss.detach()), w.detach().clone()
        opt.step()
        if opt_z is not None:
            opt_z.step()
            with torch.no_grad():                                      # project into the ball
                r = radius * z.flatten(1).norm(dim=1)
                norm = dz.flatten(1).norm(dim=1).clamp(min=1e-300)
                dz.mul_(torch.clamp(r / norm, max=1.0).view(-1, *[1] * (z.dim() - 1)))
    with torch.no_grad():
        out = grid(best_w)
    return validate_sigmas(out, what="ld3 grid"), Cost(evals, time.perf_counter() - t0)


def _solve_differentiable(den, x, s: torch.Tensor, solver: str, labels):
    """Euler or Heun over a grid that carries gradients (the samplers take plain floats)."""
    def f(x, sig):
        sv = sig.expand(x.shape[0]).to(x.dtype)
        return (den(x, sv, labels).to(torch.float64) - x) / sig
    x = x.to(torch.float64)
    for k in range(s.numel() - 1):
        d = f(x, s[k])
        x_next = x + (s[k] - s[k + 1]) * d
        if solver == "heun" and k < s.numel() - 2:
            x_next = x + (s[k] - s[k + 1]) * 0.5 * (d + f(x_next, s[k + 1]))
        x = x_next
    return x
