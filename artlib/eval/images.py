"""Images on disk: sampling seeds into PNG files in resumable shards (``sample``), reading folders
of images (``fid --images``) and mosaics of samples. PNGs are written and read with Pillow."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..core.errors import ArtlibError
from ..core.io import atomic_write, check_input_file
from ..core.samplers import generate, to_uint8
from .distributed import Comm
from .shards import Workdir, seeds_digest, shard_ranges

#: Largest image file read (bytes).
IMAGE_MAX_BYTES = 1 << 28


def image_grid(x, nrow: int = 8, pad: int = 1):
    """A uint8 mosaic [rows·(H+pad), nrow·(W+pad), C] of images [n, C, H, W], in [−1, 1] or uint8."""
    a = np.asarray(x)
    imgs = a.transpose(0, 2, 3, 1) if a.dtype == np.uint8 else to_uint8(a)
    n, h, w, c = imgs.shape
    rows = -(-n // nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = imgs[i]
    return grid[..., 0] if c == 1 else grid


def write_png(path: str | os.PathLike, img: np.ndarray) -> None:
    """A uint8 image [H, W] or [H, W, 3] as an RGB PNG, atomically (grey levels as RGB triples)."""
    from PIL import Image
    rgb = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img
    atomic_write(path, lambda tmp: Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(tmp, format="png"))


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """A .png or .jpg as uint8 [C, H, W] (grey kept as one channel, alpha dropped)."""
    from PIL import Image, UnidentifiedImageError
    path = check_input_file(path, "image", IMAGE_MAX_BYTES)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode.startswith("I"):                     # 16-bit grey: scale to 8 bits
                a = (np.asarray(img, dtype=np.float64) / 65535 * 255).round().clip(0, 255).astype(np.uint8)
            else:
                a = np.asarray(img.convert("L" if img.mode in ("1", "L", "LA") else "RGB"))
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise ArtlibError(f"image {path} cannot be read ({type(e).__name__})") from None
    a = a[..., None] if a.ndim == 2 else a[..., :3]
    return torch.from_numpy(np.array(a)).permute(2, 0, 1)   # a copy: Pillow's array is read-only


def read_images(files: list[Path]) -> torch.Tensor:
    """uint8 images [n, C, H, W] from .png/.jpg files of one shape (grey kept as one channel)."""
    imgs = [read_image(p) for p in files]
    if len({tuple(im.shape) for im in imgs}) > 1:
        raise ArtlibError(f"images in {Path(files[0]).parent} differ in size or channels; FID needs one image shape")
    return torch.stack(imgs)


def sample_identity(model_identity: dict[str, Any], sigmas: torch.Tensor, solver: str, seeds: list[int],
                    shard_size: int, outdir: str | os.PathLike) -> dict[str, Any]:
    """What a ``sample`` work folder records of its run (``artlib.eval.shards``)."""
    return {"command": "sample", **model_identity, "sigmas": sigmas.tolist(), "solver": solver,
            "seeds": seeds_digest(seeds), "shard_size": shard_size, "outdir": str(Path(outdir).resolve())}


def write_samples(den, sigmas: torch.Tensor, solver: str, seeds: list[int], outdir: str | os.PathLike, *,
                  batch: int = 64, shard_size: int = 1000, workdir: Workdir | None = None,
                  comm: Comm | None = None, progress: bool = False) -> int:
    """Sample ``seeds`` on the grid into ``outdir/images/NNNNNN.png``, shard i on rank i mod N; with a
    ``workdir`` a finished shard is recorded and skipped on a rerun. Returns the number of shards
    this rank found finished."""
    comm = comm or Comm()
    images = Path(outdir) / "images"
    images.mkdir(parents=True, exist_ok=True)
    shards = shard_ranges(len(seeds), shard_size)
    mine = comm.mine(len(shards))
    done = [i for i in mine if workdir is not None and workdir.has(i, ".done")]
    bar = tqdm(total=sum(len(shards[i]) for i in mine), initial=sum(len(shards[i]) for i in done),
               unit="img", desc="sampling", disable=not (progress and comm.main))
    for i in (i for i in mine if i not in done):
        for lo in range(shards[i].start, shards[i].stop, batch):
            chunk = seeds[lo:min(lo + batch, shards[i].stop)]
            hwc = generate(den, sigmas, chunk, solver=solver, device=comm.device).permute(0, 2, 3, 1).numpy()
            for seed, img in zip(chunk, hwc):
                write_png(images / f"{seed:06d}.png", img[..., 0] if img.shape[-1] == 1 else img)
            bar.update(len(chunk))
        if workdir is not None:
            workdir.mark_done(i, {"first": seeds[shards[i].start], "last": seeds[shards[i].stop - 1]})
    bar.close()
    return len(done)
