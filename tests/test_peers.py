"""Peer schedule methods against their published reference values and closed forms."""
import itertools
import math

import numpy as np
import pytest
import torch

from artlib.core.cache import per_model
from artlib.methods import ays, dmn, gits, grids, ld3
from artlib.models.gaussian import GaussianDenoiser
from artlib.core.errors import ArtlibError
from artlib.eval.metrics import endpoint_rmse, reference
from artlib.core.schedules import edm_sigmas

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
    _close(grids.logsnr_sigmas(11, 0.002, 80.0), LOGSNR)
    _close(grids.vp_time_sigmas(11, 0.002, 80.0, rho=1.0), TIME_UNIFORM)
    _close(grids.vp_time_sigmas(11, 0.002, 80.0, rho=2.0), TIME_QUADRATIC)


def test_models_with_sigma_min_zero_end_peer_grids_at_the_floor():
    s = grids.logsnr_sigmas(4, 0.0, 3.0)
    assert s[-2] == grids.SIGMA_END_FLOOR and s[-1] == 0.0 and s[0] == 3.0


def test_ays_gauss_is_the_arctan_ramp_and_minimises_the_output_kl():
    # AYS Theorem 3.1, c = 1, N = 5: [80, 2.980, 1.357, 0.7208, 0.3239, 0.002]
    _close(grids.ays_gauss_sigmas(6, 0.002, 80.0, c=1.0), [80, 2.980, 1.357, 0.7208, 0.3239, 0.002], rel=3e-4)
    # For N(0, c²) data each Euler step multiplies x by (c² + σ_k σ_{k+1})/(c² + σ_k²), so the output
    # is N(0, s²) exactly; the arctan grid's KL to N(0, c²) is below every nearby grid's.
    c, smax = 0.5, 80.0

    def kl(s):
        std = math.sqrt(c * c + smax * smax)
        for a, b in zip(s[:-1].tolist(), s[1:].tolist()):
            std *= (c * c + a * b) / (c * c + a * a)
        return math.log(c / std) + std ** 2 / (2 * c * c) - 0.5

    g = grids.ays_gauss_sigmas(8, 0.0, smax, c)
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
    _close(dmn.dmn_sigmas(6, 0.002, 80.0), [80, 3.063, 1.114, 0.3737, 0.0723, 0.002], rel=2e-3)
    # all steps of order 1: Σ(σ_s/σ_{s+1} − 1) is minimised by the geometric grid
    np.testing.assert_allclose(dmn.dmn_sigmas(11, 0.002, 80.0, order=1).numpy(), grids.logsnr_sigmas(11, 0.002, 80.0).numpy(),
                               rtol=1e-6)
    # N = 10: the reference run (scipy trust-constr) stopped at a grid whose objective is higher
    # than the one L-BFGS finds here; ours must be at least as low
    ref = torch.tensor([80, 26.71, 5.937, 2.301, 1.025, 0.3439, 0.1262, 0.0485, 0.0227, 0.0094, 0.002], dtype=torch.float64)
    ours = dmn.dmn_sigmas(11, 0.002, 80.0)[:-1]
    assert dmn.dmn_objective(-torch.log(ours)) <= dmn.dmn_objective(-torch.log(ref))


def test_dmn_order1_objective_by_hand():
    # order-1 steps add |(e^{λ_{s+1}} − e^{λ_s}) σ_s| = e^{h_s} − 1 with σ = e^{−λ}
    lam = torch.tensor([0.0, 0.5, 1.5, 1.7], dtype=torch.float64)
    expect = sum(math.expm1(h) for h in (0.5, 1.0, 0.2))
    assert float(dmn.dmn_objective(lam, order=1)) == pytest.approx(expect, rel=1e-12)


def test_gits_teacher_grid_holds_the_published_cifar10_schedule():
    # GITS README: the 6-step CIFAR-10 grid is teacher points {0, 19, 27, 33, 39, 45, 60} of 61
    tau = gits.teacher_grid(61, 0.002, 80.0)
    np.testing.assert_allclose(tau[[0, 19, 27, 33, 39, 45, 60]].numpy(),
                               [80, 10.9836, 3.8811, 1.584, 0.5666, 0.1698, 0.002], rtol=1e-4, atol=5e-5)


