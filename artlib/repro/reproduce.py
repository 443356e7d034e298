"""Reproduction profiles (top-level ``_config.yml``) → papermill → the book's source tree.

``python -m artlib reproduce --profile ci`` executes each notebook of the profile into
``book/executed/``: papermill writes to a temporary file that is renamed into place only after
the run succeeded, then the provenance (profile, parameters, device, torch, commit, wall time)
is stored in the notebook's metadata and the status page is regenerated from all of them.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ArtlibError

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = "book/executed"
#: The profiles of ``_config.yml``; paper-smoke's notebooks go to SMOKE_EXECUTED, not the book.
PROFILES = ("ci", "paper", "paper-smoke")
SMOKE_ASSETS, SMOKE_EXECUTED = "artifacts/paper-smoke/assets", "artifacts/paper-smoke/executed"


def load_profiles(path: Path | None = None) -> dict[str, Any]:
    """Read the ``notebooks`` section of the top-level ``_config.yml``."""
    path = path or ROOT / "_config.yml"
    try:
        cfg = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ArtlibError(f"profile file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ArtlibError(f"{path} is not valid YAML: {e}".splitlines()[0]) from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("notebooks"), dict):
        raise ArtlibError(f"{path}: expected a 'notebooks:' mapping")
    return cfg["notebooks"]


def git_commit(root: Path = ROOT) -> str:
    """The checkout's commit, with ``+dirty`` when the tree has changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device_name(device: str) -> str:
    """A human-readable name of the device a notebook ran on."""
    import torch
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def run_notebook(name: str, params: dict[str, Any], *, profile: str, device: str,
                 root: Path = ROOT, executed: str = EXECUTED) -> Path:
    """Execute notebooks/NAME.ipynb with ``params`` into ``executed``/NAME.ipynb (by default the
    book's book/executed/), atomically."""
    import nbformat
    import papermill as pm
    import torch

    src = root / "notebooks" / f"{name}.ipynb"
    if not src.is_file():
        raise ArtlibError(f"notebook {name!r} not found at {src}")
    out_dir = root / executed
    out_dir.mkdir(parents=True, exist_ok=True)
    dst = out_dir / f"{name}.ipynb"
    tmp = out_dir / f".{name}.running.ipynb"
    params = {**params, "profile": profile, "device": device}
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(src), str(tmp), parameters=params, kernel_name="python3",
                            cwd=str(root / "notebooks"), progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as e:
        tmp.unlink(missing_ok=True)
        raise ArtlibError(f"notebook {name!r} failed in cell {e.exec_count}: {e.ename}: "
                          f"{str(e.evalue).splitlines()[0] if e.evalue else ''}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    nb = nbformat.read(tmp, as_version=4)
    for cell in nb.cells:   # the book shows results, not the parameter plumbing
        tags = cell.metadata.get("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = tags + ["remove-cell"]
    nb.metadata["artlib"] = {
        "verdicts": find_verdicts(nb),
        "notebook": name, "profile": profile, "parameters": params, "device": device_name(device),
        "torch": torch.__version__, "python": platform.python_version(), "commit": git_commit(root),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    nbformat.write(nb, tmp)
    os.replace(tmp, dst)
    return dst


def find_verdicts(nb) -> list[dict[str, str]]:
    """The fields of every verdict box an executed notebook displayed (``report.verdict``), in order:
    the chapter's verdict on the paper's claim first, then any of its own claims."""
    from .report import VERDICT_KEY
    return [dict(out["metadata"][VERDICT_KEY]) for cell in nb.cells for out in cell.get("outputs", [])
            if out.get("metadata", {}).get(VERDICT_KEY)]


def verdicts_of(meta: dict | None) -> list[dict[str, str]]:
    """A chapter record's verdicts (records written before chapters could hold several: its one)."""
    meta = meta or {}
    return meta.get("verdicts") or ([meta["verdict"]] if meta.get("verdict") else [])


def chapter_records(root: Path = ROOT) -> list[dict[str, Any]]:
    """One record per notebook of the profiles: its title, the paper items it answers, and the
    metadata of its executed copy (profile, verdict, wall time, ...), or None when not run."""
    import nbformat
    out = []
    for name, entry in load_profiles(root / "_config.yml").items():
        path = root / EXECUTED / f"{name}.ipynb"
        meta = nbformat.read(path, as_version=4).metadata.get("artlib") if path.is_file() else None
        out.append({"name": name, "title": entry.get("title", name), "reproduces": entry.get("reproduces", []),
                    "meta": meta})
    return out


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def status_lines(records: list[dict[str, Any]], *, link: str = "{name}.ipynb") -> list[str]:
    """The status table: one row per chapter, its verdict and key number per profile run."""
    lines = ["| Chapter | Paper items | Verdict | Key number | Run |", "|---|---|---|---|---|"]
    for r in records:
        meta, vs = r["meta"], verdicts_of(r["meta"])
        run = (f"`{meta['profile']}` profile, {meta['date']}, {meta['device']}, {meta['wall_seconds']:.0f} s, "
               f"commit `{meta['commit'][:10]}`") if meta else "not run yet"
        status = "; ".join(v["status"] + (f" ({v['model']})" if v.get("model") else "") for v in vs) or (
            "no verdict" if meta else "not run")
        key = "; ".join(v.get("key", "–") for v in vs) or "–"
        lines.append(f"| [{_md_cell(r['title'])}]({link.format(name=r['name'])}) | {_md_cell(', '.join(r['reproduces']))} | "
                     f"{_md_cell(status)} | {_md_cell(key)} | {_md_cell(run)} |")
    return lines


def write_status(root: Path = ROOT) -> Path:
    """Regenerate the status page, the landing page's summary and the README's status section
    from the executed notebooks' recorded metadata (one source, so they cannot disagree)."""
    from ..core.io import atomic_write

    records = chapter_records(root)
    head = ["# Reproduction status", "",
            "Generated by `python -m artlib reproduce` from the metadata that each executed notebook "
            "records (its verdict box, profile, device, commit and wall time); nothing here is typed by hand. "
            "Under the `ci` profile the image chapters run CPU stand-ins, not the paper's checkpoints; "
            "the `paper` profile runs EDM's checkpoints on a GPU.", ""]
    out = root / EXECUTED / "status.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: Path(tmp).write_text("\n".join(head + status_lines(records)) + "\n"))
    summary = ["| Chapter | The claim (the paper's, or beyond it) | Criterion | Measured here | Verdict |",
               "|---|---|---|---|---|"]
    for r in records:
        for v in verdicts_of(r["meta"]) or [{}]:
            summary.append(f"| [{_md_cell(r['title'])}](executed/{r['name']}.ipynb) | {_md_cell(v.get('claim', '–'))} | "
                           f"{_md_cell(v.get('criterion', '–'))} | {_md_cell(v.get('measured', 'not run yet'))} | "
                           f"{_md_cell(v.get('status', 'not run'))} |")
    atomic_write(root / EXECUTED / "summary.md", lambda tmp: Path(tmp).write_text("\n".join(summary) + "\n"))
    update_readme(root, records)
    return out


README_START, README_END = "<!-- status:start -->", "<!-- status:end -->"


def update_readme(root: Path, records: list[dict[str, Any]]) -> None:
    """Replace the README's status section (between the markers) with the status table."""
    from ..core.io import atomic_write
    path = root / "README.md"
    if not path.is_file():
        return
    text = path.read_text()
    if README_START not in text or README_END not in text:
        return
    table = "\n".join(status_lines(records, link="book/executed/{name}.ipynb"))
    new = text[:text.index(README_START) + len(README_START)] + "\n" + table + "\n" + text[text.index(README_END):]
    if new != text:
        atomic_write(path, lambda tmp: Path(tmp).write_text(new))


def reproduce(profile: str, *, only: str | None = None, device: str = "cpu",
              root: Path = ROOT) -> list[Path]:
    """Run every notebook of ``profile`` (or only one), then regenerate the status page."""
    notebooks = load_profiles(root / "_config.yml")
    if only is not None and only not in notebooks:
        raise ArtlibError(f"{only!r}: no such notebook; known: {', '.join(notebooks)}")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise ArtlibError(f"device {device}: no CUDA device is available on this machine")
    if only is not None and notebooks[only].get(profile) is None:
        raise ArtlibError(f"notebook {only!r} has no {profile!r} profile in _config.yml")
    names = [only] if only else [n for n in notebooks if notebooks[n].get(profile) is not None]
    for n in notebooks:
        if n not in names and only is None:
            print(f"{n}: no {profile!r} profile, skipped", file=sys.stderr)
    smoke = profile == "paper-smoke"
    assets = None
    if smoke:
        from .smoke import ensure_assets
        print(f"paper-smoke assets in {SMOKE_ASSETS}/ ...", file=sys.stderr, flush=True)
        assets = ensure_assets(root / SMOKE_ASSETS)["folder"]
    params = {name: resolve_params(notebooks[name][profile] or {}, root=root, smoke=assets) for name in names}
    if profile == "ci" and only is None:   # a full ci run trains afresh; its workdir shares each training
        for folder in {p["workdir"] for p in params.values() if p.get("workdir")}:   # between chapters;
            for checkpoint in Path(folder).glob("art-rl-*.pt"):   # only the learners' checkpoints go
                checkpoint.unlink()
    done = []
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ({profile}) ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        done.append(run_notebook(name, params[name], profile=profile, device=device, root=root,
                                 executed=SMOKE_EXECUTED if smoke else EXECUTED))
        print(f"[{i}/{len(names)}] {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    if not smoke:
        write_status(root)
    return done


def resolve_params(params: dict[str, Any], *, root: Path = ROOT, smoke: str | None = None) -> dict[str, Any]:
    """A profile's parameters as the notebook gets them: ``{smoke}`` in strings replaced by the
    paper-smoke assets folder, and a relative ``workdir`` made absolute under the repository."""
    def sub(v):
        if isinstance(v, str) and "{smoke}" in v:
            if smoke is None:
                raise ArtlibError(f"parameter {v!r} uses {{smoke}}, which only the paper-smoke profile defines")
            return v.replace("{smoke}", smoke)
        return [sub(x) for x in v] if isinstance(v, list) else v
    out = {k: sub(v) for k, v in params.items()}
    if out.get("workdir") and not Path(out["workdir"]).is_absolute():
        out["workdir"] = str(root / out["workdir"])
    return out
