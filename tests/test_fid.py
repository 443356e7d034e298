"""FID through torch-fidelity's Inception, offline, with weights the test makes."""
import json

import numpy as np
import pytest
import torch

from artlib.eval import metrics
from artlib.eval import fid
from artlib.cli import main
from artlib.core.errors import ArtlibError


@pytest.fixture(scope="module")
def weights(inception_weights):
    return inception_weights


def _images(seed, n=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)


def test_fid_zero_against_itself_and_positive_otherwise(weights, tmp_path):
    net = fid.inception(weights)
    a, b = _images(0), _images(1)
    mu, sigma = fid.statistics(fid.features([a[:3], a[3:]], net))
    same, n = fid.fid([a], mu, sigma, net)
    assert n == 6 and abs(same) < 1e-5 * max(1.0, np.trace(sigma))   # batching does not change features (sqrtm of a rank-5 matrix: ~1e-6 round-off)
    other, _ = fid.fid([b], mu, sigma, net)
    assert other > 1e-3 * np.trace(sigma)
    # the .npz path and the folder path give the same reference
    np.savez(tmp_path / "ref.npz", mu=mu, sigma=sigma)
    import matplotlib.image as mpimg
    (tmp_path / "imgs").mkdir()
    for i, img in enumerate(a):
        # RGB uint8 is written as is (a colormap's lookup table can shift a grey level by one)
        mpimg.imsave(tmp_path / "imgs" / f"{i:06d}.png", np.repeat(img[0].numpy()[..., None], 3, -1))
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
    assert out["n"] == 4 and out["fid"] > 0 and out["schedule"] == "edm"


