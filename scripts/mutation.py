"""Mutation testing of artlib's core: make one small bug at a time, run the tests that cover the
module, and count the bugs the tests catch ("killed"). A report, not a CI gate.

Each mutant is one edit of the module's syntax tree: an arithmetic operator swapped (+ ↔ −,
* ↔ /, ** → *), a comparison flipped (< ↔ >=, <= ↔ >, == ↔ !=), a unary minus dropped, a numeric
constant changed (c → c + 1, 0 → 1, 1 → 2, floats scaled by 1.5) or a ``True``/``False``
swapped. The mutated file is written into a copy of the repository, never into the checkout.
Equivalent mutants (edits that cannot change behaviour) are listed in EQUIVALENT with the
reason, and are left out of the score.

    python scripts/mutation.py [--quick] [--modules psiclock optimum ...] [--seed 0] [--jobs 2]

Prints one line per surviving mutant, a per-module breakdown, and last
``killed K of N mutants (P%)``.

    python scripts/mutation.py --corpus

applies instead the hand-written semantic mutants of ``tests/mutants/corpus.py`` (a wrong term, an
ignored option, a cache key missing a field, ...) and exits 1 if any survives or no longer applies:
that mode is a CI gate.
"""
from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: module (its path under artlib/, without .py) → the test files that claim to cover it
TESTS = {
    "core/schedules": ["tests/test_schedules.py"],
    "core/samplers": ["tests/test_samplers.py", "tests/test_images.py", "tests/test_peers.py"],
    "art/dynamics": ["tests/test_dynamics.py", "tests/test_psiclock.py"],
    "art/optimum": ["tests/test_optimum.py", "tests/test_schedules.py", "tests/test_methods.py"],
    "art/learner": ["tests/test_tclock.py", "tests/test_psiclock.py"],
    "art/psiclock": ["tests/test_psiclock.py"],
    "art/tclock": ["tests/test_tclock.py"],
    "art/learn": ["tests/test_tclock.py", "tests/test_psiclock.py"],
    "eval/metrics": ["tests/test_metrics.py", "tests/test_samplers.py", "tests/test_images.py"],
    "eval/fid": ["tests/test_fid.py", "tests/test_distributed.py"],
    "methods/grids": ["tests/test_peers.py", "tests/test_methods.py"],
    "methods/ays": ["tests/test_peers.py", "tests/test_methods.py"],
    "methods/gits": ["tests/test_peers.py", "tests/test_methods.py"],
    "methods/dmn": ["tests/test_peers.py", "tests/test_methods.py"],
    "methods/ld3": ["tests/test_peers.py", "tests/test_methods.py"],
    "methods/registry": ["tests/test_methods.py"],
    "repro/leaderboard": ["tests/test_leaderboard.py", "tests/test_leaderboard_run.py"],
    "repro/report": ["tests/test_report.py"],
}

