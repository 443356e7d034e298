"""A ComfyUI node that reads a schedule written by artlib (``python -m artlib schedule`` or ``train``)
and returns ComfyUI's ``SIGMAS``: a 1-D float32 tensor of K + 1 values ending in 0, in the model's own
noise level (σ for EDM-, ε- and v-models; the flow time t for flow models, which the schedule file
records under ``comfyui``). It also reads a text file of numbers (a ``.sigmas.txt`` list, or the line
artlib prints for ComfyUI's ManualSigmas). It imports nothing but torch and the standard library, so
it runs in ComfyUI's own environment without artlib installed."""
import json
import math
import os
import re

import torch

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def read_sigmas(path: str) -> list:
    """The SIGMAS values of a schedule file: a JSON from artlib, or text holding the numbers."""
    path = os.path.expanduser(str(path).strip())
    if not os.path.isfile(path):
        raise ValueError(f"artlib schedule {path!r}: file not found")
    if os.path.getsize(path) > 16 << 20:
        raise ValueError(f"artlib schedule {path!r}: over 16 MB, not a schedule")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"artlib schedule {path!r}: not valid JSON ({e})") from None
        if not isinstance(obj, dict) or "sigmas" not in obj:
            raise ValueError(f"artlib schedule {path!r}: not an artlib schedule (no 'sigmas')")
        values = obj.get("comfyui", {}).get("sigmas", obj["sigmas"])
    else:
        values = [float(v) for v in _NUMBER.findall(text)]
    return check(values, path)


def check(values, what: str) -> list:
    """A valid SIGMAS list: at least two finite numbers, strictly decreasing, ending in exactly 0."""
    if not isinstance(values, list) or len(values) < 2:
        raise ValueError(f"artlib schedule {what!r}: need at least 2 sigmas")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError(f"artlib schedule {what!r}: sigmas must be finite numbers")
    if values[-1] != 0:
        raise ValueError(f"artlib schedule {what!r}: the last sigma must be 0, got {values[-1]}")
    if any(b >= a for a, b in zip(values, values[1:])):
        raise ValueError(f"artlib schedule {what!r}: sigmas must be strictly decreasing")
    return [float(v) for v in values]


class ArtlibSchedule:
    """SIGMAS from an artlib schedule file."""
    CATEGORY = "sampling/custom_sampling/schedulers"
    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"path": ("STRING", {"default": "schedule.json", "multiline": False})}}

    def get_sigmas(self, path):
        return (torch.tensor(read_sigmas(path), dtype=torch.float32),)


NODE_CLASS_MAPPINGS = {"ArtlibSchedule": ArtlibSchedule}
NODE_DISPLAY_NAME_MAPPINGS = {"ArtlibSchedule": "artlib schedule (SIGMAS)"}
