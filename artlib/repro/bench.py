"""``python -m artlib bench``: the training engine's speed, measured in one run (a benchmark,
not a test — machines are shared and noisy, so only ratios within one run are meaningful).

Prints, with the machine, torch version and date in its header:
1. the cost of one Q evaluation over one denoiser forward pass, for our joint-tangent JVP and for
   the paper's three queries (forward, JVP in x, ∂σD), on the 1-D model, the digits mixture and
   the small trained network;
2. rollout throughput (trajectory-steps per second) at B = 1, 16, 256;
3. wall time of learning the 1-D K = 100 schedule with the ψ-clock learner (the default), with the
   t-clock learner (also with the difference-of-drifts Q) and with the paper's protocol
   (extrapolated from its first iterations);
4. wall time of the ψ-clock learner on the image stand-ins, and how close its grid comes to the
   closed form (ratio of the proxy objective);
5. peak memory (resident set; CUDA allocator peak on a GPU);
6. the cost of learning a schedule for any model family in denoiser evaluations (ART-RL beside
   AYS, GITS and LD3), and what it would take on a GPU for an SD-1.5-sized UNet.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import torch

from ..art.dynamics import QOracle
from ..art.learn import learn_schedule
from ..art.optimum import objective_ratio, optimal_sigmas, q_profile
from ..art.psiclock import PsiConfig
from ..art.tclock import Actor, ARTEnv, TrainConfig, rollout, train
from ..core.samplers import initial_noise
from ..eval import fid
from ..eval.metrics import exact_w2
from ..models.registry import load_model
from ..models.smallnet import WEIGHTS, load_net
from .leaderboard import METHODS
from .reproduce import ROOT, device_name, load_profiles
from .smoke import random_inception_weights


def _time(fn, *, min_seconds: float = 0.3, repeats: int = 3) -> float:
    """Best-of-``repeats`` mean seconds per call, each repeat running ≥ ``min_seconds``."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= min_seconds:
                break
        best = min(best, el / n)
    return best


def _models(device: str):
    names = {"1-D (gauss1d)": "gauss1d", "digits mixture": "digits"}
    if WEIGHTS.is_file():
        names["small network (digits-net)"] = "digits-net"
    return {label: load_model(spec, device) for label, spec in names.items()}


def q_cost(models: dict, batch: int, device: str) -> dict[str, dict[str, float]]:
    """Seconds per forward, per Q (joint JVP, one call incl. its forward) and per 3-query Q."""
    rows = {}
    for name, den in models.items():
        oracle = QOracle(den)
        x = initial_noise(den, batch, torch.Generator().manual_seed(0), device=device) / den.prior_std
        psi = torch.full((batch,), 0.5 * oracle.T, dtype=torch.float64, device=device)
        with torch.no_grad():
            t_fwd = _time(lambda: oracle.drift(x, psi))
            t_q1 = _time(lambda: oracle.drift_and_q(x, psi))
            t_q3 = _time(lambda: oracle.q_three_queries(x, psi))
        rows[name] = {"forward_ms": 1e3 * t_fwd, "F+Q one JVP / forward": t_q1 / t_fwd,
                      "F+Q three queries / forward": t_q3 / t_fwd}
    return rows


def throughput(den, batches, K: int = 20) -> dict[int, float]:
    """Trajectory-steps per second of ART-RL rollouts (policy + env, no learning) per batch size."""
    env, cfg = ARTEnv(den, K), TrainConfig()
    actor = Actor(2, cfg.hidden, cfg.layers, torch.Generator().manual_seed(0))
    out = {}
    for b in batches:
        g = torch.Generator().manual_seed(0)
        out[b] = b * K / _time(lambda: rollout(env, actor, cfg, b, g), min_seconds=0.5, repeats=2)
    return out


