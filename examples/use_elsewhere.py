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
