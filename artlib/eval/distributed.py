"""Many processes through torch.distributed, as EDM's ``generate.py`` and ``fid.py`` run them:

    torchrun --standalone --nproc_per_node N -m artlib fid ...

``torchrun`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; ``Comm.from_env`` joins the
process group (NCCL when the device is CUDA, each rank on ``cuda:LOCAL_RANK``; gloo on the CPU).
Without those variables everything runs in one process and no group is made. Work is split by
seed shards (``artlib.shards``): shard i belongs to rank i mod N, so what a rank computes does not
depend on how many ranks there are.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ..core.errors import ArtlibError


class RankFailed(ArtlibError):
    """A check failed on some rank; every rank raises it, and rank 0 reports it (``artlib.cli``)."""

    def __init__(self, rank: int, message: str):
        super().__init__(message if rank == 0 else f"rank {rank}: {message}")
        self.rank = rank


@dataclass
class Comm:
    """This process's place in the group: rank, world size, and the device it computes on."""
    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @classmethod
    def from_env(cls, device: str = "cpu") -> "Comm":
        """Join torchrun's process group if ``WORLD_SIZE`` > 1, else a group of one."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise ArtlibError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (torchrun sets them)") from None
        if world < 1 or not 0 <= rank < world:
            raise ArtlibError(f"RANK {rank} is outside WORLD_SIZE {world}")
        if world == 1:
            return cls(0, 1, device)
        import torch.distributed as dist
        if device.startswith("cuda"):
            if not torch.cuda.is_available() or local >= torch.cuda.device_count():
                raise ArtlibError(f"rank {rank} needs cuda:{local}, but this machine has "
                                  f"{torch.cuda.device_count()} GPUs; use --nproc_per_node <= the GPU count")
            device = f"cuda:{local}"
            torch.cuda.set_device(local)
            backend = "nccl"
        else:
            backend = "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend, timeout=dt.timedelta(hours=2))
        return cls(rank, world, device)

    @property
    def main(self) -> bool:
        """Whether this process writes results (rank 0)."""
        return self.rank == 0

    def mine(self, n: int) -> list[int]:
        """The indices 0..n−1 this rank owns: i with i mod world = rank."""
        return list(range(self.rank, n, self.world))

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist
            dist.barrier()

    def all_gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (picklable), in rank order, on every rank."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist
        out = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def gather(self, value: Any) -> list[Any] | None:
        """Every rank's ``value`` (picklable) in rank order on rank 0; None on the other ranks."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist
        out = [None] * self.world if self.main else None
        dist.gather_object(value, out, dst=0)
        return out

    def agree(self, step: Callable[[], Any]) -> Any:
        """Run ``step()`` on every rank, then agree on how it went before any collective follows: a
        user error (or a failed read) on any rank is raised on every rank as one ``RankFailed``, so
        no rank waits for one that stopped. One process: ``step()``'s own error, unchanged."""
        try:
            return_value, failure = step(), None
        except (ArtlibError, OSError) as e:
            if self.world == 1:
                raise
            return_value, failure = None, (str(e).strip().splitlines() or [type(e).__name__])[0]
        if self.world > 1:
            failures = self.all_gather(failure)
            first = next((r for r, f in enumerate(failures) if f), None)
            if first is not None:
                raise RankFailed(first, failures[first])
        return return_value

    def check_same(self, value: Any, what: str) -> None:
        """Fail (on every rank) when the ranks were started with different ``value``s."""
        digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
        if len(set(self.all_gather(digest))) > 1:
            raise ArtlibError(f"the {self.world} torchrun ranks were given different {what}; "
                              "start every rank with the same command")

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.destroy_process_group()
