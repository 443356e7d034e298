"""The leaderboard's bench itself: every row scored by the same metric on the same grids, and its
cost bookkeeping (additive per NFE, or one table for methods whose table does not depend on K)."""
from types import SimpleNamespace

import pytest
import torch

from artlib.repro import leaderboard as lb
from artlib.eval.metrics import endpoint_rmse, reference
from artlib.repro.experiments import steps_for_nfe
from artlib.eval.metrics import exact_w2
from artlib.models import load_model
from artlib.core.schedules import edm_sigmas, uniform_sigmas
from artlib.methods.registry import build, parse

METHODS = {"EDM (rho=7)": "edm", "Uniform": "uniform", "LD3 (L2)": "ld3:n=4,iterations=2",
           "GITS": "gits:points=11,batch=4"}


class _Fixed:
    """A stand-in learned schedule: uniform at every K, with a known training cost."""
    evaluations = 777
    run = SimpleNamespace(seconds=1.5)

    def __init__(self, den):
        self.den = den

    def at(self, K):
        return uniform_sigmas(K, self.den.sigma_min, self.den.sigma_max)


@pytest.mark.parametrize("solver,nfes", [("euler", [2, 4]), ("heun", [3, 5])])
def test_a_gaussian_board_is_exact_w2_of_each_grid(solver, nfes):
    den = load_model("gauss1d")
    b = lb.run(den, nfes, solver, methods=METHODS, learned=_Fixed(den))
    assert b.metric == "exact W2" and list(b.error) == [*METHODS, "ART-RL"]
    for f in nfes:
        K = steps_for_nfe(f, solver)
        assert torch.equal(b.grids["EDM (rho=7)"][f], edm_sigmas(K, den.sigma_min, den.sigma_max, 7.0))
        for row in b.error:
            assert b.grids[row][f].numel() == K + 1
            assert b.error[row][f] == exact_w2(den, b.grids[row][f], solver)
        assert b.error["ART-RL"][f] == b.error["Uniform"][f]
    # LD3 runs per NFE (costs add); GITS builds one table (cost counted once); ART-RL's is its training's
    per = [build(parse("ld3:n=4,iterations=2"), den, steps_for_nfe(f, solver), solver=solver)[1]["cost"]["evaluations"]
           for f in nfes]
    assert b.cost["LD3 (L2)"][0] == sum(per) and per[0] != per[1]
    gits = build(parse("gits:points=11,batch=4"), den, steps_for_nfe(nfes[0], solver), solver=solver)[1]["cost"]
    assert b.cost["GITS"][0] == gits["evaluations"] > 0
    assert b.cost["ART-RL"] == (777, 1.5) and b.cost["EDM (rho=7)"] == (0, b.cost["EDM (rho=7)"][1])


def test_an_image_board_is_endpoint_rmse_against_one_reference(gmm):
    b = lb.run(gmm, [3], "heun", methods={"EDM (rho=7)": "edm", "Uniform": "uniform"}, n=8, ref_steps=64)
    ref = reference(gmm, range(8), ref_steps=64)
    assert b.metric == "endpoint RMSE (8 seeds)"
    for row in b.error:
        assert b.error[row][3] == endpoint_rmse(gmm, b.grids[row][3], ref, "heun")[0]
    assert b.error["EDM (rho=7)"][3] != b.error["Uniform"][3]
    # a given reference is used as it is
    again = lb.run(gmm, [3], "heun", methods={"EDM (rho=7)": "edm"}, reference=ref, n=999)
    assert again.error["EDM (rho=7)"][3] == b.error["EDM (rho=7)"][3] and again.metric == "endpoint RMSE (8 seeds)"


def test_a_bad_spec_is_refused_before_any_work():
    from artlib.core.errors import ArtlibError
    with pytest.raises(ArtlibError, match="nope"):
        lb.run(load_model("gauss1d"), [2], "euler", methods={"EDM": "edm", "X": "nope"})
