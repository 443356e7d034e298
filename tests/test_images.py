"""Stand-ins, seeded batches with class labels, the EDM loader and the image sweep."""
import pickle
import sys
import textwrap

import numpy as np
import pytest
import torch

from artlib.eval import metrics
from artlib.repro import experiments as ex
from artlib.models.gaussian import GMMDenoiser
from artlib.models import load_model
from artlib.models.edm import EDMDenoiser, fetch, load_edm
from artlib.core.errors import ArtlibError
from artlib.eval.images import image_grid
from artlib.core.options import parse_seeds
from artlib.core.samplers import seeded_batch
from artlib.models.standins import held_out, split


@pytest.mark.parametrize("name,n", [("digits", 1797), ("faces", 200), ("patches", 6000)])
def test_standin_data(name, n):
    tr, _, te, _ = split(name)
    assert len(tr) + len(te) == n and tr.shape[1:] == (8, 8)
    assert tr.min() >= -1 - 1e-9 and tr.max() <= 1 + 1e-9 and tr.std() > 0.1
    assert held_out(name).shape == (len(te), 1, 8, 8)


def test_digits_gmm_is_a_fit_of_the_data():
    den = load_model("digits")
    assert den.shape == (1, 8, 8) and den.sigma_max == 80.0
    tr = torch.from_numpy(split("digits")[0]).reshape(-1, 64)
    mix_mean = (den.log_w.exp()[:, None] * den.means).sum(0)
    assert torch.allclose(mix_mean, tr.mean(0), atol=1e-6)   # EM keeps the sample mean
    # a denoiser of nearly-clean data returns nearly the data
    x = tr[:8].reshape(8, 1, 8, 8)
    assert (den(x, torch.full((8,), 0.002)) - x).abs().max() < 0.02


def test_conditional_gmm_uses_only_the_labelled_component():
    den = load_model("digits:conditional=1")
    assert den.label_dim == 10
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    onehot = torch.eye(10, dtype=torch.float64)[[3, 3, 7, 7]]
    out = den(x, torch.full((4,), 1e3), onehot)
    # at huge σ the posterior mean is the prior mean of the chosen class
    assert torch.allclose(out.reshape(4, 64)[0], den.means[3], atol=1e-3)
    assert torch.allclose(out.reshape(4, 64)[2], den.means[7], atol=1e-3)


def test_seeded_batch_is_batch_independent():
    den = load_model("digits:conditional=1")
    x, lab = seeded_batch(den, [5, 6, 7])
    x1, lab1 = seeded_batch(den, [7])
    assert torch.equal(x[2], x1[0]) and torch.equal(lab[2], lab1[0])
    assert lab.shape == (3, 10) and (lab.sum(1) == 1).all()
    assert x.std() == pytest.approx(den.prior_std, rel=0.2)
    assert seeded_batch(load_model("digits"), [1])[1] is None
    # a model without the attribute is unconditional too
    from artlib.core.samplers import random_labels
    assert seeded_batch(load_model("gauss1d"), [1])[1] is None
    assert random_labels(load_model("gauss1d"), 3, torch.Generator()) is None
    assert random_labels(den, 4, torch.Generator().manual_seed(0)).sum(1).tolist() == [1.0] * 4


def test_to_uint8_quantises_as_edm_saves_images():
    from artlib.core.samplers import to_uint8
    x = np.array([-1.5, -1.0, -0.5, 0.0, 0.999, 1.0, 1.5]).reshape(1, 1, 1, 7)
    assert to_uint8(x).ravel().tolist() == [0, 0, 64, 128, 255, 255, 255]
    assert to_uint8(np.zeros((2, 3, 4, 5))).shape == (2, 4, 5, 3)


def test_parse_seeds():
    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    for bad in ("5-2", "a", "", "-1"):
        with pytest.raises(ArtlibError, match="seed"):
            parse_seeds(bad)


def test_image_grid_layout():
    x = -torch.ones(5, 1, 2, 3)
    x[1] = 1.0
    g = image_grid(x, nrow=4)
    assert g.shape == (2 * 3 + 1, 4 * 4 + 1) and g.dtype == np.uint8
    assert g[1, 1] == 0 and g[1, 5] == 255   # image 0 black, image 1 white (EDM's uint8 mapping)


def test_image_sweep_on_a_gmm(gmm):
    den = GMMDenoiser(gmm.log_w.exp(), gmm.means, torch.einsum("jde,je,jfe->jdf", gmm.evecs, gmm.evals, gmm.evecs),
                      shape=(1, 2, 2), sigma_min=0.002, sigma_max=10.0)
    ref = metrics.reference(den, range(16), ref_steps=256)
    sw = ex.image_sweep(den, [9, 19], "heun", ref)
    for name in ("EDM (rho=7)", "Closed-form optimum"):
        # Heun is second order: doubling K (NFE 9 -> 19) cuts the error by well over first order's 2x
        assert sw.rmse[name][9] / sw.rmse[name][19] > 2.5
    assert ex.steps_for_nfe(35, "heun") == 18 and ex.steps_for_nfe(7, "euler") == 7
    with pytest.raises(ValueError):
        ex.steps_for_nfe(4, "heun")


