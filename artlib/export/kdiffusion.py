"""Hand a schedule to k-diffusion's samplers, which take artlib's σ list unchanged (K + 1 values
ending in 0); like artlib, its ``sample_heun`` skips the correction on the final step into 0
(NFE 2K − 1). k-diffusion is optional; nothing here imports it."""
from __future__ import annotations

import torch


class KDiffusionDenoiser:
    """An artlib denoiser in k-diffusion's convention, ``model(x, sigma[B]) → D(x; σ)``: the same call."""

    def __init__(self, denoiser, class_labels=None):
        self.den, self.labels = denoiser, class_labels

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.den(x, sigma, self.labels)