def test_gits_dynamic_programme_finds_the_best_discounted_path():
    # by enumeration, on tables where the discount decides the path (jump m weighs γ^m, the first 1)
    for seed in range(20):
        C = np.random.default_rng(seed).normal(size=(7, 7))
        for jumps in range(1, 7):
            for gamma in (0.5, 1.15, 2.0):
                best = min(itertools.combinations(range(1, 6), jumps - 1),
                           key=lambda mid: sum(gamma ** m * C[a, b] for m, (a, b) in enumerate(zip((0,) + mid, mid + (6,)))))
                assert gits.gits_path(C, jumps, gamma) == [0, *best, 6], (seed, jumps, gamma)
    with pytest.raises(ArtlibError, match="jumps"):
        gits.gits_path(C, 7, 1.15)


def test_gits_dynamic_programme_breaks_ties_towards_the_smaller_index():
    # every path costs the same: the earliest points are taken, then the jump to the end
    assert gits.gits_path(np.ones((6, 6)), 3, 1.0) == [0, 1, 2, 5]
    assert gits.gits_path(np.zeros((6, 6)), 2, 1.15) == [0, 1, 5]


def test_gits_on_a_mixture_picks_teacher_points_and_beats_uniform(gmm):
    s, cost = gits.gits_sigmas(gmm, 5, teacher_points=31, batch=64)
    tau = gits.teacher_grid(31, gmm.sigma_min, gmm.sigma_max)
    assert s.numel() == 6 and s[-1] == 0 and all(bool(torch.isclose(v, tau).any()) for v in s[:-1])
    assert cost.evaluations == 64 * 30 * (2 * 4 + 1)
    ref = reference(gmm, range(64), ref_steps=256)
    from artlib.core.schedules import uniform_sigmas
    assert endpoint_rmse(gmm, s, ref, "euler")[0] < endpoint_rmse(gmm, uniform_sigmas(5, 0.002, 10.0), ref, "euler")[0]


def test_klub_of_a_gaussian_matches_its_closed_form():
    # For N(0, c² I) data, E‖D(x_t; t) − D(x_b; b)‖² = c⁴ d (1/(t² + c²) − 1/(b² + c²)), so
    # KLUB(a, b) = c⁴ d (F(b) − F(a)), F(t) = −1/(2c²t²) − log(t²/(t² + c²))/(2c⁴) + 1/(2t²(b² + c²))
    c, d = 0.5, 32
    den = GaussianDenoiser(c=c, dim=d, sigma_min=0.002, sigma_max=80.0)
    klub = ays.Klub(den, n=2048, nodes=12, ref_steps=128)
    for a, b in ((0.1, 0.5), (0.5, 3.0), (3.0, 20.0)):
        def F(t):
            return -1 / (2 * c * c * t * t) - math.log(t * t / (t * t + c * c)) / (2 * c ** 4) + 1 / (2 * t * t * (b * b + c * c))
        assert klub(a, b) == pytest.approx(c ** 4 * d * (F(b) - F(a)), rel=0.03)


def test_ays_search_lowers_the_klub_and_subdivides(gmm):
    s, cost = ays.ays_sigmas(gmm, 6, n=64, sweeps=2)
    assert s.numel() == 7 and s[-1] == 0 and s[-2] == gmm.sigma_min and s[0] == gmm.sigma_max
    assert cost.evaluations > 0
    klub = ays.Klub(gmm, n=64)
    start = edm_sigmas(11, 0.002, 10.0, 7.0)[:-1].numpy()
    found = ays.ays_search(klub, start.copy(), list(range(1, 10)), sweeps=2)

    def total(p):
        return sum(klub(lo, hi) for hi, lo in zip(p[:-1], p[1:]))
    assert total(found) < 0.95 * total(start)
    assert found[0] == start[0] and found[-1] == start[-1] and np.all(np.diff(found) < 0)


