"""EDM's own networks through artlib, where a clone of NVlabs/edm is at hand.

Set ``ARTLIB_EDM_REPO`` to the clone (git clone https://github.com/NVlabs/edm) to run these; they
are skipped otherwise. A small randomly initialised ``EDMPrecond`` (SongUNet and DhariwalUNet) is
built from EDM's code, pickled as EDM pickles its snapshots, and checked through our loader, both
samplers, the one-JVP Q against a finite difference, and the FID command. The paper-smoke
snapshot (artlib.repro.smoke) must also load through EDM's own ``torch_utils.persistence``, and EDM's
own samplers in ``generate.py`` must give artlib's images on the same grids. Nothing of
EDM's code is copied here: it is imported from the user's clone.
"""
import json
import os
import pickle
import sys

import pytest
import torch

REPO = os.environ.get("ARTLIB_EDM_REPO")
pytestmark = pytest.mark.skipif(not REPO, reason="ARTLIB_EDM_REPO is not set (a clone of NVlabs/edm)")

# (architecture, attention resolutions). SongUNet computes its attention weights in a custom
# autograd Function without a forward-mode rule, so its Q is a central difference (measured on
# EDM 008a4e5 with torch 2.14.1); DhariwalUNet's Q is a forward-mode JVP.
ARCHS = [("SongUNet", [4], True), ("DhariwalUNet", [4], False)]


@pytest.fixture
def edm_modules():
    """EDM's packages imported from the clone; removed again afterwards (the smoke packages use
    the same names)."""
    names = ("torch_utils", "dnnlib", "training")

    def clear():
        for m in [m for m in sys.modules if m.split(".")[0] in names]:
            del sys.modules[m]
    clear()
    sys.path.insert(0, REPO)
    from training import networks
    yield networks
    sys.path.remove(REPO)
    clear()