#: (module, a fragment of the mutated line's source, description) of mutants that cannot change
#: behaviour, with the reason. Keyed by the line's text, not its number, so edits elsewhere in a
#: module do not move the entries; every mutant of that description on a matching line is excluded.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("art/optimum", "np.maximum(profile.mean.numpy()[::-1], 1e-300)", "constant 1e-300 -> 1.5e-300"): "a floor against division by zero; any tiny value gives the same numbers",
    ("art/optimum", "@dataclass(frozen=True)", "True -> False"): "frozen=True on ErrorProfile guards against assignment; no code assigns to it",
    ("art/tclock", "torch.log(rms + 1e-12)", "Add -> Sub"): "log(rms ± 1e-12): the epsilon's sign cannot matter unless the state is 0 to 1e-12",
    ("art/dynamics", "instead of a JVP\", stacklevel=2)", "constant 2 -> 3"): "the fallback warning's stacklevel: which caller's line the message names, display only",
    ("art/dynamics", "FD_STEP = 3e-4", "constant 0.0003 -> 0.00045"): "the central difference's step (fallback for denoisers without forward-mode AD): 4.5e-4 is as good, tests/test_diffusers.py checks the minimax over a 10x range",
    ("core/schedules", "s[0] > sigma_max * (1 + 1e-9)", "constant 1e-09 -> 1.5000000000000002e-09"): "the round-off tolerance of the σ_max check: any value far below a real overshoot and above an ulp",
    ("core/schedules", "np.cumsum(0.5 * (w[1:] + w[:-1])", "constant 0.5 -> 0.75"): "the trapezoid's ½ in Φ: the grid is uniform in Φ/Φ(T), so any factor cancels",
    ("core/schedules", "json.dump(obj, f, indent=2)", "constant 2 -> 3"): "the schedule file's indentation: the same JSON document",
    ("art/tclock", "cfg.seed + 1_000_003", "Add -> Sub"): "the distillation rollouts' own seed: any value apart from training's is as good",
    ("art/tclock", "cfg.seed + 1_000_003", "constant 1000003 -> 1000004"): "the same seed offset",
    ("art/tclock", "torch.log(rms + 1e-12)", "constant 1e-12 -> 1.5e-12"): "the same epsilon inside log(rms + 1e-12)",
    ("art/tclock", "checkpoint=None, progress: bool = True", "True -> False"): "learn_schedule's progress bar default: display only",
    ("art/learn", "checkpoint=None, progress: bool = True", "True -> False"): "learn_schedule's progress bar default: display only",
    ("eval/metrics", "one = torch.ones(1, *denoiser.shape", "constant 1 -> 2"): "solver_gain on a batch of two identical ones: the same gain",
    ("eval/metrics", "reshape(len(a), -1)", "constant 1 -> 2"): "reshape(n, -2): numpy treats any negative size as the one to infer",
    ("eval/metrics", "reshape(len(b), -1)", "constant 1 -> 2"): "the same reshape",
    ("art/psiclock", "delta.std(0) + 1e-12", "Add -> Sub"): "std ± 1e-12 in the advantage's standardisation: the sign cannot matter unless the TD errors are equal to 1e-12",
    ("art/psiclock", "delta.std(0) + 1e-12", "constant 1e-12 -> 1.5e-12"): "the same epsilon",
    ("art/psiclock", "@dataclass(frozen=True)", "True -> False"): "frozen=True on PsiConfig guards against assignment; no code assigns to it",
    ("art/psiclock", "chunk: int = 256, heun: bool = True", "True -> False"): "simulate's heun default: both callers pass heun= explicitly",
    ("art/psiclock", "a = a_mean + std * torch.randn", "Add -> Sub"): "m + s·ε → m − s·ε with ε ~ N(0, 1): the same distribution of actions",
    ("art/psiclock", "np.cumsum(0.5 * (speed[1:] + speed[:-1]))", "constant 0.5 -> 0.75"): "the trapezoid's ½ in t(ψ): t is divided by t(T) on the next line, so any factor cancels",
    ("art/psiclock", "seconds: float = 0.0", "constant 0.0 -> 1.0"): "PsiResult.seconds' default: train always passes the time",
    ("art/tclock", "@dataclass(frozen=True)", "True -> False"): "frozen=True on TrainConfig guards against assignment; no code assigns to it",
    ("art/tclock", "theta = mu + torch.sqrt(policy_variance", "Add -> Sub"): "μ + s·ε → μ − s·ε with ε ~ N(0, 1): the same distribution of actions",
    ("art/tclock", "dpsi > 1e-9 * env.T", "Mult -> Div"): "the guard dψ > 1e-9·T against dividing by a zero step: 1e-9/T is as tiny for any T the models have",
    ("art/tclock", "dpsi > 1e-9 * env.T", "constant 1e-09 -> 1.5000000000000002e-09"): "the same guard against a zero step: 1e-9·T or 1.5e-9·T, both far below any step a rollout takes",
    ("art/tclock", "dpsi.clamp(min=1e-300)", "constant 1e-300 -> 1.5e-300"): "a floor that only matters where dψ ≤ 1e-9·T, and there torch.where keeps the old Q",
    ("art/tclock", "seconds: float = 0.0", "constant 0.0 -> 1.0"): "TrainResult.seconds' default: train always passes the time",
    ("art/tclock", "progress: bool = True) -> TrainResult", "True -> False"): "train's progress-bar default: display only",
    ("art/learner", "if progress and it % 20 == 0", "constant 20 -> 21"): "how often the progress bar's postfix is refreshed: display only",
    ("art/learner", "if progress and it % 20 == 0", "constant 0 -> 1"): "the same progress-bar refresh",
    ("art/learner", "if progress and it % 20 == 0", "Eq -> NotEq"): "the same progress-bar refresh",
    ("eval/fid", "def features(batches: Iterable[torch.Tensor], net, *, device: str = \"cpu\", progress: bool = False", "False -> True"): "features' progress-bar default: display only",
    ("eval/fid", "comm: Comm | None = None, progress: bool = False", "False -> True"): "generated_moments' progress-bar default: display only",
    ("eval/fid", "device: str = \"cpu\", progress: bool = False, total: int | None = None", "False -> True"): "fid's progress-bar default: display only",
    ("eval/fid", "batch: int = 64, shard_size: int = 1000, workdir", "constant 64 -> 65"): "generated_moments' batch default: every caller (CLI, fid_sweep) passes its batch",
    ("eval/fid", "batch: int = 64, shard_size: int = 1000, workdir", "constant 1000 -> 1001"): "generated_moments' shard-size default: every caller passes it",
    ("eval/fid", "def folder_batches(folder: str | os.PathLike, batch: int = 64)", "constant 64 -> 65"): "folder_batches' batch default: every caller passes --batch",
    ("eval/fid", "batch: int = 64) -> tuple[np.ndarray, np.ndarray]", "constant 64 -> 65"): "reference_statistics' batch default: every caller passes --batch",
    ("eval/fid", "if comm.world > 1 else", "constant 1 -> 2"): "the progress bar's description: display only",
    ("eval/fid", "if comm.world > 1 else", "Gt -> LtE"): "the same progress-bar description",
    ("eval/fid", "bar.update(total.n - bar.n)", "Sub -> Add"): "the progress bar's count: display only",
    ("methods/dmn", "def dmn_objective(lam: torch.Tensor, order: int = 3", "constant 3 -> 4"): "each step's order is capped at 3 (min(1, 2 or 3, order)), so order 4 is order 3",
    ("methods/gits", "M = cost.shape[0]", "constant 0 -> 1"): "the cost matrix is square: shape[1] is shape[0]",
    ("methods/ays", "xup = xt + torch.sqrt(", "Add -> Sub"): "x_t + s·ε′ → x_t − s·ε′ with ε′ ~ N(0, I): the same distribution",
    ("methods/ays", "progress: bool = False) -> tuple[torch.Tensor, Cost]", "False -> True"): "the progress-bar defaults of the optimisers: display only",
    ("methods/gits", "progress: bool = False) -> tuple[torch.Tensor, Cost]", "False -> True"): "the progress-bar defaults of the optimisers: display only",
    ("methods/ld3", "progress: bool = False) -> tuple[torch.Tensor, Cost]", "False -> True"): "the progress-bar defaults of the optimisers: display only",
    ("core/samplers", "desc=f\"{solver} sampling\", leave=False", "False -> True"): "whether the sampling progress bar stays on screen: display only",
    ("core/samplers", "progress: bool = False) -> torch.Tensor", "False -> True"): "sample's and advance's progress-bar defaults: display only",
    ("methods/dmn", "c[n] = c[n] + t", "Add -> Sub"): "every term then enters each per-node sum c_n negated, and the bound takes |c_n|",
    ("methods/gits", "V = np.full((jumps + 1, M), INF)", "constant 1 -> 2"): "one more row in the DP table: the extra row is never read",
    ("methods/gits", "nxt = np.full((jumps + 1, M), -1, dtype=int)", "constant 1 -> 2"): "the same extra row, or −2 for −1 as the placeholder of unreachable states: never read",
    ("methods/gits", "best, arg = INF, -1", "drop unary minus"): "the argmin's placeholder for a state with no finite path: the path never reads it",
    ("methods/gits", "best, arg = INF, -1", "constant 1 -> 2"): "the same placeholder",
    ("methods/gits", "desc=\"GITS teacher\", leave=False", "False -> True"): "whether the teacher's progress bar stays on screen: display only",
    ("methods/gits", "unit = line / line.norm(dim=-1", "drop unary minus"): "line = b − a is [B, d]: dim 1 is dim −1",
    ("methods/ays", "def many(self, lo, hi, chunk: int = 4096)", "constant 4096 -> 4097"): "samples per denoiser call in the KLUB: the same numbers in other batches",
    ("methods/ld3", "n: int = 64, iterations: int = 200, lr: float = 0.05", "constant 200 -> 201"): "ld3's iteration default: artlib.sources passes its own",
    ("art/psiclock", "progress: bool = True) -> PsiResult", "True -> False"): "train's progress-bar default: display only",
    ("methods/registry", "@dataclass(frozen=True)", "True -> False"): "frozen=True on Source and Spec guards against assignment; no code assigns to them",
    ("methods/registry", "progress: bool = False) -> tuple[torch.Tensor", "False -> True"): "build's progress-bar default: display only",
    ("methods/registry", "def build(spec: Spec | str, den, K: int, *, solver: str = \"euler\", seed: int = 0", "constant 0 -> 1"): "build's default seed: every caller (the CLI, the leaderboard) passes its seed",
    ("repro/leaderboard", "n: int = 256, ref_steps: int = 512, seed: int = 0", "constant 256 -> 257"): "run's default n: the leaderboard notebook passes n, ref_steps and seed",
    ("repro/leaderboard", "n: int = 256, ref_steps: int = 512, seed: int = 0", "constant 512 -> 513"): "run's default ref_steps: the notebook passes it",
    ("repro/leaderboard", "n: int = 256, ref_steps: int = 512, seed: int = 0", "constant 0 -> 1"): "run's default seed: the notebook passes it",
    ("art/psiclock", "chunk: int = 256, heun: bool = True", "constant 256 -> 257"): "simulate's chunk size: the trajectories' draws come in another order from the same generator, identically distributed",
    ("art/psiclock", "torch.log(q.clamp(min=1e-300)) / 10", "constant 1e-300 -> 1.5e-300"): "a floor against log(0) in the critic's feature; any tiny value gives the same numbers",
    ("art/psiclock", "/ M).clamp(max=1.0)", "constant 1.0 -> 1.5"): "the clamp never binds: the nodes (k + offset)/M are below 1 for k < M and offset < 1",
    ("art/psiclock", "def clock_map(self, fine: int = 4096)", "constant 4096 -> 4097"): "the clock's trapezoid resolution: 4097 nodes give the same t(ψ) up to the rule's O(1/4096²) error",
}

