"""Contracts every registry row must keep, checked by iterating over the registries (a row added
later is covered, or fails until it is): each schedule option changes the grid, solver-specific
methods depend on the solver and the others do not, seeded methods depend on the seed and the
others do not; every model family loads and answers EDM's protocol; every per-model cache keys on
every argument; EDM's seed and image conventions; validation at the boundary of each check."""
import os

import numpy as np
import pytest
import torch

from artlib.core.errors import ArtlibError
from artlib.core.samplers import generate, random_labels, seeded_batch, to_uint8
from artlib.core.schedules import edm_sigmas
from artlib.methods import registry
from artlib.models import load_model
from artlib.models.registry import FAMILIES, model_identity

#: Each schedule method at a size the tests afford (the options every variant starts from).
SMALL = {"ays": "n=4,sweeps=1", "gits": "points=21,batch=8", "ld3": "n=8,iterations=3",
         "optimal": "n=16,fine_steps=32"}
#: Methods that need a kind of model: the model their contracts run on.
MODEL_FOR = {"ddim": "digits-vp", "pipeline": "digits-flow"}
#: Another value for an option, where the rule in ``_other`` would not change anything.
OTHER = {("gits", "gamma"): 0.5, ("pipeline", "shift"): 3.0}


def _spec(name: str, **change) -> str:
    opts = dict(kv.split("=") for kv in SMALL.get(name, "").split(",") if kv)
    opts.update({k: f"{v:g}" for k, v in change.items()})
    return name + (":" + ",".join(f"{k}={v}" for k, v in opts.items()) if opts else "")


def _other(name: str, key: str, method) -> float:
    if (name, key) in OTHER:
        return OTHER[(name, key)]
    lo, hi, integer = method.ranges[key]
    base = float(registry.parse(_spec(name)).options[key])
    if integer:
        return base + 1 if base + 1 <= hi else base - 1
    return min(base * 1.5, hi) if base else (lo + hi) / 2


class _TiltedKlub:
    """AYS's KLUB replaced by a cost that depends on the samples and seed it was built with, so the
    grid does too (the real KLUB's is tested in tests/test_peers.py): log(hi/lo)² weighted by hi^a."""
    evaluations = 0

    def __init__(self, den, n, seed):
        self.a = 0.5 * seed + 0.25 * n

    def many(self, lo, hi):
        return np.log(np.asarray(hi) / np.asarray(lo)) ** 2 * np.asarray(hi) ** self.a


def _random_gits_table(den, teacher_points, batch, metric, substeps, seed, progress):
    """GITS's teacher costs replaced by random ones drawn from every argument (the real table is
    tested in tests/test_peers.py): the path then depends on each of them."""
    from artlib.methods import gits
    from artlib.methods.grids import Cost
    tau = gits.teacher_grid(teacher_points, den.sigma_min, den.sigma_max)
    rng = np.random.default_rng([teacher_points, batch, ("dev", "l2").index(metric), substeps, seed])
    return tau, rng.random((tau.numel(), tau.numel())), Cost(0, 0.0)


@pytest.fixture(autouse=True)
def fast_peers(monkeypatch):
    from artlib.methods import ays, gits
    monkeypatch.setattr(ays, "Klub", _TiltedKlub)
    monkeypatch.setattr(gits, "_gits_table", _random_gits_table)


@pytest.fixture(scope="module")
def models():
    from artlib.models.gaussian import GMMDenoiser
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 4, 4, generator=g, dtype=torch.float64)
    gmm = GMMDenoiser(torch.tensor([0.5, 0.3, 0.2]), torch.randn(3, 4, generator=g, dtype=torch.float64),
                      A @ A.transpose(1, 2) / 4 + 0.05 * torch.eye(4, dtype=torch.float64), sigma_min=0.002, sigma_max=10.0)
    return {"gmm": gmm, **{m: load_model(m) for m in set(MODEL_FOR.values())}}


