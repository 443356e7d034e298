"""The mutation report's list of equivalent mutants points at real mutation sites (it is keyed by
line, so an edit above a listed site must move its entry, or the mutant would silently count)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_listed_equivalent_mutant_is_a_mutation_site():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutation
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    for (module, line, what), why in mutation.EQUIVALENT.items():
        sites = {(l, d) for _, l, d in mutation.mutants((ROOT / "artlib" / f"{module}.py").read_text())}
        assert (line, what) in sites, f"{module}.py:{line} {what} ({why}) is not a mutation site any more"
