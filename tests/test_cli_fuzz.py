"""Fuzz the command line: random argument vectors for every subcommand must end in exit 0, or in
exit 2 with exactly one line on stderr and no traceback, leave no file behind on failure, never
change an input (whatever the exit code: outputs aliased to inputs, by name or by a link, are in
the draws), and stay under a time limit. Regression cases found so far are listed in CORPUS."""
import os
import signal
import stat

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artlib.cli import main

NUMBERS = ["0", "-1", "1", "2", "3", "abc", "", "1e3", "3.5", "99999999999999999999", "nan", "inf", "-0"]
MODELS = ["gauss1d", "gaussian:c=0.5,dim=2", "gaussian:c=1e400", "gaussian:dim=1e12", "gaussian:c=1,c=2",
          "digits:components=0", "nope", "", ":", "gmm:", "gmm:{dir}", "gmm:{fifo}", "gmm:{npz}", "gmm:{text}",
          "digits-net:{text}", "digits-net:{dict}", "edm:{text}", "edm:http://x/y.pkl", "gaussian:sigma_max=-1",
          "gmm:{mix}", "gmm:{mixlink}", "gmm:{mixhard}", "gmm:{mixtxt}", "digits-net:{net}"]
#: Outputs that are inputs by another name: the same path, a symbolic link, a hard link, the
#: .sigmas.txt written beside a JSON, the network's weights
ALIASES = ["{mix}", "{mixlink}", "{mixhard}", "{mixjson}", "{net}"]
SCHEDULES = ["uniform", "edm", "edm:rho=-1", "edm:rho=1e400", "optimal", "", "warp", "{fifo}", "{dir}/",
             "{json}", "{text}", "{deep}", "/dev/zero", "./uniform", "missing.json"]
FLAGS = {
    "train": {"--model": MODELS, "--K": NUMBERS, "--iterations": ["1", "2", "0", "-3", "x"], "--batch": ["1", "2", "0"],
              "--nodes": ["1", "2", "0", "x"], "--rho": NUMBERS, "--lam": NUMBERS, "--clock": ["psi", "t", "x"],
              "--seed": NUMBERS, "--out": ["{out}", "{dir}", "{fifo}", "/proc/x.json", "", "{out}", *ALIASES],
              "--checkpoint": ["{ck}", "{out}", "{dir}", "{text}", *ALIASES], "--natural": ["true", "maybe"]},
    "schedule": {"--model": MODELS, "--schedule": ["edm", "uniform", "optimal:n=4,fine_steps=8", "nope", "{json}"],
                 "--K": ["1", "3", "0", "x"], "--out": ["{out}", "{dir}", *ALIASES]},
    "evaluate": {"--model": MODELS, "--schedule": SCHEDULES, "--K": NUMBERS, "--solver": ["euler", "heun", "rk4"],
                 "--n": ["0", "2", "-5", "x", "99999999999"], "--seed": NUMBERS, "--ref-steps": ["1", "2", "0"]},
    "sample": {"--model": MODELS, "--schedule": SCHEDULES, "--K": NUMBERS, "--seeds": ["0-1", "5-2", "x", "0-100000000", "-3"],
               "--outdir": ["{outdir}", "{text}", "/proc/x"], "--workdir": ["{dir}", "{text}", "/proc/w"],
               "--device": ["cpu", "tpu", "cuda", "cuda:7"],
               "--batch": NUMBERS},
    "fid": {"--ref": ["{text}", "{npz}", "{dir}", "missing.npz"], "--images": ["{dir}", "{text}"],
            "--model": MODELS, "--K": NUMBERS, "--device": ["cpu", "tpu"], "--inception-weights": ["{text}", "missing.pt"]},
    "bench": {"--device": ["tpu", "cuda", "x"]},
    "reproduce": {"--profile": ["x", ""], "--only": ["nope"], "--device": ["tpu"]},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import torch
    d = tmp_path_factory.mktemp("fuzz")
    (d / "text.txt").write_text("not what you think")
    os.mkfifo(d / "fifo")
    np.savez(d / "arr.npz", weights=np.ones(2), means=np.zeros((2, 3)))
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 3))
    mix = dict(weights=np.array([0.4, 0.6]), means=rng.normal(size=(2, 3)), covs=a @ a.transpose(0, 2, 1) / 3 + 0.1 * np.eye(3))
    np.savez(d / "mix.npz", **mix)
    os.symlink(d / "mix.npz", d / "mixlink.npz")
    os.link(d / "mix.npz", d / "mixhard.npz")
    np.savez(d / "m.npz", **mix)
    os.replace(d / "m.npz", d / "m.sigmas.txt")               # a mixture whose name a .sigmas.txt would take
    np.save(d / "single.npy", np.zeros(3))
    os.replace(d / "single.npy", d / "single.npz")           # a .npy renamed .npz
    np.savez(d / "complex.npz", weights=np.ones(2) + 1j, means=np.zeros((2, 3)), covs=np.tile(np.eye(3), (2, 1, 1)))
    from artlib.models.smallnet import WEIGHTS
    import shutil
    shutil.copy(WEIGHTS, d / "net.pt")
    (d / "s.json").write_text('{"sigmas": [3.0, 1.0, 0.0]}')
    (d / "deep.json").write_text("[" * 100000 + "]" * 100000)
    torch.save({"a": torch.zeros(2)}, d / "dict.pt")
    (d / "sub").mkdir()
    return {"dir": str(d / "sub"), "fifo": str(d / "fifo"), "npz": str(d / "arr.npz"), "text": str(d / "text.txt"),
            "json": str(d / "s.json"), "deep": str(d / "deep.json"), "dict": str(d / "dict.pt"),
            "out": str(d / "out" / "o.json"), "ck": str(d / "ck.pt"), "outdir": str(d / "imgs"), "root": d,
            "mix": str(d / "mix.npz"), "mixlink": str(d / "mixlink.npz"), "mixhard": str(d / "mixhard.npz"),
            "mixtxt": str(d / "m.sigmas.txt"), "mixjson": str(d / "m.json"), "net": str(d / "net.pt"),
            "single": str(d / "single.npz"), "complex": str(d / "complex.npz")}


