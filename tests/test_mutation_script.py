"""The mutation report's list of equivalent mutants points at real mutation sites (keyed by a
fragment of the line's text: an entry whose line was rewritten must be updated, not silently
ignored)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_listed_equivalent_mutant_is_a_mutation_site():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutation
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for (module, frag, what), why in mutation.EQUIVALENT.items():
        source = (ROOT / "artlib" / f"{module}.py").read_text().splitlines()
        hits = [l for _, l, d in mutation.mutants("\n".join(source)) if d == what and frag in source[l - 1]]
        assert hits, f"{module}.py `{frag}` {what} ({why}) is not a mutation site any more"
        assert mutation.is_equivalent(module, source[hits[0] - 1], what)


def test_bad_runner_arguments_are_one_line_and_exit_2(capsys):
    import pytest
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutation
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for argv, needle in ((["--corpus", "--only", "nosuch"], "no corpus mutant named nosuch"),
                         (["--only", "gits-ties-to-later-index"], "give --corpus too"),
                         (["--corpus", "--jobs", "0"], "--jobs: must be above 0"),
                         (["--corpus", "--timeout", "inf"], "--timeout: must be above 0"),
                         (["--corpus", "--jobs", "two"], "--jobs: not a number")):
        with pytest.raises(SystemExit) as e:
            mutation.main(argv)
        assert e.value.code == 2 and needle in capsys.readouterr().err.strip().splitlines()[-1]
