"""Tiny diffusers models of every family artlib loads, with random weights, saved with
``save_pretrained`` (a few hundred kB, a fraction of a second each): what the tests and the
benchmark load through ``diffusers:`` in place of the real pipelines, which cannot be downloaded."""
from __future__ import annotations

from pathlib import Path

import torch

from ..core.errors import ArtlibError

#: VP ε, v and sample prediction, class-conditional, an SD-class text UNet, a flow-matching UNet,
#: SD3 and Flux transformers
FAMILIES = ("vp-eps", "vp-v", "vp-sample", "vp-class", "sd", "flow-unet", "sd3", "flux")


def _nonzero(net):
    """diffusers zero-initialises some output layers; give them weights so D is not trivial."""
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().sum() == 0:
                p.normal_(0, 0.05)
    return net


def _unet(**kw):
    import diffusers
    return diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                                 layers_per_block=1, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                 up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=4,
                                 attention_head_dim=4, **kw)


def network(family: str):
    """A tiny network of the family (seeded)."""
    import diffusers
    torch.manual_seed(0)
    if family in ("vp-eps", "vp-v", "vp-sample", "flow-unet"):
        return _nonzero(_unet())
    if family == "vp-class":
        return _nonzero(_unet(num_class_embeds=3))
    if family == "sd":
        return _nonzero(diffusers.UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16), layers_per_block=1,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=12, norm_num_groups=4, attention_head_dim=4))
    if family == "sd3":
        return _nonzero(diffusers.SD3Transformer2DModel(
            sample_size=8, patch_size=2, in_channels=4, num_layers=1, attention_head_dim=8, num_attention_heads=2,
            joint_attention_dim=12, caption_projection_dim=16, pooled_projection_dim=6, out_channels=4))
    if family == "flux":
        return _nonzero(diffusers.FluxTransformer2DModel(
            patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=8, num_attention_heads=2,
            joint_attention_dim=12, pooled_projection_dim=6, guidance_embeds=True, axes_dims_rope=(2, 2, 4)))
    raise ArtlibError(f"unknown tiny diffusers family {family!r}; choose one of {', '.join(FAMILIES)}")


def scheduler(family: str):
    import diffusers
    if family in ("flow-unet", "sd3", "flux"):
        return diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0 if family == "sd3" else 1.0)
    if family == "sd":
        return diffusers.EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                                prediction_type="epsilon")
    prediction = {"vp-v": "v_prediction", "vp-sample": "sample"}.get(family, "epsilon")
    return diffusers.DDPMScheduler(clip_sample=False, prediction_type=prediction)


def prompts(folder: Path, family: str, n: int = 2) -> tuple[Path, Path]:
    """A prompt file of ``n`` prompts and a negative file of one, in the family's shapes."""
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(1)
    width, pooled = 12, {"sd": None, "sd3": 6, "flux": 6}[family]

    def emb(count):
        out = {"prompt_embeds": torch.randn(count, 5, width, generator=g)}
        if pooled:
            out["pooled_prompt_embeds"] = torch.randn(count, pooled, generator=g)
        return out
    save_file(emb(n), folder / "prompt.safetensors")
    save_file(emb(1), folder / "negative.safetensors")
    return folder / "prompt.safetensors", folder / "negative.safetensors"


def make(root: Path, family: str, *, guidance: float | None = 2.0, n_prompts: int = 2) -> str:
    """Save a tiny pipeline folder of the family under ``root`` and return its model string."""
    folder = Path(root) / family
    sub = "transformer" if family in ("sd3", "flux") else "unet"
    network(family).save_pretrained(folder / sub)
    scheduler(family).save_pretrained(folder / "scheduler")
    spec = f"diffusers:{folder}"
    if family in ("sd", "sd3", "flux"):
        p, neg = prompts(folder, family, n_prompts)
        spec += f",prompt={p}" + (f",negative={neg},guidance={guidance}" if guidance is not None else "")
    if family == "flux":
        spec += ",size=8"
    return spec
