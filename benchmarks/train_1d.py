"""Benchmark (not a test): wall time of learning the K = 100 schedule of the 1-D example with
this project's defaults (``learn_schedule``: B = 64, 400 iterations on 20 clock steps, re-used at
K), against the paper's protocol (B = 1, Adam 1e-4, N = 5,000 on K steps), in one run.

The paper protocol is timed over --paper-iterations iterations and extrapolated linearly to
N = 5,000 (its per-iteration cost does not change over training). Prints the quality reached
(exact W2 over the closed-form optimum) beside the times.

    .venv/bin/python benchmarks/train_1d.py [--K 100] [--paper-iterations 200]
"""
import argparse
import platform
import time

import torch

from artlib.denoisers import load_model
from artlib.distill import learn_schedule
from artlib.env import ARTEnv
from artlib.metrics import exact_w2
from artlib.rl import TrainConfig, train
from artlib.schedules import edm_sigmas, optimal_sigmas


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--K", type=int, default=100)
    p.add_argument("--paper-iterations", type=int, default=200)
    a = p.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    den = load_model("gauss1d")
    env = ARTEnv(den, a.K)
    w_opt = exact_w2(den, optimal_sigmas(den, a.K), "euler")
    w_edmt = exact_w2(den, edm_sigmas(a.K, 0.0, 3.0, 3.0), "euler")

    cfg = TrainConfig()
    t0 = time.perf_counter()
    learned = learn_schedule(den, a.K, cfg, progress=False)
    t_default = time.perf_counter() - t0
    w = exact_w2(den, learned.sigmas, "euler")

    paper = TrainConfig.paper_protocol(iterations=a.paper_iterations)
    t0 = time.perf_counter()
    train(paper, env, progress=False)
    t_paper = (time.perf_counter() - t0) * 5000 / a.paper_iterations

    print(f"default  ({cfg.iterations} it x B={cfg.batch}, {learned.env.K} steps): {t_default:8.1f} s   W2/optimum {w / w_opt:.3f}"
          f"   below EDM-T: {w < w_edmt}")
    print(f"paper    (5000 it x B=1, extrapolated from {a.paper_iterations}): {t_paper:8.1f} s")
    print(f"ratio paper/default wall time: {t_paper / t_default:.2f}")


if __name__ == "__main__":
    main()
