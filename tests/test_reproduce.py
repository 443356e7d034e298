"""``reproduce`` on a tiny profile: executes, records provenance, fails loudly and atomically."""
import shutil
from pathlib import Path

import nbformat
import pytest

from artlib.core.errors import ArtlibError
from artlib.repro.reproduce import reproduce

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "one_dimensional.ipynb", tmp_path / "notebooks")
    (tmp_path / "_config.yml").write_text(
        "notebooks:\n  one_dimensional:\n    reproduces: ['Table 1']\n"
        "    ci: {K_list: [2], iterations: 3, t_iterations: 3, batch: 4, n_samples: 2000}\n"
        "    paper: {K_list: [2], iterations: -1}\n")
    return tmp_path


def test_reproduce_tiny_profile(tree):
    (tree / "README.md").write_text("intro\n<!-- status:start -->\nold\n<!-- status:end -->\nrest\n")
    out = reproduce("ci", root=tree)
    nb = nbformat.read(out[0], as_version=4)
    meta = nb.metadata["artlib"]
    assert meta["profile"] == "ci" and meta["parameters"]["K_list"] == [2] and meta["wall_seconds"] > 0
    assert "Provenance" in str(nb.cells[-1].outputs)
    # the parameter cells are hidden in the book; the verdict box's fields are recorded
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            assert "remove-cell" in tags
    [v] = meta["verdicts"]
    assert v["chapter"] == "one_dimensional" and v["status"] in ("reproduced", "partly reproduced", "not reproduced")
    assert v["criterion"] and v["learner"].startswith("ART-RL")
    status = (tree / "book" / "executed" / "status.md").read_text()
    row = next(line for line in status.splitlines() if "one_dimensional.ipynb" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "Table 1" and cells[2] == v["status"] and cells[3] == v["key"]
    assert cells[4].startswith("`ci` profile")
    summary = (tree / "book" / "executed" / "summary.md").read_text()
    assert v["measured"] in summary and v["claim"] in summary and v["criterion"] in summary
    readme = (tree / "README.md").read_text()
    assert readme.startswith("intro\n<!-- status:start -->\n| Chapter |") and "old" not in readme
    assert row.replace("(one_dimensional.ipynb)", "(book/executed/one_dimensional.ipynb)") in readme
    assert readme.endswith("<!-- status:end -->\nrest\n")


def test_failed_run_leaves_the_earlier_output_untouched(tree):
    first = reproduce("ci", root=tree)[0]
    before = first.read_bytes()
    with pytest.raises(ArtlibError, match="failed in cell"):
        reproduce("paper", root=tree)
    assert first.read_bytes() == before
    assert not list((tree / "book" / "executed").glob(".*.running.ipynb"))


def test_broken_notebook_names_itself_and_leaves_nothing(tree):
    with pytest.raises(ArtlibError, match=r"notebook 'one_dimensional' failed in cell \d+"):
        reproduce("paper", root=tree)
    assert not list((tree / "book" / "executed").glob("*.ipynb"))
    with pytest.raises(ArtlibError, match="no such notebook"):
        reproduce("ci", only="nope", root=tree)
