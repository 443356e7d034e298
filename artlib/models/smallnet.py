"""A small EDM-preconditioned network trained on the digits stand-in (CPU, minutes).

The architecture is a stand-in for EDM's U-Nets with the same interface and the same
preconditioning (Karras et al. 2022, Table 1): D(x; σ) = c_skip x + c_out F(c_in x, c_noise)
with c_skip = σ_d²/(σ² + σ_d²), c_out = σσ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²),
c_noise = ln(σ)/4 and σ_d = 0.5. F is four 3×3 convolutions whose features are modulated by
an embedding of c_noise (FiLM). It is trained with EDM's loss: ln σ ~ N(−1.2, 1.2²),
weight λ(σ) = (σ² + σ_d²)/(σσ_d)². Unlike the mixtures its score is not exact — it is the
CPU analogue of a trained checkpoint (its Q costs a real JVP through a network).

    python -m artlib fit-net --steps 4000 --out artlib/data/digits_net.pt
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from ..core.constants import SIGMA_DATA
from ..core.errors import ArtlibError
from ..core.io import torch_load, torch_save

WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "digits_net.pt"


class SmallPrecond(nn.Module):
    """EDM's interface (``sigma_min``, ``sigma_max``, ``img_resolution``, ``img_channels``,
    ``label_dim``, ``forward(x, sigma, class_labels)``) around a four-layer CNN."""

    def __init__(self, channels: int = 1, resolution: int = 8, width: int = 48, sigma_data: float = SIGMA_DATA):
        super().__init__()
        self.img_channels, self.img_resolution, self.label_dim = channels, resolution, 0
        self.sigma_min, self.sigma_max, self.sigma_data = 0.0, float("inf"), sigma_data
        self.embed = nn.Sequential(nn.Linear(1, width), nn.SiLU(), nn.Linear(width, 6 * width))
        self.convs = nn.ModuleList([nn.Conv2d(channels, width, 3, padding=1),
                                    nn.Conv2d(width, width, 3, padding=1),
                                    nn.Conv2d(width, width, 3, padding=1)])
        self.out = nn.Conv2d(width, channels, 3, padding=1)
        self.width = width

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, class_labels=None) -> torch.Tensor:
        x = x.to(torch.float32)
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).reshape(-1, 1, 1, 1)
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sd ** 2 + sigma ** 2).sqrt()
        film = self.embed(sigma.reshape(-1, 1).log() / 4).reshape(-1, 6, self.width, 1, 1)
        h = c_in * x
        for i, conv in enumerate(self.convs):
            h = nn.functional.silu(conv(h) * (1 + film[:, 2 * i]) + film[:, 2 * i + 1])
        return c_skip * x + c_out * self.out(h)


def fit(data: torch.Tensor, *, steps: int = 4000, batch: int = 256, lr: float = 2e-3, seed: int = 0,
        width: int = 48, progress: bool = True) -> tuple[SmallPrecond, list[float]]:
    """Train ``SmallPrecond`` on images [N, C, H, W] in [−1, 1] with EDM's loss; returns the net and
    the loss every 100 steps. Deterministic for a seed on CPU."""
    if data.ndim != 4:
        raise ArtlibError(f"fit-net needs images [N, C, H, W], got shape {tuple(data.shape)}")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = SmallPrecond(data.shape[1], data.shape[2], width)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    data = data.to(torch.float32)
    losses, running = [], 0.0
    for step in tqdm(range(steps), desc="fit-net", disable=not progress):
        y = data[torch.randint(len(data), (batch,), generator=g)]
        sigma = (torch.randn(batch, 1, 1, 1, generator=g) * 1.2 - 1.2).exp()
        weight = (sigma ** 2 + net.sigma_data ** 2) / (sigma * net.sigma_data) ** 2
        noisy = y + sigma * torch.randn(y.shape, generator=g)
        loss = (weight * (net(noisy, sigma) - y) ** 2).mean()
        opt.zero_grad(), loss.backward(), opt.step(), sched.step()
        running += loss.item()
        if (step + 1) % 100 == 0:
            losses.append(running / 100)
            running = 0.0
    return net.eval(), losses


def save_net(path: str | Path, net: SmallPrecond, **meta) -> None:
    """Weights and constructor arguments as a weights-only torch file, atomically."""
    torch_save(path, {"state_dict": net.state_dict(), "channels": net.img_channels,
                      "resolution": net.img_resolution, "width": net.width, "meta": meta})


def load_net(path: str | Path = WEIGHTS):
    """An ``EDMDenoiser`` around saved ``SmallPrecond`` weights (σ range [0.002, 80])."""
    from .edm import EDMDenoiser
    path = Path(path)
    if not path.exists():
        raise ArtlibError(f"network weights {path} not found; train them with "
                          "python -m artlib fit-net --out PATH")
    ck = torch_load(path, what="network weights")
    try:
        net = SmallPrecond(int(ck["channels"]), int(ck["resolution"]), int(ck["width"]))
        net.load_state_dict(ck["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ArtlibError(f"network weights {path}: not a digits-net file written by fit-net "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    return EDMDenoiser(net)


def fit_digits(out: str | Path, *, steps: int = 4000, seed: int = 0, progress: bool = True) -> tuple[float, float]:
    """Train on the digits stand-in's training split and save the weights to ``out``; returns
    (seconds, final loss)."""
    from .standins import split
    data = torch.from_numpy(split("digits")[0]).unsqueeze(1)
    t0 = time.perf_counter()
    net, losses = fit(data, steps=steps, seed=seed, progress=progress)
    final = losses[-1] if losses else math.nan
    seconds = time.perf_counter() - t0
    save_net(out, net, steps=steps, seed=seed, final_loss=final, seconds=round(seconds, 1),
             data="sklearn digits, artlib.models.standins split")
    return seconds, final