def time_to_quality(K: int, paper_iterations: int) -> dict[str, float]:
    """1-D: wall time and exact W2 / optimum for the defaults, the difference-Q variant and the
    paper's protocol (timed over ``paper_iterations`` and extrapolated to 5,000)."""
    den = load_model("gauss1d")
    w_opt = exact_w2(den, optimal_sigmas(den, K), "euler")
    out = {}
    for label, cfg in (("psi clock", PsiConfig()), ("t clock", TrainConfig()),
                       ("t clock, difference Q", dataclasses.replace(TrainConfig(), q_estimator="difference"))):
        t0 = time.perf_counter()
        learned = learn_schedule(den, K, cfg, progress=False)
        out[f"{label}: seconds"] = time.perf_counter() - t0
        out[f"{label}: W2/optimum"] = exact_w2(den, learned.sigmas, "euler") / w_opt
    paper = TrainConfig.paper_protocol(iterations=paper_iterations)
    t0 = time.perf_counter()
    train(paper, ARTEnv(den, K), progress=False)
    out["paper protocol (5000 it, B=1): seconds, extrapolated"] = (time.perf_counter() - t0) * 5000 / paper_iterations
    out["paper / psi clock wall time"] = out["paper protocol (5000 it, B=1): seconds, extrapolated"] / out["psi clock: seconds"]
    return out


def image_training(models: dict) -> dict[str, dict[str, float]]:
    """The ψ-clock learner (default settings) per image model: seconds, and the proxy objective
    of its K = 50 grid over the closed form's (1 = the optimum)."""
    out = {}
    for name, den in models.items():
        if name.startswith("1-D"):
            continue
        t0 = time.perf_counter()
        learned = learn_schedule(den, 50, PsiConfig(), progress=False)
        seconds = time.perf_counter() - t0
        prof = q_profile(den)
        out[name] = {"seconds": seconds, "objective / closed form": objective_ratio(learned.sigmas, prof)
                     / objective_ratio(optimal_sigmas(den, 50), prof)}
    return out


