"""Heun's local error R, the closed form of its cost, the measured hand-over to the final Euler step,
and the ψ-clock learner with Heun's cost (the book's method page, "Heun's local error")."""
import numpy as np
import pytest
import torch

from artlib.art import psiclock as pc
from artlib.art.dynamics import QOracle
from artlib.art.optimum import LastStep, objective_ratio, optimal_sigmas, q_profile
from artlib.core.schedules import edm_sigmas, heun_split_sigmas
from artlib.eval.metrics import exact_w2
from artlib.methods.registry import build
from artlib.models import load_model
from artlib.repro.experiments import heun_step_errors


def test_r_is_the_closed_form_on_an_isotropic_gaussian():
    # on N(0, c²I) the path is x(σ) = x₀ g(σ)/g(σ₀), g = √(c² + σ²): in τ = T − σ, Q = x c²/g⁴,
    # x‴ = 3c²σx/g⁶ and ∇ₓF = −σ/g², so R = (3∇ₓF·Q − x‴)/12 = −c²σx/(2g⁶)
    den = load_model("gaussian:c=0.5,dim=16")
    c, oracle = 0.5, QOracle(den)
    x = torch.randn(3, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sigma = torch.tensor([0.1, 1.0, 7.0], dtype=torch.float64)
    f, q, x3, r = oracle.heun_terms(x, oracle.T - sigma)
    g2 = (c ** 2 + sigma ** 2)[:, None]
    assert torch.allclose(f, -sigma[:, None] * x / g2, rtol=1e-12)
    assert torch.allclose(q, c ** 2 * x / g2 ** 2, rtol=1e-12)
    assert torch.allclose(x3, 3 * c ** 2 * sigma[:, None] * x / g2 ** 3, rtol=1e-12)
    assert torch.allclose(r, -c ** 2 * sigma[:, None] * x / (2 * g2 ** 3), rtol=1e-12)


def test_one_heun_step_errs_by_h_cubed_r_on_a_gaussian():
    den = load_model("gaussian:c=0.5,dim=16")
    h, measured, predicted = heun_step_errors(den, sigma=1.0, steps=[0.2, 0.1, 0.05, 0.025], n=4)
    dev = np.abs(measured / predicted - 1)
    # the next term is O(h⁴): the relative deviation halves with h, down to 4 % at h = 0.025
    assert np.all((dev[:-1] / dev[1:] > 1.8) & (dev[:-1] / dev[1:] < 2.4)) and dev[-1] < 0.04, dev


def test_one_heun_step_errs_by_h_cubed_r_on_a_mixture(gmm):
    # the exact step is a 4,096-substep Heun solve; the ratio tends to 1 as h → 0 (first order in h)
    h, measured, predicted = heun_step_errors(gmm, sigma=0.8, steps=[0.16, 0.08, 0.04, 0.02], n=8)
    ratio = measured / predicted
    assert np.all(np.diff(np.abs(ratio - 1)) < 0) and abs(ratio[-1] - 1) < 0.1, ratio
    # and not by Euler's order: the error falls by about 8 when h halves
    assert np.all((measured[:-1] / measured[1:] > 6) & (measured[:-1] / measured[1:] < 10)), measured


def test_the_heun_split_minimises_the_summed_local_error_by_brute_force():
    s = np.linspace(10.0, 0.0, 2001)
    r, q = 1 + np.sin(s) ** 2, 0.5 + s
    K = 6
    grid = heun_split_sigmas(K, torch.from_numpy(s), torch.from_numpy(r), torch.from_numpy(q)).numpy()
    up = s[::-1]
    w = np.cbrt(r[::-1])
    phi = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(up))])
    e = np.concatenate([[0.0], np.cumsum(0.5 * (up[1:] * q[::-1][1:] + up[:-1] * q[::-1][:-1]) * np.diff(up))])
    total = (phi[-1] - phi) ** 3 / (K - 1) ** 2 + e
    best = up[1 + np.argmin(total[1:-1])]
    assert grid[-2] == pytest.approx(best, rel=1e-12) and grid[-1] == 0 and grid[0] == 10.0
    # the K − 1 trapezoid steps are equal in Φ₃
    levels = np.interp(grid[:-1][::-1], up, phi)
    assert np.allclose(np.diff(levels), np.diff(levels)[0], rtol=1e-6)


