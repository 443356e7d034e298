"""``sample`` (PNG files per seed, resumable) and ``fid`` (a folder of images, or a model and a
schedule, against reference statistics); both split their seeds across torchrun's processes."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from ..core.errors import ArtlibError
from .checks import (MAX_K, MAX_SEEDS, add_budget_flag, check_budget, check_images, device, flag, input_files,
                     method_cost, positive_int, resolve_schedule, sample_writes, schedule_spec, workdir_writes)
from .evaluate import schedule_help


@contextlib.contextmanager
def _distributed(a: argparse.Namespace):
    """This process's torch.distributed group (one process unless run by torchrun), after checking
    that every rank was given the same arguments; closed on every exit (a gloo group left to
    interpreter shutdown can abort the process with SIGABRT)."""
    from ..eval.distributed import Comm
    comm = Comm.from_env(a.device)
    try:
        comm.check_same({k: v for k, v in vars(a).items() if k != "func"}, "arguments")
        yield comm
    finally:
        comm.close()


def _seeds(text: str) -> list[int]:
    from ..core.options import parse_seeds
    with flag("--seeds"):
        return parse_seeds(text, limit=MAX_SEEDS)


def cmd_sample(a: argparse.Namespace) -> int:
    from ..core.io import check_folder
    from ..core.options import check_solver, nfe
    from ..eval.images import image_grid, read_images, sample_identity, write_png, write_samples
    from ..eval.shards import Workdir
    from ..models.registry import load_model, model_identity

    seeds = _seeds(a.seeds)
    check_solver(a.solver)
    spec = schedule_spec(a.schedule)
    inputs = input_files(a)
    check_folder(a.outdir, "--outdir", writes=sample_writes(seeds), not_same_as=inputs)
    if a.workdir:
        check_folder(a.workdir, "--workdir", writes=workdir_writes, not_same_as=inputs)
    with _distributed(a) as comm:
        def prepare():
            den = load_model(a.model, comm.device)
            check_images(den, "sample")
            check_budget(den, method_cost(spec, a.K, a.solver) + [("--seeds", len(seeds) * nfe(a.K, a.solver), a.batch)],
                         a.max_evals)
            return (den, *resolve_schedule(spec, den, a.K, solver=a.solver, seed=0))
        den, sigmas, method = comm.agree(prepare)      # every rank checked, before any collective
        work = None
        if a.workdir:
            ident = sample_identity(model_identity(a.model), sigmas, a.solver, seeds, a.shard_size, a.outdir)
            work = Workdir(a.workdir, ident, comm, what="--workdir")
        reused = write_samples(den, sigmas, a.solver, seeds, a.outdir, batch=a.batch, shard_size=a.shard_size,
                               workdir=work, comm=comm, progress=not a.quiet)
        comm.barrier()
        if comm.main:
            outdir = Path(a.outdir)
            first = read_images([outdir / "images" / f"{s:06d}.png" for s in seeds[:64]])
            write_png(outdir / "grid.png", image_grid(first, nrow=8))
            print(f"wrote {len(seeds)} images and grid.png to {outdir} ({method}, K={a.K}, {a.solver}"
                  + (f", {comm.world} processes" if comm.world > 1 else "")
                  + (f"; {reused} finished shards re-used" if reused else "") + ")", file=sys.stderr)
    return 0


def _check_fid_args(a: argparse.Namespace):
    """Everything ``fid`` can check before the network is built: (reference statistics or None for
    a folder reference, the parsed schedule, the seeds)."""
    from ..core.io import check_folder
    from ..core.options import check_solver
    from ..eval import fid

    if (a.images is None) == (a.model is None):
        raise ArtlibError("fid: give either --images DIR or --model with --schedule and --K")
    if a.model is not None and (a.schedule is None or a.K is None):
        raise ArtlibError("fid: --model needs --schedule and --K")
    stats, spec, seeds = None, None, None
    if str(a.ref).endswith(".npz"):                 # statistics files are checked before any network
        with flag("--ref"):
            stats = fid.reference_statistics(a.ref)   # (https: downloaded)
    elif not Path(a.ref).is_dir():
        raise ArtlibError(f"--ref {a.ref}: expected an .npz with mu and sigma, or a folder of images")
    if a.images is not None:
        if not Path(a.images).is_dir():
            raise ArtlibError(f"--images {a.images}: not a folder")
        if a.workdir:
            raise ArtlibError("--workdir: only a --model run is sharded; a folder of images is scored in one pass")
        if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
            raise ArtlibError("fid --images runs in one process; torchrun splits --model runs only")
    else:
        check_solver(a.solver)
        spec = schedule_spec(a.schedule)
        seeds = _seeds(a.seeds)
        if a.workdir:
            check_folder(a.workdir, "--workdir", writes=workdir_writes, not_same_as=input_files(a))
    if a.inception_weights is not None and not Path(a.inception_weights).is_file():
        raise ArtlibError(f"--inception-weights {a.inception_weights}: not found")
    return stats, spec, seeds


def torch_threads() -> int:
    import torch
    return torch.get_num_threads()


def _prepare_fid(a: argparse.Namespace, stats, spec, seeds, comm):
    """What ``fid`` loads on each rank before its collectives: the Inception network, the reference
    statistics and (a --model run) the model and grid; (net, μ, Σ, den, sigmas, method)."""
    from ..core.options import nfe
    from ..eval import fid
    from ..models.registry import load_model
    with flag("--inception-weights"):
        net = fid.inception(a.inception_weights, comm.device)
    with flag("--ref"):
        ref_mu, ref_sigma = stats or fid.reference_statistics(a.ref, net, device=comm.device, batch=a.batch)
    if a.images is not None:
        return net, ref_mu, ref_sigma, None, None, None
    den = load_model(a.model, comm.device)
    check_images(den, "fid")
    check_budget(den, method_cost(spec, a.K, a.solver) + [("--seeds", len(seeds) * nfe(a.K, a.solver), a.batch)],
                 a.max_evals)
    return (net, ref_mu, ref_sigma, den, *resolve_schedule(spec, den, a.K, solver=a.solver))


def cmd_fid(a: argparse.Namespace) -> int:
    from ..eval import fid
    from ..eval.shards import Workdir

    stats, spec, seeds = _check_fid_args(a)
    with _distributed(a) as comm:
        net, ref_mu, ref_sigma, den, sigmas, method = comm.agree(lambda: _prepare_fid(a, stats, spec, seeds, comm))
        if a.images is not None:
            value, n = fid.fid(fid.folder_batches(a.images, a.batch), ref_mu, ref_sigma, net,
                               device=comm.device, progress=not a.quiet)
            what = {"images": a.images}
        else:
            work = Workdir(a.workdir, fid.run_identity(a.model, sigmas, a.solver, seeds, a.shard_size,
                                                       a.inception_weights), comm, what="--workdir") if a.workdir else None
            m = fid.generated_moments(den, sigmas, a.solver, seeds, net, batch=a.batch, shard_size=a.shard_size,
                                      workdir=work, comm=comm, progress=not a.quiet)
            if comm.main:   # rank 0 holds the gathered moments
                value, n = fid.fid_from_moments(m, ref_mu, ref_sigma), m.n
            what = {"model": a.model, "schedule": method, "K": a.K, "solver": a.solver, "processes": comm.world,
                    "threads": torch_threads()}
        if comm.main:
            print(json.dumps({**what, "ref": a.ref, "n": n, "fid": value}))
    return 0


def _add_run_flags(parser, workdir_help: str) -> None:
    """The flags ``sample`` and ``fid`` share: the work folder, shards, device, quiet and budget."""
    parser.add_argument("--workdir", help=workdir_help)
    parser.add_argument("--shard-size", type=positive_int("--shard-size", MAX_SEEDS), default=1000,
                        help="seeds per shard (the unit of resuming and of the split between torchrun ranks)")
    parser.add_argument("--device", type=device, default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--quiet", action="store_true")
    add_budget_flag(parser)


def add(sub, formatter) -> None:
    """Register ``sample`` and ``fid``."""
    sp = sub.add_parser("sample", help="sample images with a schedule; write PNGs and a grid", formatter_class=formatter)
    sp.add_argument("--model", required=True, help="e.g. digits, faces, patches or edm:PATH_OR_URL")
    sp.add_argument("--schedule", required=True, help=schedule_help())
    sp.add_argument("--K", required=True, type=positive_int("--K", MAX_K))
    sp.add_argument("--solver", default="heun", choices=["euler", "heun"])
    sp.add_argument("--seeds", default="0-63", help=f"seeds as EDM writes them: 0-63 or 1,5,9 (at most {MAX_SEEDS:,})")
    sp.add_argument("--batch", type=positive_int("--batch", 65536), default=64, help="images per batch")
    sp.add_argument("--outdir", required=True, help="output folder: images/NNNNNN.png and grid.png")
    _add_run_flags(sp, "folder that records finished shards, so a killed run resumes where it stopped")
    sp.set_defaults(func=cmd_sample)

    fd = sub.add_parser("fid", help="FID of a folder of images, or of a model and schedule, against reference "
                                    "statistics", formatter_class=formatter)
    fd.add_argument("--ref", required=True, help="reference: .npz with mu and sigma (EDM's fid-refs) or an image folder")
    fd.add_argument("--images", help="folder of .png/.jpg images to score")
    fd.add_argument("--model", help="or generate from this model ...")
    fd.add_argument("--schedule", help="... with this schedule: " + schedule_help())
    fd.add_argument("--K", type=positive_int("--K", MAX_K))
    fd.add_argument("--solver", default="heun", choices=["euler", "heun"])
    fd.add_argument("--seeds", default="0-49999", help="seeds of the generated images (EDM: 0-49999)")
    fd.add_argument("--inception-weights", help="local torch-fidelity Inception weights (offline use)")
    fd.add_argument("--batch", type=positive_int("--batch", 65536), default=64)
    _add_run_flags(fd, "folder for each shard's Inception features, so a killed run resumes where it stopped "
                       "(same FID, bit for bit)")
    fd.set_defaults(func=cmd_fid)
