"""The ψ-indexed learner: each named step against a hand-computed case, and training behaviour."""
import dataclasses
import math
import time

import numpy as np
import pytest
import torch

from artlib.art import psiclock as pc
from artlib.art.dynamics import QOracle
from artlib.art.learner import critic_loss, td_errors
from artlib.core.errors import ArtlibError
from artlib.core.io import torch_load
from artlib.eval.metrics import exact_w2
from artlib.art.optimum import optimal_sigmas
from artlib.core.samplers import random_labels
from artlib.core.schedules import edm_sigmas, uniform_sigmas

TINY = pc.PsiConfig(iterations=6, batch=8, nodes=5, hidden=16, warmup=2, checkpoint_every=2, bank=0)


def test_warp_is_edm_ramp_to_zero_and_its_derivative():
    w = pc.Warp(80.0, 7.0)
    psi = torch.linspace(0, 80, 9, dtype=torch.float64)
    s = w.sigma(psi)
    assert s[0] == 80.0 and s[-1] == 0.0
    # equally spaced ψ give EDM's ρ = 7 ramp with σ_min = 0
    assert torch.allclose(s, edm_sigmas(8, 0.0, 80.0, 7.0), rtol=1e-12, atol=1e-12)
    h = 1e-6
    fd = (w.sigma(psi[1:-1] - h) - w.sigma(psi[1:-1] + h)) / (2 * h)
    assert torch.allclose(w.dsigma(psi[1:-1]), fd, rtol=1e-6)
    assert torch.allclose(w.psi(s), psi, atol=1e-9)


def test_table_actor_interpolates_linearly():
    a = pc.TableActor(4)
    with torch.no_grad():
        a.m.copy_(torch.tensor([0.0, 1.0, 3.0, 2.0, -1.0], dtype=torch.float64))
    frac = torch.tensor([0.0, 0.125, 0.25, 0.6, 1.0], dtype=torch.float64)
    assert torch.allclose(a(frac), torch.tensor([0.0, 0.5, 1.0, 2.6, -1.0], dtype=torch.float64))
    # outside [0, 1] the table is held at its end values
    assert torch.allclose(a(torch.tensor([1.5, -0.5], dtype=torch.float64)), torch.tensor([-1.0, 0.0], dtype=torch.float64))


def test_step_costs_by_hand():
    q = torch.tensor([[2.0, 0.5]], dtype=torch.float64)
    u = torch.tensor([[4.0, 1.0]], dtype=torch.float64)
    dpsi = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    c = pc.step_costs(q, u, dpsi, gamma=0.25, T=2.0)
    # (2/4 + 0.25·4)·1/4 = 0.375 and (0.5/1 + 0.25·1)·3/4 = 0.5625
    assert torch.allclose(c, torch.tensor([[0.375, 0.5625]], dtype=torch.float64), rtol=1e-15)


def test_td_errors_by_hand():
    v = torch.tensor([[1.0, 0.5, 0.25]], dtype=torch.float64)
    cost = torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64)
    # δ = (0.5 − 1 − 0.1, 0.25 − 0.5 − 0.2, 0 − 0.25 − 0.3): V after the last step is 0
    assert torch.allclose(td_errors(v, cost), torch.tensor([[-0.6, -0.45, -0.55]], dtype=torch.float64))


def test_critic_step_moves_v_towards_its_target():
    # One step of semi-gradient TD on a critic whose output is a free scalar per step: V_k moves
    # by +lr·δ_k (positive δ means the target V_{k+1} − c_k is above V_k).
    v = torch.tensor([[1.0, 0.5]], dtype=torch.float64, requires_grad=True)
    delta = td_errors(v, torch.tensor([[0.1, 0.2]], dtype=torch.float64))
    critic_loss(v, delta).backward()
    assert torch.allclose(-v.grad, delta.detach())