def peak_memory_mb(device: str) -> dict[str, float]:
    """Peak resident set of this process (and the CUDA allocator's peak on a GPU), MiB."""
    out = {"peak RSS (MiB)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.startswith("cuda"):
        out["peak CUDA allocated (MiB)"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


#: GFLOP of one network evaluation (batch 1; a multiply-add counts 2) of EDM's published
#: architectures, counted with torch.utils.flop_counter on EDM's own ``EDMPrecond`` built with the
#: settings of its train.py (NVlabs/edm, commit 008a4e5); tests/test_edm_repo.py recounts them
#: where a clone is at hand. Parameters: 55.7 M, 61.8 M and 295.9 M, as EDM reports.
EDM_GFLOP = {"edm-cifar10-32x32": 42.383, "edm-afhqv2-64x64": 83.732, "edm-ffhq-64x64": 83.732,
             "edm-imagenet-64x64": 219.330}


def _gflop(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() / 1e9


def network_evaluations(params: dict, fid_schedules: int = 4) -> dict[str, float]:
    """Network evaluations (per model string) and Inception images that one chapter of the `paper`
    profile spends: FID sampling (fid_samples per schedule and NFE), the RMSE sweep and its
    reference solve (n seeds), the mean-|Q| profile (256 paths × 512 Heun steps, a JVP counted as
    3 evaluations) and training (ψ clock: 1,024 simulated Heun paths over its nodes, 2 evaluations
    and a JVP per node; t clock: iterations × batch × steps × 4). For the leaderboard (``models``)
    every method's grid is scored; the optimisers' own evaluations are not counted here (its
    chapter measures them: at their defaults AYS's dominate, some millions per model)."""
    fid_n, n = params.get("fid_samples", 0), params.get("n", 0)
    nfes = [f for key in ("nfe_list", "euler_nfe_list", "euler_nfe", "heun_nfe") for f in params.get(key, [])]
    grids = 5
    if params.get("models"):   # the leaderboard: every method is scored, by RMSE and by FID
        fid_schedules = grids = len(METHODS) + 1
    steps = params.get("clock_steps", 20)
    learn = (256 * (2 * 512 - 1 + 3 * 512)
             + 1024 * steps * 5 + params.get("t_iterations", 0) * params.get("batch", 64) * steps * 4)
    scored = fid_n * fid_schedules * sum(nfes) + n * (2 * params.get("ref_steps", 512) - 1 + grids * sum(nfes))
    models = params.get("targets") or params.get("models") or [params.get("model")]
    out = {m: scored + learn for m in models if m}
    if params.get("source"):   # transfer: the source model is only profiled and trained
        out[params["source"]] = out.get(params["source"], 0) + learn
    return {"evaluations": out, "inception_images": fid_n * fid_schedules * len(nfes) * len(out.keys() - {params.get("source")})}


def paper_estimate(device: str = "cpu", batch: int = 64) -> dict:
    """How long the `paper` profile would take on this device, from two measurements in this run:
    the small network's evaluations per second, scaled by the FLOP ratio of EDM's networks to it,
    and the FID Inception's images per second (random weights: the same architecture and cost)."""
    den = load_net().net.to(device)
    x, s = torch.randn(batch, 1, 8, 8, device=device), torch.ones(batch, device=device)
    small_gflop = _gflop(lambda: den(x[:1], s[:1]))
    with torch.no_grad():
        small_s = _time(lambda: den(x, s)) / batch
    with tempfile.TemporaryDirectory() as tmp:
        net = fid.inception(random_inception_weights(f"{tmp}/w.pth"), device)
    imgs = torch.zeros(16, 3, 32, 32, dtype=torch.uint8, device=device)
    incep_gflop = _gflop(lambda: net(imgs[:1]))
    with torch.no_grad():
        incep_s = _time(lambda: net(imgs), min_seconds=1.0, repeats=1) / 16
    rows, total = {}, 0.0
    for name, entry in load_profiles().items():
        p = entry.get("paper") or {}
        if not p.get("fid_samples"):
            continue
        work = network_evaluations(p)
        sec, gflop = incep_s * work["inception_images"], incep_gflop * work["inception_images"]
        for model, evals in work["evaluations"].items():
            key = next((k for k in EDM_GFLOP if k in model), None)
            sec += evals * small_s * (EDM_GFLOP[key] / small_gflop if key else 1.0)
            gflop += evals * (EDM_GFLOP[key] if key else small_gflop)
        rows[name] = {"network evaluations": sum(work["evaluations"].values()),
                      "Inception images": work["inception_images"], "PFLOP": gflop / 1e6, "hours here": sec / 3600}
        total += sec
    return {"small network GFLOP": small_gflop, "small network s/eval": small_s, "Inception GFLOP": incep_gflop,
            "Inception s/image": incep_s, "EDM GFLOP": EDM_GFLOP, "chapters": rows,
            "total PFLOP": sum(r["PFLOP"] for r in rows.values()), "total hours here": total / 3600, "device": device}


#: SD-1.5's UNet (859.5 M parameters), as diffusers builds it from the model's config: one evaluation
#: at 512 × 512 (a 64 × 64 latent, 77 text tokens), batch 1, in GFLOP, counted like EDM_GFLOP
#: (``sd15_gflop`` recounts it on the meta device; tests/test_bench.py checks the constant).
SD15_GFLOP = 803.273
#: The sustained throughput the GPU-time estimate assumes: a third of an A100's dense fp16 peak
#: (312 TFLOP/s, NVIDIA's datasheet), a typical utilisation for a UNet at batch 64. An assumption,
#: stated wherever the estimate is shown.
ASSUMED_TFLOPS = 100.0


def sd15_gflop() -> float:
    """SD-1.5's UNet forward FLOPs at 512 × 512, batch 1, counted without computing (meta tensors)."""
    import diffusers
    with torch.device("meta"):
        unet = diffusers.UNet2DConditionModel(
            sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=768, attention_head_dim=8)
        x, t, e = torch.randn(1, 4, 64, 64), torch.tensor([500.0]), torch.randn(1, 77, 768)
        return _gflop(lambda: unet(x, t, encoder_hidden_states=e))


def learning_costs(K: int = 10, guidance: bool = True) -> dict[str, dict[str, float]]:
    """What learning a K-step schedule costs in denoiser evaluations, for every model family alike
    (a diffusers family, an EDM network or a mixture: the methods count calls, not FLOPs), at the
    methods' defaults: ART-RL's training (Euler cost and Heun cost, the latter with one K's measured
    hand-over), AYS's table and LD3 for one (K, Euler) grid; with classifier-free ``guidance`` every
    evaluation is one batched call on both branches (twice the work). Each is then priced for an
    SD-1.5-sized UNet at ``ASSUMED_TFLOPS``: GPU hours."""
    from ..art import psiclock
    from ..art.optimum import LastStep
    from ..methods.registry import METHODS as REG
    from ..methods.registry import parse
    work = 2 if guidance else 1
    rows = {"ART-RL (Euler cost)": psiclock.evaluations(PsiConfig()),
            "ART-RL (Heun cost)": psiclock.evaluations(PsiConfig(cost="heun")) + LastStep.cost(K),
            "AYS": REG["ays"].estimate(K, "euler", parse("ays").options)[0],
            "LD3": REG["ld3"].estimate(K, "euler", parse("ld3").options)[0],
            "GITS": REG["gits"].estimate(K, "euler", parse("gits").options)[0]}
    return {name: {"evaluations": float(e), "SD-1.5 GPU hours": e * work * SD15_GFLOP / (ASSUMED_TFLOPS * 1e3) / 3600}
            for name, e in rows.items()}


def gpu_check_summary(folder=None) -> str:
    """Markdown: the figures of ``scripts/gpu_check.sh`` (device, date, times, the 1- and N-rank
    FIDs) if it has been run into ``artifacts/gpu-check``, else a line saying it was not run."""
    folder = Path(folder or ROOT / "artifacts" / "gpu-check")
    need = ["gpu.txt", "times.txt", "fid-1.json", "fid-2.json"]
    if not all((folder / n).is_file() for n in need):
        return ("**GPU check: not run.** No GPU was available to the build of this page. "
                "`bash scripts/gpu_check.sh` runs the benchmark and the paper-smoke profile on CUDA "
                "and a FID under torchrun with NCCL, and this section then reports its figures.")
    one, many = (json.loads((folder / n).read_text()) for n in ("fid-1.json", "fid-2.json"))
    when = dt.datetime.fromtimestamp((folder / "times.txt").stat().st_mtime, dt.timezone.utc)
    return (f"**GPU check** ({when:%Y-%m-%d}, {(folder / 'gpu.txt').read_text().strip()}): "
            f"{(folder / 'times.txt').read_text().strip()}. FID of {one['n']} images: {one['fid']:.10g} in "
            f"one process, {many['fid']:.10g} in {many['processes']} NCCL ranks.")


def run(*, quick: bool = False, device: str = "cpu", as_json: bool = False) -> dict:
    """Run every measurement and print it; returns the numbers."""
    header = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, {device_name(device)}",
              "torch": torch.__version__}
    res = {"header": header}
    models = _models(device)
    res["q_cost"] = q_cost(models, 16 if quick else 64, device)
    res["throughput"] = throughput(models["digits mixture"], [1, 16] if quick else [1, 16, 256])
    res["time_to_quality_1d"] = time_to_quality(20 if quick else 100, 20 if quick else 200)
    # the mixture only: on a CPU the small network's bank and closed form take minutes (GPU: all)
    res["image_training"] = image_training({k: v for k, v in models.items()
                                            if "mixture" in k or device.startswith("cuda")})
    res["memory"] = peak_memory_mb(device)
    res["learning_costs"] = learning_costs()
    if as_json:
        print(json.dumps(res, indent=1))
        return res
    print("# artlib bench — " + "; ".join(f"{k}: {v}" for k, v in header.items()))
    print("\n## Cost of (F, Q) over one forward pass (batch %d)" % (16 if quick else 64))
    for name, r in res["q_cost"].items():
        print(f"  {name:30s} forward {r['forward_ms']:7.3f} ms   one JVP {r['F+Q one JVP / forward']:5.2f}x"
              f"   three queries {r['F+Q three queries / forward']:5.2f}x")
    print("\n## Rollout throughput, digits mixture, K = 20 (trajectory-steps/s)")
    for b, v in res["throughput"].items():
        print(f"  B = {b:4d}: {v:10.0f}")
    print("\n## Time to quality, 1-D example")
    for k, v in res["time_to_quality_1d"].items():
        print(f"  {k:55s} {v:9.3f}")
    print("\n## ART-RL (psi clock) on the image stand-ins")
    for name, r in res["image_training"].items():
        print(f"  {name:30s} {r['seconds']:7.1f} s   objective / closed form {r['objective / closed form']:.3f}")
    print(f"\n## Learning a K = 10 schedule, any model family: denoiser evaluations, and GPU hours for an SD-1.5 UNet "
          f"with guidance ({SD15_GFLOP:.0f} GFLOP per evaluation, {ASSUMED_TFLOPS:.0f} TFLOP/s sustained, an assumption)")
    for name, r in res["learning_costs"].items():
        print(f"  {name:22s} {r['evaluations']:12,.0f}   {r['SD-1.5 GPU hours']:7.2f} h")
    print("\n## Memory")
    for k, v in res["memory"].items():
        print(f"  {k}: {v:.0f}")
    return res
