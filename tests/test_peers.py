"""Peer schedule methods against their published reference values and closed forms."""
import itertools
import math

import numpy as np
import pytest
import torch

from artlib import peers as P
from artlib.denoisers import GaussianDenoiser
from artlib.errors import ArtlibError
from artlib.experiments import endpoint_rmse, reference_solve
from artlib.schedules import edm_sigmas

# N = 10 grids on EDM's range (80 → 0.002): DPM-Solver's definitions mapped to σ through EDM's VP
# schedule, as the GITS repository's solver_utils does; values to 4 significant digits
TIME_UNIFORM = [80, 34.80, 16.51, 8.514, 4.746, 2.824, 1.754, 1.099, 0.6502, 0.3047, 0.002]
TIME_QUADRATIC = [80, 18.43, 6.292, 2.864, 1.560, 0.9263, 0.5560, 0.3138, 0.1503, 0.0481, 0.002]
LOGSNR = [80, 27.73, 9.609, 3.330, 1.154, 0.400, 0.1386, 0.0480, 0.0167, 0.0058, 0.002]


def _close(sigmas, ref, rel=6e-4):
    s = sigmas.numpy()
    assert s[-1] == 0.0 and len(s) == len(ref) + 1      # N + 1 points to σ_min, then the step to 0
    np.testing.assert_allclose(s[:-1], ref, rtol=rel, atol=5e-5)   # (the references are rounded)


def test_closed_form_grids_match_the_published_n10_values():
    _close(P.logsnr_sigmas(11, 0.002, 80.0), LOGSNR)
    _close(P.vp_time_sigmas(11, 0.002, 80.0, rho=1.0), TIME_UNIFORM)
    _close(P.vp_time_sigmas(11, 0.002, 80.0, rho=2.0), TIME_QUADRATIC)


def test_models_with_sigma_min_zero_end_peer_grids_at_the_floor():
    s = P.logsnr_sigmas(4, 0.0, 3.0)
    assert s[-2] == P.SIGMA_END_FLOOR and s[-1] == 0.0 and s[0] == 3.0


def test_ays_gauss_is_the_arctan_ramp_and_minimises_the_output_kl():
    # AYS Theorem 3.1, c = 1, N = 5: [80, 2.980, 1.357, 0.7208, 0.3239, 0.002]
    _close(P.ays_gauss_sigmas(6, 0.002, 80.0, c=1.0), [80, 2.980, 1.357, 0.7208, 0.3239, 0.002], rel=3e-4)
    # For N(0, c²) data each Euler step multiplies x by (c² + σ_k σ_{k+1})/(c² + σ_k²), so the output
    # is N(0, s²) exactly; the arctan grid's KL to N(0, c²) is below every nearby grid's.
    c, smax = 0.5, 80.0

    def kl(s):
        std = math.sqrt(c * c + smax * smax)
        for a, b in zip(s[:-1].tolist(), s[1:].tolist()):
            std *= (c * c + a * b) / (c * c + a * a)
        return math.log(c / std) + std ** 2 / (2 * c * c) - 0.5

    g = P.ays_gauss_sigmas(8, 0.0, smax, c)
    assert g[-1] == 0 and g.numel() == 9
    rng = np.random.default_rng(0)
    for _ in range(40):
        s = g.clone()
        j = int(rng.integers(1, 8))
        s[j] *= math.exp(rng.normal() * 0.05)
        if torch.all(s[1:] < s[:-1]):
            assert kl(s) > kl(g)
    assert kl(edm_sigmas(8, 0.0, smax, 7.0)) > 5 * kl(g)


