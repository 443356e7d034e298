"""The provenance footer every notebook ends with (what ran, where, from which commit)."""
from __future__ import annotations

import platform
import time

import torch

from .reproduce import device_name, git_commit


def footer(profile: str, device: str, parameters: dict) -> str:
    """A Markdown footer: profile, parameters, device, torch and commit (wall times are on the
    status page, measured by ``reproduce``, so there is one set of them)."""
    params = ", ".join(f"`{k}={v!r}`" for k, v in parameters.items())
    return (f"**Provenance.** profile `{profile}`; parameters {params}; device {device_name(device)}; "
            f"torch {torch.__version__}, Python {platform.python_version()}; commit `{git_commit()}`; run "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
