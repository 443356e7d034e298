"""What every command checks before work starts: argparse types with one-line errors naming the
flag, library errors given the flag that caused them, schedule specs, memory and image shapes."""
from __future__ import annotations

import argparse
import contextlib
import math
import os
from pathlib import Path

from ..core.errors import ArtlibError

#: Upper limits of size arguments (documented in --help).
MAX_K = 10_000
MAX_SEEDS = 1_000_000


@contextlib.contextmanager
def flag(name: str):
    """Give a library error raised inside the block the command-line flag that caused it."""
    try:
        yield
    except ArtlibError as e:
        raise ArtlibError(f"{name}: {e}") from None


def int_in(name: str, lo: int, hi: int):
    """argparse type: an integer in [lo, hi], with a one-line error naming the flag."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be between {lo} and {hi}, got {v}")
        return v
    return parse


def positive_int(name: str, hi: int = 10 ** 9):
    """argparse type: an integer in [1, hi]."""
    return int_in(name, 1, hi)


def device(text: str) -> str:
    """argparse type: cpu, or a CUDA device that exists on this machine."""
    import torch
    try:
        d = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"--device {text!r} is not a device; use cpu or cuda[:N]") from None
    if d.type == "cpu":
        return text
    if d.type != "cuda":
        raise argparse.ArgumentTypeError(f"--device {text!r}: only cpu and cuda are supported")
    if not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"--device {text}: no CUDA device is available on this machine")
    if d.index is not None and d.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"--device {text}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return text


def check_memory(den, n: int, what: str) -> None:
    """Refuse a batch of ``n`` samples of ``den`` that could not fit in memory, before any work."""
    components = den.means.shape[0] if hasattr(den, "means") else 1
    need = n * math.prod(den.shape) * 8 * 24 * components   # float64 copies a solve and a JVP hold
    try:
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    if need > 0.8 * avail:
        raise ArtlibError(f"{what} {n} would need about {need / 2 ** 30:.0f} GB; "
                          f"this machine has {avail / 2 ** 30:.0f} GB")


def check_images(den, command: str) -> None:
    """``sample`` and ``fid`` need image-shaped models ([C, H, W] with C = 1 or 3)."""
    shape = tuple(getattr(den, "shape", ()))
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ArtlibError(f"{command}: the model's samples have shape {shape}, not an image [C, H, W] "
                          "with 1 or 3 channels (use evaluate for vector models)")


def is_schedule_file(spec: str) -> bool:
    """The explicit rule: a schedule file ends in .json or contains a path separator."""
    return spec.endswith(".json") or "/" in spec or os.sep in spec


def schedule_spec(spec: str):
    """``--schedule`` checked before any work: a file (which must exist) as a Path, or a built-in
    method as its parsed ``Spec`` (name, options and their ranges known)."""
    from ..methods.registry import parse
    if is_schedule_file(spec):
        if not Path(spec).is_file():
            raise ArtlibError(f"--schedule {spec}: schedule file not found")
        return Path(spec)
    return parse(spec, what="--schedule")


def resolve_schedule(spec, denoiser, K: int, *, solver: str = "euler", seed: int = 0, progress: bool = False):
    """The grid of a checked ``--schedule`` (``schedule_spec``'s Path or Spec) for ``denoiser`` at K
    steps; returns (sigmas, the method's name as recorded)."""
    from ..core.schedules import load_schedule
    from ..methods.registry import build
    if isinstance(spec, Path):
        with flag("--schedule"):
            s, meta = load_schedule(spec, sigma_max=denoiser.sigma_max, K=K)
        return s, meta.get("method", "file")
    sigmas, prov = build(spec, denoiser, K, solver=solver, seed=seed, progress=progress)
    return sigmas, prov["method"]
