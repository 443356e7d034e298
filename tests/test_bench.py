"""The paper-profile cost estimate's arithmetic, and the GPU-check summary both ways."""
import json

import pytest

from artlib.repro.bench import EDM_GFLOP, gpu_check_summary, network_evaluations


def test_network_evaluations_by_hand():
    p = {"fid_samples": 10, "n": 2, "nfe_list": [3, 5], "euler_nfe_list": [2], "clock_steps": 4,
         "ref_steps": 8, "t_iterations": 3, "batch": 2, "model": "edm:x-cifar10.pkl"}
    fid = 10 * 4 * (3 + 5 + 2)                  # 4 schedules, every NFE
    rmse = 2 * (2 * 8 - 1 + 5 * 10)             # reference solve, 5 grids at every NFE
    profile = 256 * (2 * 512 - 1 + 3 * 512)     # mean-|Q| profile, a JVP as 3 evaluations
    train = 1024 * 4 * 5 + 3 * 2 * 4 * 4        # psi bank, t-clock iterations
    out = network_evaluations(p)
    assert out == {"evaluations": {"edm:x-cifar10.pkl": fid + rmse + profile + train}, "inception_images": 10 * 4 * 3}
    two = network_evaluations({**p, "model": None, "source": "a", "targets": ["b", "c"]})
    assert two["evaluations"] == {"a": profile + train, "b": fid + rmse + profile + train, "c": fid + rmse + profile + train}
    assert two["inception_images"] == 2 * 10 * 4 * 3
    board = network_evaluations({"fid_samples": 10, "n": 2, "euler_nfe": [4], "heun_nfe": [5], "ref_steps": 8,
                                 "clock_steps": 4, "models": ["m1", "m2"]})
    rows = 12                                   # eleven methods and ART-RL, each scored at every NFE
    assert board["evaluations"] == {m: 10 * rows * 9 + 2 * (2 * 8 - 1 + rows * 9) + profile + 1024 * 4 * 5
                                    for m in ("m1", "m2")}
    assert board["inception_images"] == 2 * 10 * rows * 2
    assert EDM_GFLOP["edm-cifar10-32x32"] < EDM_GFLOP["edm-ffhq-64x64"] < EDM_GFLOP["edm-imagenet-64x64"]


def test_gpu_check_summary_says_not_run_or_reports_the_figures(tmp_path):
    assert gpu_check_summary(tmp_path).startswith("**GPU check: not run.**")
    (tmp_path / "gpu.txt").write_text("NVIDIA H200, 143771 MiB, 560.1\n")
    (tmp_path / "times.txt").write_text("bench 60 s; paper-smoke 90 s; fid 1 and 2 ranks 40 s\n")
    (tmp_path / "fid-1.json").write_text(json.dumps({"n": 1024, "fid": 12.5, "processes": 1}))
    (tmp_path / "fid-2.json").write_text(json.dumps({"n": 1024, "fid": 12.5, "processes": 2}))
    text = gpu_check_summary(tmp_path)
    assert "NVIDIA H200" in text and "12.5 in one process, 12.5 in 2 NCCL ranks" in text


def test_sd15_flops_are_recounted_and_learning_costs_priced_by_hand():
    from artlib.repro import bench
    assert bench.sd15_gflop() == pytest.approx(bench.SD15_GFLOP, rel=1e-5)      # 859.5 M parameters, 512 × 512
    costs = bench.learning_costs(K=10)
    # ψ clock: a bank of 1,024 walks over 21 nodes, 2 evaluations each and a Heun state step (20 more);
    # Heun's cost: 5 evaluations per node, and one K's hand-over (a 256-step reference of 32 noises,
    # 36 candidate grids of 2K − 1 evaluations each)
    assert costs["ART-RL (Euler cost)"]["evaluations"] == 1024 * (2 * 21 + 20)
    assert costs["ART-RL (Heun cost)"]["evaluations"] == 1024 * 5 * 21 + 32 * 511 + 36 * 32 * 19
    e = costs["LD3"]["evaluations"]
    assert costs["LD3"]["SD-1.5 GPU hours"] == pytest.approx(e * 2 * 803.273e9 / 100e12 / 3600)
    assert bench.learning_costs(K=10, guidance=False)["LD3"]["SD-1.5 GPU hours"] == pytest.approx(e * 803.273e9 / 100e12 / 3600)
