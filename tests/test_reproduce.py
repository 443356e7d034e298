"""``reproduce`` on a tiny profile: executes, records provenance, fails loudly and atomically."""
import shutil
from pathlib import Path

import nbformat
import pytest

from artlib.errors import ArtlibError
from artlib.reproduce import reproduce

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "one_dimensional.ipynb", tmp_path / "notebooks")
    (tmp_path / "_config.yml").write_text(
        "notebooks:\n  one_dimensional:\n    reproduces: ['Table 1']\n"
        "    ci: {K_list: [2], iterations: 3, batch: 4, n_samples: 2000}\n"
        "    paper: {K_list: [2], iterations: -1}\n")
    return tmp_path


def test_reproduce_tiny_profile(tree):
    out = reproduce("ci", root=tree)
    nb = nbformat.read(out[0], as_version=4)
    meta = nb.metadata["artlib"]
    assert meta["profile"] == "ci" and meta["parameters"]["K_list"] == [2] and meta["wall_seconds"] > 0
    assert "Provenance" in str(nb.cells[-1].outputs)
    status = (tree / "book" / "executed" / "status.md").read_text()
    assert "| Table 1 |" in status and "not yet" in status  # ci done, paper not yet


def test_broken_notebook_names_itself_and_leaves_nothing(tree):
    with pytest.raises(ArtlibError, match=r"notebook 'one_dimensional' failed in cell \d+"):
        reproduce("paper", root=tree)
    assert not list((tree / "book" / "executed").glob("*.ipynb"))
    with pytest.raises(ArtlibError, match="no such notebook"):
        reproduce("ci", only="nope", root=tree)
