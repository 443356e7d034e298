"""What a chapter shows: HTML tables, verdict boxes and the book's figures (one style for all).

Notebooks call these and nothing else for presentation, so every chapter looks the same: one
colour per schedule and one line style per solver across the whole book, numbers in real tables,
and a verdict whose fields ``reproduce`` collects into the landing page and the status page.
"""
from __future__ import annotations

import html
import math
from typing import Iterable, Mapping

import numpy as np

from ..core.errors import ArtlibError
from ..methods.registry import colours as method_colours

#: Output metadata key under which a verdict box carries its fields (read by ``reproduce``).
VERDICT_KEY = "artlib_verdict"
#: A claim quoted from the paper is reproduced or not; a claim of this book's own ("beyond the
#: paper": a new comparison, a new method, a performance target) is met or not.
PAPER_STATUSES = ("reproduced", "partly reproduced", "not reproduced")
BEYOND_STATUSES = ("met", "partly met", "not met")
STATUSES = PAPER_STATUSES + BEYOND_STATUSES + ("not run",)

#: One colour per schedule family, the same on every page (matched by name prefix): each method's
#: from its registry row, and the series that are not methods.
COLOURS = {**method_colours(), "Optimum": "#2ca02c", "ART-RL (t clock": "#d62728", "ART-RL": "#ff7f0e",
           "ART-RL (Heun cost)": "#e377c2", "ART-RL trained here": "#6a3d9a", "Closed-form optimum (Heun cost)": "#006d2c",
           "Closed-form optimum (Euler cost), measured": "#74c476", "EDM-T": "#9467bd", "paper": "#8c564b"}
LINESTYLES = {"heun": "-", "euler": "--"}


def colour(name: str) -> str:
    """The book's colour for a schedule, from the longest matching prefix of its name."""
    best = max((k for k in COLOURS if name.startswith(k)), key=len, default=None)
    return COLOURS[best] if best else "#17becf"