def test_ld3_lowers_the_endpoint_error_below_its_edm_start(gmm):
    ref = reference(gmm, range(64), ref_steps=256)
    s, cost = ld3.ld3_sigmas(gmm, 4, "euler", n=64, iterations=60, ref_steps=256)
    assert s.numel() == 5 and s[-1] == 0 and s[0] == gmm.sigma_max and torch.all(s[1:] < s[:-1])
    edm = edm_sigmas(4, gmm.sigma_min, gmm.sigma_max, 7.0)
    # seeds 0..63 differ from ld3's own training noises: a held-out check
    assert endpoint_rmse(gmm, s, ref, "euler")[0] < 0.8 * endpoint_rmse(gmm, edm, ref, "euler")[0]
    assert cost.evaluations == 64 * (2 * 256 - 1) + 60 * 2 * 64 * 4


def test_ld3_heun_differentiable_solve_matches_the_sampler(gmm):
    from artlib.core.samplers import advance, sample
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 10
    s = edm_sigmas(5, 0.002, 10.0, 7.0)
    for solver in ("euler", "heun"):
        assert torch.allclose(advance(gmm, x, s, solver=solver), sample(gmm, x, s, solver=solver),
                              rtol=1e-12, atol=1e-12)


def test_line_deviation_by_hand():
    # two trajectories in 3-D: the first's line is the x axis, the second's the y axis
    a = torch.zeros(2, 3, dtype=torch.float64)
    b = torch.tensor([[2.0, 0, 0], [0, 5.0, 0]], dtype=torch.float64)
    y = torch.tensor([[[1.0, 3.0, 4.0], [7.0, 1.0, 0.0]],
                      [[5.0, 0.0, 0.0], [0.0, -2.0, 0.0]]], dtype=torch.float64)    # [2 points, B=2, d=3]
    assert torch.allclose(gits.line_deviation(y, a, b), torch.tensor([[5.0, 7.0], [0.0, 0.0]], dtype=torch.float64))


def test_teacher_grid_reaches_zero_on_models_that_do():
    tau = gits.teacher_grid(5, 0.0, 3.0)
    assert tau.numel() == 5 and tau[0] == 3.0 and tau[-1] == 0.0


def test_ays_table_has_40_intervals(gmm):
    table, _ = ays._ays_table(gmm, 8, 1, 0, False)
    assert table.size == 41 and table[0] == gmm.sigma_max and table[-1] == pytest.approx(gmm.sigma_min, rel=1e-12)


def test_ld3_soft_ball_moves_the_grid(gmm):
    plain, _ = ld3.ld3_sigmas(gmm, 3, "euler", n=16, iterations=20, ref_steps=64)
    soft, _ = ld3.ld3_sigmas(gmm, 3, "euler", n=16, iterations=20, ref_steps=64, radius=0.2)
    assert not torch.allclose(plain, soft)


def _dmn_by_quadrature(lam: np.ndarray, order: int, trunc: int) -> float:
    """StepOptim's bound computed independently: each weight J_n = ∫ e^λ ℓ_n(λ) dλ over the step,
    ℓ_n the Lagrange basis on the step's nodes, by 40-point Gauss–Legendre quadrature."""
    N = len(lam) - 1
    xs, ws = np.polynomial.legendre.leggauss(40)
    loss, c = 0.0, np.zeros(N + 1)
    for s in range(N):
        p = min(1 if s in (0, N - 1) else 2 if s in (1, N - 2) else 3, order)
        nodes = list(range(s - p + 1, s + 1))
        u = lam[s] + (xs + 1) / 2 * (lam[s + 1] - lam[s])
        w = ws * (lam[s + 1] - lam[s]) / 2
        terms = []
        for n in nodes:
            basis = np.ones_like(u)
            for m in nodes:
                if m != n:
                    basis *= (u - lam[m]) / (lam[n] - lam[m])
            terms.append(float(np.sum(w * np.exp(u) * basis)) * math.exp(-lam[n]))
        if p == 1:
            loss += abs(terms[0])
        elif s >= trunc:
            c[nodes] += terms
        else:
            loss += math.sqrt(sum(t * t for t in terms))
    return loss + float(np.abs(c).sum())