def test_dmn_reproduces_the_reference_run_and_is_geometric_at_order_1():
    # an independent run of StepOptim's objective (EDM, ε = σ), N = 5
    _close(P.dmn_sigmas(6, 0.002, 80.0), [80, 3.063, 1.114, 0.3737, 0.0723, 0.002], rel=2e-3)
    # all steps of order 1: Σ(σ_s/σ_{s+1} − 1) is minimised by the geometric grid
    np.testing.assert_allclose(P.dmn_sigmas(11, 0.002, 80.0, order=1).numpy(), P.logsnr_sigmas(11, 0.002, 80.0).numpy(),
                               rtol=1e-6)
    # N = 10: the reference run (scipy trust-constr) stopped at a grid whose objective is higher
    # than the one L-BFGS finds here; ours must be at least as low
    ref = torch.tensor([80, 26.71, 5.937, 2.301, 1.025, 0.3439, 0.1262, 0.0485, 0.0227, 0.0094, 0.002], dtype=torch.float64)
    ours = P.dmn_sigmas(11, 0.002, 80.0)[:-1]
    assert P.dmn_objective(-torch.log(ours)) <= P.dmn_objective(-torch.log(ref))


def test_dmn_order1_objective_by_hand():
    # order-1 steps add |(e^{λ_{s+1}} − e^{λ_s}) σ_s| = e^{h_s} − 1 with σ = e^{−λ}
    lam = torch.tensor([0.0, 0.5, 1.5, 1.7], dtype=torch.float64)
    expect = sum(math.expm1(h) for h in (0.5, 1.0, 0.2))
    assert float(P.dmn_objective(lam, order=1)) == pytest.approx(expect, rel=1e-12)


def test_gits_teacher_grid_holds_the_published_cifar10_schedule():
    # GITS README: the 6-step CIFAR-10 grid is teacher points {0, 19, 27, 33, 39, 45, 60} of 61
    tau = P.teacher_grid(61, 0.002, 80.0)
    np.testing.assert_allclose(tau[[0, 19, 27, 33, 39, 45, 60]].numpy(),
                               [80, 10.9836, 3.8811, 1.584, 0.5666, 0.1698, 0.002], rtol=1e-4, atol=5e-5)


def test_gits_dynamic_programme_finds_the_best_discounted_path():
    rng = np.random.default_rng(1)
    C = rng.normal(size=(9, 9))
    for jumps, gamma in ((1, 1.15), (3, 1.15), (4, 0.7), (8, 1.0)):
        best = min(itertools.combinations(range(1, 8), jumps - 1),
                   key=lambda mid: sum(gamma ** m * C[a, b] for m, (a, b) in enumerate(zip((0,) + mid, mid + (8,)))))
        assert P.gits_path(C, jumps, gamma) == [0, *best, 8]
    with pytest.raises(ArtlibError, match="jumps"):
        P.gits_path(C, 9)


def test_gits_on_a_mixture_picks_teacher_points_and_beats_uniform(gmm):
    s, cost = P.gits_sigmas(gmm, 5, teacher_points=31, batch=64)
    tau = P.teacher_grid(31, gmm.sigma_min, gmm.sigma_max)
    assert s.numel() == 6 and s[-1] == 0 and all(bool(torch.isclose(v, tau).any()) for v in s[:-1])
    assert cost.evaluations == 64 * 30 * (2 * 4 + 1)
    ref = reference_solve(gmm, range(64), ref_steps=256)
    from artlib.schedules import uniform_sigmas
    assert endpoint_rmse(gmm, s, ref, "euler")[0] < endpoint_rmse(gmm, uniform_sigmas(5, 0.002, 10.0), ref, "euler")[0]


def test_klub_of_a_gaussian_matches_its_closed_form():
    # For N(0, c² I) data, E‖D(x_t; t) − D(x_b; b)‖² = c⁴ d (1/(t² + c²) − 1/(b² + c²)), so
    # KLUB(a, b) = c⁴ d (F(b) − F(a)), F(t) = −1/(2c²t²) − log(t²/(t² + c²))/(2c⁴) + 1/(2t²(b² + c²))
    c, d = 0.5, 32
    den = GaussianDenoiser(c=c, dim=d, sigma_min=0.002, sigma_max=80.0)
    klub = P.Klub(den, n=2048, nodes=12, ref_steps=128)
    for a, b in ((0.1, 0.5), (0.5, 3.0), (3.0, 20.0)):
        def F(t):
            return -1 / (2 * c * c * t * t) - math.log(t * t / (t * t + c * c)) / (2 * c ** 4) + 1 / (2 * t * t * (b * b + c * c))
        assert klub(a, b) == pytest.approx(c ** 4 * d * (F(b) - F(a)), rel=0.03)


