"""The proxy objective J(grid), its minimum J*, and the clock-speed diagnostics, by hand."""
import numpy as np
import pytest
import torch

from artlib.art.optimum import (ErrorProfile, objective_ratio, optimal_objective, optimal_sigmas, optimal_speed,
                            proxy_objective, q_profile, speed_profile)
from artlib.core.schedules import edm_sigmas, uniform_sigmas


def flat(q=4.0, T=2.0, m=2001):
    sig = torch.linspace(T, 0, m, dtype=torch.float64)
    return ErrorProfile(sig, torch.full((m,), q, dtype=torch.float64))


def test_proxy_objective_of_a_flat_profile_by_hand():
    # |Q̄| ≡ 4 on [0, 2]: J = (K/T) Σ Δσ² · 4; the uniform grid is the optimum, J* = (2·2)²/2 = 8.
    p = flat()
    assert optimal_objective(p) == pytest.approx(8.0, rel=1e-12)
    assert proxy_objective(uniform_sigmas(4, 0.0, 2.0), p) == pytest.approx(8.0, rel=1e-9)
    s = torch.tensor([2.0, 0.5, 0.0], dtype=torch.float64)      # steps 1.5 and 0.5
    assert proxy_objective(s, p) == pytest.approx(2 / 2 * (1.5 ** 2 + 0.5 ** 2) * 4, rel=1e-9)
    assert objective_ratio(s, p) == pytest.approx(10 / 8, rel=1e-9)


def test_objective_weights_each_step_by_its_mean_q():
    # |Q̄| = σ on [0, 1]: one step (K = 1) has J = 1·1²·⟨σ⟩ = 1/2; J* = (∫ σ^{1/2})² = 4/9.
    sig = torch.linspace(1, 0, 4001, dtype=torch.float64)
    p = ErrorProfile(sig, sig.clone())
    assert proxy_objective(torch.tensor([1.0, 0.0], dtype=torch.float64), p) == pytest.approx(0.5, rel=1e-6)
    assert optimal_objective(p) == pytest.approx(4 / 9, rel=1e-4)


def test_speed_profiles():
    mid, speed = speed_profile(torch.tensor([2.0, 0.5, 0.0], dtype=torch.float64))
    assert np.allclose(mid, [1.25, 0.25]) and np.allclose(speed, [1.5, 0.5])
    assert np.allclose(optimal_speed(flat(), np.array([0.3, 1.7])), 1.0)


def test_closed_form_grid_reaches_the_minimum_on_gauss1d(gauss1d):
    p = q_profile(gauss1d)
    assert objective_ratio(optimal_sigmas(gauss1d, 50), p) == pytest.approx(1.0, abs=2e-3)
    assert objective_ratio(edm_sigmas(50, 0.0, 3.0), p) > 1.3
    # θ*(σ) ∝ (1 + σ²)^{3/4} (the 1-D example): the ratio of speeds at σ = 2 and σ = 0.5
    v = optimal_speed(p, np.array([2.0, 0.5]))
    assert v[0] / v[1] == pytest.approx((5 / 1.25) ** 0.75, rel=2e-3)


def test_the_profile_ends_with_q_of_the_finished_samples():
    # the last entry (σ = 0, evaluated at the model's σ floor) is mean |Q| of the solve's own end
    # states, not of the states one step earlier nor at another σ
    from artlib.art.dynamics import QOracle
    from artlib.models import load_model
    from artlib.core.samplers import initial_noise, sample
    den = load_model("digits")
    p = q_profile(den, n=16, fine_steps=32, seed=3)
    x_end = sample(den, initial_noise(den, 16, torch.Generator().manual_seed(3)), p.sigma, solver="heun")
    oracle = QOracle(den)
    want = oracle.q_norm(x_end, torch.full((16,), oracle.T, dtype=torch.float64)).mean().item()
    assert p.sigma[-1] == 0 and p.mean[-1].item() == pytest.approx(want, rel=1e-12)
    assert abs(p.mean[-2].item() / want - 1) > 1e-3   # the entry before: other states, so another value


def test_the_profile_defaults_are_the_documented_ones():
    # 256 reference Heun trajectories (the book's method page) on a 512-step EDM grid (bench's cost
    # estimate assumes 256 × 512), from seed 0
    import inspect
    for fn in (q_profile, optimal_sigmas):
        d = {k: v.default for k, v in inspect.signature(fn).parameters.items()}
        assert (d["n"], d["fine_steps"], d["seed"]) == (256, 512, 0), fn.__name__