#: Functions that only draw figures: their constants are sizes, margins and marker styles, which no
#: value-level test can judge. The browser test checks each figure is drawn (pixel spread), and
#: every page is looked at; they are left out of the mutants, and the report says so.
FIGURES = {
    "repro/report": {"plot_error_vs_nfe", "log_ticks", "plot_grids", "legend_below", "sample_blocks"},
    "repro/leaderboard": {"plot_boards", "plot_board_grids"},
}

_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
_CMP = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}


def _skip(node: ast.AST, parents: dict, figures=frozenset()) -> bool:
    """Docstrings, annotations, error messages, dataclass field docs and figure-drawing functions
    (``figures``) are not behaviour that a value-level test can check."""
    p = parents.get(node)
    while p is not None:
        if isinstance(p, ast.FunctionDef) and p.name in figures:
            return True
        if isinstance(p, (ast.JoinedStr, ast.Raise)) or (isinstance(p, ast.Expr) and isinstance(p.value, ast.Constant)):
            return True
        if isinstance(p, ast.AnnAssign) and node is not p.value and _within(node, p.annotation, parents):
            return True
        p = parents.get(p)
    return False


def _within(node, root, parents) -> bool:
    while node is not None:
        if node is root:
            return True
        node = parents.get(node)
    return False


