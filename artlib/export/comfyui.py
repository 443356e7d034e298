"""Hand a schedule to ComfyUI: its ``SIGMAS`` are the model's own noise levels (k-diffusion's σ for
EDM-, ε- and v-models) except for flow models, whose samplers run on the flow time t = σ/(1 + σ)
(K + 1 values ending in 0, float32). ComfyUI's ``ManualSigmas`` node reads a line of plain
decimals (its pattern has no exponents), which ``manual_sigmas_text`` writes. The custom node in
``integrations/comfyui`` reads what ``comfyui_sigmas`` puts in a schedule file."""
from __future__ import annotations

import torch

from ..core.schedules import validate_sigmas


def comfyui_sigmas(sigmas, *, flow: bool = False) -> list[float]:
    """The SIGMAS ComfyUI's samplers take for a grid in the model's own σ [K+1]: σ, or t = σ/(1 + σ)
    for a flow model."""
    s = validate_sigmas(sigmas)
    return (s / (1 + s)).tolist() if flow else s.tolist()


def manual_sigmas_text(values) -> str:
    """One line for ComfyUI's ManualSigmas: comma-separated decimals without exponents."""
    def fixed(v: float) -> str:
        text = f"{float(v):.10f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return ", ".join(fixed(v) for v in torch.as_tensor(values, dtype=torch.float64).tolist())