@pytest.mark.parametrize("N", [3, 6, 7, 8, 9])          # 7 and 8: either side of the default truncation
def test_dmn_objective_equals_lagrange_weights_by_quadrature(N):
    rng = np.random.default_rng(N)
    lam = np.concatenate([[-4.4], -4.4 + np.cumsum(rng.uniform(0.3, 2.0, N))])
    for order in (1, 2, 3):
        for trunc in (None, 0, 2, N):
            expect = _dmn_by_quadrature(lam, order, (3 if N <= 7 else 0) if trunc is None else trunc)
            got = float(dmn.dmn_objective(torch.from_numpy(lam), order, trunc))
            assert got == pytest.approx(expect, rel=1e-9), (order, trunc)


class _LogSquared:
    """A stand-in KLUB whose interval cost is log(hi/lo)²: with fixed ends, the geometric grid is
    the unique minimum of the total."""
    evaluations = 0

    def many(self, lo, hi):
        return np.log(np.asarray(hi) / np.asarray(lo)) ** 2


def test_ays_search_converges_to_the_minimum_of_a_known_cost():
    start = edm_sigmas(11, 0.002, 80.0, 7.0)[:-1].numpy()
    geometric = grids.logsnr_sigmas(11, 0.002, 80.0)[:-1].numpy()
    found = ays.ays_search(_LogSquared(), start.copy(), list(range(1, 10)), sweeps=400)
    np.testing.assert_allclose(found, geometric, rtol=2e-3)
    one = ays.ays_search(_LogSquared(), start.copy(), list(range(1, 10)), sweeps=1)

    def total(p):
        return float(_LogSquared().many(p[1:], p[:-1]).sum())
    assert total(found) < total(one) < total(start)
    # only the free points move
    part = ays.ays_search(_LogSquared(), start.copy(), [2, 5], sweeps=3)
    assert np.array_equal(np.delete(part, [2, 5]), np.delete(start, [2, 5])) and not np.array_equal(part, start)


def test_ays_table_subdivides_at_log_midpoints(gmm, monkeypatch):
    # with the known cost the coarse search ends geometric, and the log-midpoints are already optimal
    monkeypatch.setattr(ays, "Klub", lambda den, n, seed: _LogSquared())
    table, _ = ays._ays_table(gmm, 8, 400, 0, False)
    np.testing.assert_allclose(table, grids.logsnr_sigmas(41, gmm.sigma_min, gmm.sigma_max)[:-1].numpy(), rtol=2e-3)


def test_ays_reads_its_table_log_linearly_at_k(gmm):
    # a geometric 41-point table read at K points is the K-point geometric grid
    table = grids.logsnr_sigmas(41, gmm.sigma_min, gmm.sigma_max)[:-1].numpy()
    per_model(gmm, ("ays", 3, 99, 7), lambda: (table, grids.Cost(123, 0.5)))
    for K in (2, 4, 5, 7, 11, 13, 41):               # 4, 7, 13: points between the table's
        s, cost = ays.ays_sigmas(gmm, K, n=3, sweeps=99, seed=7)
        assert torch.allclose(s, grids.logsnr_sigmas(K, gmm.sigma_min, gmm.sigma_max), rtol=1e-12, atol=0)
        assert cost.evaluations == 123
    s, _ = ays.ays_sigmas(gmm, 1, n=3, sweeps=99, seed=7)
    assert s.tolist() == [gmm.sigma_max, 0.0]


def test_gits_reads_the_best_path_of_its_table():
    # a table whose cheapest 3-jump path is 0 → 2 → 5 → 7
    cost = np.full((8, 8), 10.0)
    cost[0, 2] = cost[2, 5] = cost[5, 7] = 1.0
    cost[0, 7] = 0.5                                   # one jump is cheaper, but K fixes the number of jumps
    for sigma_min, K in ((0.002, 4), (0.0, 3)):        # K − 1 jumps then 0, or K jumps to a teacher that reaches 0
        den = GaussianDenoiser(sigma_min=sigma_min, sigma_max=10.0)
        tau = gits.teacher_grid(8, sigma_min, 10.0)
        per_model(den, ("gits", 8, 2, "l2", 1, 0), lambda: (tau, cost, grids.Cost(9, 0.0)))
        s, spent = gits.gits_sigmas(den, K, teacher_points=8, batch=2, metric="l2", substeps=1, gamma=1.0)
        assert s.tolist() == tau[[0, 2, 5, 7]].tolist() + ([0.0] if sigma_min else []) and spent.evaluations == 9
        s, _ = gits.gits_sigmas(den, K - 2, teacher_points=8, batch=2, metric="l2", substeps=1, gamma=1.0)
        assert s.tolist()[:2] == [tau[0].item(), tau[7].item()]