def test_actor_gradient_is_the_score_times_the_advantage():
    # d(actor_loss)/dm at one node = −(a − m)/s² · Â, mean over rollouts: an action above the mean
    # with a positive advantage pulls m up.
    actor = pc.TableActor(1)                       # two nodes; frac 0 hits node 0 only
    ro = pc.PsiRollout(frac=torch.zeros(2, 1, dtype=torch.float64), dpsi=torch.ones(2, 1, dtype=torch.float64),
                       q=torch.ones(2, 1, dtype=torch.float64),
                       a=torch.tensor([[0.3], [-0.2]], dtype=torch.float64), u=torch.ones(2, 1, dtype=torch.float64))
    adv = torch.tensor([[2.0], [-1.0]], dtype=torch.float64)
    s = 0.5
    pc.actor_loss(actor, ro, adv, s).backward()
    expected = -((0.3 * 2.0) + (-0.2 * -1.0)) / s ** 2 / 2
    assert actor.m.grad[0].item() == pytest.approx(expected, rel=1e-12)
    assert actor.m.grad[1].item() == 0.0
    assert actor.m.grad[0] < 0          # gradient descent raises m


def test_standardised_advantage_is_per_step():
    d = torch.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]], dtype=torch.float64)
    a = pc.standardised(d)
    assert torch.allclose(a.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(a.std(0), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(a[:, 0], torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64))


def test_multiplier_rises_when_over_budget_and_falls_when_under():
    assert pc.multiplier_step(2.0, budget=12.0, T=10.0, lr=0.5) == pytest.approx(2.0 * math.exp(0.1))
    assert pc.multiplier_step(2.0, budget=8.0, T=10.0, lr=0.5) == pytest.approx(2.0 * math.exp(-0.1))
    assert pc.multiplier_step(2.0, budget=10.0, T=10.0, lr=0.5) == 2.0


def test_critic_features_of_a_known_state():
    f = pc.critic_features(torch.tensor([0.25], dtype=torch.float64), torch.tensor([math.e ** 5], dtype=torch.float64))
    assert torch.allclose(f, torch.tensor([[0.25, 0.5]], dtype=torch.float64))


@pytest.mark.parametrize("heun", [False, True])
def test_rollout_states_and_q_match_the_1d_closed_form(gauss1d, heun):
    # 1-D: F = −σx/(1+σ²), Q_σ = x/(1+σ²)²; Q_eff = |Q_σ| g′(ψ)² (S = 1 here). The state moves by
    # an Euler step in σ, or a Heun step (none into σ = 0, where no drift is evaluated).
    oracle = QOracle(gauss1d)
    w = pc.Warp(3.0, 7.0)
    cfg = dataclasses.replace(TINY, nodes=4, heun_states=heun)
    ro = pc.rollout(oracle, w, pc.TableActor(4), cfg, 3, torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(1)
    torch.rand(3, generator=gen, dtype=torch.float64)                     # the offsets come first
    x = torch.randn(3, generator=gen, dtype=torch.float64) * math.sqrt(10.0)
    psi = ro.frac * 3.0
    assert torch.allclose(psi[:, 0], torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(ro.dpsi.sum(1), torch.full((3,), 3.0, dtype=torch.float64))
    F = lambda x_, s_: -s_ * x_ / (1 + s_ ** 2)                                      # noqa: E731
    for k in range(psi.shape[1]):
        sig, sig_next = w.sigma(psi[:, k]), w.sigma(psi[:, k] + ro.dpsi[:, k])
        q = (x / (1 + sig ** 2) ** 2).abs() * w.dsigma(psi[:, k]) ** 2
        assert torch.allclose(ro.q[:, k], q, rtol=1e-9, atol=1e-12)
        euler = x + (sig - sig_next) * F(x, sig)
        last = k == psi.shape[1] - 1
        x = euler if (not heun or last) else x + (sig - sig_next) * 0.5 * (F(x, sig) + F(euler, sig_next))
    # actions: a ~ N(m, s²) with m = 0, u = exp(a − s²/2)
    assert torch.allclose(ro.u, torch.exp(ro.a - cfg.policy_std ** 2 / 2))


def test_distilled_grid_by_hand():
    # m ≡ c: u constant, t ∝ ψ, so the grid is EDM's ramp to 0. m(ψ) = βψ/T: t ∝ e^{βψ/T} − 1, so
    # ψ(t) = (T/β) log(1 + (t/T)(e^β − 1)).
    T, K = 80.0, 6
    res = pc.PsiResult(pc.TableActor(20), None, 1.0, 1.0, pc.Warp(T, 7.0), pc.PsiConfig())
    with torch.no_grad():
        res.actor.m.fill_(0.7)
    assert torch.allclose(res.sigmas(K), edm_sigmas(K, 0.0, T, 7.0), rtol=1e-9, atol=1e-12)
    beta = 2.0
    with torch.no_grad():
        res.actor.m.copy_(beta * torch.linspace(0, 1, 21, dtype=torch.float64))
    t = np.linspace(0, T, K + 1)
    psi = T / beta * np.log1p(t / T * np.expm1(beta))
    expect = torch.from_numpy(T * (1 - psi / T) ** 7.0)
    expect[-1] = 0.0
    assert torch.allclose(res.sigmas(K), expect, rtol=1e-5, atol=1e-9)
    assert not torch.allclose(res.sigmas(K), edm_sigmas(K, 0.0, T, 7.0), rtol=1e-2)


def test_training_learns_the_1d_optimum_and_meets_the_budget(gauss1d):
    # 300 short iterations on gauss1d (a few seconds): exact W2 within 15 % of the closed-form
    # optimum (uniform is 43 % above it, EDM's ρ = 7 grid 125 %) and the budget within 10 %.
    cfg = pc.PsiConfig(iterations=300, batch=64, nodes=10, hidden=32, warmup=10, bank=256)
    res = pc.train(cfg, QOracle(gauss1d), progress=False)
    K = 10
    opt = exact_w2(gauss1d, optimal_sigmas(gauss1d, K), "euler")
    ratio = exact_w2(gauss1d, res.sigmas(K), "euler") / opt
    assert exact_w2(gauss1d, uniform_sigmas(K, 0.0, 3.0), "euler") / opt > 1.4
    assert ratio < 1.15
    assert abs(np.mean(res.history["budget"][-30:]) - 3.0) < 0.3
    # the learned speed is higher early in the clock than late, as θ* ∝ (1 + σ²)^{3/4} in σ units
    s = res.sigmas(K)
    assert (s[:-1] - s[1:])[0] > (s[:-1] - s[1:])[-2]
    # the history records the actor's table at its first and last node, as it ends
    assert res.history["m_first"][-1] == float(res.actor.m[0].detach()) and res.history["m_last"][-1] == float(res.actor.m[-1].detach())
    assert len(res.history["m_first"]) == cfg.iterations and res.history["m_first"][-1] != res.history["m_last"][-1]


def test_cost_scale_by_hand():
    # (1/T) · mean over walks of Σ_k Q_eff,k Δψ_k: walks sum to 1.5 and 7, mean 4.25, T = 2
    q = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    dpsi = torch.tensor([[0.5, 0.5], [1.0, 1.0]], dtype=torch.float64)
    assert pc.cost_scale(q, dpsi, 2.0) == 2.125


def test_training_is_deterministic_and_resumes(gauss1d, tmp_path):
    oracle = QOracle(gauss1d)
    a = pc.train(TINY, oracle, progress=False)
    b = pc.train(TINY, oracle, progress=False)
    assert torch.equal(a.actor.m, b.actor.m) and a.gamma == b.gamma
    ck = tmp_path / "ck.pt"
    first = pc.train(dataclasses.replace(TINY, iterations=4), oracle, checkpoint=ck, progress=False)
    assert torch_load(ck)["iteration"] == 4
    done = pc.train(dataclasses.replace(TINY, iterations=4), oracle, checkpoint=ck, progress=False)
    assert done.seconds == first.seconds == torch_load(ck)["seconds"] > 0   # read back: the seconds it took
    with pytest.raises(ArtlibError, match="another configuration"):
        pc.train(TINY, oracle, checkpoint=ck, progress=False)


class Stop(Exception):
    pass


def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(gauss1d, tmp_path):
    full = pc.train(TINY, QOracle(gauss1d), progress=False)
    oracle = QOracle(gauss1d)
    calls, inner = [0], oracle.drift_and_q

    def interrupted(*args, **kw):            # dies inside iteration 3, after the checkpoint at 2
        calls[0] += 1
        if calls[0] > (1 + 2) * (TINY.nodes + 1):   # (the Heun states call oracle.drift, not counted)
            raise Stop
        return inner(*args, **kw)
    oracle.drift_and_q = interrupted
    ck = tmp_path / "ck.pt"
    with pytest.raises(Stop):
        pc.train(TINY, oracle, checkpoint=ck, progress=False)
    assert torch_load(ck)["iteration"] == 2
    resumed = pc.train(TINY, QOracle(gauss1d), checkpoint=ck, progress=False)
    assert torch.equal(resumed.actor.m, full.actor.m) and resumed.gamma == full.gamma
    assert resumed.history["budget"] == full.history["budget"]


def test_config_validation_names_the_field():
    pc.PsiConfig(warmup=0, bank=0, lr_gamma=0.0).validate()     # the smallest allowed values
    with pytest.raises(ArtlibError, match="warmup"):
        pc.PsiConfig(warmup=-1).validate()
    with pytest.raises(ArtlibError, match="bank"):
        pc.PsiConfig(bank=-1).validate()
    with pytest.raises(ArtlibError, match="nodes"):
        pc.PsiConfig(nodes=0).validate()
    with pytest.raises(ArtlibError, match="policy_std"):
        pc.PsiConfig(policy_std=-1.0).validate()
    with pytest.raises(ArtlibError, match="lr_gamma"):
        pc.PsiConfig(lr_gamma=float("nan")).validate()


@pytest.mark.parametrize("name,hi", [("iterations", 10 ** 9), ("batch", 10 ** 6), ("nodes", 10 ** 4),
                                     ("hidden", 4096), ("layers", 16), ("checkpoint_every", 10 ** 9),
                                     ("bank", 10 ** 6)])
def test_config_size_limits_are_exact(name, hi):
    pc.PsiConfig(**{name: hi}).validate()          # the largest allowed value passes ...
    with pytest.raises(ArtlibError, match=f"{name} must be .*{hi}"):
        pc.PsiConfig(**{name: hi + 1}).validate()  # ... and one more is refused, with the limit named


def test_defaults_are_the_documented_ones():
    # the book's method page states these; a change must change the page too
    cfg = pc.PsiConfig()
    assert (cfg.iterations, cfg.batch, cfg.nodes, cfg.rho, cfg.policy_std) == (500, 64, 20, 7.0, 0.5)
    assert (cfg.lr_actor, cfg.lr_actor_final, cfg.lr_critic, cfg.lr_gamma, cfg.gamma0) == (0.03, 0.003, 3e-3, 0.05, 1.0)
    assert (cfg.warmup, cfg.bank, cfg.heun_states, cfg.hidden, cfg.layers) == (30, 1024, True, 128, 3)
    assert (cfg.seed, cfg.checkpoint_every) == (0, 100)


def test_simulate_in_chunks_returns_every_trajectory(gauss1d):
    oracle = QOracle(gauss1d)
    for order in (2, 3):
        walks = pc.simulate(oracle, pc.Warp(oracle.T, 7.0), 4, 5, torch.Generator().manual_seed(0), chunk=2, order=order)
        assert walks.frac.shape == walks.dpsi.shape == walks.w.shape == (5, 5)
        assert torch.allclose(walks.dpsi.sum(1), torch.full((5,), oracle.T, dtype=torch.float64))


def test_rollout_divides_q_by_the_scale(gauss1d):
    oracle, warp = QOracle(gauss1d), pc.Warp(3.0, 7.0)
    cfg = pc.PsiConfig(nodes=4)
    actor = pc.TableActor(4)
    ro = pc.rollout(oracle, warp, actor, cfg, 3, torch.Generator().manual_seed(1), scale=4.0)
    walks = pc.simulate(oracle, warp, 4, 3, torch.Generator().manual_seed(1), heun=cfg.heun_states)
    assert torch.allclose(ro.q, walks.w / 4.0, rtol=1e-14)
    # the actions are the table's mean plus s·N(0, 1): at m = 0 their mean is near 0, u = e^{a − s²/2}
    assert torch.allclose(ro.u, torch.exp(ro.a - cfg.policy_std ** 2 / 2))


def test_labels_only_for_class_conditional_models(gauss1d):
    assert random_labels(gauss1d, 3, torch.Generator(), "cpu") is None

    class Conditional:
        label_dim = 4
    lab = random_labels(Conditional(), 6, torch.Generator().manual_seed(0), "cpu")
    assert lab.shape == (6, 4) and torch.equal(lab.sum(1), torch.ones(6, dtype=torch.float64))


def test_clock_starts_at_zero_and_ends_at_t(gauss1d):
    res = pc.PsiResult(pc.TableActor(3), None, 1.0, 1.0, pc.Warp(3.0, 7.0), pc.PsiConfig(nodes=3))
    with torch.no_grad():
        res.actor.m.copy_(torch.tensor([1.0, 0.0, -1.0, 0.5], dtype=torch.float64))
    psi, t = res.clock_map(fine=8)
    assert psi.shape == t.shape == (9,)
    assert t[0] == 0.0 and t[-1] == pytest.approx(3.0, rel=1e-15) and np.all(np.diff(t) > 0)


def test_first_costs_are_normalised_by_the_scale():
    # Q_eff is divided by S, its mean along the walks, so the first iteration's cost (γ₀ = 1, m = 0,
    # u log-normal with E u = 1 and E 1/u = e^{s²}) is near (e^{s²} + 1)/2 whatever the model's size.
    from artlib.models.gaussian import GaussianDenoiser
    big = GaussianDenoiser(c=0.5, dim=64, sigma_min=0.0, sigma_max=80.0)
    cfg = pc.PsiConfig(iterations=1, batch=512, nodes=10, hidden=8, warmup=1, bank=256)
    res = pc.train(cfg, QOracle(big), progress=False)
    assert abs(math.log(res.scale)) > 1.0                       # a model whose scale is far from 1
    assert res.history["cost"][0] == pytest.approx((math.exp(0.25) + 1) / 2, rel=0.1)


def test_actor_step_size_decays_to_its_final_value_and_fresh_runs_count_from_zero(gauss1d, tmp_path):
    oracle = QOracle(gauss1d)
    for iterations, lr in ((6, TINY.lr_actor_final), (TINY.warmup + 2, TINY.lr_actor_final), (TINY.warmup + 1, TINY.lr_actor)):
        ck = tmp_path / f"ck{iterations}.pt"
        cfg = dataclasses.replace(TINY, iterations=iterations, checkpoint_every=4)
        t0 = time.perf_counter()
        res = pc.train(cfg, oracle, checkpoint=ck, progress=False)
        wall = time.perf_counter() - t0
        saved = torch_load(ck)
        # the last iteration is saved even when it is not a multiple of checkpoint_every
        assert saved["iteration"] == iterations and len(res.history["budget"]) == iterations
        assert saved["opt_actor"]["param_groups"][0]["lr"] == pytest.approx(lr, rel=1e-12)
        assert 0 < saved["seconds"] <= wall and 0 < res.seconds <= wall


def test_training_cost_in_denoiser_evaluations_by_hand():
    # a bank of 1,024 walks over 21 nodes: a drift and a JVP at each (2 each), and 20 Heun passes
    assert pc.evaluations(pc.PsiConfig()) == 1024 * (2 * 21 + 20)
    # fresh rollouts: one batch for the scale and one per iteration; Euler states, no extra passes
    assert pc.evaluations(pc.PsiConfig(bank=0, iterations=9, batch=4, nodes=5, heun_states=False)) == 10 * 4 * 2 * 6


@pytest.mark.parametrize("cfg", [pc.PsiConfig(iterations=3, batch=4, nodes=4, hidden=8, warmup=1, bank=0),
                                 pc.PsiConfig(iterations=3, batch=4, nodes=4, hidden=8, warmup=1, bank=8,
                                              heun_states=False)])
def test_the_reported_training_cost_is_the_denoiser_work_done(gmm, counting, cfg):
    from artlib.art.learn import learn_schedule
    den = counting(gmm)
    learned = learn_schedule(den, 4, cfg, progress=False)
    assert learned.evaluations == den.samples > 0
