"""``train`` (ART-RL, either learner; one flag per field of the learners' config dataclasses) and
``schedule`` (any method's grid), both written as schedule JSON with its ``.sigmas.txt``."""
from __future__ import annotations

import argparse
import ast
import dataclasses as dc
import inspect
import sys
import time
from pathlib import Path

from ..core.errors import ArtlibError
from .checks import MAX_K, add_budget_flag, check_budget, input_files, int_in, method_cost, positive_int

#: Config fields that are not ``train`` flags of their own (``--seed`` is a common flag).
_CONFIG_FLAGS_SKIP = {"seed"}


def _config_classes():
    from ..art.psiclock import PsiConfig
    from ..art.tclock import TrainConfig
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
        if base in ("int", "float"):
            try:
                return int(text) if base == "int" else float(text)
            except ValueError:
                kind = "an integer" if base == "int" else "a number"
                raise argparse.ArgumentTypeError(f"{flag} must be {kind}, got {text!r}") from None
        return text
    return parse


def _field_docs() -> dict[str, str]:
    """The docstring under each config field (first sentence), for --help."""
    out: dict[str, str] = {}
    for cls in _config_classes().values():
        body = ast.parse(inspect.getsource(cls)).body[0].body
        for a, b in zip(body, body[1:]):
            if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
                out.setdefault(a.target.id, " ".join(str(b.value.value).split()).replace("%", "%%"))
    return out


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of PsiConfig and TrainConfig, default and docstring in --help."""
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
        g.add_argument("--" + name.replace("_", "-"), dest="cfg_" + name, type=_field_parser(name, types[name]),
                       default=argparse.SUPPRESS, metavar=types[name].replace(" ", "").upper(),
                       help=f"{docs.get(name, '')} [default {where}]")


def train_config(a: argparse.Namespace):
    """The learner's config from ``train``'s flags: the clock's defaults (or the paper's
    protocol), then every flag given; a flag of the other clock is an error naming it."""
    from ..art.tclock import TrainConfig
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
    if "cost" in names and "cost" not in overrides and not a.paper:
        overrides["cost"] = "heun" if a.solver == "heun" else "euler"   # learn for the solver it is for
    try:
        return dc.replace(base, **overrides).validate()
    except ArtlibError as e:                 # the config names its field; the user typed a flag
        text = str(e)
        field = text.split(" ", 1)[0]
        raise ArtlibError(("--" + field.replace("_", "-") + text[len(field):]) if field in names else text) from None


def training_cost(cfg, steps: int | None) -> tuple[str, float, float]:
    """The budget item of a training run: its denoiser evaluations and the samples it holds at once
    (the ψ clock simulates in chunks of 256; the t clock rolls out its batch)."""
    from ..art import psiclock, tclock
    if isinstance(cfg, psiclock.PsiConfig):
        cfg = dc.replace(cfg, nodes=steps) if steps else cfg
        return "--iterations, --batch and --bank", psiclock.evaluations(cfg), min(cfg.bank or cfg.batch, 256)
    K = steps or tclock.CLOCK_STEPS
    return ("--iterations and --batch", tclock.evaluations(cfg, K) + 2 * K * cfg.distill_rollouts,
            max(cfg.batch, cfg.distill_rollouts))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cmd_train(a: argparse.Namespace) -> int:
    from ..art.learn import learn_schedule
    from ..export.record import exports
    from ..core.io import check_output_file
    from ..core.schedules import export_path, save_schedule
    from ..models.registry import load_model

    cfg = train_config(a)
    inputs = input_files(a)
    out = check_output_file(a.out, "--out", not_same_as=(a.checkpoint, *inputs))
    check_output_file(export_path(out), "--out's .sigmas.txt", not_same_as=(a.checkpoint, *inputs))
    if a.checkpoint:
        check_output_file(a.checkpoint, "--checkpoint", not_same_as=inputs)
    den = load_model(a.model)
    steps = a.K if a.paper and a.steps is None else a.steps
    check_budget(den, [training_cost(cfg, steps)], a.max_evals)
    learned = learn_schedule(den, a.K, cfg, steps=steps, checkpoint=Path(a.checkpoint) if a.checkpoint else None,
                             progress=not a.quiet)
    res = learned.run
    extra = exports(den, learned.sigmas)
    save_schedule(out, learned.sigmas, solver=a.solver, method="art-rl", model=a.model,
                  sigma_min=den.sigma_min, sigma_max=den.sigma_max, seed=cfg.seed,
                  clock=learned.clock, train_steps=res.steps, train_seconds=round(res.seconds, 3),
                  config=dc.asdict(res.config), final_gamma=res.gamma, created=_now(), **extra)
    print(f"wrote {out} (K={a.K}, {learned.clock} clock, {res.steps} training steps, "
          f"{res.seconds:.1f} s); ComfyUI ManualSigmas:", file=sys.stderr)
    print(extra["comfyui"]["manual_sigmas"])
    return 0


def cmd_schedule(a: argparse.Namespace) -> int:
    from ..core.io import check_output_file
    from ..core.schedules import export_path, save_schedule
    from ..export.record import exports
    from ..methods.registry import build, parse
    from ..models.registry import load_model
    from .checks import is_schedule_file

    if is_schedule_file(a.schedule):
        raise ArtlibError("--schedule: give a method (e.g. ays, gits:gamma=1.2), not a file")
    spec = parse(a.schedule, what="--schedule")
    inputs = input_files(a)
    out = check_output_file(a.out, "--out", not_same_as=inputs)
    check_output_file(export_path(out), "--out's .sigmas.txt", not_same_as=inputs)
    den = load_model(a.model)
    check_budget(den, method_cost(spec, a.K, a.solver), a.max_evals)
    sigmas, prov = build(spec, den, a.K, solver=a.solver, seed=a.seed, progress=not a.quiet)
    extra = exports(den, sigmas)
    save_schedule(out, sigmas, solver=a.solver, model=a.model, sigma_min=den.sigma_min,
                  sigma_max=den.sigma_max, created=_now(), **prov, **extra)
    print(f"wrote {out} ({prov['method']}, K={a.K}, {prov['cost']['evaluations']:,} denoiser evaluations, "
          f"{prov['cost']['seconds']:.1f} s); ComfyUI ManualSigmas:", file=sys.stderr)
    print(extra["comfyui"]["manual_sigmas"])
    return 0


def add(sub, formatter) -> None:
    """Register ``train`` and ``schedule``."""
    t = sub.add_parser("train", help="learn a schedule with ART-RL and write it as JSON", formatter_class=formatter)
    t.add_argument("--model", required=True, help="model string, e.g. gauss1d, digits or gmm:mix.npz")
    t.add_argument("--K", required=True, type=positive_int("--K", MAX_K), help="number of steps")
    t.add_argument("--solver", default="euler", choices=["euler", "heun"],
                   help="solver the schedule is for: the psi clock prices that solver's local error (--cost "
                        "overrides it; --cost euler is the paper's proxy); the t clock learns on the Euler proxy")
    t.add_argument("--clock", default="psi", choices=["psi", "t"],
                   help="psi: the learner indexed by the clock position (well conditioned at any sigma "
                        "range); t: the paper's actor-critic on a uniform grid in t")
    t.add_argument("--seed", type=int_in("--seed", 0, 2 ** 63 - 1), help="random seed (default 0)")
    t.add_argument("--steps", type=positive_int("--steps"),
                   help="training steps: psi-nodes (psi clock, default 20) or clock steps (t clock, default 20; "
                        "with --paper: K); the learned clock is re-used at K steps")
    t.add_argument("--paper", action="store_true",
                   help="the paper's formulation and protocol: t clock, B=1, Adam 1e-4, N=5000, trained at K")
    t.add_argument("--checkpoint", help="checkpoint file: written periodically, resumed from if present")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--out", required=True, help="output schedule JSON")
    add_budget_flag(t)
    _add_config_flags(t)
    t.set_defaults(func=cmd_train)

    sc = sub.add_parser("schedule", help="compute a schedule method's grid for a model; write JSON and .sigmas.txt",
                        formatter_class=formatter)
    sc.add_argument("--model", required=True, help="model string, e.g. gauss1d, digits or edm:PATH_OR_URL")
    sc.add_argument("--schedule", required=True, help="a method NAME[:k=v,...] (see evaluate --help)")
    sc.add_argument("--K", required=True, type=positive_int("--K", MAX_K), help="number of steps")
    sc.add_argument("--solver", default="euler", choices=["euler", "heun"],
                    help="solver the grid is for (ld3 optimises for it; the others record it)")
    sc.add_argument("--seed", type=int_in("--seed", 0, 2 ** 63 - 1), default=0)
    sc.add_argument("--out", required=True, help="output schedule JSON (its .sigmas.txt is written beside it)")
    sc.add_argument("--quiet", action="store_true", help="no progress bar")
    add_budget_flag(sc)
    sc.set_defaults(func=cmd_schedule)
