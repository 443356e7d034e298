"""Command line: ``python -m artlib {train,evaluate,reproduce} ...``.

Errors a user can cause print one line and exit with code 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from .errors import ArtlibError


def _positive_int(name: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be >= 1, got {v}")
        return v
    return parse


def resolve_schedule(spec: str, denoiser, K: int, *, seed: int = 0) -> tuple[torch.Tensor, str]:
    """A schedule from the CLI's ``--schedule``: a JSON file or uniform | edm[:rho=R] | optimal."""
    from .schedules import (check_options, edm_sigmas, load_schedule, optimal_sigmas,
                            parse_schedule_spec, uniform_sigmas)
    if spec.endswith(".json") or Path(spec).exists():
        s, meta = load_schedule(spec, sigma_max=denoiser.sigma_max, K=K)
        return s, meta.get("method", "file")
    name, opts = parse_schedule_spec(spec)
    what = f"--schedule {spec!r}"
    if name == "uniform":
        check_options(opts, [], what=what)
        return uniform_sigmas(K, denoiser.sigma_min, denoiser.sigma_max), "uniform"
    if name == "edm":
        check_options(opts, ["rho"], what=what)
        rho = opts.get("rho", 7.0)
        return edm_sigmas(K, denoiser.sigma_min, denoiser.sigma_max, rho), f"edm(rho={rho:g})"
    if name == "optimal":
        check_options(opts, [], what=what)
        return optimal_sigmas(denoiser, K, seed=seed), "optimal"
    raise ArtlibError(f"unknown schedule {spec!r}; use a .json file, uniform, edm, edm:rho=R or optimal")


