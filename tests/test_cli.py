import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artlib.__main__ import main
from artlib.denoisers import load_model
from artlib.errors import ArtlibError
from artlib.schedules import load_schedule


def run(*args):
    return subprocess.run([sys.executable, "-m", "artlib", *args], capture_output=True, text=True, timeout=600)


def test_evaluate_json_baselines(capsys):
    assert main(["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "10", "--solver", "euler", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nfe"] == 10 and out["w2"] == pytest.approx(0.110, abs=5e-4)  # SPEC §4.1 exact value
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
])
def test_sample_bad_input_exits_2(tmp_path, args, needle):
    base = {"--model": "digits", "--schedule": "edm", "--K": "3", "--seeds": "0-1", "--outdir": str(tmp_path / "o")}
    base.update(dict(zip(args[::2], args[1::2])))
    r = run("sample", *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0]
