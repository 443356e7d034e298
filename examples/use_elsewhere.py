"""Run a schedule written by ``python -m artlib schedule`` (or ``train``) with k-diffusion's and
diffusers' samplers. tests/test_interop.py runs this file and checks each endpoint against
artlib's own sampler from the same noise; the book's introduction shows it."""
import ast

import torch

from artlib.export.diffusers import DiffusersEpsilon, betas_for_sigmas, diffusers_sample, set_diffusers_schedule
from artlib.export.kdiffusion import KDiffusionDenoiser
from artlib.models import load_model
from artlib.core.samplers import initial_noise


def run_everywhere(sigmas_txt, model="digits", n=8):
    # K + 1 values, the last one 0
    sigmas = torch.tensor(ast.literal_eval(open(sigmas_txt).read()), dtype=torch.float64)
    den = load_model(model)
    x = initial_noise(den, n, torch.Generator().manual_seed(0))   # one noise for all
    out = {}

    # k-diffusion takes the list as it is; its model is model(x, sigma) -> D(x; sigma)
    import k_diffusion.sampling as kds
    model_k = KDiffusionDenoiser(den)
    out["k-diffusion euler"] = kds.sample_euler(model_k, x.clone(), sigmas, disable=True)
    out["k-diffusion heun"] = kds.sample_heun(model_k, x.clone(), sigmas, disable=True)

    # diffusers: a UNet-style model predicts the noise from x / sqrt(sigma^2 + 1); the
    # scheduler's training sigmas must cover the grid (here: from 0.001 to 100)
    from diffusers import EulerDiscreteScheduler, HeunDiscreteScheduler
    betas = betas_for_sigmas(1e-3, 100.0).tolist()
    for name, cls in (("euler", EulerDiscreteScheduler), ("heun", HeunDiscreteScheduler)):
        scheduler = cls(trained_betas=betas, prediction_type="epsilon")
        set_diffusers_schedule(scheduler, sigmas)   # see artlib.export.diffusers for what it does
        model_d = DiffusersEpsilon(den, scheduler)
        out[f"diffusers {name}"] = diffusers_sample(scheduler, model_d, x.clone())
    return out


def main(argv=None) -> int:
    """Write a schedule for the digits stand-in (or read SIGMAS_TXT), run it everywhere and compare
    each endpoint with artlib's own sampler; exit 1 on a mismatch."""
    import argparse
    import sys
    import tempfile

    from artlib.core.samplers import sample
    from artlib.core.schedules import export_path, save_schedule
    from artlib.methods.registry import build
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("sigmas_txt", nargs="?", help="a NAME.sigmas.txt written by artlib (default: a new GITS grid)")
    ap.add_argument("--model", default="digits")
    a = ap.parse_args(argv)
    den = load_model(a.model)
    path = a.sigmas_txt
    if path is None:
        sigmas, prov = build("gits:points=31,batch=16", den, 6)
        path = str(export_path(tempfile.mkdtemp() + "/digits-gits.json"))
        save_schedule(path.replace(".sigmas.txt", ".json"), sigmas, solver="euler", model=a.model,
                      sigma_min=den.sigma_min, sigma_max=den.sigma_max, **prov)
    sigmas = torch.tensor(ast.literal_eval(open(path).read()), dtype=torch.float64)
    x = initial_noise(den, 8, torch.Generator().manual_seed(0))
    worst = 0.0
    for name, out in run_everywhere(path, a.model, 8).items():
        ours = sample(den, x, sigmas, solver=name.split()[-1])
        rel = float((out - ours).abs().max() / ours.abs().max())
        worst = max(worst, rel)
        print(f"{name:18s} relative difference from artlib: {rel:.1e}")
    ok = worst < 2e-5           # diffusers' float32 arithmetic; k-diffusion matches to float64 round-off
    print("all samplers agree with artlib" if ok else "a sampler disagrees with artlib", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
