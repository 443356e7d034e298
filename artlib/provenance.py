"""The provenance footer every notebook ends with (what ran, where, from which commit)."""
from __future__ import annotations

import platform
import time

import torch

from .reproduce import device_name, git_commit


def footer(profile: str, device: str, parameters: dict, started: float) -> str:
    """A Markdown footer: profile, parameters, device, torch, commit and wall time so far."""
    params = ", ".join(f"`{k}={v!r}`" for k, v in parameters.items())
    return (f"**Provenance.** profile `{profile}`; parameters {params}; device {device_name(device)}; "
            f"torch {torch.__version__}, Python {platform.python_version()}; commit `{git_commit()}`; "
            f"wall time {time.perf_counter() - started:.0f} s; run "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