#: The files no command may change, whatever its exit code.
INPUTS = ("mix.npz", "m.sigmas.txt", "net.pt", "s.json", "text.txt", "arr.npz")


def _digest(root):
    import hashlib
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in INPUTS}


def _fill(token: str, files) -> str:
    for k, v in files.items():
        token = token.replace("{" + k + "}", str(v))
    return token


class TimeLimit(Exception):
    pass


def _run(argv, capsys, seconds=60):
    def alarm(*_):
        raise TimeLimit(f"no answer in {seconds} s: {argv}")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        code = main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, capsys.readouterr().err


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not stat.S_ISFIFO(p.lstat().st_mode))


def _check(argv, files, capsys):
    # a file the command names only as its --out is its output, not an input: it may be replaced
    out = argv[argv.index("--out") + 1] if "--out" in argv[:-1] else None
    output_only = {n for n in INPUTS if out == str(files["root"] / n) and sum(out in a for a in argv) == 1}
    before, inputs = _tree(files["root"]), _digest(files["root"])
    code, err = _run(argv, capsys)
    after = _digest(files["root"])
    assert {n: d for n, d in after.items() if n not in output_only} == \
        {n: d for n, d in inputs.items() if n not in output_only}, (argv, "an input was changed")
    lines = [ln for ln in err.splitlines() if ln.startswith("error:") or "Traceback" in ln]
    assert code in (0, 2), (argv, code, err[-500:])
    assert "Traceback" not in err, (argv, err[-500:])
    if code == 2:
        assert len(lines) == 1, (argv, err[-500:])
        assert _tree(files["root"]) == before, (argv, "left files behind")


