"""What a schedule file records for the samplers it is handed to (``artlib schedule`` and ``train``
write it beside the σ list): ComfyUI's SIGMAS and ManualSigmas line for every model and, for a
diffusers model, the ``set_timesteps`` arguments of the scheduler classes that can run the grid."""
from __future__ import annotations

from .comfyui import comfyui_sigmas, manual_sigmas_text
from .diffusers import pipeline_arguments


def exports(den, sigmas) -> dict:
    """{"comfyui": {...}, "diffusers": {...}} for a grid in ``den``'s own σ."""
    values = comfyui_sigmas(sigmas, flow=getattr(den, "kind", None) == "flow")
    out = {"comfyui": {"sigmas": values, "manual_sigmas": manual_sigmas_text(values)}}
    if getattr(den, "scheduler", None) is not None:
        out["diffusers"] = pipeline_arguments(den.scheduler, sigmas)
    return out
