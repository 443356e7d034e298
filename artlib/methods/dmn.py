"""DMN / StepOptim (Xue et al. 2024, "Accelerating Diffusion Sampling with Optimized Time Steps"):
a model-free bound on a multistep exponential integrator's error, minimised over the grid. No
denoiser evaluation."""
from __future__ import annotations

import math

import numpy as np
import torch

from ..core.errors import ArtlibError
from ..core.options import check_K
from .grids import check_range, logsnr_sigmas, with_zero


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
    lo, hi = check_range(sigma_min, sigma_max)
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
    return with_zero(s, "dmn grid")