def test_ays_search_lowers_the_klub_and_subdivides(gmm):
    s, cost = P.ays_sigmas(gmm, 6, n=64, sweeps=2)
    assert s.numel() == 7 and s[-1] == 0 and s[-2] == gmm.sigma_min and s[0] == gmm.sigma_max
    assert cost.evaluations > 0
    klub = P.Klub(gmm, n=64)
    start = edm_sigmas(11, 0.002, 10.0, 7.0)[:-1].numpy()
    found = P.ays_search(klub, start.copy(), list(range(1, 10)), sweeps=2)

    def total(p):
        return sum(klub(lo, hi) for hi, lo in zip(p[:-1], p[1:]))
    assert total(found) < 0.95 * total(start)
    assert found[0] == start[0] and found[-1] == start[-1] and np.all(np.diff(found) < 0)


def test_ld3_lowers_the_endpoint_error_below_its_edm_start(gmm):
    ref = reference_solve(gmm, range(64), ref_steps=256)
    s, cost = P.ld3_sigmas(gmm, 4, "euler", n=64, iterations=60, ref_steps=256)
    assert s.numel() == 5 and s[-1] == 0 and s[0] == gmm.sigma_max and torch.all(s[1:] < s[:-1])
    edm = edm_sigmas(4, gmm.sigma_min, gmm.sigma_max, 7.0)
    # seeds 0..63 differ from ld3's own training noises: a held-out check
    assert endpoint_rmse(gmm, s, ref, "euler")[0] < 0.8 * endpoint_rmse(gmm, edm, ref, "euler")[0]
    assert cost.evaluations == 2 * 64 * 255 + 60 * 2 * 64 * 4


def test_ld3_heun_differentiable_solve_matches_the_sampler(gmm):
    from artlib.samplers import sample
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 10
    s = edm_sigmas(5, 0.002, 10.0, 7.0)
    for solver in ("euler", "heun"):
        assert torch.allclose(P._solve_differentiable(gmm, x, s, solver, None), sample(gmm, x, s, solver=solver),
                              rtol=1e-12, atol=1e-12)


def test_line_deviation_by_hand():
    # two trajectories in 3-D: the first's line is the x axis, the second's the y axis
    a = torch.zeros(2, 3, dtype=torch.float64)
    b = torch.tensor([[2.0, 0, 0], [0, 5.0, 0]], dtype=torch.float64)
    y = torch.tensor([[[1.0, 3.0, 4.0], [7.0, 1.0, 0.0]],
                      [[5.0, 0.0, 0.0], [0.0, -2.0, 0.0]]], dtype=torch.float64)    # [2 points, B=2, d=3]
    assert torch.allclose(P.line_deviation(y, a, b), torch.tensor([[5.0, 7.0], [0.0, 0.0]], dtype=torch.float64))


def test_teacher_grid_reaches_zero_on_models_that_do():
    tau = P.teacher_grid(5, 0.0, 3.0)
    assert tau.numel() == 5 and tau[0] == 3.0 and tau[-1] == 0.0


def test_ays_table_has_40_intervals(gmm):
    table, _ = P._ays_table(gmm, 8, 1, 0, False)
    assert table.size == 41 and table[0] == gmm.sigma_max and table[-1] == pytest.approx(gmm.sigma_min, rel=1e-12)


def test_ld3_soft_ball_moves_the_grid(gmm):
    plain, _ = P.ld3_sigmas(gmm, 3, "euler", n=16, iterations=20, ref_steps=64)
    soft, _ = P.ld3_sigmas(gmm, 3, "euler", n=16, iterations=20, ref_steps=64, radius=0.2)
    assert not torch.allclose(plain, soft)