@st.composite
def argvs(draw):
    cmd = draw(st.sampled_from(sorted(FLAGS)))
    flags = FLAGS[cmd]
    # bench and reproduce only ever get bad flags here: their valid runs take minutes
    least = len(flags) if cmd in ("bench", "reproduce") else 0
    chosen = draw(st.lists(st.sampled_from(sorted(flags)), min_size=least, max_size=len(flags), unique=True))
    argv = [cmd]
    for f in chosen:
        argv += [f, draw(st.sampled_from(flags[f]))]
    if cmd == "train":
        argv += ["--quiet", "--iterations", "2", "--batch", "2", "--bank", "8"] if "--iterations" not in chosen else ["--quiet"]
    if cmd == "schedule":
        argv += ["--quiet"]
    return argv


@settings(max_examples=int(os.environ.get("ARTLIB_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argvs())
def test_cli_fuzz(files, capsys, argv):
    _check([_fill(a, files) for a in argv], files, capsys)


#: Cases that once ended in a traceback, a hang or a wrong message (found by hand or by the fuzzer).
CORPUS = [
    ["evaluate", "--model", "gauss1d", "--schedule", "{fifo}", "--K", "3"],
    ["evaluate", "--model", "gauss1d", "--schedule", "/dev/zero", "--K", "3"],
    ["evaluate", "--model", "gauss1d", "--schedule", "{deep}", "--K", "3"],
    ["evaluate", "--model", "gauss1d", "--schedule", "", "--K", "3"],
    ["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "1000000000"],
    ["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "3", "--n", "-5"],
    ["evaluate", "--model", "gaussian:dim=100000000", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "gaussian:c=1,dim=3", "--schedule", "edm", "--K", "3", "--n", "1"],
    ["evaluate", "--model", "gaussian:c=1e400", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "gaussian:c=1,c=2", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "digits-net:{dict}", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "gmm:{fifo}", "--schedule", "edm", "--K", "3"],
    ["sample", "--model", "gauss1d", "--schedule", "edm", "--K", "3", "--outdir", "{outdir}"],
    ["sample", "--model", "digits", "--schedule", "edm", "--K", "3", "--outdir", "{outdir}", "--device", "tpu"],
    ["sample", "--model", "digits", "--schedule", "edm", "--K", "3", "--outdir", "{outdir}", "--seeds", "0-100000000"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "/proc/x.json"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{out}", "--checkpoint", "{out}"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{json}", "--checkpoint", "{dict}", "--iterations", "2"],
    ["bench", "--device", "tpu"],
    ["evaluate", "--model", "digits:components=1000000", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "edm:{fifo}", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "edm:{dict}", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "edm:{dir}", "--schedule", "edm", "--K", "3"],
    ["fid", "--ref", "{fifo}", "--images", "{dir}"],
    ["fid", "--ref", "{npz}", "--images", "{dir}"],
    # issue 24: outputs that would overwrite inputs, by name, by link, or beside a JSON
    ["train", "--model", "gmm:{mix}", "--K", "3", "--iterations", "2", "--batch", "2", "--bank", "8", "--out", "{mix}"],
    ["schedule", "--model", "gmm:{mix}", "--schedule", "edm", "--K", "3", "--out", "{mix}"],
    ["schedule", "--model", "gmm:{mix}", "--schedule", "edm", "--K", "3", "--out", "{mixlink}"],
    ["schedule", "--model", "gmm:{mix}", "--schedule", "edm", "--K", "3", "--out", "{mixhard}"],
    ["train", "--model", "digits-net:{net}", "--K", "3", "--iterations", "2", "--batch", "2", "--bank", "8", "--out", "{net}"],
    ["schedule", "--model", "gmm:{mixtxt}", "--schedule", "edm", "--K", "3", "--out", "{mixjson}"],
    ["train", "--model", "gmm:{mix}", "--K", "3", "--checkpoint", "{mixhard}", "--out", "{out}"],
    ["schedule", "--model", "gauss1d", "--schedule", "edm", "--K", "1", "--out", "{mix}"],   # not an input here
    # sizes that passed the checks and then ran out of memory or time
    ["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "3", "--n", "10000000"],
    ["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "3", "--ref-steps", "1000000000"],
    ["schedule", "--model", "gauss1d", "--schedule", "gits:batch=1000000", "--K", "3", "--out", "{out}"],
    ["schedule", "--model", "digits", "--schedule", "ays:n=1000000", "--K", "3", "--out", "{out}"],
    ["schedule", "--model", "digits", "--schedule", "optimal:n=1000000,fine_steps=100000", "--K", "3", "--out", "{out}"],
    ["schedule", "--model", "digits", "--schedule", "ld3:n=100000,iterations=1", "--K", "3", "--out", "{out}"],
    ["evaluate", "--model", "gaussian:c=1,dim=1e300", "--schedule", "edm", "--K", "3"],
    # one-line contract breaks
    ["evaluate", "--model", "gmm:{single}", "--schedule", "edm", "--K", "3"],
    ["evaluate", "--model", "gmm:{complex}", "--schedule", "edm", "--K", "3"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{root}/a\nb.json"],
    ["schedule", "--model", "gauss1d", "--schedule", "edm", "--K", "3", "--out", "{root}/a\nb.json"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{out}", "--policy-std", "1e308"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{out}", "--rho", "1e308"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{out}", "--lr-critic", "1e308"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{out}", "--gamma0", "1e308"],
    ["train", "--model", "gauss1d", "--K", "3", "--out", "{out}", "--clock", "t", "--lam", "1e308"],
    ["sample", "--model", "digits", "--schedule", "edm", "--K", "3", "--outdir", "{outdir}", "--seeds", "0-3,2-4"],
    ["fid", "--ref", "{npz}", "--model", "digits", "--schedule", "edm", "--K", "3", "--seeds", "0-3,2-4"],
]


@pytest.mark.parametrize("argv", CORPUS, ids=lambda a: " ".join(a)[:60])
def test_cli_corpus(files, capsys, argv):
    argv = [_fill(a, files) for a in argv]
    _check(argv, files, capsys)


def test_a_file_named_like_a_schedule_does_not_shadow_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "uniform").write_text("garbage")
    assert main(["evaluate", "--model", "gauss1d", "--schedule", "uniform", "--K", "3", "--n", "0", "--json"]) == 0
    assert "uniform" in capsys.readouterr().out
    assert main(["evaluate", "--model", "gauss1d", "--schedule", "./uniform", "--K", "3", "--n", "0"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_outputs_respect_the_umask_and_land_together(tmp_path, monkeypatch):
    import torch
    from artlib.core.schedules import export_path, save_schedule
    old = os.umask(0o022)
    try:
        out = tmp_path / "s.json"
        save_schedule(out, torch.tensor([3.0, 1.0, 0.0]), solver="euler", method="m", model="gauss1d",
                      sigma_min=0.0, sigma_max=3.0)
        assert stat.S_IMODE(out.stat().st_mode) == 0o644 and stat.S_IMODE(export_path(out).stat().st_mode) == 0o644
        before = out.read_bytes()
        export_path(out).unlink()
        export_path(out).mkdir()       # the .sigmas.txt cannot be written now
        with pytest.raises(Exception):
            save_schedule(out, torch.tensor([3.0, 2.0, 0.0]), solver="euler", method="m", model="gauss1d",
                          sigma_min=0.0, sigma_max=3.0)
        assert out.read_bytes() == before   # the JSON was not replaced without its .sigmas.txt
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    finally:
        os.umask(old)


def test_ctrl_c_early_exits_130_with_one_line(tmp_path):
    import subprocess
    import sys
    import time
    # SIGINT's default action restored in the child: a shell's background job (CI started with &)
    # inherits it ignored, and Python then never raises KeyboardInterrupt
    p = subprocess.Popen([sys.executable, "-m", "artlib", "evaluate", "--model", "digits", "--schedule", "optimal",
                          "--K", "5"], stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # interrupt once torch is being loaded, which happens inside main() (a SIGINT during Python's own
    # start-up, before main() runs, would end the process by the signal under load)
    deadline = time.time() + 60
    while time.time() < deadline and "libtorch" not in open(f"/proc/{p.pid}/maps").read():
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted"
