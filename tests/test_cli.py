import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artlib.cli import main
from artlib.models import load_model
from artlib.core.errors import ArtlibError
from artlib.core.schedules import load_schedule


def run(*args):
    return subprocess.run([sys.executable, "-m", "artlib", *args], capture_output=True, text=True, timeout=600)


def test_evaluate_json_baselines(capsys):
    assert main(["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "10", "--solver", "euler", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nfe"] == 10 and out["w2"] == pytest.approx(0.110, abs=5e-4)  # exact W2 of the uniform grid, K = 10 (paper §5.1 model)
    assert main(["evaluate", "--model", "gauss1d", "--schedule", "edm:rho=7", "--K", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["w2"] == pytest.approx(0.662, abs=5e-4)
    assert main(["evaluate", "--model", "gaussian:c=0.5,dim=4", "--schedule", "edm", "--K", "5",
                 "--solver", "heun", "--json", "--n", "500"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nfe"] == 9 and "frechet_sample" in out


def test_train_then_evaluate_subprocess(tmp_path):
    out = tmp_path / "s.json"
    r = run("train", "--model", "gauss1d", "--K", "4", "--iterations", "5", "--batch", "4", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    sigmas, meta = load_schedule(out, K=4)
    assert meta["method"] == "art-rl" and meta["model"] == "gauss1d" and meta["seed"] == 0
    r = run("evaluate", "--model", "gauss1d", "--schedule", str(out), "--K", "4", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["w2"] > 0


@pytest.mark.parametrize("args,needle", [
    (["evaluate", "--model", "nope", "--schedule", "uniform", "--K", "3"], "unknown model"),
    (["evaluate", "--model", "gaussian:c=abc", "--schedule", "uniform", "--K", "3"], "not a number"),
    (["evaluate", "--model", "gaussian:c", "--schedule", "uniform", "--K", "3"], "key=value"),
    (["evaluate", "--model", "gaussian:zz=1", "--schedule", "uniform", "--K", "3"], "unknown option"),
    (["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "0"], "--K"),
    (["evaluate", "--model", "gauss1d", "--schedule", "warp", "--K", "3"], "unknown schedule"),
    (["evaluate", "--model", "gauss1d", "--schedule", "missing.json", "--K", "3"], "not found"),
    (["evaluate", "--model", "gauss1d", "--schedule", "edm:rho=-1", "--K", "3"], "rho"),
    (["train", "--model", "gauss1d", "--K", "3", "--out", "/"], "directory"),
])
def test_bad_input_exits_2_with_one_line(args, needle, capsys):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(args))
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "Traceback" not in err and len(err.splitlines()) <= 3


def test_bad_schedule_file_subprocess(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sigmas": [3.0, 2.0, 2.5, 0.0]}))
    r = run("evaluate", "--model", "gauss1d", "--schedule", str(bad), "--K", "3")
    assert r.returncode == 2 and "strictly decreasing" in r.stderr and "Traceback" not in r.stderr
    r = run("evaluate", "--model", "gauss1d", "--schedule", str(bad), "--K", "5")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_model_parser_never_crashes(text):
    try:
        d = load_model(text)
    except ArtlibError:
        return
    assert d.sigma_max > d.sigma_min >= 0


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=3)), max_size=6)
                 .map(lambda v: json.dumps({"sigmas": v}))))
def test_schedule_loader_never_crashes(tmp_path_factory, content):
    p = tmp_path_factory.mktemp("h") / "s.json"
    p.write_text(content)
    try:
        s, _ = load_schedule(p)
    except ArtlibError:
        return
    assert s[-1] == 0 and bool((s[1:] < s[:-1]).all())


def test_sample_writes_images_per_seed(tmp_path, capsys):
    import matplotlib.image as mpimg
    assert main(["sample", "--model", "digits", "--schedule", "edm", "--K", "5", "--seeds", "3-5",
                 "--batch", "2", "--outdir", str(tmp_path), "--quiet"]) == 0
    files = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert files == ["000003.png", "000004.png", "000005.png"]
    alone = tmp_path / "alone"
    assert main(["sample", "--model", "digits", "--schedule", "edm", "--K", "5", "--seeds", "5",
                 "--outdir", str(alone), "--quiet"]) == 0
    # a seed gives the same image whichever batch it is in
    assert (mpimg.imread(tmp_path / "images" / "000005.png") == mpimg.imread(alone / "images" / "000005.png")).all()
    assert (tmp_path / "grid.png").is_file()


@pytest.mark.parametrize("args,needle", [
    (["--seeds", "5-2"], "--seeds"),
    (["--model", "edm:/nonexistent/net.pkl"], "does not exist"),
    (["--model", "edm:http://example.com/x.pkl"], "only https"),
    (["--model", "digits:components=0"], "components"),
    (["--outdir", "/proc/x"], "--outdir /proc/x: not writable"),        # os.access would say yes to root
    (["--workdir", "/proc/w"], "--workdir /proc/w: not writable"),
])
def test_sample_bad_input_exits_2(tmp_path, args, needle):
    base = {"--model": "digits", "--schedule": "edm", "--K": "3", "--seeds": "0-1", "--outdir": str(tmp_path / "o")}
    base.update(dict(zip(args[::2], args[1::2])))
    r = run("sample", *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0]


def test_train_flags_are_generated_from_both_configs(capsys):
    import dataclasses
    from artlib.cli import build_parser
    from artlib.cli.learn import train_config
    from artlib.art.psiclock import PsiConfig
    from artlib.art.tclock import TrainConfig
    p = build_parser()
    help_text = " ".join(p._subparsers._group_actions[0].choices["train"].format_help().split())
    for cls in (PsiConfig, TrainConfig):
        for f in dataclasses.fields(cls):
            if f.name != "seed":
                assert "--" + f.name.replace("_", "-") in help_text
    assert "psi clock: 500" in help_text and "t clock: 400" in help_text     # --iterations' defaults
    a = p.parse_args(["train", "--model", "gauss1d", "--K", "3", "--out", "x.json", "--nodes", "7", "--rho", "3"])
    cfg = train_config(a)
    assert isinstance(cfg, PsiConfig) and cfg.nodes == 7 and cfg.rho == 3.0 and cfg.iterations == 500
    a = p.parse_args(["train", "--model", "gauss1d", "--K", "3", "--out", "x.json", "--clock", "t", "--lam", "0.2",
                      "--theta-clip", "none", "--natural", "true"])
    cfg = train_config(a)
    assert isinstance(cfg, TrainConfig) and cfg.lam == 0.2 and cfg.theta_clip is None and cfg.natural is True
    cfg = train_config(p.parse_args(["train", "--model", "gauss1d", "--K", "3", "--out", "x.json", "--paper"]))
    assert cfg == TrainConfig.paper_protocol()


@pytest.mark.parametrize("args,needle", [
    (["--nodes", "5", "--clock", "t"], "--nodes does not apply to the t clock"),
    (["--lam", "0.1"], "--lam does not apply to the psi clock"),
    (["--nodes", "0"], "nodes must be an integer from 1 to"),
    (["--hidden", "1000000"], "hidden must be an integer from 1 to 4096"),
    (["--natural", "maybe", "--clock", "t"], "--natural must be true or false"),
    (["--rho", "x"], "--rho must be a number"),
    (["--out", "/nonexistent-dir/x.json"], "does not exist"),
    (["--checkpoint", "same.json", "--out", "same.json"], "must differ from"),
])
def test_train_bad_flags_exit_2_before_work(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["train", "--model", "gauss1d", "--K", "3", "--out", "s.json", "--quiet"]
    assert main(base + args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_evaluate_reports_rmse_for_every_model(capsys):
    # digits: endpoint RMSE against the 512-step reference; the closed form beats EDM at NFE 9
    rmse = {}
    for sched in ("edm", "optimal"):
        assert main(["evaluate", "--model", "digits", "--schedule", sched, "--K", "5", "--solver", "heun",
                     "--n", "32", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["nfe"] == 9 and out["n"] == 32 and "w2" not in out
        rmse[sched] = out["rmse"]
    assert rmse["optimal"] < 0.5 * rmse["edm"]
    # Heun's exact W2 differs from Euler's on a Gaussian (evaluate reports the solver asked for)
    w = {}
    for solver in ("euler", "heun"):
        assert main(["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "5", "--solver", solver,
                     "--n", "0", "--json"]) == 0
        w[solver] = json.loads(capsys.readouterr().out)["w2"]
    from artlib.models import load_model as lm
    from artlib.eval.metrics import exact_w2
    from artlib.core.schedules import uniform_sigmas
    den = lm("gauss1d")
    assert w["heun"] == pytest.approx(exact_w2(den, uniform_sigmas(5, 0.0, 3.0), "heun"), rel=1e-12)
    assert w["euler"] == pytest.approx(0.212, abs=5e-4) and w["heun"] < 0.7 * w["euler"]


def _mixture(path, **over):
    import numpy as np
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2, 4, 4))
    arrays = dict(weights=np.array([0.3, 0.7]), means=rng.normal(size=(2, 4)),
                  covs=A @ A.transpose(0, 2, 1) / 4 + 0.01 * np.eye(4), shape=np.array([1, 2, 2]))
    arrays.update(over)
    np.savez(path, **arrays)
    return path


def test_gmm_npz_model(tmp_path, capsys):
    import numpy as np
    p = _mixture(tmp_path / "mix.npz", sigma_max=np.array(20.0))
    den = load_model(f"gmm:{p}")
    assert den.shape == (1, 2, 2) and den.sigma_max == 20.0 and den.sigma_min == 0.002
    assert main(["evaluate", "--model", f"gmm:{p}", "--schedule", "optimal", "--K", "4", "--n", "16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rmse"] > 0


@pytest.mark.parametrize("over,needle", [
    ({"weights": [-0.5, 1.5]}, "weights must be non-negative"),
    ({"means": [[0.0] * 5] * 2}, "shapes disagree"),
    ({"covs": [[[1.0, 2.0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]] * 2}, "covs[0] is not symmetric"),
    ({"covs": [-1.0 * __import__("numpy").eye(4)] * 2}, "not positive semi-definite"),
    ({"means": [[float("nan")] * 4] * 2}, "NaN"),
    ({"shape": [3, 3]}, "does not hold d = 4"),
    ({"sigma_max": -1.0}, "sigma_min < sigma_max"),
])
def test_gmm_npz_rejections_are_one_line(tmp_path, over, needle, capsys):
    p = _mixture(tmp_path / "bad.npz", **over)
    assert main(["evaluate", "--model", f"gmm:{p}", "--schedule", "edm", "--K", "3", "--n", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_gmm_rejects_non_npz_and_special_files(tmp_path, capsys):
    import os
    (tmp_path / "text.npz").write_text("not a zip")
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    for path, needle in ((tmp_path / "text.npz", "not an .npz"), (fifo, "not a regular file"),
                         (tmp_path, "is a directory"), (tmp_path / "missing.npz", "not found")):
        assert main(["evaluate", "--model", f"gmm:{path}", "--schedule", "edm", "--K", "3"]) == 2
        assert needle in capsys.readouterr().err