def mutants(source: str, figures=frozenset()) -> list[tuple[int, int, str]]:
    """All (node index, line, description) mutation sites of a module, outside the functions named
    in ``figures``."""
    tree = ast.parse(source)
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if _skip(node, parents, figures):
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _SWAP:
            out.append((i, node.lineno, f"{type(node.op).__name__} -> {_SWAP[type(node.op)].__name__}"))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
            out.append((i, node.lineno, f"{type(node.ops[0]).__name__} -> {_CMP[type(node.ops[0])].__name__}"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            out.append((i, node.lineno, "drop unary minus"))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool):
            out.append((i, node.lineno, f"constant {node.value!r} -> {_new_constant(node.value)!r}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            out.append((i, node.lineno, f"{node.value} -> {not node.value}"))
    return out


def is_equivalent(module: str, line_text: str, what: str) -> bool:
    """Whether the mutant ``what`` on a line of ``module`` with this text is listed in EQUIVALENT."""
    return any(m == module and w == what and frag in line_text for (m, frag, w) in EQUIVALENT)


def _new_constant(v):
    if isinstance(v, int):
        return v + 1
    return 1.0 if v == 0 else v * 1.5


def apply(source: str, index: int) -> str:
    """The module's source with mutation site ``index`` applied."""
    tree = ast.parse(source)
    node = list(ast.walk(tree))[index]
    if isinstance(node, ast.BinOp):
        node.op = _SWAP[type(node.op)]()
    elif isinstance(node, ast.Compare):
        node.ops = [_CMP[type(node.ops[0])]()]
    elif isinstance(node, ast.UnaryOp):
        node.op = ast.UAdd()
    elif isinstance(node.value, bool):
        node.value = not node.value
    else:
        node.value = _new_constant(node.value)
    return ast.unparse(tree)


def killed_in_copy(path: str, edit, tests: list[str], timeout: float) -> bool:
    """Copy the repository, rewrite the file at ``path`` (relative) by ``edit(text)``, run ``tests``
    there; True if a test failed (or hung). A test id that names no test stops the run: it would
    count every mutant as killed."""
    with tempfile.TemporaryDirectory(prefix="artlib-mut-") as tmp:
        work = Path(tmp) / "repo"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".venv", ".git", "book", "artifacts", "runs",
                                                                   "__pycache__", ".pytest_cache", ".hypothesis"))
        target = work / path
        target.write_text(edit(target.read_text()))
        tests = [t for t in tests if (work / t.split("::")[0]).is_file()]      # files or test ids
        env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                               cwd=work, env=env, capture_output=True, timeout=timeout)
            if r.returncode in (4, 5):   # a test id that does not exist, or no test collected
                raise SystemExit(f"mutation: pytest found no tests for {tests} (exit {r.returncode}): "
                                 f"{(r.stdout + r.stderr).decode(errors='replace').strip().splitlines()[-1:]}")
            return r.returncode != 0
        except subprocess.TimeoutExpired:
            return True   # a hang counts as detected: the suite would not pass


