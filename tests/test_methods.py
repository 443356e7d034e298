"""Schedule sources by name (``--schedule NAME[:k=v]``) and the ``schedule`` command."""
import json

import pytest
import torch

from artlib.methods import registry as sources
from artlib.cli import main
from artlib.core.errors import ArtlibError
from artlib.methods.grids import ays_gauss_sigmas, logsnr_sigmas, vp_time_sigmas
from artlib.core.schedules import edm_sigmas, load_schedule


@pytest.mark.parametrize("spec,needle", [
    ("", "empty"), ("warp", "unknown schedule"), ("edm:q=1", "unknown option"), ("edm:rho=0", "rho must be"),
    ("gits:points=2", "points must be an integer from 3"), ("gits:batch=1.5", "batch must be an integer"),
    ("dmn:order=4", "order must be"), ("ays-gauss:c=-1", "c must be"), ("logsnr:x=1", "allowed: none"),
    ("ld3:radius=2", "radius must be"), ("edm:rho", "expected key=value"),
])
def test_parse_rejects_with_a_line_naming_the_problem(spec, needle):
    with pytest.raises(ArtlibError, match=needle):
        sources.parse(spec)


def test_parse_fills_defaults_and_names_the_given_options():
    s = sources.parse("gits:gamma=1.2")
    assert s.options == {"points": 61, "batch": 256, "gamma": 1.2, "l2": 0}
    assert str(s) == "gits:gamma=1.2" and str(sources.parse("edm:rho=7")) == "edm"


def test_build_gives_each_method_with_its_provenance(gmm):
    s, prov = sources.build("ays-gauss:c=0.25", gmm, 6)
    assert torch.equal(s, ays_gauss_sigmas(6, gmm.sigma_min, gmm.sigma_max, 0.25))
    assert prov["method"] == "ays-gauss:c=0.25" and prov["options"] == {"c": 0.25} and prov["cost"]["evaluations"] == 0
    assert torch.equal(sources.build("logsnr", gmm, 5)[0], logsnr_sigmas(5, 0.002, gmm.sigma_max))
    for name, rho in (("time-uniform", 1.0), ("time-quadratic", 2.0)):
        assert torch.equal(sources.build(name, gmm, 5)[0], vp_time_sigmas(5, 0.002, gmm.sigma_max, rho=rho))
    assert torch.equal(sources.build("edm:rho=3", gmm, 5)[0], edm_sigmas(5, 0.002, gmm.sigma_max, 3.0))
    s, prov = sources.build("gits:points=21,batch=16", gmm, 4)
    assert s.numel() == 5 and prov["cost"]["evaluations"] == 16 * 20 * 9


@pytest.mark.parametrize("name", [n for n, m in sources.METHODS.items() if not m.needs])
def test_every_method_gives_a_valid_grid_on_gauss1d(name, gauss1d):
    small = {"ays": "ays:n=16,sweeps=1", "gits": "gits:points=11,batch=8", "ld3": "ld3:n=8,iterations=3",
             "optimal": "optimal:n=16,fine_steps=64"}
    s, prov = sources.build(small.get(name, name), gauss1d, 4, solver="heun")
    assert s.numel() == 5 and s[0] == gauss1d.sigma_max and s[-1] == 0 and torch.all(s[1:] < s[:-1])
    # the four methods that query the model spend evaluations; the closed forms none
    assert prov["cost"]["evaluations"] >= 0 and (prov["cost"]["evaluations"] > 0) == (name in small)


@pytest.mark.parametrize("name", [n for n, m in sources.METHODS.items() if m.needs])
def test_a_pipeline_schedule_on_another_model_is_refused_in_one_line(name, gauss1d):
    with pytest.raises(ArtlibError, match=f"^{name} is a diffusers pipeline's schedule: it needs a diffusers model"):
        sources.build(name, gauss1d, 4)


def test_schedule_command_writes_json_and_sigmas(tmp_path, capsys):
    out = tmp_path / "g.json"
    assert main(["schedule", "--model", "digits", "--schedule", "gits:points=21,batch=8", "--K", "5",
                 "--out", str(out), "--quiet"]) == 0
    s, meta = load_schedule(out)
    assert meta["method"] == "gits:batch=8,points=21" and meta["K"] == 5 and meta["cost"]["evaluations"] == 8 * 20 * 9
    assert meta["options"]["gamma"] == 1.15 and meta["seed"] == 0
    assert json.loads((tmp_path / "g.sigmas.txt").read_text()) == s.tolist()
    assert "gits:batch=8,points=21, K=5" in capsys.readouterr().err
    # the file is then a schedule everywhere
    assert main(["evaluate", "--model", "digits", "--schedule", str(out), "--K", "5", "--n", "4", "--json"]) == 0


