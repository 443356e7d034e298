"""LD3-style direct optimisation (Tong et al. 2025, "Learning to Discretize Denoising Diffusion
ODEs"): the sampler's endpoint error against a teacher, minimised over the grid by
back-propagation through the solve."""
from __future__ import annotations

import math
import time

import torch
from tqdm import tqdm

from ..core.constants import RHO
from ..core.errors import ArtlibError
from ..core.options import check_K, check_solver, nfe
from ..core.samplers import advance, initial_noise, random_labels, reference_solve
from ..core.schedules import edm_sigmas, validate_sigmas
from .grids import Cost


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
    K = check_K(K)
    check_solver(solver)
    if not 0 <= radius <= 1:
        raise ArtlibError(f"ld3: radius must be in [0, 1], got {radius}")
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    dev = getattr(den, "device", "cpu")
    z = initial_noise(den, n, gen, device=dev)
    labels = random_labels(den, n, gen, dev)
    target = reference_solve(den, z, steps=ref_steps, class_labels=labels)
    evals = n * nfe(ref_steps, "heun")                                   # the teacher's Heun solve
    init = edm_sigmas(K, den.sigma_min, den.sigma_max, RHO)
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
        x = advance(den, z + dz, s, solver=solver, class_labels=labels)
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
