"""Resumable shards and torch.distributed: moments that merge exactly, a work folder that refuses
other runs' shards, a SIGKILL mid-run that resumes to the same FID, and torchrun on 2 gloo
processes giving the single-process FID."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from artlib.cli import main
from artlib.eval.distributed import Comm
from artlib.core.errors import ArtlibError
from artlib.eval.fid import Moments
from artlib.eval.shards import Workdir, shard_ranges

ROOT = Path(__file__).resolve().parent.parent


def test_moments_of_shards_add_up_to_the_whole():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (101, 5)) @ rng.normal(size=(5, 5))
    parts = [x[r.start:r.stop] for r in shard_ranges(len(x), 17)]
    m = sum((Moments.of(p) for p in parts[1:]), Moments.of(parts[0]))
    mu, sigma = m.statistics()
    assert m.n == 101
    assert np.allclose(mu, x.mean(0), rtol=1e-13, atol=1e-13)
    assert np.allclose(sigma, np.cov(x, rowvar=False), rtol=1e-12, atol=1e-12)
    empty = Moments(0, np.zeros(0), np.zeros((0, 0)))
    assert (empty + m) is m and (m + empty) is m
    with pytest.raises(ArtlibError, match="at least 2"):
        Moments.of(x[:1]).statistics()


def test_shard_ranges_cover_every_position_once():
    assert [list(r) for r in shard_ranges(7, 3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert Comm(rank=1, world=3).mine(8) == [1, 4, 7]
    with pytest.raises(ArtlibError, match="shard size"):
        shard_ranges(5, 0)


def test_workdir_refuses_another_run_and_stray_shards(tmp_path):
    w = Workdir(tmp_path / "w", {"model": "digits", "solver": "heun"})
    w.save(0, np.arange(6, dtype=np.float32).reshape(2, 3))
    again = Workdir(tmp_path / "w", {"model": "digits", "solver": "heun"})
    assert again.has(0) and not again.has(1) and again.load(0, 2)[0].tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ArtlibError, match=r"other settings \(solver differ\)"):
        Workdir(tmp_path / "w", {"model": "digits", "solver": "euler"})
    (tmp_path / "w" / "manifest.json").unlink()
    with pytest.raises(ArtlibError, match="no manifest"):
        Workdir(tmp_path / "w", {"model": "digits", "solver": "heun"})
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArtlibError, match="not a folder"):
        Workdir(tmp_path / "file", {})
    with pytest.raises(ArtlibError, match="does not exist"):
        Workdir(tmp_path / "no" / "such", {})


def test_a_model_file_replaced_under_its_name_is_not_resumed_into(tmp_path, capsys):
    from artlib.models import model_identity
    mix = tmp_path / "mix.npz"
    cov = np.tile(np.eye(64) * 0.1, (2, 1, 1))
    np.savez(mix, weights=np.ones(2), means=np.stack([np.zeros(64), np.ones(64)]), covs=cov, shape=np.array([1, 8, 8]))
    args = ["sample", "--model", f"gmm:{mix}", "--schedule", "edm", "--K", "3", "--seeds", "0-3",
            "--outdir", str(tmp_path / "o"), "--workdir", str(tmp_path / "w"), "--quiet"]
    assert main(args) == 0
    assert main(args) == 0                                   # the same file: resumed
    before = model_identity(f"gmm:{mix}")["model_sha256"]
    np.savez(mix, weights=np.ones(2), means=np.stack([np.zeros(64), -np.ones(64)]), covs=cov, shape=np.array([1, 8, 8]))
    assert model_identity(f"gmm:{mix}")["model_sha256"] != before
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --workdir") and "(model_sha256 differ)" in err and len(err.splitlines()) == 1
    assert set(model_identity("digits-net")) == {"model", "model_sha256"}
    assert model_identity("edm:https://example.com/x.pkl") == {"model": "edm:https://example.com/x.pkl"}


def _fid_args(ref, weights, workdir=None, seeds="0-31", extra=("--shard-size", "8")):
    args = ["fid", "--ref", str(ref), "--model", "digits", "--schedule", "edm", "--K", "4", "--seeds", seeds,
            "--batch", "4", "--inception-weights", str(weights), "--quiet", *extra]
    return args + (["--workdir", str(workdir)] if workdir else [])


def _env(**kw):
    # one thread per process for every run compared here: torchrun's default, and float32
    # convolutions can round differently with another thread count
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **kw}


def _run(args, **kw):
    return subprocess.run([sys.executable, "-m", "artlib", *args], capture_output=True, text=True,
                          env=_env(), cwd=ROOT, **kw)


def test_sigkill_during_fid_then_rerun_gives_the_same_fid_and_skips_finished_shards(digits_ref, inception_weights, tmp_path):
    whole = _run(_fid_args(digits_ref, inception_weights))
    assert whole.returncode == 0, whole.stderr
    work = tmp_path / "work"
    p = subprocess.Popen([sys.executable, "-m", "artlib", *_fid_args(digits_ref, inception_weights, work)],
                         env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (work / "shard-000001.npy").exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.communicate()
    finished = sorted(work.glob("shard-*.npy"))
    assert p.returncode == -signal.SIGKILL and 1 <= len(finished) < 4, finished   # killed mid-run
    assert not list(work.glob(".*tmp"))   # no half-written shard is left as a shard
    stamps = {f: f.stat().st_mtime_ns for f in finished}
    resumed = _run(_fid_args(digits_ref, inception_weights, work))
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["fid"] == json.loads(whole.stdout)["fid"]   # bit for bit
    assert all(f.stat().st_mtime_ns == t for f, t in stamps.items())               # not redone
    assert len(list(work.glob("shard-*.npy"))) == 4
    # the same folder with other settings is refused before any work, with one line
    other = _run(_fid_args(digits_ref, inception_weights, work, seeds="0-39"))
    assert other.returncode == 2 and other.stderr.strip().count("\n") == 0
    assert "other settings (seeds differ)" in other.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(n, args):
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n),
                           "-m", "artlib", *args], capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600)


def test_two_gloo_processes_give_the_single_process_fid(digits_ref, inception_weights, tmp_path):
    one = _run(_fid_args(digits_ref, inception_weights, tmp_path / "one", seeds="0-39"))
    two = _torchrun(2, _fid_args(digits_ref, inception_weights, tmp_path / "two", seeds="0-39"))
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr[-2000:])
    a, b = json.loads(one.stdout), json.loads(two.stdout.strip().splitlines()[-1])
    assert (a["n"], b["n"], a["processes"], b["processes"]) == (40, 40, 1, 2)
    assert abs(a["fid"] - b["fid"]) <= 1e-9 * abs(a["fid"]), (a, b)
    for f in sorted((tmp_path / "one").glob("shard-*.npy")):   # every shard's features, bit for bit
        assert f.read_bytes() == (tmp_path / "two" / f.name).read_bytes()
    # a run started in one process resumes under two (shards do not depend on the world size)
    again = _torchrun(2, _fid_args(digits_ref, inception_weights, tmp_path / "one", seeds="0-39"))
    assert json.loads(again.stdout.strip().splitlines()[-1])["fid"] == a["fid"]


def test_two_gloo_processes_sample_the_same_images(tmp_path):
    args = ["sample", "--model", "digits", "--schedule", "edm", "--K", "3", "--seeds", "0-19", "--shard-size", "4",
            "--batch", "3", "--quiet"]
    one = _run(args + ["--outdir", str(tmp_path / "one")])
    two = _torchrun(2, args + ["--outdir", str(tmp_path / "two"), "--workdir", str(tmp_path / "w")])
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr[-2000:])
    names = sorted(p.name for p in (tmp_path / "one" / "images").iterdir())
    assert len(names) == 20 and names == sorted(p.name for p in (tmp_path / "two" / "images").iterdir())
    for n in names:
        assert (tmp_path / "one" / "images" / n).read_bytes() == (tmp_path / "two" / "images" / n).read_bytes()
    assert (tmp_path / "two" / "grid.png").is_file() and len(list((tmp_path / "w").glob("*.done"))) == 5


def test_ranks_started_with_different_arguments_exit_2_with_one_line(tmp_path):
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, "-m", "artlib", "sample", "--model", "digits", "--schedule", "edm",
                               "--K", "3", "--seeds", seeds, "--outdir", str(tmp_path / "o"), "--quiet"],
                              env=_env(WORLD_SIZE="2", RANK=str(r), LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1",
                                       MASTER_PORT=port),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r, seeds in enumerate(["0-7", "0-9"])]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [2, 2]
    assert outs[0][1].strip() == ("error: the 2 torchrun ranks were given different arguments; "
                                  "start every rank with the same command")
    assert outs[1][1].strip().startswith("rank 1: error: the 2 torchrun ranks")
    assert not (tmp_path / "o").exists()


def test_fid_cli_rejects_sharding_a_folder_run(tmp_path, capsys):
    np.savez(tmp_path / "ref.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    (tmp_path / "imgs").mkdir()
    assert main(["fid", "--ref", str(tmp_path / "ref.npz"), "--images", str(tmp_path / "imgs"),
                 "--workdir", str(tmp_path / "w")]) == 2
    assert "only a --model run is sharded" in capsys.readouterr().err


def _swap(p, q):
    tmp = p.read_bytes()
    p.write_bytes(q.read_bytes())
    q.write_bytes(tmp)


#: the ways a disk, a copy or a hand damage a finished FID work folder, each on shards of its own
DAMAGE = {
    "truncated": (1, lambda x, a, b: np.save(a, x[:3])),
    "wrong width": (2, lambda x, a, b: np.save(a, np.concatenate([x, x[:, :1]], 1))),
    "a NaN": (3, lambda x, a, b: (x.__setitem__((2, 5), np.nan), np.save(a, x))),
    "wrong dtype": (4, lambda x, a, b: np.save(a, x.astype(np.float64))),
    "swapped": (5, lambda x, a, b: _swap(a, b)),                                   # with shard 6
    "swapped with its record": (7, lambda x, a, b: (_swap(a, b), _swap(a.with_suffix(".json"), b.with_suffix(".json")))),
    "record lost": (9, lambda x, a, b: a.with_suffix(".json").unlink()),
}


def test_a_damaged_shard_is_computed_again_never_used(digits_ref, inception_weights, tmp_path):
    # ten shards of four images: seven kinds of damage on shards 1-9 (swaps take two), shard 0 intact
    args = dict(seeds="0-39", extra=("--shard-size", "4"))
    whole = _run(_fid_args(digits_ref, inception_weights, tmp_path / "clean", **args))
    assert whole.returncode == 0, whole.stderr
    import shutil
    work = tmp_path / "work"
    shutil.copytree(tmp_path / "clean", work)
    for i, damage in DAMAGE.values():
        a, b = work / f"shard-{i:06d}.npy", work / f"shard-{i + 1:06d}.npy"
        damage(np.load(a), a, b)
    again = _run(_fid_args(digits_ref, inception_weights, work, **args))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["fid"] == json.loads(whole.stdout)["fid"]          # the right number
    redone = {int(ln.split("shard ")[1].split()[0]) for ln in again.stderr.splitlines() if "computing it again" in ln}
    assert redone == {1, 2, 3, 4, 5, 6, 7, 8, 9}, again.stderr
    for f in sorted((tmp_path / "clean").glob("shard-*")):                            # and the folder repaired
        assert f.read_bytes() == (work / f.name).read_bytes(), f.name


def test_non_finite_features_are_an_error_naming_the_shard(tmp_path, monkeypatch):
    from artlib.eval import fid
    monkeypatch.setattr(fid, "_shard_features", lambda *a, **k: np.full((4, 3), np.nan, dtype=np.float32))
    from artlib.models import load_model
    from artlib.core.schedules import edm_sigmas
    den = load_model("digits")
    with pytest.raises(ArtlibError, match=r"shard 0 \(seeds 0–3\).*NaN"):
        fid.generated_moments(den, edm_sigmas(3, 0.002, 80.0), "heun", list(range(8)), None, batch=4, shard_size=4)


def test_a_check_failing_on_one_rank_is_one_line_on_rank_0(tmp_path):
    # the same command on both ranks, but rank 1 runs where the weights file is missing: both ranks
    # stop after agreeing, rank 0 says why in one line, rank 1 says nothing, and no image is written
    import shutil
    (tmp_path / "r0").mkdir()
    (tmp_path / "r1").mkdir()
    from artlib.models.smallnet import WEIGHTS
    shutil.copy(WEIGHTS, tmp_path / "r0" / "net.pt")
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, "-m", "artlib", "sample", "--model", "digits-net:net.pt", "--schedule",
                               "edm", "--K", "3", "--seeds", "0-7", "--outdir", str(tmp_path / "o"), "--quiet"],
                              env=_env(WORLD_SIZE="2", RANK=str(r), LOCAL_RANK=str(r), MASTER_ADDR="127.0.0.1",
                                       MASTER_PORT=port),
                              cwd=tmp_path / f"r{r}", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [2, 2], outs
    assert outs[0][1].strip().startswith("error: rank 1: network weights net.pt not found")
    assert len(outs[0][1].strip().splitlines()) == 1 and outs[1][1].strip() == ""
    assert not list((tmp_path / "o").rglob("*.png"))
