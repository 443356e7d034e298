import math

import numpy as np
import pytest
import torch

from artlib.models.gaussian import GaussianDenoiser
from artlib.eval.metrics import exact_w2, solver_gain
from artlib.core.options import nfe
from artlib.core.samplers import initial_noise, sample
from artlib.core.schedules import edm_sigmas, uniform_sigmas


class Counting:
    def __init__(self, d):
        self.d, self.calls = d, 0
        self.sigma_min, self.sigma_max, self.shape = d.sigma_min, d.sigma_max, d.shape

    def __call__(self, x, sigma, class_labels=None):
        self.calls += 1
        return self.d(x, sigma, class_labels)


@pytest.mark.parametrize("solver,K,expect", [("euler", 18, 18), ("heun", 18, 35), ("heun", 2, 3), ("heun", 1, 1)])
def test_nfe_counts_real_calls(solver, K, expect):
    d = Counting(GaussianDenoiser(0.5, 3))
    sample(d, torch.zeros(2, 3), edm_sigmas(K, 0.002, 80.0), solver=solver)
    assert d.calls == expect == nfe(K, solver)


def test_euler_gain_closed_form(gauss1d):
    # paper §5.1 model: a = Π (1 - h_i s_i / (1 + s_i^2)).
    s = edm_sigmas(7, 0.0, 3.0, 3.0).numpy()
    a = np.prod(1 - (s[:-1] - s[1:]) * s[:-1] / (1 + s[:-1] ** 2))
    assert solver_gain(gauss1d, torch.from_numpy(s), "euler") == pytest.approx(a, rel=1e-13)


def test_heun_matches_independent_step():
    d = GaussianDenoiser(0.7, 1, sigma_max=5.0)
    s = [5.0, 2.0, 0.5, 0.0]
    x = 1.0
    for a, b in zip(s[:-1], s[1:]):
        f = lambda x_, s_: (0.49 / (0.49 + s_ ** 2) * x_ - x_) / s_  # noqa: E731
        x1 = x + (a - b) * f(x, a)
        x = x1 if b == 0 else x + (a - b) * 0.5 * (f(x, a) + f(x1, b))
    assert solver_gain(d, torch.tensor(s, dtype=torch.float64), "heun") == pytest.approx(x, rel=1e-13)


@pytest.mark.parametrize("solver,order", [("euler", 1), ("heun", 2)])
def test_convergence_order(solver, order):
    # Exact PF-ODE solution for N(0, c^2): x(σ) = x_T sqrt(c^2+σ^2)/sqrt(c^2+σ_T^2); at σ = 0, 1/sqrt(10).
    # Heun's Euler-only last step has local error O(h^2), so the global order stays 2.
    d = GaussianDenoiser(1.0, 1, sigma_min=0.0, sigma_max=3.0)
    errs = [abs(solver_gain(d, uniform_sigmas(K, 0.0, 3.0), solver) - 1 / math.sqrt(10)) for K in (32, 64, 128)]
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - order) < 0.1), rates


def test_exact_w2_matches_samples():
    from artlib.eval.metrics import sample_w2_normal
    d = GaussianDenoiser(1.0, 1, sigma_min=0.0, sigma_max=3.0)
    s = uniform_sigmas(5, 0.0, 3.0)
    x = sample(d, initial_noise(d, 200_000, torch.Generator().manual_seed(0)), s, solver="euler")
    # sample estimator bias ~ +0.003 at this n, Monte-Carlo std ~ 0.002
    assert sample_w2_normal(x) == pytest.approx(exact_w2(d, s, "euler"), abs=0.01)


def test_exact_w2_dimension_scaling():
    d1, d9 = GaussianDenoiser(0.5, 1), GaussianDenoiser(0.5, 9)
    s = edm_sigmas(5, 0.002, 80.0)
    assert exact_w2(d9, s, "heun") == pytest.approx(3 * exact_w2(d1, s, "heun"), rel=1e-12)

