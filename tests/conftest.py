import pytest
import torch


@pytest.fixture
def gauss1d():
    from artlib.models import load_model
    return load_model("gauss1d")


@pytest.fixture
def gmm():
    """A small non-trivial mixture: 3 components in 4 dimensions with full covariances."""
    from artlib.denoisers import GMMDenoiser
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 4, 4, generator=g, dtype=torch.float64)
    covs = A @ A.transpose(1, 2) / 4 + 0.05 * torch.eye(4, dtype=torch.float64)
    means = torch.randn(3, 4, generator=g, dtype=torch.float64)
    return GMMDenoiser(torch.tensor([0.5, 0.3, 0.2]), means, covs, sigma_min=0.002, sigma_max=10.0)
