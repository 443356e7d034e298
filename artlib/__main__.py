"""Command line: ``python -m artlib {train,evaluate,sample,fid,fit-net,bench,reproduce} ...``.

Every subcommand lives here. Every argument is checked before work starts. Errors a user can
cause print one line naming the argument and exit with code 2; an unexpected error prints one
line and exits 1 (``--debug`` shows the traceback); Ctrl-C exits 130. Heavy modules (torch) are
imported only once a command runs, so even an early Ctrl-C ends cleanly.

Schedules: ``--schedule`` takes a built-in method, ``NAME[:k=v,...]`` (``uniform``, ``edm[:rho=R]``,
``optimal``, and the peer methods ``logsnr``, ``time-uniform``, ``time-quadratic``, ``ays``,
``ays-gauss[:c=C]``, ``gits``, ``dmn``, ``ld3``; see ``artlib.sources``), or a
file, and a file must look like one: it ends in ``.json`` or contains a ``/`` (``./uniform``), so
files in the current folder never shadow a built-in name.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from .errors import ArtlibError

SCHEDULE_HELP = ("FILE.json or a method NAME[:k=v,...]: uniform, edm[:rho=R], optimal, logsnr, time-uniform, "
                 "time-quadratic, ays[:n=N,sweeps=S], ays-gauss[:c=C], gits[:points=M,batch=B,gamma=G,l2=1], "
                 "dmn[:order=P], ld3[:n=N,iterations=I,lr=LR,radius=R]")

#: Upper limits of size arguments (documented in --help).
MAX_K = 10_000
MAX_SEEDS = 1_000_000


def _int_in(name: str, lo: int, hi: int):
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


def _positive_int(name: str, hi: int = 10 ** 9):
    return _int_in(name, 1, hi)


def _device(text: str) -> str:
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
    import math
    components = den.means.shape[0] if hasattr(den, "means") else 1
    need = n * math.prod(den.shape) * 8 * 24 * components   # float64 copies a solve and a JVP hold
    try:
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    if need > 0.8 * avail:
        raise ArtlibError(f"{what} {n} would need about {need / 2 ** 30:.0f} GB; "
                          f"this machine has {avail / 2 ** 30:.0f} GB")


def is_schedule_file(spec: str) -> bool:
    """The explicit rule: a schedule file ends in .json or contains a path separator."""
    return spec.endswith(".json") or "/" in spec or os.sep in spec


def check_schedule_spec(spec: str) -> None:
    """Check ``--schedule`` before any work: a file must exist; a built-in name and its options
    must be known and in range (``artlib.sources.parse``)."""
    from .sources import parse
    if spec is None or is_schedule_file(spec):
        if spec is not None and not Path(spec).is_file():
            raise ArtlibError(f"--schedule {spec}: schedule file not found")
        return
    parse(spec)


def resolve_schedule(spec: str, denoiser, K: int, *, solver: str = "euler", seed: int = 0,
                     progress: bool = False):
    """A schedule from the CLI's ``--schedule``: a JSON file or a built-in method
    (``artlib.sources``); returns (sigmas, the method's name as recorded)."""
    from .schedules import load_schedule
    from .sources import build
    if is_schedule_file(spec):
        s, meta = load_schedule(spec, sigma_max=denoiser.sigma_max, K=K)
        return s, meta.get("method", "file")
    sigmas, prov = build(spec, denoiser, K, solver=solver, seed=seed, progress=progress)
    return sigmas, prov["method"]


#: ``train`` flags generated from the two learners' config dataclasses (one flag per field).
_CONFIG_FLAGS_SKIP = {"seed"}


def _config_classes():
    from .psiclock import PsiConfig
    from .rl import TrainConfig
    return {"psi": PsiConfig, "t": TrainConfig}


def _field_parser(name: str, ftype: str):
    """argparse type for a config field, from its annotation (int, float, bool, str, optional)."""
    flag = "--" + name.replace("_", "-")
    optional = "None" in ftype
    base = ftype.replace("| None", "").strip()

    def parse(text: str):
        if optional and text.lower() == "none":
            return None
        if base == "bool":
            if text.lower() in ("1", "true", "yes"):
                return True
            if text.lower() in ("0", "false", "no"):
                return False
            raise argparse.ArgumentTypeError(f"{flag} must be true or false, got {text!r}")
        if base == "int":
            try:
                return int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{flag} must be an integer, got {text!r}") from None
        if base == "float":
            try:
                return float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{flag} must be a number, got {text!r}") from None
        return text
    return parse


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of PsiConfig and TrainConfig, default and docstring in --help."""
    import dataclasses as dc
    docs = _field_docs()
    seen: dict[str, dict[str, object]] = {}
    types: dict[str, str] = {}
    for clock, cls in _config_classes().items():
        for f in dc.fields(cls):
            if f.name in _CONFIG_FLAGS_SKIP:
                continue
            seen.setdefault(f.name, {})[clock] = f.default
            types.setdefault(f.name, str(f.type))
    g = parser.add_argument_group("learner settings (each applies to the clocks named in its help)")
    for name, defaults in seen.items():
        where = "; ".join(f"{c} clock: {v}" for c, v in defaults.items())
        g.add_argument("--" + name.replace("_", "-"), dest="cfg_" + name, type=_field_parser(name, types[name]), default=argparse.SUPPRESS,
                       metavar=types[name].replace(" ", "").upper(), help=f"{docs.get(name, '')} [default {where}]")


def _field_docs() -> dict[str, str]:
    """The docstring under each config field (first sentence), for --help."""
    import ast
    import inspect
    out: dict[str, str] = {}
    for cls in _config_classes().values():
        body = ast.parse(inspect.getsource(cls)).body[0].body
        for a, b in zip(body, body[1:]):
            if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
                out.setdefault(a.target.id, " ".join(str(b.value.value).split()).replace("%", "%%"))
    return out


def train_config(a: argparse.Namespace):
    """The learner's config from ``train``'s flags: the clock's defaults (or the paper's
    protocol), then every flag given; a flag of the other clock is an error naming it."""
    import dataclasses as dc
    from .rl import TrainConfig
    clock = "t" if a.paper else a.clock
    cls = _config_classes()[clock]
    base = TrainConfig.paper_protocol() if a.paper else cls()
    names = {f.name for f in dc.fields(cls)}
    overrides = {}
    for key, value in vars(a).items():
        if key.startswith("cfg_"):   # present only when given (their default is SUPPRESS)
            if key[4:] not in names:
                raise ArtlibError(f"--{key[4:].replace('_', '-')} does not apply to the {clock} clock"
                                  + (" (--paper uses the t clock)" if a.paper else ""))
            overrides[key[4:]] = value
    if a.seed is not None:
        overrides["seed"] = a.seed
    return dc.replace(base, **overrides).validate()


def cmd_train(a: argparse.Namespace) -> int:
    import dataclasses as dc
    from .models import load_model
    from .distill import learn_schedule
    from .schedules import save_schedule

    from .io import check_output_file
    from .schedules import export_path

    cfg = train_config(a)
    out = check_output_file(a.out, "--out", not_same_as=(a.checkpoint,))
    check_output_file(export_path(out), "--out's .sigmas.txt", not_same_as=(a.checkpoint,))
    if a.checkpoint:
        check_output_file(a.checkpoint, "--checkpoint")
    den = load_model(a.model)
    check_memory(den, cfg.batch, "--batch")
    ck = Path(a.checkpoint) if a.checkpoint else None
    steps = a.K if a.paper and a.steps is None else a.steps
    learned = learn_schedule(den, a.K, cfg, steps=steps, checkpoint=ck, progress=not a.quiet)
    res = learned.run
    save_schedule(out, learned.sigmas, solver=a.solver, method="art-rl", model=a.model,
                  sigma_min=den.sigma_min, sigma_max=den.sigma_max, seed=cfg.seed,
                  clock=learned.clock, train_steps=learned.env.K, train_seconds=round(res.seconds, 3),
                  config=dc.asdict(res.config), final_gamma=res.gamma,
                  created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    print(f"wrote {out} (K={a.K}, {learned.clock} clock, {learned.env.K} training steps, "
          f"{res.seconds:.1f} s)", file=sys.stderr)
    return 0


def cmd_schedule(a: argparse.Namespace) -> int:
    from .io import check_output_file
    from .models import load_model
    from .schedules import export_path, save_schedule
    from .sources import build, parse

    if is_schedule_file(a.schedule):
        raise ArtlibError("--schedule: give a method (e.g. ays, gits:gamma=1.2), not a file")
    spec = parse(a.schedule)
    out = check_output_file(a.out, "--out")
    check_output_file(export_path(out), "--out's .sigmas.txt")
    den = load_model(a.model)
    sigmas, prov = build(spec, den, a.K, solver=a.solver, seed=a.seed, progress=not a.quiet)
    save_schedule(out, sigmas, solver=a.solver, model=a.model, sigma_min=den.sigma_min,
                  sigma_max=den.sigma_max, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **prov)
    print(f"wrote {out} ({prov['method']}, K={a.K}, {prov['cost']['evaluations']:,} denoiser evaluations, "
          f"{prov['cost']['seconds']:.1f} s)", file=sys.stderr)
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .denoisers import GaussianDenoiser
    from .models import load_model
    from .experiments import endpoint_rmse, reference_solve
    from .metrics import exact_w2, frechet_distance_samples, sample_w2_normal
    from .options import check_solver, nfe
    from .samplers import initial_noise, sample

    import torch
    check_solver(a.solver)
    check_schedule_spec(a.schedule)
    den = load_model(a.model)
    check_memory(den, a.n, "--n")
    sigmas, method = resolve_schedule(a.schedule, den, a.K, solver=a.solver, seed=a.seed)
    result = {"model": a.model, "schedule": method, "K": a.K, "solver": a.solver,
              "nfe": nfe(a.K, a.solver), "sigmas": sigmas.tolist()}
    if a.n:
        ref = reference_solve(den, range(a.n), ref_steps=a.ref_steps)
        result["rmse"] = endpoint_rmse(den, sigmas, ref, a.solver)[0]
        result["n"], result["ref_steps"] = a.n, a.ref_steps
    if isinstance(den, GaussianDenoiser):
        result["w2"] = exact_w2(den, sigmas, a.solver)
        if a.n >= 2:
            x = sample(den, initial_noise(den, a.n, torch.Generator().manual_seed(a.seed)), sigmas,
                       solver=a.solver)
            if den.dim == 1:
                result["w2_sample"] = sample_w2_normal(x, den.c)
            else:
                ref = torch.randn(a.n, den.dim, generator=torch.Generator().manual_seed(a.seed + 1),
                                  dtype=torch.float64) * den.c
                result["frechet_sample"] = frechet_distance_samples(x, ref)
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "sigmas":
                print(f"{k}: {v}")
    return 0


def _write_png(path: Path, img) -> None:
    """A uint8 image [H, W] or [H, W, 3] as PNG, atomically. Grey images are written as RGB
    triples: through a colormap's lookup table a grey level can come back shifted by one."""
    import matplotlib.image as mpimg
    import numpy as np

    from .io import atomic_write
    rgb = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img
    atomic_write(path, lambda tmp: mpimg.imsave(tmp, rgb, format="png"))


