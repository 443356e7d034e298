"""Two small diffusers models trained on the digits stand-in's training split with diffusers' own
training recipes, on a CPU in minutes, and committed as pipeline folders (``unet/`` and
``scheduler/``, safetensors) under ``artlib/data/``:

* ``digits-vp``: a ``UNet2DModel`` with ε-prediction under DDPM's linear β schedule (1,000
  steps), trained as diffusers' ``train_unconditional.py`` trains it: uniform integer timesteps,
  ``DDPMScheduler.add_noise``, mean squared error on the noise;
* ``digits-flow``: the same network as a flow-matching model under
  ``FlowMatchEulerDiscreteScheduler`` (shift 1), trained as diffusers' SD3 scripts train theirs:
  timesteps from ``compute_density_for_timestep_sampling`` (logit-normal), x_t = (1 − t)x₀ + tε,
  mean squared error on the velocity ε − x₀.

Both use AdamW with a cosine learning rate and an EMA of the weights (diffusers' ``EMAModel``), whose
weights are saved. Remake them with

    python -m artlib fit-diffusers --kind vp --out artlib/data/digits-vp
    python -m artlib fit-diffusers --kind flow --out artlib/data/digits-flow
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..core.errors import ArtlibError
from ..core.io import atomic_write

DATA = Path(__file__).resolve().parents[1] / "data"
KINDS = ("vp", "flow")
FOLDERS = {"vp": DATA / "digits-vp", "flow": DATA / "digits-flow"}


def network():
    """The UNet both models share: 8×8 grey images, two resolutions, attention at 4×4 (396k
    parameters, 1.6 MB of float32)."""
    import diffusers
    return diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(24, 48),
                                 layers_per_block=1, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                 up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8,
                                 attention_head_dim=12)


def scheduler(kind: str):
    """The scheduler the model is trained and saved with."""
    import diffusers
    if kind == "vp":
        return diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False,
                                       prediction_type="epsilon")
    if kind == "flow":
        return diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    raise ArtlibError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def _loss(kind: str, net, sched, x0: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    noise = torch.randn(x0.shape, generator=g)
    if kind == "vp":
        t = torch.randint(0, sched.config.num_train_timesteps, (x0.shape[0],), generator=g)
        return torch.nn.functional.mse_loss(net(sched.add_noise(x0, noise, t), t).sample, noise)
    from diffusers.training_utils import compute_density_for_timestep_sampling
    u = compute_density_for_timestep_sampling("logit_normal", x0.shape[0], logit_mean=0.0, logit_std=1.0,
                                              generator=g)
    index = (u * sched.config.num_train_timesteps).long().clamp(max=sched.config.num_train_timesteps - 1)
    t, s = sched.timesteps[index], sched.sigmas[index].view(-1, 1, 1, 1)
    return torch.nn.functional.mse_loss(net((1 - s) * x0 + s * noise, t).sample, noise - x0)


def fit(kind: str, *, steps: int = 4000, batch: int = 128, lr: float = 2e-3, seed: int = 0,
        progress: bool = True):
    """Train the model of ``kind``; returns (the EMA network, its scheduler, the loss every 100 steps)."""
    from diffusers.training_utils import EMAModel

    from .standins import split
    sched = scheduler(kind)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    data = torch.from_numpy(split("digits")[0]).unsqueeze(1).to(torch.float32)
    net = network()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-6)
    cosine = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 200) * 0.5 * (1 + math.cos(math.pi * i / steps)))
    ema = EMAModel(net.parameters(), decay=0.999, use_ema_warmup=True)
    losses, running = [], 0.0
    for step in tqdm(range(steps), desc=f"fit {kind}", disable=not progress):
        loss = _loss(kind, net, sched, data[torch.randint(len(data), (batch,), generator=g)], g)
        opt.zero_grad(), loss.backward(), opt.step(), cosine.step()
        ema.step(net.parameters())
        running += loss.item()
        if (step + 1) % 100 == 0:
            losses.append(running / 100)
            running = 0.0
    ema.copy_to(net.parameters())
    return net.eval(), sched, losses


def fit_and_save(kind: str, out: str | Path, *, steps: int = 4000, seed: int = 0,
                 progress: bool = True) -> tuple[float, float]:
    """Train and save a pipeline folder (``unet/``, ``scheduler/``, ``training.json``); returns
    (seconds, final loss)."""
    t0 = time.perf_counter()
    net, sched, losses = fit(kind, steps=steps, seed=seed, progress=progress)
    out = Path(out)
    net.save_pretrained(out / "unet", safe_serialization=True)
    sched.save_pretrained(out / "scheduler")
    seconds = time.perf_counter() - t0
    info = {"kind": kind, "steps": steps, "seed": seed, "seconds": round(seconds, 1),
            "final_loss": losses[-1] if losses else math.nan, "data": "sklearn digits, artlib.models.standins split",
            "command": f"python -m artlib fit-diffusers --kind {kind} --steps {steps} --seed {seed} --out {out}"}
    atomic_write(out / "training.json", lambda tmp: Path(tmp).write_text(json.dumps(info, indent=1) + "\n"))
    return seconds, info["final_loss"]
