import math
import pytest
import torch

from artlib.env import ARTEnv


def test_q_matches_1d_closed_form(gauss1d):
    env = ARTEnv(gauss1d, 10)
    x = torch.tensor([[-2.0], [0.3], [1.7]], dtype=torch.float64)
    psi = torch.tensor([0.0, 1.2, 2.9], dtype=torch.float64)
    f, q = env.drift_and_q(x, psi)
    s = (3 - psi).unsqueeze(1)
    assert torch.allclose(f, -s * x / (1 + s ** 2), rtol=1e-13)
    assert torch.allclose(q, x / (1 + s ** 2) ** 2, rtol=1e-12)


def test_q_is_second_derivative_by_finite_differences(gmm):
    # Q = d^2 x/dτ^2 along the PF-ODE: compare with a central difference of F along the flow.
    env = ARTEnv(gmm, 10)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64) * 2
    for sigma in (5.0, 1.0, 0.2):
        psi = torch.full((5,), 10.0 - sigma, dtype=torch.float64)
        f, q = env.drift_and_q(x, psi)
        h = 1e-4 * sigma
        fp, _ = env.drift_and_q(x + h * f, psi + h)
        fm, _ = env.drift_and_q(x - h * f, psi - h)
        fd = (fp - fm) / (2 * h)
        # central difference error O(h^2 F''') ~ 1e-8 relative; allow 1e-6
        assert torch.allclose(q, fd, rtol=1e-6, atol=1e-8 * fd.abs().max()), (sigma, (q - fd).abs().max())


def test_gmm_denoiser_is_posterior_mean_by_score_identity(gmm):
    # Tweedie: D = x + σ² ∇ log p_σ(x); check against autograd of the mixture log-density.
    x = torch.randn(4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64).requires_grad_()
    sigma = 0.7
    covs = gmm.evecs @ torch.diag_embed(gmm.evals + sigma ** 2) @ gmm.evecs.transpose(1, 2)
    comp = torch.distributions.MultivariateNormal(gmm.means, covariance_matrix=covs)
    logp = torch.logsumexp(gmm.log_w + comp.log_prob(x.unsqueeze(1)), dim=1).sum()
    (grad,) = torch.autograd.grad(logp, x)
    assert torch.allclose(gmm(x.detach(), sigma), x.detach() + sigma ** 2 * grad, atol=1e-10)


def test_step_clamps_psi_and_moves_x_with_it(gauss1d):
    env = ARTEnv(gauss1d, 6)  # Δt = 0.5
    x = torch.ones(3, 1, dtype=torch.float64)
    psi = torch.tensor([2.9, 0.5, 1.0], dtype=torch.float64)
    f = torch.full((3, 1), 2.0, dtype=torch.float64)
    x2, psi2 = env.step(x, psi, torch.tensor([1.0, -2.0, 1.0], dtype=torch.float64), f)
    assert psi2.tolist() == [3.0, 0.0, 1.5]                     # ψ + θΔt, clamped to [0, T]
    assert x2.squeeze(1).tolist() == pytest.approx([1.0 + 0.1 * 2, 1.0 - 0.5 * 2, 1.0 + 0.5 * 2], abs=1e-15)


@pytest.mark.parametrize("sigma_min,floor", [(0.0, 3e-6), (0.002, 0.002), (0.5, 0.5)])
def test_sigma_is_floored_at_sigma_min_or_a_millionth_of_t(sigma_min, floor):
    # at ψ = T, σ = 0 would make Q a 0/0: the environment evaluates at σ_min, or at 1e-6·T for a
    # model whose σ_min is 0
    from artlib.denoisers import GaussianDenoiser
    env = ARTEnv(GaussianDenoiser(1.0, 1, sigma_min=sigma_min, sigma_max=3.0), 4)
    assert env.sigma(torch.tensor([3.0, 2.0], dtype=torch.float64)).tolist() == pytest.approx([floor, 1.0], rel=1e-12)


def test_features_shapes(gauss1d):
    env = ARTEnv(gauss1d, 4)
    x, psi = torch.ones(3, 1, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    t, q = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    assert env.features("time", t, x, psi, q).shape == (3, 2)
    assert env.features("state", t, x, psi, q).shape == (3, 4)
    with pytest.raises(ValueError, match="unknown feature"):
        env.features("pixels", t, x, psi, q)


def test_three_query_path_gives_the_same_q(gmm):
    # The paper's three queries (forward, JVP in x, ∂σ D) and our one joint JVP compute the same Q.
    env = ARTEnv(gmm, 10)
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    psi = torch.linspace(0.5, 9.5, 6, dtype=torch.float64)
    f1, q1 = env.drift_and_q(x, psi)
    f3, q3 = env.q_three_queries(x, psi)
    assert torch.allclose(f1, f3, rtol=0, atol=1e-12) and torch.allclose(q1, q3, rtol=1e-10, atol=1e-12)
    assert torch.allclose(env.drift(x, psi), f1, rtol=0, atol=1e-12)


def test_feature_values_of_a_known_state(gauss1d):
    # time: (t/T, ψ/T); state adds log(rms x)/5 and log|Q|/10
    env = ARTEnv(gauss1d, 4)
    x = torch.tensor([[math.e ** 2]], dtype=torch.float64)
    t, psi, q = (torch.tensor([v], dtype=torch.float64) for v in (0.75, 1.5, math.e ** -3))
    f = env.features("state", t, x, psi, q)
    assert torch.allclose(f, torch.tensor([[0.25, 0.5, 2 / 5, -3 / 10]], dtype=torch.float64), atol=1e-9)
    assert torch.allclose(env.features("time", t, x, psi, q), f[:, :2])


def test_q_falls_back_to_a_central_difference_without_forward_ad(gmm):
    # EDM's attention is a custom autograd Function with a backward rule only; forward-mode AD
    # raises on it. Q must then come from a central difference along (F, −1), close to the JVP's.
    class NoForwardRule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, y):
            return y.clone()

        @staticmethod
        def backward(ctx, g):
            return g

    class Wrapped:
        def __init__(self, den):
            self.den, self.sigma_min, self.sigma_max, self.shape = den, den.sigma_min, den.sigma_max, den.shape

        def __call__(self, x, sigma, class_labels=None):
            return NoForwardRule.apply(self.den(x, sigma, class_labels))
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    psi = torch.tensor([1.0, 5.0, 8.0, 9.5, 9.9], dtype=torch.float64)
    exact_env, env = ARTEnv(gmm, 10), ARTEnv(Wrapped(gmm), 10)
    f0, q0 = exact_env.drift_and_q(x, psi)
    with pytest.warns(UserWarning, match="central differences"):
        f1, q1 = env.drift_and_q(x, psi)
    assert env.difference_q and not exact_env.difference_q
    assert torch.equal(f0, f1)
    assert torch.allclose(q1, q0, rtol=1e-5, atol=1e-8)


def test_clock_steps_run_from_zero_to_t(gauss1d):
    assert torch.allclose(ARTEnv(gauss1d, 4).t_grid, torch.tensor([0.0, 0.75, 1.5, 2.25, 3.0], dtype=torch.float64))
