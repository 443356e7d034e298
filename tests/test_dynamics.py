import pytest
import torch

from artlib.art.dynamics import QOracle


def test_q_matches_1d_closed_form(gauss1d):
    oracle = QOracle(gauss1d)
    x = torch.tensor([[-2.0], [0.3], [1.7]], dtype=torch.float64)
    psi = torch.tensor([0.0, 1.2, 2.9], dtype=torch.float64)
    f, q = oracle.drift_and_q(x, psi)
    s = (3 - psi).unsqueeze(1)
    assert torch.allclose(f, -s * x / (1 + s ** 2), rtol=1e-13)
    assert torch.allclose(q, x / (1 + s ** 2) ** 2, rtol=1e-12)


def test_q_is_second_derivative_by_finite_differences(gmm):
    # Q = d^2 x/dτ^2 along the PF-ODE: compare with a central difference of F along the flow.
    oracle = QOracle(gmm)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64) * 2
    for sigma in (5.0, 1.0, 0.2):
        psi = torch.full((5,), 10.0 - sigma, dtype=torch.float64)
        f, q = oracle.drift_and_q(x, psi)
        h = 1e-4 * sigma
        fp, _ = oracle.drift_and_q(x + h * f, psi + h)
        fm, _ = oracle.drift_and_q(x - h * f, psi - h)
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


@pytest.mark.parametrize("sigma_min,floor", [(0.0, 3e-6), (0.002, 0.002), (0.5, 0.5)])
def test_sigma_is_floored_at_sigma_min_or_a_millionth_of_t(sigma_min, floor):
    # at ψ = T, σ = 0 would make Q a 0/0: the oracle evaluates at σ_min, or at 1e-6·T for a
    # model whose σ_min is 0
    from artlib.models.gaussian import GaussianDenoiser
    oracle = QOracle(GaussianDenoiser(1.0, 1, sigma_min=sigma_min, sigma_max=3.0))
    assert oracle.sigma(torch.tensor([3.0, 2.0], dtype=torch.float64)).tolist() == pytest.approx([floor, 1.0], rel=1e-12)


def test_three_query_path_gives_the_same_q(gmm):
    # The paper's three queries (forward, JVP in x, ∂σ D) and our one joint JVP compute the same Q.
    oracle = QOracle(gmm)
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    psi = torch.linspace(0.5, 9.5, 6, dtype=torch.float64)
    f1, q1 = oracle.drift_and_q(x, psi)
    f3, q3 = oracle.q_three_queries(x, psi)
    assert torch.allclose(f1, f3, rtol=0, atol=1e-12) and torch.allclose(q1, q3, rtol=1e-10, atol=1e-12)
    assert torch.allclose(oracle.drift(x, psi), f1, rtol=0, atol=1e-12)


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
    exact_env, oracle = QOracle(gmm), QOracle(Wrapped(gmm))
    f0, q0 = exact_env.drift_and_q(x, psi)
    with pytest.warns(UserWarning, match="central differences"):
        f1, q1 = oracle.drift_and_q(x, psi)
    assert oracle.difference_q and not exact_env.difference_q
    assert torch.equal(f0, f1)
    assert torch.allclose(q1, q0, rtol=1e-5, atol=1e-8)
