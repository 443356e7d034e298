"""Atomic file writes: a crash never leaves a truncated file where a good one was."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from .errors import ArtlibError


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    if path.is_dir():
        raise ArtlibError(f"{path} is a directory, expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    return atomic_write(path, write)


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file, turning the usual failures into one-line errors."""
    path = Path(path)
    if path.is_dir():
        raise ArtlibError(f"{path} is a directory, expected a JSON file")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ArtlibError(f"file not found: {path}") from None
    except PermissionError:
        raise ArtlibError(f"cannot read {path}: permission denied") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtlibError(f"{path} is not valid JSON: {e}") from None


def torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` atomically (tensors, numbers, strings, lists and dicts only)."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def torch_load(path: str | os.PathLike) -> Any:
    """Load one of our own checkpoints with ``weights_only=True``: nothing of ours is a pickle."""
    path = Path(path)
    if not path.is_file():
        raise ArtlibError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several unrelated types for corrupt files
        raise ArtlibError(f"cannot load checkpoint {path}: {e}".splitlines()[0]) from None
