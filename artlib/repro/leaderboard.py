"""Every schedule method on one bench: the same model, seeds, reference and solver for all, the
error at each NFE and what each optimiser cost. The leaderboard chapter calls ``run`` per model and
solver and ``summary`` for its verdict."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..art.learn import Learned
from ..eval import metrics
from ..eval.metrics import endpoint_rmse, exact_w2
from ..methods.registry import METHODS as REGISTRY
from ..methods.registry import bench_rows, build, parse
from ..models.gaussian import GaussianDenoiser
from .experiments import steps_for_nfe
from .report import MARKERS

#: The methods of the bench, as (row label, spec), from the method registry; the notebook may
#: override the options. ``run`` adds the rows for its solver (``bench_rows``).
METHODS = bench_rows()
#: Rows whose tables serve both solvers (their cost is counted once per model): the registry's
#: shared methods and ART-RL's training.
SHARED = tuple(m.label for m in REGISTRY.values() if m.shared) + ("ART-RL",)


@dataclass
class Board:
    """One model and solver: error[row][nfe], the metric's name, grids[row][nfe] and each row's
    cost (denoiser evaluations, seconds) to produce its grids."""
    solver: str
    metric: str
    error: dict[str, dict[int, float]] = field(default_factory=dict)
    grids: dict[str, dict[int, torch.Tensor]] = field(default_factory=dict)
    cost: dict[str, tuple[int, float]] = field(default_factory=dict)


def run(den, nfe_list, solver: str, *, methods: dict[str, str] | None = None,
        learned: Learned | dict[str, Learned] | None = None,
        n: int = 256, ref_steps: int = 512, seed: int = 0, reference=None) -> Board:
    """Each method's grid at each NFE of ``nfe_list`` for ``solver``, scored the same way: exact W2
    on the Gaussian models, endpoint RMSE against a ``ref_steps`` EDM-Heun solve from seeds
    0 … n−1 otherwise (``reference`` re-uses one). ``methods`` (row label → spec) defaults to
    ``bench_rows(solver)``. ``learned`` adds the ART-RL row, or one row per label, whose cost is its
    training's. What methods keep per model (GITS's and AYS's tables, the closed form's profile) is
    computed once and its cost counted once."""
    methods = bench_rows(solver) if methods is None else dict(methods)
    specs = {row: parse(spec) for row, spec in methods.items()}          # every spec checked first
    exact = isinstance(den, GaussianDenoiser)
    if not exact and reference is None:
        reference = metrics.reference(den, range(n), ref_steps=ref_steps)
    board = Board(solver, "exact W2" if exact else f"endpoint RMSE ({reference.x0.shape[0]} seeds)")

    def score(s: torch.Tensor) -> float:
        return exact_w2(den, s, solver) if exact else endpoint_rmse(den, s, reference, solver)[0]

    for row, spec in specs.items():
        per_model, per_grid, seconds = 0, 0, 0.0
        board.error[row], board.grids[row] = {}, {}
        for f in nfe_list:
            s, prov = build(spec, den, steps_for_nfe(f, solver), solver=solver, seed=seed)
            board.grids[row][f], board.error[row][f] = s, score(s)
            cost = prov["cost"]      # what is kept per model counts once, the rest per grid
            per_model, per_grid = max(per_model, cost["per_model"]), per_grid + cost["evaluations"] - cost["per_model"]
            seconds = max(seconds, cost["seconds"]) if row in SHARED else seconds + cost["seconds"]
        board.cost[row] = (per_model + per_grid, seconds)
    for row, clock in (learned if isinstance(learned, dict) else {"ART-RL": learned} if learned else {}).items():
        board.error[row], board.grids[row] = {}, {}
        for f in nfe_list:
            s = clock.at(steps_for_nfe(f, solver))
            board.grids[row][f], board.error[row][f] = s, score(s)
        board.cost[row] = (clock.evaluations, clock.run.seconds)
    return board


def winners(board: Board) -> dict[int, str]:
    """The row with the smallest error at each NFE."""
    nfes = next(iter(board.error.values())).keys()
    return {f: min(board.error, key=lambda r: board.error[r][f]) for f in nfes}


def gap_to(board: Board, row: str, against: str) -> dict[int, float]:
    """error[row] / error[against] per NFE (1 = as good)."""
    return {f: board.error[row][f] / board.error[against][f] for f in board.error[row]}


def against_best_other(board: Board, row: str = "ART-RL") -> dict[int, float]:
    """error[row] / the smallest error of any other method, per NFE (≤ 1: ``row`` is the best); the
    other ART-RL rows (the same method under another cost) are not counted as other methods."""
    others = [r for r in board.error if not r.startswith("ART-RL")]
    return {f: v / min(board.error[r][f] for r in others) for f, v in board.error[row].items()}


def summary(boards: dict[str, dict[str, Board]], *, row: str = "ART-RL", solvers=("euler", "heun")) -> str:
    """One sentence per solver: how many (model, NFE) cells each method wins, and ``row``'s median
    error relative to the best other method and to LD3's directly optimised grid."""
    import numpy as np
    out = []
    for solver in solvers:
        bs = [per[solver] for per in boards.values() if solver in per]
        if not bs:
            continue
        wins: dict[str, int] = {}
        for b in bs:
            for w in winners(b).values():
                wins[w] = wins.get(w, 0) + 1
        cells = sum(wins.values())
        ranked = ", ".join(f"{k} {v}" for k, v in sorted(wins.items(), key=lambda kv: -kv[1]))
        text = f"{solver.capitalize()}: cells won (model × NFE) — {ranked}, of {cells}."
        if all(row in b.error for b in bs):
            other = [v for b in bs for v in against_best_other(b, row).values()]
            ld3 = [v for b in bs if "LD3 (L2)" in b.error for v in gap_to(b, row, "LD3 (L2)").values()]
            text += f" Over all {len(other)} cells, {row}'s error is a median {np.median(other):.2f}× the best other method's"
            text += f" and {np.median(ld3):.2f}× LD3's." if ld3 else "."
        out.append(text)
    return " ".join(out)


