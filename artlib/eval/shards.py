"""Resumable work in seed shards (``fid --workdir`` and ``sample --workdir``).

A run's seeds are cut into shards of consecutive positions (``shard_ranges``). Each finished
shard is written to the work folder atomically with a record of its index, size, dtype and
checksum, so a killed run leaves only whole shards, and a rerun of the same command re-uses those
that match their record (a damaged, truncated or swapped shard is computed again, never used). The folder's ``manifest.json`` records what the shards are
of (model, grid, solver, seeds, shard size, feature network); a rerun with other settings is
refused before any work, since mixing shards of two runs would give a number that belongs to
neither. The number of processes is not part of it: shards are the same for any world size, so a
run started on one GPU can be finished on eight.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ArtlibError
from ..core.io import atomic_write, atomic_write_many, check_folder, read_json
from .distributed import Comm

FORMAT = "artlib.workdir/1"


def shard_ranges(n: int, size: int) -> list[range]:
    """Positions 0..n−1 cut into consecutive shards of ``size`` (the last may be shorter)."""
    if size < 1:
        raise ArtlibError(f"shard size must be at least 1, got {size}")
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def seeds_digest(seeds: list[int]) -> dict[str, Any]:
    """A short description of a seed list for the manifest: count, first, last, and a hash."""
    h = hashlib.sha256(np.asarray(seeds, dtype=np.int64).tobytes()).hexdigest()[:16]
    return {"count": len(seeds), "first": seeds[0], "last": seeds[-1], "sha256": h}


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


class Workdir:
    """A folder of finished shards with a manifest; opened by every rank, created by rank 0."""

    def __init__(self, path: str | os.PathLike, identity: dict[str, Any], comm: Comm | None = None,
                 *, what: str = "work folder"):
        self.path, self.what = check_folder(path, what), what
        comm = comm or Comm()
        identity = json.loads(json.dumps({"format": FORMAT, **identity}))   # JSON-normal form
        manifest = self.path / "manifest.json"
        if manifest.exists():
            self._check(read_json(manifest, f"{what} manifest"), identity)
        elif self.path.exists() and any(self.path.glob("shard-*")):
            raise ArtlibError(f"{what} {self.path} holds shards but no manifest.json; use an empty folder")
        comm.barrier()
        if comm.main and not manifest.exists():
            self.path.mkdir(exist_ok=True)
            atomic_write(manifest, lambda tmp: Path(tmp).write_text(json.dumps(identity, indent=1)))
        comm.barrier()

    def _check(self, old: Any, new: dict[str, Any]) -> None:
        if not isinstance(old, dict) or old.get("format") != FORMAT:
            raise ArtlibError(f"{self.what} {self.path}: manifest.json is not an artlib work folder's")
        differ = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if differ:
            raise ArtlibError(f"{self.what} {self.path} holds a run with other settings ({', '.join(differ)} "
                              "differ); rerun the same command to resume, or use a new folder")

    def _file(self, i: int, suffix: str) -> Path:
        return self.path / f"shard-{i:06d}{suffix}"

    def has(self, i: int, suffix: str = ".npy") -> bool:
        """Whether shard i has been written (``load`` checks that it is whole)."""
        return self._file(i, suffix).is_file()

    def load(self, i: int, rows: int) -> tuple[np.ndarray | None, str]:
        """Shard i's array if it is the one recorded when it was written: the record names this shard,
        and the array has ``rows`` rows, the recorded width and dtype, the recorded checksum and only
        finite values. Otherwise (None, why): a shard cut short, widened, rewritten, swapped with
        another or holding NaN is never used."""
        try:
            record = read_json(self._file(i, ".json"), f"{self.what} shard record")
            array = np.load(self._file(i, ".npy"), allow_pickle=False)
        except (ArtlibError, OSError, ValueError, EOFError) as e:
            return None, f"cannot be read ({type(e).__name__})"
        if not isinstance(record, dict) or record.get("index") != i:
            return None, f"its record names another shard ({record.get('index') if isinstance(record, dict) else '?'})"
        if array.ndim != 2 or array.shape != (rows, record.get("width")) or str(array.dtype) != record.get("dtype"):
            return None, (f"holds {array.shape} {array.dtype}, recorded ({rows}, {record.get('width')}) "
                          f"{record.get('dtype')}")
        if _digest(array) != record.get("sha256"):
            return None, "its checksum differs from its record"
        if not np.isfinite(array).all():
            return None, "holds NaN or infinity"
        return array, ""

    def save(self, i: int, array: np.ndarray) -> None:
        """Store shard i's array with its record (index, rows, width, dtype, checksum), atomically:
        the two land together or not at all."""
        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
        record = {"index": i, "rows": int(array.shape[0]), "width": int(array.shape[1]), "dtype": str(array.dtype),
                  "sha256": _digest(array)}
        atomic_write_many([(self._file(i, ".npy"), write),
                           (self._file(i, ".json"), lambda tmp: Path(tmp).write_text(json.dumps(record)))])

    def mark_done(self, i: int, info: dict[str, Any]) -> None:
        """Record that shard i's outputs (written elsewhere) are complete."""
        atomic_write(self._file(i, ".done"), lambda tmp: Path(tmp).write_text(json.dumps(info)))