@pytest.mark.parametrize("metric", ["l2", "dev"])
def test_gits_cost_matrix_is_the_euler_jump_against_the_teacher(gmm, metric):
    from artlib.core.samplers import advance, initial_noise, random_labels
    tau, cost, spent = gits._gits_table(gmm, 7, 16, metric, 2, 3, False)
    gen = torch.Generator().manual_seed(3)
    X = [initial_noise(gmm, 16, gen)]
    labels = random_labels(gmm, 16, gen)
    t = tau.tolist()
    for i in range(6):
        X.append(advance(gmm, X[-1], np.linspace(t[i], t[i + 1], 3).tolist(), solver="heun", class_labels=labels))
    for i in range(7):
        for j in range(7):
            if j <= i:
                assert cost[i, j] == math.inf
                continue
            jump = advance(gmm, X[i], [t[i], t[j]], solver="euler", class_labels=labels)
            if metric == "l2":
                expect = (jump - X[j]).norm(dim=1).mean()
            else:
                expect = gits.line_deviation(jump, X[0], X[-1]).mean() - gits.line_deviation(X[j], X[0], X[-1]).mean()
            assert cost[i, j] == pytest.approx(float(expect), rel=1e-9, abs=1e-12)
    assert spent.evaluations == 16 * (6 * (2 * 2) + 6)


def test_klub_in_batches_equals_one_interval_at_a_time(gmm):
    klub = ays.Klub(gmm, n=16, nodes=5, ref_steps=32)
    lo, hi = [0.01, 0.3, 2.0], [0.3, 2.0, 9.0]
    spent = klub.evaluations
    many = klub.many(lo, hi, chunk=40)
    assert klub.evaluations - spent == 2 * 16 * 5 * 3
    np.testing.assert_allclose(many, [klub(a, b) for a, b in zip(lo, hi)], rtol=1e-12)
    assert np.all(many > 0) and klub(0.3, 0.3) == 0.0


def test_defaults_are_the_documented_ones_and_agree_with_the_sources_table():
    import inspect

    from artlib.methods.registry import METHODS as SOURCES

    def defaults(f):
        return {k: p.default for k, p in inspect.signature(f).parameters.items() if p.default is not p.empty}
    assert defaults(grids.vp_time_sigmas) == {"rho": 1.0, "eps_s": 1e-3}              # DPM-Solver's ε_s
    assert defaults(grids.ays_gauss_sigmas) == {"c": 0.5}
    assert defaults(dmn.dmn_objective) == {"order": 3, "trunc": None}
    assert defaults(dmn.dmn_sigmas) == {"order": 3} and SOURCES["dmn"].defaults == {"order": 3}
    # GITS: its repository's CIFAR-10 settings
    g = defaults(gits.gits_sigmas)
    assert g == {"teacher_points": 61, "batch": 256, "metric": "dev", "gamma": 1.15, "substeps": 4, "seed": 0,
                 "progress": False}
    assert SOURCES["gits"].defaults == {"points": g["teacher_points"], "batch": g["batch"], "gamma": g["gamma"], "l2": 0}
    assert defaults(ays.Klub) == {"n": 256, "nodes": 8, "seed": 0, "ref_steps": 256}
    a = defaults(ays.ays_sigmas)
    assert a == {"n": 256, "sweeps": 6, "seed": 0, "progress": False} and defaults(ays.ays_search)["candidates"] == 11
    assert SOURCES["ays"].defaults == {"n": a["n"], "sweeps": a["sweeps"]}
    d = defaults(ld3.ld3_sigmas)
    assert d == {"solver": "euler", "n": 64, "iterations": 200, "lr": 0.05, "radius": 0.0, "ref_steps": 256, "seed": 0,
                 "progress": False}
    assert SOURCES["ld3"].defaults == {k: d[k] for k in ("n", "iterations", "lr", "radius")}