#: The ART-RL row judged under each solver: the learner priced with that solver's local error.
JUDGED = {"euler": "ART-RL", "heun": "ART-RL (Heun cost)"}


def verdict_fields(boards: dict[str, dict[str, Board]], *, judged: dict[str, str] = JUDGED, within: float = 1.1,
                   from_nfe: int = 9) -> dict[str, str]:
    """The chapter's verdict: in every cell (model × solver × NFE ≥ ``from_nfe``) the judged ART-RL
    row's error at most ``within`` × the best other method's. The fields name every cell that
    misses, and the key is the median ratio per solver."""
    import numpy as np
    from .report import cells_missing, status_for
    cells, medians = {}, {}
    for solver in ("euler", "heun"):
        vals = []
        for model, per in boards.items():
            if solver not in per:
                continue
            b = per[solver]
            row = judged[solver] if judged[solver] in b.error else "ART-RL"
            for f, v in against_best_other(b, row).items():
                if f >= from_nfe:
                    cells[f"{model} {solver} NFE {f}"] = v
                    vals.append(v)
        medians[solver] = float(np.median(vals)) if vals else float("nan")
    summaries = {s: summary(boards, row=judged[s] if all(judged[s] in p[s].error for p in boards.values() if s in p)
                            else "ART-RL", solvers=(s,)) for s in ("euler", "heun")}
    return {"criterion": f"In every cell at NFE ≥ {from_nfe} (model × solver × NFE), ART-RL's error at most "
                         f"{within:g} × the best other method's.",
            "learner": "; ".join(f"{s.capitalize()}: {judged[s]} (ψ-clock learner, {'Heun' if s == 'heun' else 'Euler'}'s local error)"
                                 for s in ("euler", "heun")),
            "measured": " ".join(summaries.values()) + f" Cells over {within:g} ×: {cells_missing(cells, lambda v: v <= within)}.",
            "status": status_for([v <= within for v in cells.values()], beyond=True),
            "key": "; ".join(f"{s.capitalize()} median {m:.2f} × the best other method" for s, m in medians.items())
                   + f" (NFE ≥ {from_nfe})"}


def cost_rows(boards: dict[str, dict[str, Board]]) -> dict[str, dict[str, str]]:
    """Cost per method (rows) and model (columns), both solvers together: thousands of denoiser
    evaluations and seconds. Tables shared by the solvers (GITS, AYS, the closed form, ART-RL's
    training) count once; LD3, which optimises per solver, counts twice."""
    rows: dict[str, dict[str, str]] = {}
    for model, per in boards.items():
        totals: dict[str, tuple[int, float]] = {}
        for b in per.values():
            for row, (evals, secs) in b.cost.items():
                e0, s0 = totals.get(row, (0, 0.0))
                totals[row] = (max(e0, evals), max(s0, secs)) if row in SHARED else (e0 + evals, s0 + secs)
        for row, (evals, secs) in totals.items():
            count = f"{evals / 1e3:.3g}k" if evals < 999_500 else f"{evals / 1e6:.3g}M"
            rows.setdefault(row, {})[model] = f"{count} / {secs:.3g} s" if evals else "none (a formula)"
    return rows



def plot_boards(boards: dict[str, dict[str, Board]]):
    """Error against NFE (log–log), one panel per model (rows) and solver (columns), one colour
    and marker per method; one legend below. Returns the figure."""
    import matplotlib.pyplot as plt
    from .report import colour, legend_below, log_ticks
    models = list(boards)
    rows = list(dict.fromkeys(row for per in boards.values() for b in per.values() for row in b.error))
    fig, axes = plt.subplots(len(models), 2, figsize=(9, 2.9 * len(models) + 1.2), squeeze=False)
    for i, model in enumerate(models):
        for j, solver in enumerate(("euler", "heun")):
            ax, b = axes[i][j], boards[model][solver]
            for row, err in b.error.items():          # a row keeps its marker in every panel
                nfes, k = sorted(err), rows.index(row)
                ax.loglog(nfes, [err[f] for f in nfes], "-", marker=MARKERS[k % len(MARKERS)], ms=4, lw=1.2,
                          color=colour(row), label=row)
            log_ticks(ax, sorted(next(iter(b.error.values()))))
            ax.set_title(f"{model}, {solver}", fontsize=10)
            ax.set_xlabel("NFE")
            ax.set_ylabel(b.metric.split(" (")[0])
    legend_below(fig, axes.flatten(), ncol=4)
    return fig


def plot_board_grids(board: Board, nfe: int, *, title: str = ""):
    """σ_k against k (log σ axis; the final 0 left off) of every method at one NFE. Returns the figure."""
    import matplotlib.pyplot as plt
    from .report import colour, legend_below
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for k, (row, grids) in enumerate(board.grids.items()):
        s = grids[nfe].numpy()[:-1]
        ax.semilogy(range(s.size), s, "-", marker=MARKERS[k % len(MARKERS)], ms=4, lw=1, color=colour(row), label=row)
    ax.set_xlabel("step k")
    ax.set_ylabel("σ_k")
    ax.set_title(f"{title}, {board.solver}, NFE {nfe}".strip(", "), fontsize=10)
    legend_below(fig, [ax], ncol=4)
    return fig

