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


def max_evals(text: str) -> float:
    """argparse type of ``--max-evals``: a positive number (1e12 allowed)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-evals must be a number, got {text!r}") from None
    if not (math.isfinite(v) and v >= 1):
        raise argparse.ArgumentTypeError(f"--max-evals must be a number >= 1, got {text!r}")
    return v


def add_budget_flag(parser) -> None:
    """``--max-evals``: the command's budget of denoiser evaluations."""
    parser.add_argument("--max-evals", type=max_evals, default=None,
                        help=f"refuse work of more denoiser evaluations than this (default {MAX_EVALUATIONS:.0e})")


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


#: Denoiser evaluations (one sample through the denoiser; a JVP or a backward pass is one more) a
#: command may spend unless ``--max-evals`` says otherwise: about 1.5 hours of the digits mixture
#: on this project's 2-core CPU, and a few GPU-minutes of EDM's CIFAR-10 network.
MAX_EVALUATIONS = 10 ** 9


def _memory() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def sample_bytes(den) -> float:
    """Memory one sample of ``den`` takes in a solve and a JVP: float64 copies, times the mixture's
    components (a Gaussian mixture holds each sample once per component)."""
    components = den.means.shape[0] if hasattr(den, "means") else 1
    return math.prod(den.shape) * 8 * 24 * components


def check_memory(den, n: float, what: str) -> None:
    """Refuse ``n`` samples of ``den`` held at once that could not fit in memory, before any work."""
    need, avail = n * sample_bytes(den), _memory()
    if avail is not None and need > 0.8 * avail:
        raise ArtlibError(f"{what}: {n:,.0f} samples at once would need about {need / 2 ** 30:,.0f} GB; "
                          f"this machine has {avail / 2 ** 30:.0f} GB")


def check_budget(den, items, max_evals: float | None) -> None:
    """The one cost model: ``items`` are (what drives it, denoiser evaluations, samples held at once)
    of a command's parts, from its arguments. Refuse, naming the argument, a part that could not
    fit in memory, or a command whose evaluations pass ``max_evals`` (default ``MAX_EVALUATIONS``)."""
    for what, _, held in items:
        check_memory(den, held, what)
    limit = MAX_EVALUATIONS if max_evals is None else max_evals
    total = sum(evals for _, evals, _ in items)
    if total > limit:
        what = max(items, key=lambda item: item[1])[0]
        raise ArtlibError(f"{what}: about {total:.2g} denoiser evaluations, over the limit of {limit:.2g}; "
                          "give --max-evals N to allow more")


def method_cost(spec, K: int, solver: str, what: str = "--schedule") -> list[tuple[str, float, float]]:
    """The budget items of a built-in method (``artlib.methods.registry`` rows' estimates); none
    for a schedule file."""
    from ..methods.registry import METHODS
    if isinstance(spec, Path):
        return []
    evals, held = METHODS[spec.name].estimate(K, solver, spec.options)
    return [(f"{what} {spec}", evals, held)]


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


def input_files(a: argparse.Namespace) -> list[str]:
    """Every local file a command reads (the model's, a schedule file, the reference statistics,
    the Inception weights): what no output may overwrite."""
    from ..models.registry import model_files
    files = list(model_files(a.model)) if getattr(a, "model", None) else []
    schedule = getattr(a, "schedule", None)
    if schedule and is_schedule_file(schedule):
        files.append(schedule)
    for key in ("ref", "inception_weights"):
        value = getattr(a, key, None)
        if value and "://" not in str(value):
            files.append(value)
    return files


def sample_writes(seeds: list[int]):
    """Which paths (relative to --outdir) ``sample`` writes: images/NNNNNN.png per seed, grid.png."""
    names = {f"images/{s:06d}.png" for s in seeds} | {"grid.png"}
    return names.__contains__


def workdir_writes(relative: str) -> bool:
    """Which paths (relative to --workdir) a work folder holds: its manifest and shards."""
    return relative == "manifest.json" or relative.startswith("shard-")