def test_the_reported_seconds_are_the_time_spent(gmm):
    import time
    for build in (lambda: gits.gits_sigmas(gmm, 3, teacher_points=7, batch=4), lambda: ays.ays_sigmas(gmm, 3, n=4, sweeps=1),
                  lambda: ld3.ld3_sigmas(gmm, 3, n=4, iterations=2, ref_steps=16)):
        t0 = time.perf_counter()
        _, cost = build()
        assert 0 < cost.seconds <= time.perf_counter() - t0


class _CountingLogSquared(_LogSquared):
    calls = 0

    def many(self, lo, hi):
        self.calls += 1
        return super().many(lo, hi)


def test_ays_search_halves_its_window_after_a_sweep_that_moves_nothing():
    # started at the optimum nothing moves: the window halves every sweep, 1 → 2⁻¹⁴ < 1e-4 in 14
    # sweeps, each trying every free point (two KLUB calls apiece)
    klub = _CountingLogSquared()
    start = grids.logsnr_sigmas(11, 0.002, 80.0)[:-1].numpy()
    found = ays.ays_search(klub, start.copy(), list(range(1, 10)), sweeps=400)
    assert np.array_equal(found, start) and klub.calls == 14 * 9 * 2
    capped = _CountingLogSquared()
    ays.ays_search(capped, start.copy(), [3], sweeps=5)
    assert capped.calls == 5 * 2


def test_ld3_optimises_from_two_steps_and_returns_edm_at_one(gmm):
    s, _ = ld3.ld3_sigmas(gmm, 2, "euler", n=8, iterations=5, ref_steps=32)
    edm = edm_sigmas(2, gmm.sigma_min, gmm.sigma_max, 7.0)
    assert s.numel() == 3 and s[0] == edm[0] and s[-1] == 0 and s[1] != edm[1]
    one, cost = ld3.ld3_sigmas(gmm, 1, "euler", n=8, iterations=5, ref_steps=32)
    assert torch.equal(one, edm_sigmas(1, gmm.sigma_min, gmm.sigma_max, 7.0)) and cost.evaluations == 8 * 63


def test_vp_time_grids_recover_edms_vp_schedule():
    # EDM's VP schedule σ(t) = √(exp(½β_d t² + β_min t) − 1), β_d = 19.9, β_min = 0.1: the grid's
    # fitted β's are these when its ends are σ(1) and σ(ε_s), so every point is σ(t_k) to rounding
    def vp(t):
        return np.sqrt(np.expm1(0.5 * 19.9 * t ** 2 + 0.1 * t))
    lo, hi = float(vp(1e-3)), float(vp(1.0))
    for rho in (1.0, 2.0):
        t = (1 + np.arange(8) / 7 * (1e-3 ** (1 / rho) - 1)) ** rho
        np.testing.assert_allclose(grids.vp_time_sigmas(8, lo, hi, rho=rho)[:-1].numpy(), vp(t), rtol=1e-11)


def test_sigma_end_and_the_arctan_ramp_with_c_not_1():
    assert grids.sigma_end(0.5) == 0.5 and grids.sigma_end(0.0) == grids.SIGMA_END_FLOOR
    c = 0.3
    s = grids.ays_gauss_sigmas(7, 0.1, 20.0, c=c)[:-1].numpy()
    assert s[0] == 20.0 and s[-1] == 0.1
    np.testing.assert_allclose(np.diff(np.arctan(s / c)), (math.atan(0.1 / c) - math.atan(20.0 / c)) / 6, rtol=1e-12)


def test_gits_refuses_a_teacher_above_1000_points(gmm):
    with pytest.raises(ArtlibError, match="teacher_points must be an integer from 3 to 1000"):
        gits.gits_sigmas(gmm, 3, teacher_points=1001)
    with pytest.raises(ArtlibError, match="needs more than the teacher"):
        gits.gits_sigmas(gmm, 8, teacher_points=7)