def _build(models, name, spec, solver="heun", seed=0, K=8):
    return registry.build(spec, models[MODEL_FOR.get(name, "gmm")], K, solver=solver, seed=seed)[0]


@pytest.mark.parametrize("name,key", [(n, k) for n, m in registry.METHODS.items() for k in m.defaults])
def test_every_option_of_every_method_changes_the_grid(models, name, key):
    method = registry.METHODS[name]
    other = _other(name, key, method)
    if (name, key) == ("optimal", "last"):      # the hand-over is Heun's: it changes the Heun grid
        assert other == 1
    base = _build(models, name, _spec(name))
    changed = _build(models, name, _spec(name, **{key: other}))
    assert not torch.equal(base, changed), f"{name}: {key}={other:g} gives the same grid as the default"


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_solver_specific_methods_and_only_they_depend_on_the_solver(models, name):
    euler = _build(models, name, _spec(name), solver="euler")
    heun = _build(models, name, _spec(name), solver="heun")
    assert torch.equal(euler, heun) != registry.METHODS[name].solver_specific


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_seeded_methods_and_only_they_depend_on_the_seed(models, name):
    a, again = (_build(models, name, _spec(name), seed=0) for _ in range(2))
    assert torch.equal(a, again)
    b = _build(models, name, _spec(name), seed=1)
    assert torch.equal(a, b) != registry.METHODS[name].seeded


def _direct(name):
    """What each method's documented function returns for the options of ``WIRED[name]`` (K = 6,
    seed 3, Heun), called directly rather than through the registry."""
    from artlib.art.optimum import LastStep, optimal_sigmas
    from artlib.methods import ays, dmn, gits, grids, ld3, pipeline
    return {
        "edm": lambda d: edm_sigmas(6, d.sigma_min, d.sigma_max, 3.0),
        "ays-gauss": lambda d: grids.ays_gauss_sigmas(6, d.sigma_min, d.sigma_max, 0.25),
        "dmn": lambda d: dmn.dmn_sigmas(6, d.sigma_min, d.sigma_max, 2),
        "gits": lambda d: gits.gits_sigmas(d, 6, teacher_points=21, batch=5, metric="l2", gamma=0.5, seed=3)[0],
        "ays": lambda d: ays.ays_sigmas(d, 6, n=5, sweeps=2, seed=3)[0],
        "ld3": lambda d: ld3.ld3_sigmas(d, 6, "heun", n=4, iterations=3, lr=0.1, radius=0.2, seed=3)[0],
        "optimal": lambda d: optimal_sigmas(d, 6, n=8, fine_steps=16, seed=3, solver="heun",
                                            last_step=LastStep(d, n=32, fine_steps=256, seed=4)),
        "ddim": lambda d: pipeline.ddim_sigmas(d, 6, trailing=True),
        "pipeline": lambda d: pipeline.pipeline_sigmas(d, 6, karras=True, shift=3.0),
    }[name]


#: Each method with options, set away from every default, as the registry is given them.
WIRED = {"edm": "rho=3", "ays-gauss": "c=0.25", "dmn": "order=2", "gits": "points=21,batch=5,gamma=0.5,l2=1",
         "ays": "n=5,sweeps=2", "ld3": "n=4,iterations=3,lr=0.1,radius=0.2", "optimal": "n=8,fine_steps=16,heun=1,last=1",
         "ddim": "trailing=1", "pipeline": "karras=1,shift=3"}


def test_every_method_with_options_is_wired():
    assert set(WIRED) == {n for n, m in registry.METHODS.items() if m.defaults}
    for name, opts in WIRED.items():          # every option is set away from its default
        assert set(registry.parse(f"{name}:{opts}").options.items()).isdisjoint(registry.METHODS[name].defaults.items())