# ------------------------------------------------------------------ EDM loader

NET_SOURCE = textwrap.dedent('''
    import torch
    class TinyPrecond(torch.nn.Module):
        """EDM's preconditioning around a 1x1 convolution: the interface of EDMPrecond."""
        def __init__(self, res=4, ch=3, label_dim=0):
            super().__init__()
            self.img_resolution, self.img_channels, self.label_dim = res, ch, label_dim
            self.sigma_min, self.sigma_max, self.sigma_data = 0.0, float("inf"), 0.5
            self.f = torch.nn.Conv2d(ch, ch, 1)
        def forward(self, x, sigma, class_labels=None, **kw):
            sigma = sigma.reshape(-1, 1, 1, 1)
            sd = self.sigma_data
            c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
            c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
            c_in = 1 / (sd ** 2 + sigma ** 2).sqrt()
            out = c_skip * x + c_out * self.f(c_in * x)
            if class_labels is not None:
                out = out + class_labels[:, :1, None, None]
            return out
    class NoInterface(torch.nn.Module):
        def forward(self, x):
            return x
''')


@pytest.fixture
def edm_repo(tmp_path, monkeypatch):
    """A fake EDM checkout: torch_utils/, dnnlib/ and a module holding the network class."""
    repo = tmp_path / "edm"
    for pkg in ("torch_utils", "dnnlib"):
        (repo / pkg).mkdir(parents=True)
        (repo / pkg / "__init__.py").write_text("")
    (repo / "torch_utils" / "tinynet.py").write_text(NET_SOURCE)
    monkeypatch.syspath_prepend(str(repo))
    import torch_utils.tinynet as tiny
    yield repo, tiny
    for m in [m for m in sys.modules if m.startswith(("torch_utils", "dnnlib"))]:
        del sys.modules[m]


def _pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


def test_edm_loader_loads_a_snapshot(edm_repo, tmp_path):
    repo, tiny = edm_repo
    torch.manual_seed(0)
    ck = _pickle(tmp_path / "snap.pkl", {"ema": tiny.TinyPrecond(label_dim=2), "augment_pipe": None})
    den = load_model(f"edm:{ck}")
    assert isinstance(den, EDMDenoiser)
    assert (den.sigma_min, den.sigma_max, den.shape, den.label_dim) == (0.002, 80.0, (3, 4, 4), 2)
    x, lab = seeded_batch(den, [0, 1])
    d = den(x, torch.full((2,), 1.0, dtype=torch.float64), lab)
    assert d.dtype == torch.float64 and d.shape == x.shape and torch.isfinite(d).all()
    with pytest.raises(ArtlibError, match="class-conditional"):
        den(x, 1.0)


def test_edm_loader_errors(edm_repo, tmp_path, monkeypatch):
    repo, tiny = edm_repo
    with pytest.raises(ArtlibError, match="does not exist"):
        load_edm(str(tmp_path / "missing.pkl"))
    with pytest.raises(ArtlibError, match="is a directory"):
        load_edm(str(tmp_path))
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(ArtlibError, match="not a readable pickle"):
        load_edm(str(tmp_path / "junk.pkl"))
    with pytest.raises(ArtlibError, match="no 'ema'"):
        load_edm(str(_pickle(tmp_path / "noema.pkl", {"net": 1})))
    with pytest.raises(ArtlibError, match="lacks EDM's interface"):
        load_edm(str(_pickle(tmp_path / "iface.pkl", {"ema": tiny.NoInterface()})))
    with pytest.raises(ArtlibError, match="only https"):
        load_edm("http://example.com/net.pkl")
    with pytest.raises(ArtlibError, match="only https"):
        fetch("file:///etc/passwd")
    with pytest.raises(ArtlibError, match="has no torch_utils"):
        load_edm(str(tmp_path / "x.pkl"), edm_repo=tmp_path / "nowhere")


def test_edm_loader_names_the_missing_module(edm_repo, tmp_path):
    repo, tiny = edm_repo
    ck = _pickle(tmp_path / "snap.pkl", {"ema": tiny.TinyPrecond()})
    for m in [m for m in sys.modules if m.startswith("torch_utils")]:
        del sys.modules[m]
    sys.path.remove(str(repo))
    with pytest.raises(ArtlibError, match="--edm-repo"):
        load_edm(str(ck))
    den = load_edm(str(ck), edm_repo=repo)    # and the repo option fixes it
    assert den.shape == (3, 4, 4)