class _Uniform(_LogSquared):
    """Interval cost (hi − lo)²: with fixed ends the grid uniform in σ is the minimum, so the
    log-midpoints of a subdivision are not."""

    def many(self, lo, hi):
        return (np.asarray(hi) - np.asarray(lo)) ** 2


class _CountingUniform(_Uniform):
    calls = 0

    def many(self, lo, hi):
        self.calls += 1
        return super().many(lo, hi)


def test_ays_subdivision_moves_only_the_new_points_once(gmm, monkeypatch):
    klub = _CountingUniform()
    monkeypatch.setattr(ays, "Klub", lambda den, n, seed: klub)
    table, _ = ays._ays_table(gmm, 8, 50, 0, False)
    alone = _CountingUniform()
    coarse = ays.ays_search(alone, edm_sigmas(11, gmm.sigma_min, gmm.sigma_max, 7.0)[:-1].numpy().copy(),
                          list(range(1, 10)), sweeps=50)
    assert klub.calls - alone.calls == 2 * (10 + 20)           # one pass over the 10, then the 20 new points
    assert np.array_equal(table[::4], coarse)                   # the 11 searched points stay
    mid = np.sqrt(coarse[:-1] * coarse[1:])
    assert table[2::4][-1] != mid[-1] and table[2::4][-2] != mid[-2]   # new points move, the last ones too
    assert np.all(np.diff(table) < 0) and table.size == 41


class _Recording(_LogSquared):
    def __init__(self):
        self.calls = []

    def many(self, lo, hi):
        self.calls.append((np.array(lo, dtype=float), np.array(hi, dtype=float)))
        return super().many(lo, hi)


def test_ays_candidates_are_the_point_and_log_steps_towards_each_neighbour():
    # AYS Algorithm 1's candidates for σ_i: σ_i itself and, in log σ, 1/5, 2/5, 3/5 and 4/5 of the
    # way to each neighbour (11 points on [−1, 1], the ends excluded); each scored by its two intervals
    klub = _Recording()
    s = np.array([80.0, 10.0, 3.0, 0.002])
    ays.ays_search(klub, s.copy(), [1], sweeps=1)
    (lo1, hi1), (lo2, hi2) = klub.calls
    c, down, up = math.log(10.0), math.log(10.0) - math.log(3.0), math.log(80.0) - math.log(10.0)
    expect = np.sort(np.exp([c - f * down for f in (0.8, 0.6, 0.4, 0.2)] + [c] + [c + f * up for f in (0.2, 0.4, 0.6, 0.8)]))
    np.testing.assert_allclose(hi1, expect, rtol=1e-12)
    assert np.all(lo1 == 3.0) and np.array_equal(lo2, hi1) and np.all(hi2 == 80.0)
    assert 10.0 in hi1                                                       # the point itself, exactly


def test_ld3_returns_its_best_evaluated_grid_not_its_last(gmm):
    # at LD3's largest step size the iterates overshoot: the grid returned must be the one of least
    # loss on LD3's own teacher among those it evaluated, here no worse than its EDM start
    from artlib.core.samplers import advance, initial_noise, random_labels, reference_solve
    n, K = 8, 4
    s, _ = ld3.ld3_sigmas(gmm, K, "euler", n=n, iterations=6, lr=10.0, ref_steps=64, seed=3)
    gen = torch.Generator().manual_seed(3)
    z = initial_noise(gmm, n, gen)
    target = reference_solve(gmm, z, steps=64, class_labels=random_labels(gmm, n, gen))

    def loss(grid):
        return float((advance(gmm, z, grid, solver="euler") - target).flatten(1).pow(2).mean(1).mean())
    start = edm_sigmas(K, gmm.sigma_min, gmm.sigma_max, 7.0)
    assert loss(s) <= loss(start) * (1 + 1e-9)
    last, _ = ld3.ld3_sigmas(gmm, K, "euler", n=n, iterations=1, lr=10.0, ref_steps=64, seed=3)
    assert torch.allclose(last, start, rtol=1e-12)      # one iteration evaluates only the start
