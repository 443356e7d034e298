import ast
import json

import numpy as np
import pytest
import torch

from artlib.core.errors import ArtlibError
from artlib.art.optimum import optimal_sigmas
from artlib.core.schedules import (edm_sigmas, equidistributed_sigmas, load_schedule, rescale_schedule, save_schedule, sigmas_to_tau, tau_to_sigmas,
                              theta_to_sigmas, uniform_sigmas, validate_sigmas)


def test_edm_matches_edm_generate_formula():
    # EDM generate.py: t_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho, then 0.
    K, smin, smax, rho = 18, 0.002, 80.0, 7.0
    i = np.arange(K)
    ref = (smax ** (1 / rho) + i / (K - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
    s = edm_sigmas(K, smin, smax, rho)
    assert s.dtype == torch.float64 and s.numel() == K + 1 and s[-1] == 0
    np.testing.assert_allclose(s[:-1].numpy(), ref, rtol=1e-14)


def test_edm_defaults_to_rho_7_and_short_ramps_end_at_sigma_min():
    assert torch.equal(edm_sigmas(5, 0.002, 80.0), edm_sigmas(5, 0.002, 80.0, rho=7.0))
    assert edm_sigmas(2, 0.002, 80.0).tolist() == [80.0, pytest.approx(0.002, rel=1e-12), 0.0]
    assert edm_sigmas(1, 0.002, 80.0).tolist() == [80.0, 0.0]
    assert edm_sigmas(1, 0.0, 80.0).tolist() == [80.0, 0.0]


def test_sigma_min_zero_ramps_over_K_intervals():
    s = edm_sigmas(4, 0.0, 3.0, 1.0)
    np.testing.assert_allclose(s.numpy(), [3, 2.25, 1.5, 0.75, 0], atol=1e-15)
    assert torch.equal(uniform_sigmas(4, 0.0, 3.0), s)


def test_tau_roundtrip_and_theta():
    s = edm_sigmas(7, 0.0, 3.0, 3.0)
    assert torch.allclose(tau_to_sigmas(sigmas_to_tau(s, 3.0), 3.0), s, atol=1e-15)
    # constant speed gives the uniform grid; speeds are rescaled to the budget
    assert torch.allclose(theta_to_sigmas(torch.full((4,), 7.0), 3.0), uniform_sigmas(4, 0.0, 3.0))


@pytest.mark.parametrize("bad,msg", [
    ([3.0, 1.0, 0.5], "exactly 0"), ([3.0, 3.0, 0.0], "strictly decreasing"),
    ([3.0, 1.0, 2.0, 0.0], r"sigma\[1\]=1 <= sigma\[2\]=2"),   # a rise below sigma[0]
    ([3.0, float("nan"), 0.0], "NaN"), ([0.0], "at least 2"), ([[1.0, 0.0]], "1-D"),
    (["a", 0.0], "list of numbers"),
])
def test_validate_rejects(bad, msg):
    with pytest.raises(ArtlibError, match=msg):
        validate_sigmas(bad)


def test_validate_checks_model_range_and_K():
    with pytest.raises(ArtlibError, match="sigma_max"):
        validate_sigmas([5.0, 0.0], sigma_max=3.0)
    with pytest.raises(ArtlibError, match="K=3 needs 4"):
        validate_sigmas([3.0, 1.0, 0.0], K=3)


def test_equidistribution_of_constant_q_is_uniform():
    fine = torch.linspace(3.0, 0.0, 301, dtype=torch.float64)
    s = equidistributed_sigmas(6, fine, torch.ones(301))
    np.testing.assert_allclose(s.numpy(), uniform_sigmas(6, 0.0, 3.0).numpy(), atol=1e-12)


def test_equidistribution_needs_only_some_positive_q():
    # Φ's total may be small (|Q̄| = 1e-6 everywhere: Φ(T) = 3e-3) or come from one end; the grid
    # is refused only when |Q̄| vanishes along the whole path
    fine = torch.linspace(3.0, 0.0, 301, dtype=torch.float64)
    tiny = equidistributed_sigmas(6, fine, torch.full((301,), 1e-6))
    np.testing.assert_allclose(tiny.numpy(), uniform_sigmas(6, 0.0, 3.0).numpy(), atol=1e-12)
    for q in (torch.cat([torch.zeros(2), torch.ones(299)]), torch.cat([torch.zeros(300), torch.ones(1)])):
        s = equidistributed_sigmas(4, fine, q)
        assert s[0] == 3.0 and s[-1] == 0 and (s[1:] < s[:-1]).all()
    assert equidistributed_sigmas(4, fine, torch.cat([torch.zeros(300), torch.ones(1)]))[1] <= 0.01   # all Φ in the last cell
    with pytest.raises(ArtlibError, match="vanishes"):
        equidistributed_sigmas(4, fine, torch.zeros(301))


def test_optimal_1d_matches_closed_form_theta(gauss1d):
    # paper §5.1 model: θ* ∝ (1+(T-ψ)^2)^{3/4}: the grid is uniform in Φ(τ) = ∫ (1+(3-u)^2)^{-3/4} du.
    K = 10
    s = optimal_sigmas(gauss1d, K, n=2000, fine_steps=1024)
    u = np.linspace(0, 3, 200001)
    w = (1 + (3 - u) ** 2) ** -0.75
    phi = np.concatenate([[0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(u))])
    tau = np.interp(np.linspace(0, phi[-1], K + 1), phi, u)
    # Q̄ is estimated from 2000 trajectories; E|x_T| has ~1.3% Monte-Carlo error, but a constant
    # factor cancels in the grid, leaving quadrature error only.
    np.testing.assert_allclose((3 - s).numpy(), tau, atol=2e-3)


def test_rescale_keeps_uniform_and_endpoints():
    u = uniform_sigmas(18, 0.0, 3.0)
    np.testing.assert_allclose(rescale_schedule(u, 5, 3.0).numpy(), uniform_sigmas(5, 0.0, 3.0).numpy(), atol=1e-12)
    r = rescale_schedule(edm_sigmas(18, 0.002, 80.0), 9, 80.0)
    assert r.numel() == 10 and r[0] == 80.0 and r[-1] == 0 and (r[1:] < r[:-1]).all()


def test_json_roundtrip(tmp_path):
    s = edm_sigmas(5, 0.002, 80.0, 7.0)
    p = tmp_path / "s.json"
    save_schedule(p, s, solver="heun", method="edm", model="gaussian", sigma_min=0.002, sigma_max=80.0, seed=3)
    s2, meta = load_schedule(p, sigma_max=80.0, K=5)
    assert torch.equal(s, s2)  # full precision survives JSON
    assert meta["nfe"] == 9 and meta["K"] == 5 and meta["seed"] == 3 and meta["format"] == "artlib.schedule/1"
    assert "artlib_version" in meta
    # the bare list beside it parses (as JSON and as a Python literal) to the same floats
    bare = (tmp_path / "s.sigmas.txt").read_text()
    assert json.loads(bare) == s.tolist() == ast.literal_eval(bare)


@pytest.mark.parametrize("content,msg", [
    ("{", "not valid JSON"), ('{"x": 1}', "no 'sigmas'"), ('{"sigmas": [1, 2, 0]}', "decreasing"),
    ('{"sigmas": [3, 1, 0], "K": 5}', "disagrees"), ('{"sigmas": [3, "x", 0]}', "list of numbers"),
    ('{"sigmas": [3, 1, 0.5]}', "exactly 0"), ('{"sigmas": [3, NaN, 0]}', "NaN"),
])
def test_load_rejects_bad_files(tmp_path, content, msg):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ArtlibError, match=msg):
        load_schedule(p)


def test_load_missing_and_directory(tmp_path):
    with pytest.raises(ArtlibError, match="not found"):
        load_schedule(tmp_path / "nope.json")
    with pytest.raises(ArtlibError, match="directory"):
        load_schedule(tmp_path)


def test_diffusers_style_roundtrip(tmp_path):
    # The exported list is a plain descending float list with a trailing 0 (what sigmas= takes).
    s = edm_sigmas(7, 0.002, 80.0)
    p = tmp_path / "s.json"
    save_schedule(p, s, solver="euler", method="edm", model="m", sigma_min=0.002, sigma_max=80.0)
    raw = json.loads(p.read_text())["sigmas"]
    assert all(type(v) is float for v in raw) and raw[-1] == 0.0 and raw == sorted(raw, reverse=True)


def test_theta_to_sigmas_by_hand():
    # speeds (1, 2, 1) on T = 4: steps 1, 2, 1 → τ = 0, 1, 3, 4 → σ = 4, 3, 1, 0; the scale of θ
    # does not matter (the budget rescales it)
    expect = torch.tensor([4.0, 3.0, 1.0, 0.0], dtype=torch.float64)
    assert torch.allclose(theta_to_sigmas(torch.tensor([1.0, 2.0, 1.0]), 4.0), expect)
    assert torch.allclose(theta_to_sigmas(torch.tensor([5.0, 10.0, 5.0]), 4.0), expect)
    with pytest.raises(ArtlibError, match="positive"):
        theta_to_sigmas(torch.tensor([1.0, -1.0]), 4.0)


def test_rescale_schedule_interpolates_tau_linearly_by_hand():
    # σ = (8, 2, 1, 0) at t/T = 0, 1/3, 2/3, 1: τ/T = 0, .75, .875, 1. At K = 2, t/T = 1/2 lies halfway
    # between .75 and .875 → τ/T = .8125 → σ = 1.5; at K = 6, t/T = 1/6 → τ/T = .375 → σ = 5.
    s = torch.tensor([8.0, 2.0, 1.0, 0.0], dtype=torch.float64)
    assert torch.allclose(rescale_schedule(s, 2, 8.0), torch.tensor([8.0, 1.5, 0.0], dtype=torch.float64))
    r6 = rescale_schedule(s, 6, 8.0)
    assert torch.allclose(r6, torch.tensor([8.0, 5.0, 2.0, 1.5, 1.0, 0.5, 0.0], dtype=torch.float64))