def test_https_fetch_caches_atomically(tmp_path, monkeypatch):
    import io
    import urllib.request
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(b"payload")
    monkeypatch.setenv("ARTLIB_CACHE", str(tmp_path))
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    p1 = fetch("https://host/a/net.pkl")
    p2 = fetch("https://host/a/net.pkl")
    assert p1 == p2 and p1.read_bytes() == b"payload" and len(calls) == 1
    assert p1.name.endswith("net.pkl") and not list(p1.parent.glob("*.part*"))


# ------------------------------------------------------------------ the small trained network

def test_committed_network_denoises_held_out_digits():
    # At σ = 0.5 the noisy input's MSE is σ² = 0.25; the exact mixture's posterior mean gets about
    # 0.22 of that on held-out digits. A network that learned nothing would sit near 1.
    den = load_model("digits-net")
    assert isinstance(den, EDMDenoiser) and den.shape == (1, 8, 8) and den.label_dim == 0
    x = held_out("digits")
    noisy = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mse = ((den(noisy, torch.full((len(x),), 0.5, dtype=torch.float64)) - x) ** 2).mean().item()
    assert mse < 0.3 * 0.25


def test_fit_net_is_deterministic_and_round_trips(tmp_path):
    from artlib.models.smallnet import fit, load_net, save_net
    data = torch.from_numpy(split("digits")[0][:64]).unsqueeze(1)
    a, la = fit(data, steps=100, batch=16, progress=False)
    b, lb = fit(data, steps=100, batch=16, progress=False)
    assert la == lb and len(la) == 1
    save_net(tmp_path / "n.pt", a)
    den = load_net(tmp_path / "n.pt")
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    assert torch.equal(den(x, 1.0), EDMDenoiser(a)(x, 1.0))
    with pytest.raises(ArtlibError, match="fit-net"):
        load_net(tmp_path / "missing.pt")


def test_endpoint_rmse_on_a_gaussian_is_its_closed_form():
    # For N(0, c² I) data dx/dσ = σ x/(c² + σ²): the flow scales x by √(c² + σ²), an Euler step by
    # 1 + h a and a Heun step by 1 + h (a + b + h a b)/2 (a, b the slopes at both ends, h < 0),
    # the last step into σ = 0 being Euler's
    import math

    from artlib.models.gaussian import GaussianDenoiser
    from artlib.core.schedules import edm_sigmas
    c, T = 0.7, 20.0
    den = GaussianDenoiser(c=c, dim=8, sigma_min=0.002, sigma_max=T)
    ref = metrics.reference(den, range(32), ref_steps=512)
    assert torch.allclose(ref.ref, ref.x0 * c / math.sqrt(c * c + T * T), rtol=1e-4)   # measured 2.5e-5
    s = edm_sigmas(6, 0.002, T).tolist()
    slope = [v / (c * c + v * v) for v in s]
    euler = math.prod(1 + (s[k + 1] - s[k]) * slope[k] for k in range(6))
    heun = math.prod(1 + (s[k + 1] - s[k]) * slope[k] if k == 5 else
                     1 + (s[k + 1] - s[k]) * (slope[k] + slope[k + 1] + (s[k + 1] - s[k]) * slope[k] * slope[k + 1]) / 2
                     for k in range(6))
    for solver, gain in (("euler", euler), ("heun", heun)):
        err, x = metrics.endpoint_rmse(den, torch.tensor(s, dtype=torch.float64), ref, solver)
        assert torch.allclose(x, ref.x0 * gain, rtol=1e-12)
        assert err == pytest.approx(float((ref.x0 * gain - ref.ref).pow(2).mean().sqrt()), rel=1e-9)


def test_generate_returns_the_images_pixel_for_pixel_in_c_h_w_order():
    # a one-point model (covariance 1e-12) at the image m: every solve ends exactly at m, so each
    # seed's image is m·127.5 + 128 clipped to uint8, in EDM's [n, C, H, W] layout
    from artlib.core.samplers import generate
    m = torch.linspace(-1.2, 1.2, 24, dtype=torch.float64)          # distinct pixels, two of them clipped
    den = GMMDenoiser(torch.ones(1), m[None], 1e-12 * torch.eye(24)[None], shape=(3, 2, 4))
    imgs = generate(den, torch.tensor([80.0, 5.0, 0.5, 0.0]), [0, 7], solver="euler")
    want = (m.reshape(3, 2, 4) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    assert imgs.dtype == torch.uint8 and imgs.shape == (2, 3, 2, 4)
    assert torch.equal(imgs[0], want) and torch.equal(imgs[1], want)
    assert want[0, 0, 0] == 0 and want[2, 1, 3] == 255 and want[1, 0, 2] == 108   # m₁₀·127.5 + 128 = 108.04