def run_one(module: str, index: int, line: int, what: str, timeout: float) -> tuple[str, int, str, bool]:
    """One AST mutant of ``module`` against its tests: (module, line, what, killed)."""
    killed = killed_in_copy(f"artlib/{module}.py", lambda text: apply(text, index), TESTS[module], timeout)
    return module, line, what, killed


def load_corpus() -> list[tuple]:
    """The entries of ``tests/mutants/corpus.py``."""
    sys.path.insert(0, str(ROOT / "tests" / "mutants"))
    try:
        from corpus import CORPUS
    finally:
        sys.path.remove(str(ROOT / "tests" / "mutants"))
    return CORPUS


def run_corpus(jobs: int, timeout: float, only: list[str] | None = None) -> int:
    """The hand-written corpus (module docstring): 0 when every mutant is killed, else 1."""
    entries = [e for e in load_corpus() if not only or e[0] in only]
    stale = [e[0] for e in entries if (ROOT / e[2]).read_text().count(e[3]) != 1]
    for name in stale:
        print(f"stale: {name}: its text no longer occurs exactly once; update tests/mutants/corpus.py", flush=True)
    live = [e for e in entries if e[0] not in stale]
    t0 = time.time()

    def one(e):
        name, kind, path, old, new, tests = e
        return name, kind, path, killed_in_copy(path, lambda text: text.replace(old, new), tests, timeout)
    survived = []
    with ThreadPoolExecutor(jobs) as pool:
        for name, kind, path, killed in pool.map(one, live):
            print(f"{'killed  ' if killed else 'SURVIVED'} {name} ({kind}, {path})", flush=True)
            if not killed:
                survived.append(name)
    print(f"  ({time.time() - t0:.0f} s)")
    print(f"corpus: killed {len(live) - len(survived)} of {len(live)} semantic mutants; {len(stale)} stale")
    return 1 if survived or stale else 0