def cmd_train(a: argparse.Namespace) -> int:
    from .denoisers import load_model
    from .distill import learn_schedule
    from .rl import TrainConfig
    from .schedules import save_schedule

    den = load_model(a.model)
    out = Path(a.out)
    if out.is_dir():
        raise ArtlibError(f"--out {out} is a directory, expected a .json file path")
    base = TrainConfig.paper_protocol() if a.paper else TrainConfig()
    overrides = {k: v for k, v in dict(iterations=a.iterations, batch=a.batch, seed=a.seed,
                                       checkpoint_every=a.checkpoint_every).items()
                 if v is not None}
    cfg = TrainConfig(**{**base.__dict__, **overrides}).validate()
    ck = Path(a.checkpoint) if a.checkpoint else None
    steps = a.K if a.paper and a.steps is None else a.steps
    learned = learn_schedule(den, a.K, cfg, steps=steps, checkpoint=ck, progress=not a.quiet)
    res = learned.run
    save_schedule(out, learned.sigmas, solver=a.solver, method="art-rl", model=a.model,
                  sigma_min=den.sigma_min, sigma_max=den.sigma_max, seed=cfg.seed,
                  train_steps=learned.env.K, train_seconds=round(res.seconds, 3),
                  config=res.config.__dict__, final_gamma=res.gamma,
                  created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    print(f"wrote {out} (K={a.K}, trained on {learned.env.K} steps, {res.seconds:.1f} s)", file=sys.stderr)
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .denoisers import GaussianDenoiser, load_model
    from .metrics import exact_w2, frechet_distance_samples, sample_w2_normal
    from .samplers import check_solver, initial_noise, nfe, sample

    den = load_model(a.model)
    check_solver(a.solver)
    sigmas, method = resolve_schedule(a.schedule, den, a.K, seed=a.seed)
    result = {"model": a.model, "schedule": method, "K": a.K, "solver": a.solver,
              "nfe": nfe(a.K, a.solver), "sigmas": sigmas.tolist()}
    if isinstance(den, GaussianDenoiser):
        result["w2"] = exact_w2(den, sigmas, a.solver)
        if a.n:
            x = sample(den, initial_noise(den, a.n, torch.Generator().manual_seed(a.seed)), sigmas,
                       solver=a.solver)
            if den.dim == 1:
                result["w2_sample"] = sample_w2_normal(x, den.c)
            else:
                ref = torch.randn(a.n, den.dim, generator=torch.Generator().manual_seed(a.seed + 1),
                                  dtype=torch.float64) * den.c
                result["frechet_sample"] = frechet_distance_samples(x, ref)
            result["n"] = a.n
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "sigmas":
                print(f"{k}: {v}")
    return 0


def _write_png(path: Path, img) -> None:
    """A uint8 image [H, W] or [H, W, 3] as PNG, atomically."""
    import matplotlib.image as mpimg

    from .io import atomic_write
    atomic_write(path, lambda tmp: mpimg.imsave(tmp, img, cmap="gray", vmin=0, vmax=255, format="png"))


def _generated(den, sigmas, solver: str, seeds: list[int], batch: int, device: str):
    """uint8 image batches [n, C, H, W] sampled from seeds (EDM's per-seed noise and labels)."""
    from .plotting import to_uint8
    from .samplers import sample, seeded_batch
    for i in range(0, len(seeds), batch):
        x0, labels = seeded_batch(den, seeds[i:i + batch], device=device)
        x = sample(den, x0, sigmas, solver=solver, class_labels=labels)
        yield torch.from_numpy(to_uint8(x.clamp(-1, 1).cpu())).permute(0, 3, 1, 2)


def cmd_sample(a: argparse.Namespace) -> int:
    from .denoisers import load_model
    from .plotting import image_grid
    from .samplers import check_solver, parse_seeds

    seeds = parse_seeds(a.seeds)
    check_solver(a.solver)
    outdir = Path(a.outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ArtlibError(f"--outdir {outdir} exists and is not a directory")
    den = load_model(a.model, a.device)
    sigmas, method = resolve_schedule(a.schedule, den, a.K, seed=0)
    (outdir / "images").mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm
    batches = _generated(den, sigmas, a.solver, seeds, a.batch, a.device)
    for i, imgs in enumerate(tqdm(batches, total=-(-len(seeds) // a.batch), desc="sampling", disable=a.quiet)):
        hwc = imgs.permute(0, 2, 3, 1).numpy()
        for seed, img in zip(seeds[i * a.batch:], hwc):
            _write_png(outdir / "images" / f"{seed:06d}.png", img[..., 0] if img.shape[-1] == 1 else img)
        if i == 0:
            _write_png(outdir / "grid.png", image_grid(imgs[:64], nrow=8))
    print(f"wrote {len(seeds)} images and grid.png to {outdir} ({method}, K={a.K}, {a.solver})", file=sys.stderr)
    return 0


def cmd_fid(a: argparse.Namespace) -> int:
    from . import fid
    from .samplers import check_solver, parse_seeds

    if (a.images is None) == (a.model is None):
        raise ArtlibError("fid: give either --images DIR or --model with --schedule and --K")
    net = fid.inception(a.inception_weights, a.device)
    ref_mu, ref_sigma = fid.reference_statistics(a.ref, net, device=a.device, batch=a.batch)
    if a.images is not None:
        batches, total, what = fid.folder_batches(a.images, a.batch), None, {"images": a.images}
    else:
        from .denoisers import load_model
        if a.schedule is None or a.K is None:
            raise ArtlibError("fid: --model needs --schedule and --K")
        check_solver(a.solver)
        seeds = parse_seeds(a.seeds)
        den = load_model(a.model, a.device)
        sigmas, method = resolve_schedule(a.schedule, den, a.K)
        batches = _generated(den, sigmas, a.solver, seeds, a.batch, a.device)
        total = -(-len(seeds) // a.batch)
        what = {"model": a.model, "schedule": method, "K": a.K, "solver": a.solver}
    value, n = fid.fid(batches, ref_mu, ref_sigma, net, device=a.device, progress=not a.quiet, total=total)
    print(json.dumps({**what, "ref": a.ref, "n": n, "fid": value}))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one-line ArtlibErrors instead of usage + exit."""

    def error(self, message: str):
        raise ArtlibError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m artlib", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="learn a schedule with ART-RL and write it as JSON")
    t.add_argument("--model", required=True, help="model string, e.g. gauss1d or gaussian:c=0.5,dim=16")
    t.add_argument("--K", required=True, type=_positive_int("--K"), help="number of steps")
    t.add_argument("--solver", default="euler", choices=["euler", "heun"], help="solver recorded with the schedule")
    t.add_argument("--iterations", type=_positive_int("--iterations"), help="policy iterations N")
    t.add_argument("--batch", type=_positive_int("--batch"), help="rollouts per iteration B")
    t.add_argument("--seed", type=int, help="random seed (default 0)")
    t.add_argument("--steps", type=_positive_int("--steps"),
                   help="clock steps of the training environment (default 20; with --paper: K); "
                        "the learned clock is re-used at K steps")
    t.add_argument("--paper", action="store_true", help="the paper's protocol (B=1, Adam 1e-4, N=5000, trained at K)")
    t.add_argument("--checkpoint", help="checkpoint file: written periodically, resumed from if present")
    t.add_argument("--checkpoint-every", type=_positive_int("--checkpoint-every"), help="iterations between checkpoints")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--out", required=True, help="output schedule JSON")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a schedule on a model")
    e.add_argument("--model", required=True)
    e.add_argument("--schedule", required=True, help="FILE.json, uniform, edm, edm:rho=R or optimal")
    e.add_argument("--K", required=True, type=_positive_int("--K"))
    e.add_argument("--solver", default="euler", choices=["euler", "heun"])
    e.add_argument("--n", type=int, default=0, help="also draw N samples for sample-based metrics")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("sample", help="sample images with a schedule; write PNGs and a grid")
    sp.add_argument("--model", required=True, help="e.g. digits, faces, patches or edm:PATH_OR_URL")
    sp.add_argument("--schedule", required=True, help="FILE.json, uniform, edm, edm:rho=R or optimal")
    sp.add_argument("--K", required=True, type=_positive_int("--K"))
    sp.add_argument("--solver", default="heun", choices=["euler", "heun"])
    sp.add_argument("--seeds", default="0-63", help="seeds as EDM writes them: 0-63 or 1,5,9")
    sp.add_argument("--batch", type=_positive_int("--batch"), default=64, help="images per batch")
    sp.add_argument("--outdir", required=True, help="output folder: images/NNNNNN.png and grid.png")
    sp.add_argument("--device", default="cpu")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_sample)

    fn = sub.add_parser("fit-net", help="train the small EDM-preconditioned network on the digits stand-in")
    fn.add_argument("--steps", type=_positive_int("--steps"), default=4000)
    fn.add_argument("--seed", type=int, default=0)
    fn.add_argument("--out", required=True, help="output weights file (.pt, weights only)")
    fn.add_argument("--quiet", action="store_true")
    fn.set_defaults(func=lambda a: __import__("artlib.smallnet", fromlist=["cmd_fit_net"]).cmd_fit_net(a))

    fd = sub.add_parser("fid", help="FID of a folder of images, or of a model and schedule, against reference statistics")
    fd.add_argument("--ref", required=True, help="reference: .npz with mu and sigma (EDM's fid-refs) or an image folder")
    fd.add_argument("--images", help="folder of .png/.jpg images to score")
    fd.add_argument("--model", help="or generate from this model ...")
    fd.add_argument("--schedule", help="... with this schedule (FILE.json, uniform, edm, edm:rho=R, optimal)")
    fd.add_argument("--K", type=_positive_int("--K"))
    fd.add_argument("--solver", default="heun", choices=["euler", "heun"])
    fd.add_argument("--seeds", default="0-49999", help="seeds of the generated images (EDM: 0-49999)")
    fd.add_argument("--inception-weights", help="local torch-fidelity Inception weights (offline use)")
    fd.add_argument("--batch", type=_positive_int("--batch"), default=64)
    fd.add_argument("--device", default="cpu")
    fd.add_argument("--quiet", action="store_true")
    fd.set_defaults(func=cmd_fid)

    for cmd in (t, e, sp, fd):
        cmd.add_argument("--edm-repo", help="clone of github.com/NVlabs/edm, needed by edm: models "
                                            "(or set ARTLIB_EDM_REPO)")

    from .bench import add_parser as add_bench
    from .reproduce import add_parser as add_reproduce
    add_reproduce(sub)
    add_bench(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "edm_repo", None):
            os.environ["ARTLIB_EDM_REPO"] = args.edm_repo
        return args.func(args)
    except ArtlibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