def test_the_heun_closed_form_has_the_least_heun_proxy(gauss1d):
    profile = q_profile(gauss1d, n=16, fine_steps=256, solver="heun")
    # the equidistribution grid of R̄^{1/3} (all K steps, no split) attains the proxy's bound as K
    # grows (1.018 at K = 12, 1.006 at 40); Euler's optimum is 1.2 above it, EDM's grid 10 ×
    from artlib.core.schedules import equidistributed_sigmas
    for K, gap in ((12, 0.02), (40, 0.007)):
        eq = equidistributed_sigmas(K, profile.sigma, profile.mean, order=3)
        assert 1 <= objective_ratio(eq, profile) < 1 + gap
        assert objective_ratio(edm_sigmas(K, 0.0, 3.0), profile) > 10
        assert objective_ratio(optimal_sigmas(gauss1d, K, n=16, fine_steps=256), profile) > 1.15


def test_the_measured_hand_over_beats_the_summed_magnitudes_and_is_counted(gauss1d, counting):
    den = counting(gauss1d)
    last = LastStep(den, n=8, fine_steps=64)
    K = 5
    measured = optimal_sigmas(den, K, n=16, fine_steps=128, solver="heun", last_step=last)
    summed = optimal_sigmas(den, K, n=16, fine_steps=128, solver="heun")
    assert exact_w2(gauss1d, measured, "heun") < 0.5 * exact_w2(gauss1d, summed, "heun")
    assert last.evaluations == LastStep.cost(K, n=8, fine_steps=64)
    # a second grid re-uses the reference: its candidates alone, as counted on the denoiser
    before, counted = den.samples, last.evaluations
    last.grid(np.linspace(0, 1, 11), np.linspace(3, 0, 11), K)
    assert den.samples - before == last.evaluations - counted == (LastStep.COARSE + LastStep.FINE) * 8 * (2 * K - 1)


def test_optimal_heun_options_and_their_cost(gauss1d):
    s, prov = build("optimal:n=8,fine_steps=64,heun=1,last=1", gauss1d, 4, solver="heun")
    profile = 8 * (127 + 5 * 65)
    assert prov["cost"]["per_model"] == profile and prov["cost"]["evaluations"] == profile + LastStep.cost(4)
    assert not torch.equal(s, build("optimal:n=8,fine_steps=64,heun=1", gauss1d, 4, solver="heun")[0])
    with pytest.raises(Exception, match="last=1 places the hand-over to Heun's final Euler step"):
        build("optimal:last=1", gauss1d, 4, solver="euler")


def test_the_learner_with_heun_cost_finds_the_heun_optimum(gauss1d):
    cfg = pc.PsiConfig(iterations=300, batch=64, nodes=10, hidden=32, warmup=10, bank=256, cost="heun", handover=0)
    res = pc.train(cfg, QOracle(gauss1d), progress=False)
    profile = q_profile(gauss1d, n=64, fine_steps=256, solver="heun")
    K = 12
    # 1.050 (the equidistribution grid: 1.018; Euler's closed form: 1.206, EDM's grid 10.8)
    assert objective_ratio(res.sigmas(K), profile) < 1.06
    assert pc.evaluations(cfg) == 256 * 5 * 11


def test_learn_with_heun_cost_hands_over_where_it_measures(gauss1d):
    run = pc.learn(pc.PsiConfig(iterations=20, batch=16, nodes=6, hidden=8, warmup=2, bank=32, cost="heun", handover=4),
                   gauss1d, progress=False)
    trained = run.evaluations
    s = run.sigmas(4)
    assert run.evaluations == trained + LastStep.cost(4, n=4)
    psi, t = run.clock_map()
    head = np.interp(np.linspace(0, np.interp(run.warp.psi(float(s[-2])), psi, t), 4), t, psi)
    assert np.allclose(run.warp.sigma(head), s[:-1].numpy(), rtol=1e-6)
    assert pc.learn(pc.PsiConfig(iterations=2, batch=4, nodes=3, bank=4, cost="euler"), gauss1d, progress=False).last is None


def test_heun_terms_run_through_a_network_under_no_grad():
    # the learner and the closed form call heun_terms under no_grad, where torch lacks the
    # forward-over-forward rule of silu's derivative; the small network uses SiLU
    den = load_model("digits-net")
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
    psi = torch.full((3,), den.sigma_max - 2.0, dtype=torch.float64)
    free = QOracle(den).heun_terms(x, psi)
    with torch.no_grad():
        quiet = QOracle(den).heun_terms(x, psi)
    for a, b in zip(free, quiet):
        assert torch.equal(a, b) and not b.requires_grad and b.abs().max() > 0