def _positive(kind):
    """An argparse type: a number of ``kind`` above 0 (a bad one is argparse's one line, exit 2)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value
    return parse


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", nargs="+", default=list(TESTS), choices=list(TESTS))
    ap.add_argument("--quick", action="store_true", help="a random sample of 12 mutants per module")
    ap.add_argument("--sample", type=_positive(int), default=12, help="mutants per module with --quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=_positive(int), default=2)
    ap.add_argument("--timeout", type=_positive(float), default=600.0, help="seconds per mutant's test run")
    ap.add_argument("--corpus", action="store_true", help="the hand-written semantic mutants (a CI gate)")
    ap.add_argument("--only", nargs="+", help="with --corpus: just these mutant ids")
    a = ap.parse_args(argv)
    if a.only and not a.corpus:
        ap.error("--only picks corpus mutants: give --corpus too")
    if a.corpus:
        unknown = sorted(set(a.only or ()) - {e[0] for e in load_corpus()})
        if unknown:
            ap.error(f"--only: no corpus mutant named {', '.join(unknown)} (see tests/mutants/corpus.py)")
        return run_corpus(a.jobs, a.timeout, a.only)
    rng = random.Random(a.seed)
    jobs = []
    for m in a.modules:
        source = (ROOT / "artlib" / f"{m}.py").read_text()
        sites = [s for s in mutants(source, FIGURES.get(m, frozenset()))
                 if not is_equivalent(m, source.splitlines()[s[1] - 1], s[2])]
        if a.quick:
            sites = rng.sample(sites, min(a.sample, len(sites)))
        jobs += [(m, *s) for s in sites]
    t0 = time.time()
    per: dict[str, list[int]] = {m: [0, 0] for m in a.modules}
    with ThreadPoolExecutor(a.jobs) as pool:
        for module, line, what, killed in pool.map(lambda j: run_one(*j, a.timeout), jobs):
            per[module][0] += killed
            per[module][1] += 1
            if not killed:
                print(f"survived: artlib/{module}.py:{line}: {what}", flush=True)
    for m, (k, n) in per.items():
        print(f"  {m:10s} killed {k} of {n}" + (f" ({100 * k / n:.0f}%)" if n else ""))
    for m, names in FIGURES.items():
        if m in a.modules:
            print(f"  not mutated: artlib/{m}.py figure functions {', '.join(sorted(names))}")
    for (m, frag, what), why in EQUIVALENT.items():
        print(f"  equivalent: artlib/{m}.py `{frag}`: {what}: {why}")
    k, n = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    print(f"  ({time.time() - t0:.0f} s)")
    print(f"killed {k} of {n} mutants ({100 * k / max(n, 1):.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
