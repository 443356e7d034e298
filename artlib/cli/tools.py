"""``fit-net`` and ``fit-diffusers`` (retrain the small networks), ``bench`` (the engine's speed) and ``reproduce`` (the
book's notebooks under a profile)."""
from __future__ import annotations

import argparse

from .checks import device, int_in, positive_int


def cmd_fit_net(a: argparse.Namespace) -> int:
    from ..core.io import check_output_file
    from ..models.smallnet import fit_digits
    check_output_file(a.out, "--out")
    seconds, final = fit_digits(a.out, steps=a.steps, seed=a.seed, progress=not a.quiet)
    print(f"wrote {a.out} ({seconds:.0f} s, final loss {final:.4f})")
    return 0


def cmd_fit_diffusers(a: argparse.Namespace) -> int:
    from ..core.io import check_folder
    from ..models.digits_diffusers import fit_and_save
    check_folder(a.out, "--out")
    seconds, final = fit_and_save(a.kind, a.out, steps=a.steps, seed=a.seed, progress=not a.quiet)
    print(f"wrote {a.out} ({seconds:.0f} s, final loss {final:.4f})")
    return 0


def cmd_reproduce(a: argparse.Namespace) -> int:
    from ..repro.reproduce import reproduce
    reproduce(a.profile, only=a.only, device=a.device)
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    from ..repro.bench import run
    run(quick=a.quick, device=a.device, as_json=a.json)
    return 0


def add(sub, formatter) -> None:
    """Register ``fit-net``, ``fit-diffusers``, ``reproduce`` and ``bench``."""
    fn = sub.add_parser("fit-net", help="train the small EDM-preconditioned network on the digits stand-in",
                        formatter_class=formatter)
    fn.add_argument("--steps", type=positive_int("--steps", 10 ** 7), default=4000)
    fn.add_argument("--seed", type=int_in("--seed", 0, 2 ** 63 - 1), default=0)
    fn.add_argument("--out", required=True, help="output weights file (.pt, weights only)")
    fn.add_argument("--quiet", action="store_true")
    fn.set_defaults(func=cmd_fit_net)

    fd = sub.add_parser("fit-diffusers", help="train a small diffusers model (VP or flow) on the digits stand-in",
                        formatter_class=formatter)
    fd.add_argument("--kind", required=True, choices=("vp", "flow"))
    fd.add_argument("--steps", type=positive_int("--steps", 10 ** 7), default=4000)
    fd.add_argument("--seed", type=int_in("--seed", 0, 2 ** 63 - 1), default=0)
    fd.add_argument("--out", required=True, help="output pipeline folder (unet/, scheduler/)")
    fd.add_argument("--quiet", action="store_true")
    fd.set_defaults(func=cmd_fit_diffusers)

    r = sub.add_parser("reproduce", help="execute the notebooks of a profile into the book", formatter_class=formatter)
    from ..repro.reproduce import PROFILES
    r.add_argument("--profile", required=True, choices=PROFILES,
                   help="ci: CPU stand-ins (the book); paper: EDM checkpoints and FID-50k (GPU); "
                        "paper-smoke: the paper path on a CPU in minutes, into artifacts/paper-smoke/")
    r.add_argument("--only", help="run just this notebook (name without .ipynb)")
    r.add_argument("--device", type=device, default="cpu", help="cpu or cuda[:N]")
    r.set_defaults(func=cmd_reproduce)

    b = sub.add_parser("bench", help="measure the training engine's speed (prints ratios from one run)",
                       formatter_class=formatter)
    b.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, about a minute)")
    b.add_argument("--device", type=device, default="cpu", help="cpu or cuda[:N]")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=cmd_bench)