def _check_images(den, command: str) -> None:
    """``sample`` and ``fid`` need image-shaped models ([C, H, W] with C = 1 or 3)."""
    shape = tuple(getattr(den, "shape", ()))
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ArtlibError(f"{command}: the model's samples have shape {shape}, not an image [C, H, W] "
                          "with 1 or 3 channels (use evaluate for vector models)")


@contextlib.contextmanager
def _distributed(a: argparse.Namespace, argv_key: dict):
    """This process's torch.distributed group (one process unless run by torchrun), after checking
    that every rank was given the same arguments; closed on every exit (a gloo group left to
    interpreter shutdown can abort the process with SIGABRT)."""
    from .distributed import Comm
    comm = Comm.from_env(a.device)
    try:
        comm.check_same({k: v for k, v in argv_key.items() if k != "func"}, "arguments")
        yield comm
    finally:
        comm.close()


def cmd_sample(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .io import check_folder
    from .fid import read_images
    from .models import load_model, model_identity
    from .options import check_solver, parse_seeds
    from .plotting import image_grid
    from .samplers import generate
    from .shards import Workdir, shard_ranges

    seeds = parse_seeds(a.seeds, limit=MAX_SEEDS)
    check_solver(a.solver)
    check_schedule_spec(a.schedule)
    check_folder(a.outdir, "--outdir")
    if a.workdir:
        check_folder(a.workdir, "--workdir")
    with _distributed(a, vars(a)) as comm:
        den = load_model(a.model, comm.device)
        _check_images(den, "sample")
        check_memory(den, a.batch, "--batch")
        sigmas, method = resolve_schedule(a.schedule, den, a.K, solver=a.solver, seed=0)
        from .shards import seeds_digest
        work = Workdir(a.workdir, {"command": "sample", **model_identity(a.model), "sigmas": sigmas.tolist(), "solver": a.solver,
                                   "seeds": seeds_digest(seeds), "shard_size": a.shard_size,
                                   "outdir": str(Path(a.outdir).resolve())}, comm) if a.workdir else None
        outdir = Path(a.outdir)
        (outdir / "images").mkdir(parents=True, exist_ok=True)
        shards = shard_ranges(len(seeds), a.shard_size)
        mine = comm.mine(len(shards))
        done = [i for i in mine if work is not None and work.has(i, ".done")]
        bar = tqdm(total=sum(len(shards[i]) for i in mine), initial=sum(len(shards[i]) for i in done),
                   unit="img", desc="sampling", disable=a.quiet or not comm.main)
        for i in (i for i in mine if i not in done):
            for lo in range(shards[i].start, shards[i].stop, a.batch):
                batch = seeds[lo:min(lo + a.batch, shards[i].stop)]
                hwc = generate(den, sigmas, batch, solver=a.solver, device=comm.device).permute(0, 2, 3, 1).numpy()
                for seed, img in zip(batch, hwc):
                    _write_png(outdir / "images" / f"{seed:06d}.png", img[..., 0] if img.shape[-1] == 1 else img)
                bar.update(len(batch))
            if work is not None:
                work.mark_done(i, {"first": seeds[shards[i].start], "last": seeds[shards[i].stop - 1]})
        bar.close()
        comm.barrier()
        if comm.main:
            first = read_images([outdir / "images" / f"{s:06d}.png" for s in seeds[:64]])
            _write_png(outdir / "grid.png", image_grid(first, nrow=8))
            print(f"wrote {len(seeds)} images and grid.png to {outdir} ({method}, K={a.K}, {a.solver}"
                  + (f", {comm.world} processes" if comm.world > 1 else "")
                  + (f"; {len(done)} finished shards re-used" if done else "") + ")", file=sys.stderr)
    return 0


def cmd_fit_net(a: argparse.Namespace) -> int:
    from .io import check_output_file
    from .smallnet import cmd_fit_net as fit_net
    check_output_file(a.out, "--out")
    return fit_net(a)


def cmd_fid(a: argparse.Namespace) -> int:
    from . import fid
    from .io import check_folder
    from .options import check_solver, parse_seeds
    from .shards import Workdir

    if (a.images is None) == (a.model is None):
        raise ArtlibError("fid: give either --images DIR or --model with --schedule and --K")
    if a.model is not None and (a.schedule is None or a.K is None):
        raise ArtlibError("fid: --model needs --schedule and --K")
    # statistics files are checked before the network is built; a folder needs the network
    stats = fid.reference_statistics(a.ref) if str(a.ref).endswith(".npz") else None   # (https: downloaded)
    if stats is None and not Path(a.ref).is_dir():
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
        check_schedule_spec(a.schedule)
        seeds = parse_seeds(a.seeds, limit=MAX_SEEDS)
        if a.workdir:
            check_folder(a.workdir, "--workdir")
    if a.inception_weights is not None and not Path(a.inception_weights).is_file():
        raise ArtlibError(f"--inception-weights {a.inception_weights}: not found")
    with _distributed(a, vars(a)) as comm:
        net = fid.inception(a.inception_weights, comm.device)
        ref_mu, ref_sigma = stats or fid.reference_statistics(a.ref, net, device=comm.device, batch=a.batch)
        if a.images is not None:
            value, n = fid.fid(fid.folder_batches(a.images, a.batch), ref_mu, ref_sigma, net,
                               device=comm.device, progress=not a.quiet)
            what = {"images": a.images}
        else:
            from .models import load_model
            den = load_model(a.model, comm.device)
            _check_images(den, "fid")
            check_memory(den, a.batch, "--batch")
            sigmas, method = resolve_schedule(a.schedule, den, a.K, solver=a.solver)
            work = Workdir(a.workdir, fid.run_identity(a.model, sigmas, a.solver, seeds, a.shard_size,
                                                       a.inception_weights), comm) if a.workdir else None
            m = fid.generated_moments(den, sigmas, a.solver, seeds, net, batch=a.batch, shard_size=a.shard_size,
                                      workdir=work, comm=comm, progress=not a.quiet)
            if comm.main:   # rank 0 holds the gathered moments
                value, n = fid.fid_from_moments(m, ref_mu, ref_sigma), m.n
            what = {"model": a.model, "schedule": method, "K": a.K, "solver": a.solver, "processes": comm.world}
        if comm.main:
            print(json.dumps({**what, "ref": a.ref, "n": n, "fid": value}))
    return 0


class _Help(argparse.HelpFormatter):
    """--help shows each option's default where it has a meaningful one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one-line ArtlibErrors instead of usage + exit."""

    def error(self, message: str):
        raise ArtlibError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m artlib", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="learn a schedule with ART-RL and write it as JSON", formatter_class=_Help)
    t.add_argument("--model", required=True, help="model string, e.g. gauss1d, digits or gmm:mix.npz")
    t.add_argument("--K", required=True, type=_positive_int("--K", MAX_K), help="number of steps")
    t.add_argument("--solver", default="euler", choices=["euler", "heun"],
                   help="solver the schedule is for; recorded with it. Training does not depend on it: "
                        "both solvers use the grid learned on the Euler error proxy, as the paper does")
    t.add_argument("--clock", default="psi", choices=["psi", "t"],
                   help="psi: the learner indexed by the clock position (well conditioned at any sigma "
                        "range); t: the paper's actor-critic on a uniform grid in t")
    t.add_argument("--seed", type=_int_in("--seed", 0, 2 ** 63 - 1), help="random seed (default 0)")
    t.add_argument("--steps", type=_positive_int("--steps"),
                   help="training steps: psi-nodes (psi clock, default 20) or clock steps (t clock, default 20; "
                        "with --paper: K); the learned clock is re-used at K steps")
    t.add_argument("--paper", action="store_true",
                   help="the paper's formulation and protocol: t clock, B=1, Adam 1e-4, N=5000, trained at K")
    t.add_argument("--checkpoint", help="checkpoint file: written periodically, resumed from if present")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--out", required=True, help="output schedule JSON")
    _add_config_flags(t)
    t.set_defaults(func=cmd_train)

    sc = sub.add_parser("schedule", help="compute a schedule method's grid for a model; write JSON and .sigmas.txt",
                        formatter_class=_Help)
    sc.add_argument("--model", required=True, help="model string, e.g. gauss1d, digits or edm:PATH_OR_URL")
    sc.add_argument("--schedule", required=True, help="a method NAME[:k=v,...] (see evaluate --help)")
    sc.add_argument("--K", required=True, type=_positive_int("--K", MAX_K), help="number of steps")
    sc.add_argument("--solver", default="euler", choices=["euler", "heun"],
                    help="solver the grid is for (ld3 optimises for it; the others record it)")
    sc.add_argument("--seed", type=_int_in("--seed", 0, 2 ** 63 - 1), default=0)
    sc.add_argument("--out", required=True, help="output schedule JSON (its .sigmas.txt is written beside it)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    sc.set_defaults(func=cmd_schedule)

    e = sub.add_parser("evaluate", help="evaluate a schedule on a model", formatter_class=_Help)
    e.add_argument("--model", required=True)
    e.add_argument("--schedule", required=True, help=SCHEDULE_HELP)
    e.add_argument("--K", required=True, type=_positive_int("--K", MAX_K))
    e.add_argument("--solver", default="euler", choices=["euler", "heun"])
    e.add_argument("--n", type=_int_in("--n", 0, 10 ** 7), default=256,
                   help="seeds 0..N-1 for the endpoint RMSE against a fine EDM-Heun reference (and sample "
                        "metrics on Gaussians); 0: skip")
    e.add_argument("--ref-steps", type=_positive_int("--ref-steps"), default=512,
                   help="steps of the reference solve (EDM-Heun, rho 7)")
    e.add_argument("--seed", type=_int_in("--seed", 0, 2 ** 63 - 1), default=0)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("sample", help="sample images with a schedule; write PNGs and a grid", formatter_class=_Help)
    sp.add_argument("--model", required=True, help="e.g. digits, faces, patches or edm:PATH_OR_URL")
    sp.add_argument("--schedule", required=True, help=SCHEDULE_HELP)
    sp.add_argument("--K", required=True, type=_positive_int("--K", MAX_K))
    sp.add_argument("--solver", default="heun", choices=["euler", "heun"])
    sp.add_argument("--seeds", default="0-63", help=f"seeds as EDM writes them: 0-63 or 1,5,9 (at most {MAX_SEEDS:,})")
    sp.add_argument("--batch", type=_positive_int("--batch", 65536), default=64, help="images per batch")
    sp.add_argument("--outdir", required=True, help="output folder: images/NNNNNN.png and grid.png")
    sp.add_argument("--workdir", help="folder that records finished shards, so a killed run resumes where it stopped")
    sp.add_argument("--shard-size", type=_positive_int("--shard-size", MAX_SEEDS), default=1000,
                    help="seeds per shard (the unit of resuming and of the split between torchrun ranks)")
    sp.add_argument("--device", type=_device, default="cpu", help="cpu or cuda[:N]")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_sample)

    fn = sub.add_parser("fit-net", help="train the small EDM-preconditioned network on the digits stand-in", formatter_class=_Help)
    fn.add_argument("--steps", type=_positive_int("--steps", 10 ** 7), default=4000)
    fn.add_argument("--seed", type=_int_in("--seed", 0, 2 ** 63 - 1), default=0)
    fn.add_argument("--out", required=True, help="output weights file (.pt, weights only)")
    fn.add_argument("--quiet", action="store_true")
    fn.set_defaults(func=cmd_fit_net)

    fd = sub.add_parser("fid", help="FID of a folder of images, or of a model and schedule, against reference statistics", formatter_class=_Help)
    fd.add_argument("--ref", required=True, help="reference: .npz with mu and sigma (EDM's fid-refs) or an image folder")
    fd.add_argument("--images", help="folder of .png/.jpg images to score")
    fd.add_argument("--model", help="or generate from this model ...")
    fd.add_argument("--schedule", help="... with this schedule: " + SCHEDULE_HELP)
    fd.add_argument("--K", type=_positive_int("--K", MAX_K))
    fd.add_argument("--solver", default="heun", choices=["euler", "heun"])
    fd.add_argument("--seeds", default="0-49999", help="seeds of the generated images (EDM: 0-49999)")
    fd.add_argument("--inception-weights", help="local torch-fidelity Inception weights (offline use)")
    fd.add_argument("--batch", type=_positive_int("--batch", 65536), default=64)
    fd.add_argument("--workdir", help="folder for each shard's Inception features, so a killed run resumes "
                                      "where it stopped (same FID, bit for bit)")
    fd.add_argument("--shard-size", type=_positive_int("--shard-size", MAX_SEEDS), default=1000,
                    help="seeds per shard (the unit of resuming and of the split between torchrun ranks)")
    fd.add_argument("--device", type=_device, default="cpu", help="cpu or cuda[:N]")
    fd.add_argument("--quiet", action="store_true")
    fd.set_defaults(func=cmd_fid)

    for cmd in (t, sc, e, sp, fd):
        cmd.add_argument("--edm-repo", help="clone of github.com/NVlabs/edm, needed by edm: models "
                                            "(or set ARTLIB_EDM_REPO)")

    r = sub.add_parser("reproduce", help="execute the notebooks of a profile into the book", formatter_class=_Help)
    from .reproduce import PROFILES
    r.add_argument("--profile", required=True, choices=PROFILES,
                   help="ci: CPU stand-ins (the book); paper: EDM checkpoints and FID-50k (GPU); "
                        "paper-smoke: the paper path on a CPU in minutes, into artifacts/paper-smoke/")
    r.add_argument("--only", help="run just this notebook (name without .ipynb)")
    r.add_argument("--device", type=_device, default="cpu", help="cpu or cuda[:N]")
    r.set_defaults(func=cmd_reproduce)

    b = sub.add_parser("bench", help="measure the training engine's speed (prints ratios from one run)",
                       formatter_class=_Help)
    b.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, about a minute)")
    b.add_argument("--device", type=_device, default="cpu", help="cpu or cuda[:N]")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=cmd_bench)
    return p


def cmd_reproduce(a: argparse.Namespace) -> int:
    from .reproduce import reproduce
    reproduce(a.profile, only=a.only, device=a.device)
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    from .bench import run
    run(quick=a.quick, device=a.device, as_json=a.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    argv = [x for x in argv if x != "--debug"]
    # under torchrun every rank reports its own errors; rank 0's lines carry no prefix
    rank = os.environ.get("RANK", "0") if os.environ.get("WORLD_SIZE", "1") not in ("", "1") else "0"
    who = "" if rank == "0" else f"rank {rank}: "
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "edm_repo", None):
            os.environ["ARTLIB_EDM_REPO"] = args.edm_repo
        return args.func(args)
    except ArtlibError as e:
        print(f"{who}error: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError, OverflowError) as e:
        if debug:
            raise
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        text = getattr(e, "strerror", None) or str(e) or type(e).__name__
        print(f"{who}error: {where}{text.splitlines()[0]}", file=sys.stderr)
        return 2
    except Exception as e:   # a bug of ours: one line, the traceback on request
        if debug:
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"{who}error: unexpected {type(e).__name__}: {first} (run with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