@pytest.mark.parametrize("arch,attn,difference", ARCHS)
def test_a_real_edm_precond_through_loader_samplers_jvp_and_fid(edm_modules, arch, attn, difference, tmp_path, inception_weights,
                                                                digits_ref, capsys):
    from artlib.cli import main
    from artlib.art.dynamics import QOracle
    from artlib.models import load_model
    from artlib.core.samplers import sample, seeded_batch
    from artlib.core.schedules import edm_sigmas
    torch.manual_seed(0)
    label_dim = 10 if arch == "DhariwalUNet" else 0
    net = edm_modules.EDMPrecond(img_resolution=8, img_channels=3, label_dim=label_dim, model_type=arch,
                                 model_channels=16, channel_mult=[1, 2], channel_mult_emb=2, num_blocks=1,
                                 attn_resolutions=attn, dropout=0.0)
    with torch.no_grad():   # EDM zero-initialises output layers; give them weights so D is not trivial
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.05)
    path = tmp_path / "network-snapshot-000000.pkl"
    with open(path, "wb") as f:
        pickle.dump({"ema": net.eval(), "augment_pipe": None}, f)
    den = load_model(f"edm:{path}")
    assert den.shape == (3, 8, 8) and den.label_dim == label_dim and (den.sigma_min, den.sigma_max) == (0.002, 80.0)

    x, labels = seeded_batch(den, [0, 1, 2])
    sig = torch.full((3,), 1.7, dtype=torch.float64)
    with torch.no_grad():
        direct = net(x.float(), sig.float(), None if labels is None else labels.float()).double()
    assert torch.allclose(den(x, sig, labels), direct)
    for solver in ("euler", "heun"):
        out = sample(den, x, edm_sigmas(4, den.sigma_min, den.sigma_max), solver=solver, class_labels=labels)
        assert out.shape == x.shape and torch.isfinite(out).all()

    # Q from one forward-mode JVP against a central difference along the ODE's direction
    env = QOracle(den, class_labels=labels)
    xs = x / 80 * 2.0                                  # a state at σ = 2
    psi = torch.full((3,), env.T - 2.0, dtype=torch.float64)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, q = env.drift_and_q(xs, psi)
    assert env.difference_q == difference
    h = 3e-2
    fd = (env.denoise(xs + h * f, torch.full((3,), 2.0 - h, dtype=torch.float64))
          - env.denoise(xs - h * f, torch.full((3,), 2.0 + h, dtype=torch.float64))) / (2 * h) / 2.0
    rel = float((q - fd).norm() / fd.norm())
    print(f"{arch}: Q by {'difference' if difference else 'JVP'}, |Q - Q_fd(h = {h})| / |Q_fd| = {rel:.2e}",
          file=sys.stderr)
    assert rel < 2e-2

    assert main(["fid", "--ref", str(digits_ref), "--model", f"edm:{path}", "--schedule", "edm", "--K", "3",
                 "--seeds", "0-7", "--inception-weights", str(inception_weights), "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 8 and out["fid"] > 0


def test_the_paper_smoke_snapshot_loads_through_edms_own_persistence(tmp_path):
    from artlib.models.smallnet import SmallPrecond
    from artlib.repro.smoke import save_edm_snapshot, write_edm_packages
    names = ("torch_utils", "dnnlib", "training")

    def clear():
        for m in [m for m in sys.modules if m.split(".")[0] in names]:
            del sys.modules[m]
    torch.manual_seed(0)
    net = SmallPrecond(width=8).eval()
    clear()
    ours = write_edm_packages(tmp_path / "ours")
    save_edm_snapshot(tmp_path / "snap.pkl", net, ours)
    sys.path.remove(str(ours.resolve()))
    clear()
    sys.path.insert(0, REPO)
    try:
        import torch_utils.persistence as real
        assert real.__file__.startswith(REPO)
        with open(tmp_path / "snap.pkl", "rb") as f:
            loaded = pickle.load(f)["ema"]
    finally:
        sys.path.remove(REPO)
        clear()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded(x, torch.tensor([0.3, 3.0])), net(x, torch.tensor([0.3, 3.0])))


def test_the_flop_counts_of_edms_networks(edm_modules):
    # bench.EDM_GFLOP, recounted on EDM's own EDMPrecond with the settings of its train.py
    from artlib.repro.bench import EDM_GFLOP, _gflop
    ddpmpp = dict(model_type="SongUNet", embedding_type="positional", encoder_type="standard", decoder_type="standard",
                  channel_mult_noise=1, resample_filter=[1, 1], model_channels=128, augment_dim=9)
    cases = {"edm-cifar10-32x32": (dict(img_resolution=32, label_dim=10, channel_mult=[2, 2, 2], **ddpmpp), 10),
             "edm-ffhq-64x64": (dict(img_resolution=64, label_dim=0, channel_mult=[1, 2, 2, 2], **ddpmpp), 0)}
    for name, (cfg, labels) in cases.items():
        net = edm_modules.EDMPrecond(img_channels=3, **cfg).eval()
        r = cfg["img_resolution"]
        got = _gflop(lambda: net(torch.randn(1, 3, r, r), torch.ones(1), torch.zeros(1, labels) if labels else None))
        assert got == pytest.approx(EDM_GFLOP[name], rel=1e-4), name


def test_edms_own_samplers_equal_artlibs_on_their_grids(edm_modules, tmp_path):
    # generate.py's edm_sampler (Algorithm 2) and its ablation_sampler with the EDM, VP and VE
    # discretisations: the same images as artlib's samplers on edm_sigmas, vp_time_sigmas (ρ = 1)
    # and logsnr_sigmas (VE's geometric σ²), so a grid exported from artlib means the same steps
    import importlib

    from artlib.models import load_model
    from artlib.methods.grids import logsnr_sigmas, vp_time_sigmas
    from artlib.core.samplers import sample
    from artlib.core.schedules import edm_sigmas
    torch.manual_seed(0)
    net = edm_modules.EDMPrecond(img_resolution=8, img_channels=3, label_dim=0, model_type="SongUNet",
                                 model_channels=16, channel_mult=[1, 2], channel_mult_emb=2, num_blocks=1,
                                 attn_resolutions=[4], dropout=0.0).eval()
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.05)
    path = tmp_path / "net.pkl"
    with open(path, "wb") as f:
        pickle.dump({"ema": net}, f)
    den = load_model(f"edm:{path}")
    generate = importlib.import_module("generate")
    try:
        assert generate.__file__.startswith(REPO)
        z = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        K = 5
        with torch.no_grad():
            theirs = generate.edm_sampler(net, z, num_steps=K)
            ours = sample(den, z * 80.0, edm_sigmas(K, 0.002, 80.0), solver="heun")
            assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-5)
            grids = {"edm": edm_sigmas(K, 0.002, 80.0), "vp": vp_time_sigmas(K, 0.002, 80.0, rho=1.0),
                     "ve": logsnr_sigmas(K, 0.002, 80.0)}
            for disc, grid in grids.items():
                for solver in ("euler", "heun"):
                    theirs = generate.ablation_sampler(net, z, num_steps=K, sigma_min=0.002, sigma_max=80.0,
                                                       solver=solver, discretization=disc, schedule="linear",
                                                       scaling="none")
                    ours = sample(den, z * float(grid[0]), grid, solver=solver)
                    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-5), (disc, solver)
    finally:
        sys.modules.pop("generate", None)