@pytest.mark.parametrize("name", list(WIRED))
def test_the_registry_passes_each_option_as_its_method_documents(models, name):
    den = models[MODEL_FOR.get(name, "gmm")]
    through = registry.build(f"{name}:{WIRED[name]}", den, 6, solver="heun", seed=3)[0]
    assert torch.equal(through, _direct(name)(den))


def test_every_bench_row_is_a_method_of_the_registry():
    for solver in ("euler", "heun"):
        for label, spec in registry.bench_rows(solver).items():
            registry.parse(spec)
    assert "Closed-form optimum (Heun cost)" in registry.bench_rows("heun")
    assert "Closed-form optimum (Heun cost)" not in registry.bench_rows("euler")


# --- the model registry -----------------------------------------------------------------------

def _gmm_file(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, weights=np.array([0.6, 0.4]), means=np.zeros((2, 3)),
             covs=np.stack([np.eye(3), 2 * np.eye(3)]), sigma_min=0.002, sigma_max=5.0)
    return f"gmm:{path}"


def _net_file(tmp_path):
    import shutil
    from artlib.models.smallnet import WEIGHTS
    shutil.copy(WEIGHTS, tmp_path / "net.pt")
    return f"digits-net:{tmp_path / 'net.pt'}"


def _tiny_diffusers(tmp_path):
    from artlib.repro.tiny import make
    return make(tmp_path, "vp-eps")


#: A model string of each family that loads here (None: needs what only its own test provides).
EXAMPLES = {"gauss1d": lambda p: "gauss1d", "gaussian": lambda p: "gaussian:c=0.5,dim=3",
            "digits": lambda p: "digits:conditional=1", "faces": lambda p: "faces:components=1",
            "patches": lambda p: "patches:components=1",
            "gmm": _gmm_file, "digits-net": _net_file, "edm": None, "diffusers": _tiny_diffusers,
            "digits-vp": lambda p: "digits-vp", "digits-flow": lambda p: "digits-flow"}


def test_every_model_family_has_an_example_here():
    assert set(EXAMPLES) == set(FAMILIES)   # a new row: add its example (edm: tests/test_edm_repo.py)


@pytest.mark.parametrize("family", [f for f, e in EXAMPLES.items() if e is not None])
def test_every_model_family_answers_edm_protocol(family, tmp_path):
    spec = EXAMPLES[family](tmp_path)
    den = load_model(spec)
    assert 0 <= den.sigma_min < den.sigma_max and den.prior_std > 0
    x, labels = seeded_batch(den, [0, 1], device=getattr(den, "device", "cpu"))
    sigma = torch.full((2,), 1.3, dtype=torch.float64)
    out = den(x, sigma, labels)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert torch.equal(out, den(x, sigma, labels))                      # deterministic
    ident = model_identity(spec)
    assert ident["model"] == spec and ident == model_identity(spec)
    files = [p for p in FAMILIES[family].files(spec.partition(":")[2]) if str(tmp_path) in str(p)]
    assert ("model_sha256" in ident) == bool(FAMILIES[family].files(spec.partition(":")[2]))
    if files:                                 # a file replaced under its name (copies in tmp_path only)
        with open(sorted(files)[-1], "ab") as f:
            f.write(b"\0")
        assert model_identity(spec)["model_sha256"] != ident["model_sha256"]


@pytest.mark.parametrize("spec,attr,value", [
    ("gaussian:c=0.25", "c", 0.25), ("gaussian:dim=7", "shape", (7,)), ("gaussian:sigma_max=9", "sigma_max", 9.0),
    ("gaussian:sigma_min=0.01", "sigma_min", 0.01), ("digits:sigma_max=40", "sigma_max", 40.0),
    ("digits:sigma_min=0.01", "sigma_min", 0.01), ("digits:conditional=1", "label_dim", 10),
    ("faces:sigma_max=40", "sigma_max", 40.0), ("digits-flow:sigma_max=20", "sigma_max", 20.0),
])
def test_every_model_option_reaches_the_model(spec, attr, value):
    assert getattr(load_model(spec), attr) == value