def significant(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` significant figures in plain decimals with thousands separators
    (101332.842 → 101,000; 0.00087521 → 0.000875); scientific notation only beyond 10⁻⁴ … 10⁹."""
    v = float(v)
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    mag = math.floor(math.log10(abs(v)))
    if not -4 <= mag < 9:
        return f"{v:.{digits - 1}e}"
    decimals = digits - 1 - mag
    r = round(v, decimals)
    if r != 0 and math.floor(math.log10(abs(r))) > mag:        # 9.996 → 10.0: one digit fewer after the point
        decimals -= 1
    return f"{r:,.{max(decimals, 0)}f}"


def _cell(v, fmt: str | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if not isinstance(v, (int, float, np.floating)):
        return html.escape(str(v))
    return significant(v) if fmt is None else fmt.format(v)


def table_html(rows: Mapping[str, Mapping], columns: Iterable, *, fmt: str | None = None,
               header: str = "", caption: str | None = None) -> str:
    """An HTML table: one row per entry of ``rows``, one column per key in ``columns``; numbers to 3
    significant figures (``significant``) unless ``fmt`` says otherwise."""
    columns = list(columns)
    out = ['<table class="table artlib-table">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr><th>" + html.escape(header) + "</th>"
               + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr></thead><tbody>")
    for name, vals in rows.items():
        out.append(f"<tr><th>{html.escape(str(name))}</th>"
                   + "".join(f"<td>{_cell(vals.get(c), fmt)}</td>" for c in columns) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def show_table(rows, columns, **kw) -> None:
    """Display ``table_html`` in a notebook."""
    from IPython.display import HTML, display
    display(HTML(table_html(rows, columns, **kw)))


def verdict_html(fields: Mapping[str, str]) -> str:
    """The verdict box that opens a chapter (an admonition in the book's theme): the claim (the
    paper's, quoted, or the book's own), the criterion it is judged by, what met or missed it, the
    learner that produced it, and the command that re-runs it."""
    kind = {"reproduced": "tip", "met": "tip", "partly reproduced": "warning", "partly met": "warning",
            "not reproduced": "danger", "not met": "danger"}.get(fields["status"], "note")
    where = f' ({html.escape(fields["model"])})' if fields.get("model") else ""
    source = "Paper" if fields["status"] in PAPER_STATUSES else "Beyond the paper"
    parts = [f'<div class="admonition {kind} artlib-verdict"><p class="admonition-title">Verdict: '
             f'{html.escape(fields["status"])}{where}</p>',
             f'<p><b>{source}:</b> {html.escape(fields["claim"])}</p>',
             f'<p><b>Criterion:</b> {html.escape(fields["criterion"])}</p>']
    if fields.get("learner"):
        parts.append(f'<p><b>Learner:</b> {html.escape(fields["learner"])}</p>')
    parts += [f'<p><b>Measured here:</b> {html.escape(fields["measured"])}</p>',
              f'<p><b>Re-run:</b> <code>{html.escape(fields["command"])}</code></p></div>']
    return "".join(parts)


def verdict(chapter: str, *, claim: str, criterion: str, measured: str, status: str, key: str,
            model: str = "", learner: str = "", profile: str = "ci", measured_fid: str | None = None) -> None:
    """Display a chapter's verdict box and attach its fields for the landing and status pages.

    ``claim`` is quoted from the paper (then ``status`` is one of ``PAPER_STATUSES``) or is the
    book's own (``BEYOND_STATUSES``: use ``status_for(checks, beyond=True)``); ``criterion`` says
    what must hold, and ``measured`` what did, naming every cell that missed; ``learner`` names the
    ART-RL learner whose numbers these are; ``key`` is the one number a reader should remember;
    ``model`` names what ran when it is not the paper's own model (a CPU stand-in);
    ``measured_fid`` (``fid_summary``) is added where FID was measured (the paper profile)."""
    from IPython.display import HTML, display
    if measured_fid:
        measured = f"{measured} FID, the paper's metric: {measured_fid}"
    if status not in STATUSES:
        raise ArtlibError(f"status must be one of {STATUSES}, got {status!r}")
    fields = {"chapter": chapter, "claim": claim, "criterion": criterion, "measured": measured, "status": status,
              "key": key, "model": model, "learner": learner,
              "command": f"python -m artlib reproduce --profile {profile} --only {chapter}"}
    display(HTML(verdict_html(fields)), metadata={VERDICT_KEY: fields})


#: Our schedule names → the paper's row names in its FID tables.
PAPER_NAMES = {"Uniform": "Uniform", "EDM (rho=7)": "EDM", "ART-RL": "ART-RL"}


def fid_comparison(ours: Mapping[str, Mapping[int, float]], paper: Mapping[str, Mapping[int, float]],
                   columns: Iterable, *, learner: str = "ART-RL", against: str = "EDM (rho=7)",
                   paper_names: Mapping[str, str] = PAPER_NAMES) -> dict[str, dict]:
    """Rows for ``show_table``: each schedule's FID measured here beside the paper's value for the
    same cell, and a last row with the verdict per cell: does ``learner`` beat ``against`` here,
    and did it in the paper."""
    columns = list(columns)
    rows: dict[str, dict] = {}
    for name, vals in ours.items():
        p = paper.get(paper_names.get(name, ""), {})
        rows[name] = {c: (f"{vals[c]:.2f}" + (f" (paper {p[c]:.2f})" if c in p else "")) if c in vals else None
                      for c in columns}
    if learner in ours and against in ours:
        pl, pa = paper.get(paper_names.get(learner, ""), {}), paper.get(paper_names.get(against, ""), {})
        rows[f"{learner} better than {against}?"] = {
            c: ("yes" if ours[learner][c] < ours[against][c] else "no")
            + (f" (paper: {'yes' if pl[c] < pa[c] else 'no'})" if c in pl and c in pa else "")
            for c in columns if c in ours[learner] and c in ours[against]}
    return rows


FID_SKIPPED = ("FID is not measured under the `{profile}` profile (`fid_samples = 0`): the ranking above is by "
               "endpoint RMSE. The `paper` profile measures it on EDM's checkpoints, and the `paper-smoke` "
               "profile runs the same code on the small network, with test-made Inception weights, in CI.")


def fid_checks(rows: Mapping[str, Mapping[int, float]], *, learner: str = "ART-RL",
               against: str = "EDM (rho=7)") -> list[bool]:
    """Per NFE: does ``learner`` have a lower FID than ``against``?"""
    return [rows[learner][c] < rows[against][c] for c in rows[learner] if c in rows[against]]


def fid_summary(rows: Mapping[str, Mapping[int, float]], n: int, *, learner: str = "ART-RL",
                against: str = "EDM (rho=7)") -> str:
    """One sentence: ``learner``'s FID against ``against``'s at each NFE, and the image count."""
    cells = ", ".join(f"{rows[learner][c]:.2f} vs {rows[against][c]:.2f} at NFE {c}"
                      for c in rows[learner] if c in rows[against])
    return f"{learner} {cells} ({n:,} images per cell)."


def status_for(checks: Iterable[bool], *, beyond: bool = False) -> str:
    """``reproduced`` when every check holds, ``not reproduced`` when none does, else partly; for a
    claim of the book's own (``beyond``), ``met``, ``not met`` or ``partly met``."""
    checks = list(checks)
    full, part, none = BEYOND_STATUSES if beyond else PAPER_STATUSES
    if all(checks):
        return full
    return none if not any(checks) else part


def cells_missing(values: Mapping, ok, fmt: str = "{:.3g}") -> str:
    """The cells of ``values`` (label → number) that fail ``ok``, named with their values, or "none":
    what a range summary must not hide."""
    bad = [f"{label} ({fmt.format(v)})" for label, v in values.items() if not ok(v)]
    return ", ".join(bad) if bad else "none"


# --- figures -------------------------------------------------------------------------------

#: marker shapes, in turn, for the series of one plot
MARKERS = "osD^v<>phX*P"


def plot_error_vs_nfe(ax, rows: Mapping[str, Mapping[int, float]], *, solver: str = "heun",
                      ylabel: str = "endpoint RMSE", label_suffix: str = "") -> None:
    """Error against NFE on log axes, one line per schedule in the book's colours, each with its
    own marker shape (every other one hollow), so that series which coincide stay visible."""
    ticks = set()
    for i, (name, vals) in enumerate(rows.items()):
        nfes = sorted(vals)
        ticks.update(nfes)
        c = colour(name)
        ax.loglog(nfes, [vals[f] for f in nfes], LINESTYLES.get(solver, "-"), marker=MARKERS[i % len(MARKERS)],
                  ms=6 if i % 2 else 4, mfc="none" if i % 2 else c, color=c, label=name + label_suffix)
    log_ticks(ax, sorted(ticks))
    ax.set_xlabel(f"NFE ({solver})")
    ax.set_ylabel(ylabel)


def log_ticks(ax, values) -> None:
    """Label a logarithmic x axis at exactly ``values`` (NFE or K), in plain numbers."""
    from matplotlib.ticker import NullFormatter, NullLocator
    ax.set_xticks(list(values), [str(v) for v in values])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_grids(ax, grids: Mapping[str, "np.ndarray"]) -> None:
    """σ_k against k on a log axis (σ_K = 0 is left off), one line per schedule."""
    for name, s in grids.items():
        s = np.asarray(s)[:-1]
        ax.semilogy(np.arange(s.size), s, "o-", ms=3, color=colour(name), label=name)
    ax.set_xlabel("step k")
    ax.set_ylabel("σ_k")


def legend_below(fig, axes, ncol: int = 3) -> None:
    """One legend under the figure, built from the lines of all ``axes`` (each label once, in the
    order first drawn), so it hides no data. The panels keep about 0.28 inch plus 0.21 inch per
    legend row clear at the bottom, whatever the figure's height."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    handles, labels = list(seen.values()), list(seen)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=9, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, (0.28 + 0.21 * math.ceil(len(labels) / ncol)) / fig.get_figheight(), 1, 1))


def sample_blocks(samples: Mapping[str, Mapping[int, "np.ndarray"]], nfes, *, n_show: int = 16,
                  upscale: int = 4):
    """16 samples per schedule (rows) and NFE (columns) from the same seeds, each 8×8 image
    upscaled ``upscale``× (nearest), labelled by schedule and NFE. Returns the figure."""
    import matplotlib.pyplot as plt

    from ..eval.images import image_grid
    names = list(samples)
    fig, axes = plt.subplots(len(names), len(nfes), figsize=(1.9 * len(nfes) + 1.6, 1.9 * len(names)),
                             squeeze=False)
    for i, name in enumerate(names):
        for j, f in enumerate(nfes):
            ax = axes[i][j]
            mosaic = image_grid(samples[name][f][:n_show], nrow=4)
            ax.imshow(np.kron(mosaic, np.ones((upscale, upscale), np.uint8)) if mosaic.ndim == 2 else mosaic,
                      cmap="gray", interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            if i == 0:
                ax.set_title(f"NFE {f}", fontsize=10)
            if j == 0:
                ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig
