"""FID through torch-fidelity's Inception, offline, with weights the test makes."""
import json

import numpy as np
import pytest
import torch

from artlib import fid
from artlib.__main__ import main
from artlib.errors import ArtlibError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A random-weights file in torch-fidelity's format (its real weights need the internet)."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe
    mp = pytest.MonkeyPatch()
    mp.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
    mp.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None)
    torch.manual_seed(0)
    net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    mp.undo()
    path = tmp_path_factory.mktemp("w") / "inception.pth"
    torch.save(net.state_dict(), path)
    return path


def _images(seed, n=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)


def test_fid_zero_against_itself_and_positive_otherwise(weights, tmp_path):
    net = fid.inception(weights)
    a, b = _images(0), _images(1)
    mu, sigma = fid.statistics(fid.features([a[:3], a[3:]], net))
    same, n = fid.fid([a], mu, sigma, net)
    assert n == 6 and abs(same) < 1e-6 * max(1.0, np.trace(sigma))   # batching does not change features
    other, _ = fid.fid([b], mu, sigma, net)
    assert other > 1e-3 * np.trace(sigma)
    # the .npz path and the folder path give the same reference
    np.savez(tmp_path / "ref.npz", mu=mu, sigma=sigma)
    import matplotlib.image as mpimg
    (tmp_path / "imgs").mkdir()
    for i, img in enumerate(a):
        mpimg.imsave(tmp_path / "imgs" / f"{i:06d}.png", img[0].numpy(), cmap="gray", vmin=0, vmax=255)
    mu2, sigma2 = fid.reference_statistics(tmp_path / "imgs", net)
    mu1, sigma1 = fid.reference_statistics(tmp_path / "ref.npz")
    assert np.allclose(mu1, mu2, atol=1e-5) and np.allclose(sigma1, sigma2, atol=1e-5)


def test_fid_cli_model_and_folder(weights, tmp_path, capsys):
    net = fid.inception(weights)
    mu, sigma = fid.statistics(fid.features([_images(0)], net))
    np.savez(tmp_path / "ref.npz", mu=mu, sigma=sigma)
    assert main(["fid", "--ref", str(tmp_path / "ref.npz"), "--model", "digits", "--schedule", "edm", "--K", "3",
                 "--seeds", "0-3", "--batch", "2", "--inception-weights", str(weights), "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 4 and out["fid"] > 0 and out["schedule"] == "edm(rho=7)"


@pytest.mark.parametrize("args,needle", [
    (["--images", "/nonexistent"], "does not exist"),
    (["--model", "digits"], "--schedule and --K"),
    ([], "either --images"),
])
def test_fid_cli_errors(weights, tmp_path, capsys, args, needle):
    np.savez(tmp_path / "ref.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    assert main(["fid", "--ref", str(tmp_path / "ref.npz"), "--inception-weights", str(weights), *args]) == 2
    assert needle in capsys.readouterr().err


def test_missing_weights_and_bad_reference(tmp_path):
    with pytest.raises(ArtlibError, match="not found"):
        fid.inception(tmp_path / "nope.pth")
    np.savez(tmp_path / "bad.npz", m=np.zeros(3))
    with pytest.raises(ArtlibError, match="'mu' and 'sigma'"):
        fid.reference_statistics(tmp_path / "bad.npz")