def test_the_standin_cache_keys_on_every_argument():
    a, b = load_model("digits:components=3"), load_model("digits:components=4")
    assert a.log_w.numel() == 3 and b.log_w.numel() == 4
    assert load_model("digits").sigma_max == 80.0 and load_model("digits:sigma_max=40").sigma_max == 40.0
    assert load_model("digits:sigma_min=0.01").sigma_min == 0.01 and load_model("digits").sigma_min == 0.002


# --- per-model caches -------------------------------------------------------------------------

def _fresh_gmm(models):
    from artlib.models.gaussian import GMMDenoiser
    g = models["gmm"]
    covs = g.evecs @ torch.diag_embed(g.evals) @ g.evecs.transpose(1, 2)
    return GMMDenoiser(torch.exp(g.log_w), g.means, covs, sigma_min=g.sigma_min, sigma_max=g.sigma_max)


def _cached_fn(kind):
    from artlib.art.optimum import q_profile
    from artlib.methods.ays import ays_sigmas
    from artlib.methods.gits import gits_sigmas
    return {"profile": (lambda den, **kw: q_profile(den, **kw).mean,
                        {"n": 8, "fine_steps": 16, "seed": 0, "solver": "euler"},
                        {"n": 9, "fine_steps": 24, "seed": 1, "solver": "heun"}),
            "gits": (lambda den, **kw: gits_sigmas(den, 6, **kw)[0],
                     {"teacher_points": 21, "batch": 4, "metric": "dev", "seed": 0},
                     {"teacher_points": 23, "batch": 5, "metric": "l2", "seed": 1}),
            "ays": (lambda den, **kw: ays_sigmas(den, 5, **kw)[0],
                    {"n": 8, "sweeps": 1, "seed": 0}, {"n": 9, "sweeps": 2, "seed": 1})}[kind]


@pytest.mark.parametrize("kind,arg", [(k, a) for k in ("profile", "gits", "ays") for a in _cached_fn(k)[1]])
def test_every_cache_keys_on_every_argument(models, kind, arg):
    fn, base, other = _cached_fn(kind)
    den = _fresh_gmm(models)
    first = fn(den, **base)                                         # warms the model's cache
    got = fn(den, **{**base, arg: other[arg]})
    fresh = fn(_fresh_gmm(models), **{**base, arg: other[arg]})     # computed on a model without a cache
    assert torch.equal(got, fresh), f"{kind}: {arg} is not in the cache key"
    assert not torch.equal(first, fresh), f"{kind}: {arg} changes nothing here; choose another value"


# --- EDM's conventions ------------------------------------------------------------------------

def test_images_are_quantised_as_edm_saves_them():
    # EDM: (x · 127.5 + 128).clip(0, 255).to(uint8), truncating
    x = np.array([-1.0, -0.5, 0.0, 0.00392, 0.5, 1.0, 1.2, -1.01]).reshape(1, 1, 1, 8)
    assert to_uint8(x).ravel().tolist() == [0, 64, 128, 128, 191, 255, 255, 0]


def test_a_seeds_noise_and_label_come_from_that_seed_alone():
    den = load_model("digits:conditional=1")
    x, labels = seeded_batch(den, [11, 3, 7])
    for row, seed in enumerate([11, 3, 7]):
        g = torch.Generator().manual_seed(seed)      # EDM's generate.py: the latent first, then the class
        z = torch.randn((1, 8, 8), generator=g, dtype=torch.float64) * den.prior_std
        c = int(torch.randint(10, (1,), generator=g))
        assert torch.equal(x[row], z) and int(labels[row].argmax()) == c and labels[row].sum() == 1


