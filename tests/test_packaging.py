"""The pins live in requirements.txt only; environment.yml and pyproject agree with it."""
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def pins():
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, ver = line.partition("==")
            assert ver, f"requirements.txt must pin exactly: {line}"
            out[name.lower().replace("_", "-")] = ver
    return out


def test_environment_yml_installs_the_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip
    conda_names = {str(d).split("=")[0] for d in env["dependencies"] if isinstance(d, str)}
    assert not (conda_names & set(pins())), "a package pinned by conda too would disagree with requirements.txt"


def test_pyproject_dependencies_are_pinned():
    import tomllib
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = proj["dependencies"] + [d for v in proj["optional-dependencies"].values() for d in v]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip().lower().replace("_", "-") for d in deps}
    missing = names - set(pins())
    assert not missing, f"in pyproject but not pinned in requirements.txt: {missing}"


def test_installed_versions_match_pins():
    from importlib.metadata import version
    for name, ver in pins().items():
        assert version(name).split("+")[0] == ver, name


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stripped_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one parameters-tagged cell"
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, "commit notebooks with outputs stripped"


def test_every_profile_notebook_exists_and_is_in_the_toc():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())["notebooks"]
    toc = (ROOT / "book" / "_toc.yml").read_text()
    for name, entry in cfg.items():
        assert (ROOT / "notebooks" / f"{name}.ipynb").is_file()
        assert f"executed/{name}" in toc
        assert {"ci", "paper"} <= set(entry) and entry["reproduces"]
        # papermill only warns about a parameter the notebook does not declare: fail here instead
        declared = set(papermill.inspect_notebook(str(ROOT / "notebooks" / f"{name}.ipynb")))
        for profile in ("ci", "paper"):
            assert set(entry[profile]) <= declared, (name, profile, set(entry[profile]) - declared)
    book = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert book["execute"]["execute_notebooks"] == "off" and book["only_build_toc_files"] is True