@pytest.mark.parametrize("args,needle", [
    (["--images", "/nonexistent"], "not a folder"),
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


def test_fid_rejects_bad_references_and_folders(weights, tmp_path, capsys):
    import matplotlib.image as mpimg
    (tmp_path / "text.npz").write_text("not a zip")
    np.savez(tmp_path / "shapes.npz", mu=np.zeros(4), sigma=np.zeros((3, 3)))
    np.savez(tmp_path / "ok.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    mpimg.imsave(mixed / "a.png", np.zeros((8, 8)), cmap="gray")
    mpimg.imsave(mixed / "b.png", np.zeros((9, 9)), cmap="gray")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "x.png").write_bytes(b"\x89PNG not really")
    cases = [(["--ref", str(tmp_path / "text.npz"), "--images", str(mixed)], "not an .npz"),
             (["--ref", str(tmp_path / "shapes.npz"), "--images", str(mixed)], "need finite mu"),
             (["--ref", str(tmp_path / "ok.npz"), "--images", str(mixed)], "differ in size"),
             (["--ref", str(tmp_path / "ok.npz"), "--images", str(corrupt)], "cannot be read")]
    for args, needle in cases:
        assert main(["fid", *args, "--inception-weights", str(weights), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1, (args, err)


def test_fid_ranks_schedules_as_rmse_does(weights):
    # digits mixture, Heun K = 5: EDM's grid beats the uniform grid in endpoint RMSE by far; FID
    # against held-out digits (random Inception) must rank them the same way, clearly.
    from artlib.models import load_model
    from artlib.core.samplers import to_uint8
    from artlib.core.schedules import edm_sigmas, uniform_sigmas
    from artlib.models.standins import held_out
    den = load_model("digits")
    net = fid.inception(weights)
    ref = metrics.reference(den, range(24), ref_steps=128)
    held = torch.from_numpy(to_uint8(held_out("digits")[:32].numpy())).permute(0, 3, 1, 2)
    mu, sigma = fid.statistics(fid.features([held], net))
    scores, errors = {}, {}
    for name, s in {"edm": edm_sigmas(5, 0.002, 80.0), "uniform": uniform_sigmas(5, 0.002, 80.0)}.items():
        errors[name], x = metrics.endpoint_rmse(den, s, ref, "heun")
        imgs = torch.from_numpy(to_uint8(x.clamp(-1, 1).numpy())).permute(0, 3, 1, 2)
        scores[name] = fid.fid([imgs], mu, sigma, net)[0]
    assert errors["edm"] < errors["uniform"]
    assert scores["uniform"] > 1.5 * scores["edm"], (scores, errors)


def test_moments_add_as_the_union_of_the_sets():
    # Chan's merge: the moments of A and B added equal those of A ∪ B; the empty set is neutral
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 3)), rng.normal(2.0, 3.0, size=(7, 3))
    both = fid.Moments.of(A) + fid.Moments.of(B)
    union = fid.Moments.of(np.vstack([A, B]))
    assert both.n == 12 and np.allclose(both.mean, union.mean) and np.allclose(both.m2, union.m2)
    assert np.allclose(union.m2, np.cov(np.vstack([A, B]), rowvar=False) * 11)
    empty = fid.Moments(0, np.zeros(0), np.zeros((0, 0)))
    for m in (empty + fid.Moments.of(A), fid.Moments.of(A) + empty):
        assert m.n == 5 and np.allclose(m.mean, A.mean(0))
    for mu, sigma in (fid.statistics(A[:2]), fid.Moments.of(A[:2]).statistics()):   # two images are enough
        assert np.allclose(sigma, np.cov(A[:2], rowvar=False)) and np.allclose(mu, A[:2].mean(0))
    mu, sigma = both.statistics()                      # the unbiased covariance, as EDM's fid-refs
    assert np.allclose(sigma, np.cov(np.vstack([A, B]), rowvar=False)) and np.allclose(mu, np.vstack([A, B]).mean(0))


def test_generated_moments_are_those_of_the_generated_images(weights):
    # sharded generation (3 shards of 2 seeds, batches of 1) adds up to the moments of the same
    # six images scored in one pass: nothing extra in the running total, nothing dropped
    from artlib.models import load_model
    from artlib.core.samplers import generate
    from artlib.core.schedules import edm_sigmas
    den, net = load_model("digits"), fid.inception(weights)
    sigmas = edm_sigmas(3, den.sigma_min, den.sigma_max)
    m = fid.generated_moments(den, sigmas, "euler", list(range(6)), net, batch=1, shard_size=2)
    direct = fid.Moments.of(fid.features([generate(den, sigmas, list(range(6)), solver="euler")], net))
    assert m.n == 6 and np.allclose(m.mean, direct.mean, rtol=1e-5, atol=1e-6)
    assert np.allclose(m.m2, direct.m2, rtol=1e-4, atol=1e-6)


def test_reference_statistics_over_1_gib_are_refused_by_size(tmp_path):
    big = tmp_path / "ref.npz"
    with open(big, "wb") as f:                 # sparse: no disk is written
        f.truncate((1 << 30) + 1)
    with pytest.raises(ArtlibError, match=f"over the limit of {1 << 30}"):
        fid.reference_statistics(big)


def test_images_over_256_mib_are_refused_by_size(tmp_path):
    big = tmp_path / "huge.png"
    with open(big, "wb") as f:                 # sparse: no disk is written
        f.truncate((1 << 28) + 1)
    with pytest.raises(ArtlibError, match=f"over the limit of {1 << 28}"):
        fid.read_images([big])


def test_offline_without_weights_is_one_line_without_torch_hubs_download_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    np.savez(tmp_path / "ref.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    (tmp_path / "imgs").mkdir()
    from artlib.eval.images import write_png
    write_png(tmp_path / "imgs" / "a.png", np.zeros((8, 8), np.uint8))
    env = {**__import__("os").environ, "TORCH_HOME": str(tmp_path / "hub"), "https_proxy": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    r = subprocess.run([sys.executable, "-m", "artlib", "fid", "--ref", str(tmp_path / "ref.npz"), "--images",
                        str(tmp_path / "imgs"), "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Inception weights" in lines[0] and "Downloading" not in r.stderr, r.stderr