def test_a_seeds_image_is_the_same_in_any_batch():
    den = load_model("digits:conditional=1")
    s = edm_sigmas(4, den.sigma_min, den.sigma_max)
    alone = generate(den, s, [7])
    for batch in ([7, 1, 2], [0, 7], list(range(9))):
        assert torch.equal(generate(den, s, batch)[batch.index(7)], alone[0])


def test_random_labels_come_from_the_generator_given():
    den = load_model("digits:conditional=1")
    draws = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        draws.append(random_labels(den, 64, torch.Generator().manual_seed(5)))
    assert torch.equal(*draws)
    assert not torch.equal(draws[0], random_labels(den, 64, torch.Generator().manual_seed(6)))


# --- validation at each boundary --------------------------------------------------------------

def _npz(tmp_path, covs):
    path = tmp_path / "m.npz"
    J, d = covs.shape[:2]
    np.savez(path, weights=np.full(J, 1 / J), means=np.zeros((J, d)), covs=covs, sigma_min=0.002, sigma_max=5.0)
    return f"gmm:{path}"


def test_a_covariance_with_one_negative_eigenvalue_is_refused(tmp_path):
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))
    ok = q @ np.diag([2.0, 1.0, 0.5, 0.0]) @ q.T                       # PSD, singular: accepted
    bad = q @ np.diag([2.0, 1.0, 0.5, -1e-3]) @ q.T
    load_model(_npz(tmp_path, np.stack([np.eye(4), 0.5 * (ok + ok.T)])))
    with pytest.raises(ArtlibError, match=r"covs\[1\] is not positive semi-definite"):
        load_model(_npz(tmp_path, np.stack([np.eye(4), 0.5 * (bad + bad.T)])))


@pytest.mark.parametrize("spec,ok", [("gaussian:dim=10000000", True), ("gaussian:dim=10000001", False),
                                     ("gaussian:c=1000000", True), ("gaussian:c=1000001", False),
                                     ("digits:components=0", False), ("digits:components=65", False)])
def test_sizes_at_and_just_past_their_limit(spec, ok):
    if ok:
        load_model(spec)
    else:
        with pytest.raises(ArtlibError, match="must be"):
            load_model(spec)


def test_the_budget_check_is_at_its_limit(gauss1d):
    from artlib.cli.checks import check_budget
    check_budget(gauss1d, [("--K", 1000, 1)], 1000)
    with pytest.raises(ArtlibError, match="^--K: about 1e[+]03 denoiser evaluations, over the limit of 1e[+]03"):
        check_budget(gauss1d, [("--K", 1001, 1)], 1000)


@pytest.mark.parametrize("text,ok", [("0-3,4", True), ("5,1-4", True), ("0-3,3", False), ("3,0-3", False),
                                     ("1,1", False), ("0-9,2-4", False)])
def test_a_seed_given_twice_is_refused_and_adjacent_ranges_are_not(text, ok):
    from artlib.core.options import parse_seeds
    if ok:
        assert len(parse_seeds(text)) == len(set(parse_seeds(text)))
    else:
        with pytest.raises(ArtlibError, match="repeat seed"):
            parse_seeds(text)


def test_an_output_that_is_an_input_by_another_name_is_refused(tmp_path):
    from artlib.core.io import check_output_file, same_file
    a = tmp_path / "a.npz"
    a.write_bytes(b"x")
    os.link(a, tmp_path / "hard.npz")
    os.symlink(a, tmp_path / "soft.npz")
    (tmp_path / "other.npz").write_bytes(b"x")
    assert same_file(a, tmp_path / "hard.npz") and same_file(a, tmp_path / "soft.npz") and same_file(a, tmp_path / "." / "a.npz")
    assert not same_file(a, tmp_path / "other.npz") and not same_file(a, tmp_path / "missing.npz")
    for alias in ("hard.npz", "soft.npz"):
        with pytest.raises(ArtlibError, match=f"^--out .*{alias}: must differ from {a}, which it would overwrite"):
            check_output_file(tmp_path / alias, "--out", not_same_as=(a,))
