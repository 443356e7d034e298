"""GITS (Chen et al. 2024, "On the Trajectory Regularity of ODE-based Diffusion Sampling", §4): a
dynamic programme over a teacher grid, whose costs are one Euler jump's deviation from the teacher."""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm import tqdm

from ..core.cache import per_model
from ..core.constants import RHO
from ..core.errors import ArtlibError
from ..core.options import check_K
from ..core.samplers import advance, drift, initial_noise, random_labels
from ..core.schedules import edm_sigmas, validate_sigmas
from .grids import Cost


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
        return edm_sigmas(points - 1, 0.0, sigma_max, RHO)
    return edm_sigmas(points, sigma_min, sigma_max, RHO)[:-1]


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
    tau, cost, spent = per_model(den, ("gits", teacher_points, batch, metric, substeps, seed),
                                 lambda: _gits_table(den, teacher_points, batch, metric, substeps, seed, progress))
    if jumps == 0:
        return validate_sigmas(torch.tensor([den.sigma_max, 0.0], dtype=torch.float64)), spent
    s = tau[gits_path(cost, jumps, gamma)].clone()
    out = validate_sigmas(s if den.sigma_min == 0 else torch.cat([s, s.new_zeros(1)]), what="gits grid")
    return out, spent


def line_deviation(y: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance of each point y [..., B, d] from the straight line through a and b [B, d] (one
    line per trajectory): GITS's "dev" metric [..., B]."""
    line = b - a
    unit = line / line.norm(dim=-1, keepdim=True).clamp(min=1e-300)
    r = y - a
    return (r - (r * unit).sum(-1, keepdim=True) * unit).norm(dim=-1)


def _gits_table(den, teacher_points, batch, metric, substeps, seed, progress):
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
