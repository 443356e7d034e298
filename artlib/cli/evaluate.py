"""``evaluate``: one schedule on one model, scored against a fine reference solve (and exactly, on
the Gaussian models)."""
from __future__ import annotations

import argparse
import json

from .checks import (MAX_K, add_budget_flag, check_budget, int_in, method_cost, positive_int, resolve_schedule,
                     schedule_spec)


def schedule_help() -> str:
    """``--schedule``'s help: a file, or any method of the registry with its defaults."""
    from ..methods.registry import usage
    return "FILE.json or a method NAME[:k=v,...]: " + usage()


def cmd_evaluate(a: argparse.Namespace) -> int:
    import torch

    from ..core.options import check_solver, nfe
    from ..core.samplers import initial_noise, sample
    from ..eval.metrics import endpoint_rmse, exact_w2, frechet_distance_samples, reference, sample_w2_normal
    from ..models.gaussian import GaussianDenoiser
    from ..models.registry import load_model

    check_solver(a.solver)
    spec = schedule_spec(a.schedule)
    den = load_model(a.model)
    exact = isinstance(den, GaussianDenoiser)
    check_budget(den, method_cost(spec, a.K, a.solver) + [
        ("--n and --ref-steps", a.n * (nfe(a.ref_steps, "heun") + nfe(a.K, a.solver) * (2 if exact else 1)), a.n)],
        a.max_evals)
    sigmas, method = resolve_schedule(spec, den, a.K, solver=a.solver, seed=a.seed)
    result = {"model": a.model, "schedule": method, "K": a.K, "solver": a.solver,
              "nfe": nfe(a.K, a.solver), "sigmas": sigmas.tolist()}
    if a.n:
        ref = reference(den, range(a.n), ref_steps=a.ref_steps)
        result["rmse"] = endpoint_rmse(den, sigmas, ref, a.solver)[0]
        result["n"], result["ref_steps"] = a.n, a.ref_steps
    if exact:
        result["w2"] = exact_w2(den, sigmas, a.solver)
        if a.n >= 2:
            x = sample(den, initial_noise(den, a.n, torch.Generator().manual_seed(a.seed)), sigmas,
                       solver=a.solver)
            if den.dim == 1:
                result["w2_sample"] = sample_w2_normal(x, den.c)
            else:
                ref = torch.randn(a.n, den.dim, generator=torch.Generator().manual_seed(a.seed + 1),
                                  dtype=torch.float64) * den.c
                result["frechet_sample"] = frechet_distance_samples(x, ref)
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "sigmas":
                print(f"{k}: {v}")
    return 0


def add(sub, formatter) -> None:
    """Register ``evaluate``."""
    e = sub.add_parser("evaluate", help="evaluate a schedule on a model", formatter_class=formatter)
    e.add_argument("--model", required=True)
    e.add_argument("--schedule", required=True, help=schedule_help())
    e.add_argument("--K", required=True, type=positive_int("--K", MAX_K))
    e.add_argument("--solver", default="euler", choices=["euler", "heun"])
    e.add_argument("--n", type=int_in("--n", 0, 10 ** 7), default=256,
                   help="seeds 0..N-1 for the endpoint RMSE against a fine EDM-Heun reference (and sample "
                        "metrics on Gaussians); 0: skip")
    e.add_argument("--ref-steps", type=positive_int("--ref-steps"), default=512,
                   help="steps of the reference solve (EDM-Heun, rho 7)")
    e.add_argument("--seed", type=int_in("--seed", 0, 2 ** 63 - 1), default=0)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    add_budget_flag(e)
    e.set_defaults(func=cmd_evaluate)
