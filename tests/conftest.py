import pytest
import torch


@pytest.fixture
def gauss1d():
    from artlib.models import load_model
    return load_model("gauss1d")


@pytest.fixture
def gmm():
    """A small non-trivial mixture: 3 components in 4 dimensions with full covariances."""
    from artlib.models.gaussian import GMMDenoiser
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 4, 4, generator=g, dtype=torch.float64)
    covs = A @ A.transpose(1, 2) / 4 + 0.05 * torch.eye(4, dtype=torch.float64)
    means = torch.randn(3, 4, generator=g, dtype=torch.float64)
    return GMMDenoiser(torch.tensor([0.5, 0.3, 0.2]), means, covs, sigma_min=0.002, sigma_max=10.0)


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory):
    """Random-initialised FID Inception weights in torch-fidelity's format (the real ones need
    the internet); see artlib.repro.smoke.random_inception_weights."""
    from artlib.repro.smoke import random_inception_weights
    return random_inception_weights(tmp_path_factory.mktemp("inception") / "inception.pth")


@pytest.fixture(scope="session")
def digits_ref(inception_weights, tmp_path_factory):
    """EDM-format reference statistics of 64 held-out digits through those weights."""
    from artlib.core.samplers import to_uint8
    from artlib.repro.smoke import reference_npz
    from artlib.models.standins import held_out
    held = torch.from_numpy(to_uint8(held_out("digits")[:64].numpy())).permute(0, 3, 1, 2)
    return reference_npz(tmp_path_factory.mktemp("ref") / "digits-ref.npz", inception_weights, held)


class CountingDenoiser:
    """A denoiser that counts the samples it is called on: a forward pass, a JVP (one call on the
    dual batch) and a backward pass through its output (a hook) each count once per sample, the
    cost convention of ``artlib.methods.grids.Cost``."""

    def __init__(self, den):
        self.den, self.samples = den, 0
        self.sigma_min, self.sigma_max, self.shape = den.sigma_min, den.sigma_max, den.shape
        self.prior_std = den.prior_std

    def __call__(self, x, sigma, class_labels=None):
        n = x.shape[0]
        self.samples += n
        out = self.den(x, sigma, class_labels)
        if out.requires_grad:
            out.register_hook(lambda g: setattr(self, "samples", self.samples + n))
        return out


@pytest.fixture
def counting():
    """``CountingDenoiser``: wrap a denoiser to count the work done on it."""
    return CountingDenoiser