@pytest.mark.parametrize("args,needle", [
    (["--schedule", "gits:gamma=0"], "gamma must be"),
    (["--schedule", "nope"], "unknown schedule"),
    (["--schedule", "x.json"], "a method"),
    (["--schedule", "logsnr", "--out", "/nonexistent/dir/s.json"], "--out"),
])
def test_schedule_command_bad_input_is_one_line_before_any_work(args, needle, tmp_path, capsys, monkeypatch):
    import artlib.models.registry
    monkeypatch.setattr(artlib.models.registry, "load_model", lambda *a, **k: pytest.fail("model loaded before the check"))
    base = {"--model": "digits", "--K": "4", "--out": str(tmp_path / "s.json")}
    argv = ["schedule"] + args
    for k, v in base.items():
        if k not in args:
            argv += [k, v]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and needle in err
    assert not (tmp_path / "s.json").exists()


def test_evaluate_sample_and_fid_take_peer_methods_and_check_them_first(capsys, monkeypatch, tmp_path):
    assert main(["evaluate", "--model", "gauss1d", "--schedule", "time-quadratic", "--K", "5", "--n", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schedule"] == "time-quadratic" and out["w2"] > 0
    import artlib.models.registry
    monkeypatch.setattr(artlib.models.registry, "load_model", lambda *a, **k: pytest.fail("model loaded before the check"))
    for cmd in (["evaluate", "--model", "digits", "--K", "3"],
                ["sample", "--model", "digits", "--K", "3", "--outdir", str(tmp_path / "o")]):
        assert main(cmd + ["--schedule", "ays:sweeps=0"]) == 2
        assert "sweeps must be" in capsys.readouterr().err


@pytest.mark.parametrize("spec,solver", [("optimal:n=8,fine_steps=16", "euler"), ("gits:points=7,batch=4", "euler"),
                                         ("ld3:n=4,iterations=3", "euler"), ("ld3:n=4,iterations=3", "heun"),
                                         ("ays:n=4,sweeps=1", "euler")])
def test_the_reported_cost_is_the_denoiser_work_done(gmm, gauss1d, counting, spec, solver):
    for model in (gmm, gauss1d):                       # σ_min > 0, and σ_min = 0 (a teacher step into 0)
        den = counting(model)
        _, prov = sources.build(spec, den, 3, solver=solver)
        assert prov["cost"]["evaluations"] == den.samples > 0


def test_every_source_has_its_documented_defaults():
    assert sources.parse("optimal").options == {"n": 256, "fine_steps": 512, "heun": 0, "last": 0}
    assert sources.parse("ddim").options == {"trailing": 0} and sources.parse("pipeline").options == {"karras": 0, "shift": 0}
    assert sources.parse("edm").options == {"rho": 7.0} and sources.parse("ays-gauss").options == {"c": 0.5}
    assert sources.parse("dmn").options == {"order": 3} and sources.parse("uniform").options == {}
    assert sources.parse("ays").options == {"n": 256, "sweeps": 6}
    assert sources.parse("ld3").options == {"n": 64, "iterations": 200, "lr": 0.05, "radius": 0.0}
    assert sources.parse("gits").options == {"points": 61, "batch": 256, "gamma": 1.15, "l2": 0}


#: every option's allowed range (lo, hi, integers only), as the CLI help and the book state them
RANGES = {("edm", "rho"): (0.01, 1000, False), ("optimal", "n"): (1, 1e6, True), ("optimal", "fine_steps"): (2, 1e5, True),
          ("ays-gauss", "c"): (1e-6, 1e6, False), ("ays", "n"): (2, 1e6, True), ("ays", "sweeps"): (1, 1000, True),
          ("gits", "points"): (3, 1000, True), ("gits", "batch"): (1, 1e6, True), ("gits", "gamma"): (1e-3, 1e3, False),
          ("gits", "l2"): (0, 1, True), ("dmn", "order"): (1, 3, True), ("ld3", "n"): (1, 1e5, True),
          ("ld3", "iterations"): (1, 1e6, True), ("ld3", "lr"): (1e-6, 10, False), ("ld3", "radius"): (0, 1, False),
          ("optimal", "heun"): (0, 1, True), ("optimal", "last"): (0, 1, True), ("ddim", "trailing"): (0, 1, True), ("pipeline", "karras"): (0, 1, True),
          ("pipeline", "shift"): (0, 100, False)}


def test_every_option_accepts_its_range_and_refuses_outside_it():
    assert set(RANGES) == {(n, k) for n, s in sources.METHODS.items() for k in s.ranges}
    assert all(set(s.ranges) == set(s.defaults) for s in sources.METHODS.values())
    for (name, key), (lo, hi, integer) in RANGES.items():
        for ok in (lo, hi):
            assert sources.parse(f"{name}:{key}={ok:.12g}").options[key] == ok
        step = 1 if integer else 1e-6
        for bad in (lo - (step * lo if lo and not integer else step), hi + (step * hi if not integer else step)):
            with pytest.raises(ArtlibError, match=f"{key} must be {'an integer' if integer else 'a number'} from"):
                sources.parse(f"{name}:{key}={bad:.12g}")
        inside = lo + (hi - lo) / 3 if hi - lo > 1 else (lo + hi) / 2
        if integer:
            with pytest.raises(ArtlibError, match="an integer"):
                sources.parse(f"{name}:{key}={int(inside) + 0.5:.12g}")
        else:
            assert sources.parse(f"{name}:{key}={inside:.12g}").options[key] == pytest.approx(inside)
