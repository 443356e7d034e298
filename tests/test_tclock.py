import math
import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from artlib.models.gaussian import GaussianDenoiser
from artlib.art.learn import learn_schedule
from artlib.art.learner import Diverged
from artlib.art.tclock import CLOCK_STEPS, ARTEnv, distill
from artlib.core.errors import ArtlibError
from artlib.core.io import torch_load
from artlib.art.tclock import TrainConfig, rollout, train, transversality_gamma

SMALL = TrainConfig(iterations=6, batch=8, hidden=16, checkpoint_every=2, distill_rollouts=16, warmup=2)


def test_td_fixed_point_is_the_rollout_return(gauss1d):
    # With θ fixed at its mean (λ → tiny), the TD targets telescope: Σ_k δ_k = V̂_K − V̂_0 − Σ cost_k,
    # so a critic with δ ≡ 0 has V̂_0 = λT − (rollout cost), i.e. the negated return plus λT.
    cfg = dataclasses.replace(SMALL, lam=1e-12)
    env = ARTEnv(gauss1d, 5)
    res = train(dataclasses.replace(cfg, iterations=1), env, progress=False)
    ro = rollout(env, res.actor, cfg, 4, torch.Generator().manual_seed(0))
    gamma = 0.3
    cost = (ro.q * ro.theta ** 2 + gamma * ro.theta) * env.dt
    v_fixed = torch.flip(torch.cumsum(torch.flip(cost, [1]), 1), [1])  # cost-to-go from step k
    v_hat = cfg.lam * env.T - v_fixed                                     # the δ = 0 critic
    v_next = torch.cat([v_hat[:, 1:], v_hat.new_full((4, 1), cfg.lam * env.T)], 1)
    delta = v_next - v_hat - cost
    assert delta.abs().max() < 1e-12
    # and the return of a deterministic identity clock equals the direct quadrature of |Q|θ²
    assert torch.allclose(ro.theta, torch.ones_like(ro.theta), atol=1e-5)


def test_transversality_gamma_1d(gauss1d):
    # Under θ ≡ 1 on a fine grid, x(T) ≈ N(0, 1) so E|Q(ψ=T)| = E|x| = sqrt(2/π).
    g = transversality_gamma(ARTEnv(gauss1d, 200), 20000, torch.Generator().manual_seed(0))
    assert g == pytest.approx(-2 * (2 / torch.pi) ** 0.5, rel=0.03)


def test_training_is_deterministic(gauss1d):
    import time
    env = ARTEnv(gauss1d, 4)
    t0 = time.perf_counter()
    run = train(SMALL, env, progress=False)
    assert 0 < run.seconds <= time.perf_counter() - t0        # the run's own wall time
    a = distill(run, env).sigmas
    b = distill(train(SMALL, env, progress=False), env).sigmas
    assert torch.equal(a, b)
    assert a.numel() == 5 and a[0] == 3.0 and a[-1] == 0 and (a[1:] < a[:-1]).all()


def test_resolved_units(gauss1d):
    # γ₀ defaults to the transversality value and the value unit to |γ₀|·T; explicit values stay.
    env = ARTEnv(gauss1d, 4)
    auto = train(SMALL, env, progress=False).config
    assert auto.gamma0 < 0 and auto.value_unit == pytest.approx(abs(auto.gamma0) * env.T, rel=1e-12)
    assert auto.gamma_scale == pytest.approx(abs(auto.gamma0), rel=1e-12)
    fixed = train(dataclasses.replace(SMALL, gamma0=0.5, gamma_scale=2.0, value_unit=3.0), env,
                  progress=False).config
    assert (fixed.gamma0, fixed.gamma_scale, fixed.value_unit) == (0.5, 2.0, 3.0)
    with pytest.raises(ArtlibError, match="value_unit"):
        dataclasses.replace(SMALL, value_unit=0.0).validate()


def test_learn_schedule_reuses_the_clock_at_K(gauss1d):
    assert CLOCK_STEPS == 20
    learned = learn_schedule(gauss1d, 3, SMALL, steps=6, progress=False)
    assert learned.run.steps == 6 and learned.run.distilled.sigmas.numel() == 7
    s = learned.sigmas
    assert s.numel() == 4 and s[0] == 3.0 and s[-1] == 0 and (s[1:] < s[:-1]).all()
    # the 3-step grid samples the 6-step clock at every other point
    assert torch.allclose(s, learned.run.distilled.sigmas[::2], atol=1e-12)


def test_checkpoint_rejects_another_config(gauss1d, tmp_path):
    env = ARTEnv(gauss1d, 4)
    ck = tmp_path / "ck.pt"
    train(dataclasses.replace(SMALL, iterations=4), env, checkpoint=ck, progress=False)
    with pytest.raises(ArtlibError, match="another configuration"):
        train(SMALL, env, checkpoint=ck, progress=False)  # iterations differ → config differs


def test_killed_run_resumes_to_same_schedule(tmp_path):
    # A CLI training run killed with SIGKILL mid-way, then resumed from its checkpoint, writes the
    # same schedule bit for bit as an uninterrupted run.
    args = [sys.executable, "-m", "artlib", "train", "--model", "gauss1d", "--K", "5", "--iterations", "60",
            "--batch", "16", "--quiet", "--checkpoint-every", "5"]
    env = dict(os.environ)
    ref = tmp_path / "ref.json"
    subprocess.run(args + ["--out", str(ref)], check=True, env=env, timeout=300)
    ck, out = tmp_path / "ck.pt", tmp_path / "out.json"
    p = subprocess.Popen(args + ["--checkpoint", str(ck), "--out", str(out)], env=env)
    import time
    t0 = time.time()
    while not ck.exists() and time.time() - t0 < 120:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert ck.exists() and not out.exists()
    assert torch_load(ck)["iteration"] < 60
    subprocess.run(args + ["--checkpoint", str(ck), "--out", str(out)], check=True, env=env, timeout=300)
    import json
    assert json.loads(out.read_text())["sigmas"] == json.loads(ref.read_text())["sigmas"]


class NaNAt:
    """Exact Gaussian denoiser that returns NaN below a noise level."""
    def __init__(self):
        self.d = GaussianDenoiser(1.0, 1, sigma_min=0.0, sigma_max=3.0)
        self.sigma_min, self.sigma_max, self.shape, self.prior_std = 0.0, 3.0, (1,), self.d.prior_std

    def __call__(self, x, sigma, class_labels=None):
        out = self.d(x, sigma)
        return torch.where(torch.as_tensor(sigma).reshape(-1, 1) < 1.0, torch.nan * out, out)


def test_non_finite_denoiser_stops_with_a_clear_error(tmp_path):
    with pytest.raises(Diverged, match=r"non-finite f at rollout step k=\d+, sigma=0\.\d+"):
        train(SMALL, ARTEnv(NaNAt(), 6), checkpoint=tmp_path / "ck.pt", progress=False)


def test_config_validation():
    TrainConfig.paper_protocol().validate()          # warm-up 0 and the paper's values are allowed
    with pytest.raises(ArtlibError, match="batch"):
        TrainConfig(batch=0).validate()
    with pytest.raises(ArtlibError, match="lr_actor"):
        TrainConfig(lr_actor=-1.0).validate()


@pytest.mark.parametrize("name,hi", [("iterations", 10 ** 9), ("batch", 10 ** 6), ("hidden", 4096), ("layers", 16),
                                     ("distill_rollouts", 10 ** 6), ("checkpoint_every", 10 ** 9)])
def test_config_size_limits_are_exact(name, hi):
    TrainConfig(**{name: hi}).validate()
    with pytest.raises(ArtlibError, match=f"{name} must be an integer from 1 to {hi}"):
        TrainConfig(**{name: hi + 1}).validate()
    with pytest.raises(ArtlibError, match=name):
        TrainConfig(**{name: 0}).validate()


def test_defaults_are_the_documented_ones():
    # the t-clock's defaults, as its docstrings and the method page state them; paper_protocol() is
    # Algorithm 1's settings as the paper's appendix gives them
    cfg = TrainConfig()
    assert (cfg.iterations, cfg.batch, cfg.lr_actor, cfg.lr_critic, cfg.lr_gamma) == (400, 64, 1e-3, 1e-3, 0.01)
    assert (cfg.gamma0, cfg.gamma_scale, cfg.value_unit, cfg.lam, cfg.eps, cfg.theta_clip) == (None, None, None, 0.1, 0.05, 100.0)
    assert (cfg.warmup, cfg.natural, cfg.hidden, cfg.layers) == (50, False, 128, 3)
    assert (cfg.actor_features, cfg.critic_features, cfg.q_estimator) == ("time", "state", "jvp")
    assert (cfg.distill_rollouts, cfg.seed, cfg.checkpoint_every) == (256, 0, 100)
    p = TrainConfig.paper_protocol()
    assert (p.iterations, p.batch, p.lr_actor, p.lr_critic, p.lr_gamma, p.eps) == (5000, 1, 1e-4, 1e-4, 1e-4, 1e-6)
    assert (p.value_unit, p.warmup, p.gamma0, p.gamma_scale, p.theta_clip, p.lam) == (1.0, 0, 0.0, 1.0, None, 0.1)


def test_checkpoint_loads_weights_only(gauss1d, tmp_path):
    ck = tmp_path / "ck.pt"
    train(SMALL, ARTEnv(gauss1d, 3), checkpoint=ck, progress=False)
    state = torch.load(ck, weights_only=True)  # nothing of ours is a pickle
    assert state["iteration"] == SMALL.iterations and len(state["history"]["gamma"]) == SMALL.iterations


def test_difference_q_estimator_tracks_the_jvp(gauss1d):
    # Along a rollout, |F_k − F_{k−1}|/Δψ is a first-order estimate of |Q| between the two points:
    # on 200 steps it agrees with the JVP's |Q| to a few per cent (1-D: |Q| = |x|/(1+s²)²).
    env = ARTEnv(gauss1d, 200)
    cfg = dataclasses.replace(SMALL, lam=1e-12)   # θ ≡ μ ≡ 1: the identity clock
    actor = train(dataclasses.replace(cfg, iterations=1), env, progress=False).actor
    exact = rollout(env, actor, cfg, 32, torch.Generator().manual_seed(0)).q
    diff = rollout(env, actor, dataclasses.replace(cfg, q_estimator="difference"), 32,
                   torch.Generator().manual_seed(0)).q
    assert torch.equal(diff[:, 0], exact[:, 0])                         # step 0 uses the JVP
    mid = 0.5 * (exact[:, 1:] + exact[:, :-1])                          # Q between the points
    rel = ((diff[:, 1:] - mid).abs() / mid.clamp(min=1e-3)).median()
    assert rel < 0.02
    with pytest.raises(ArtlibError, match="q_estimator"):
        dataclasses.replace(SMALL, q_estimator="fd").validate()


def test_t_clock_named_steps_by_hand():
    from artlib.art.learner import critic_loss, td_errors
    from artlib.art.tclock import actor_loss, multiplier_step, step_costs
    q = torch.tensor([[2.0, 0.5]], dtype=torch.float64)
    theta = torch.tensor([[1.5, -1.0]], dtype=torch.float64)
    # (|Q|θ² + γθ)Δt with γ = 0.2, Δt = 0.5: (4.5 + 0.3)/2 = 2.4 and (0.5 − 0.2)/2 = 0.15
    cost = step_costs(q, theta, 0.2, 0.5)
    assert torch.allclose(cost, torch.tensor([[2.4, 0.15]], dtype=torch.float64))
    v = torch.tensor([[1.0, 0.7]], dtype=torch.float64, requires_grad=True)
    delta = td_errors(v, cost, 0.3)            # (0.7 − 1 − 2.4, 0.3 − 0.7 − 0.15)
    assert torch.allclose(delta, torch.tensor([[-2.7, -0.55]], dtype=torch.float64))
    critic_loss(v, delta).backward()           # gradient descent moves V_k by +lr·δ_k
    assert torch.allclose(-v.grad, delta)
    mu = torch.tensor([[1.0, -0.5]], dtype=torch.float64, requires_grad=True)
    var = torch.tensor([[0.5, 2.0]], dtype=torch.float64)
    adv = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    actor_loss(mu, theta, var, adv).backward()  # d/dμ = −(θ − μ)/var · δ
    assert torch.allclose(mu.grad, torch.tensor([[-(0.5 / 0.5) * 1.0, -(-0.5 / 2.0) * -2.0]], dtype=torch.float64))
    mu.grad = None
    actor_loss(mu, theta, var, adv, natural=True).backward()   # Fisher-weighted: −(θ − μ)·δ
    assert torch.allclose(mu.grad, torch.tensor([[-0.5, -1.0]], dtype=torch.float64))
    assert multiplier_step(0.5, budget=3.3, T=3.0, step=0.3) == pytest.approx(0.53)
    assert multiplier_step(0.5, budget=2.7, T=3.0, step=0.3) == pytest.approx(0.47)


def test_distillation_of_a_hand_made_policy(gauss1d):
    # A policy whose mean is 2 on the first half of the clock and 1 on the second, with λ → 0 so
    # rollouts follow it exactly: normalised speeds (4/3, 2/3) over 2 steps of T = 3 → σ = 3, 1, 0.
    cfg = dataclasses.replace(SMALL, lam=1e-14, actor_features="time")
    env = ARTEnv(gauss1d, 2)
    run = train(dataclasses.replace(cfg, iterations=1), env, progress=False)

    class Fixed(torch.nn.Module):
        def forward(self, feat):
            return torch.where(feat[..., 0] < 0.5, 2.0, 1.0).to(torch.float64)
    run.actor = Fixed()
    d = distill(run, env, n=8)
    assert torch.allclose(d.theta_bar, torch.tensor([4 / 3, 2 / 3], dtype=torch.float64))
    assert torch.allclose(d.sigmas, torch.tensor([3.0, 1.0, 0.0], dtype=torch.float64))


def test_distillation_drops_rollouts_whose_speeds_sum_to_zero(gauss1d, monkeypatch):
    # A hand-made rollout: rows (2, 1) and (1, 1) normalise to (4/3, 2/3) and (1, 1) over T = 3;
    # the row (0, 0) cannot be rescaled and must be left out of the mean, not averaged in.
    import types

    import artlib.art.tclock as distill_module
    env = ARTEnv(gauss1d, 2)
    run = train(dataclasses.replace(SMALL, iterations=1), env, progress=False)
    # The threshold is 1e-3 T on Σ θ Δt (T = 3, Δt = 1.5): a row summing to 4.5e-4 is left out, one
    # summing to 4.5e-3 (normalised (4/3, 2/3) again) is kept.
    mu = torch.tensor([[2.0, 1.0], [0.0, 0.0], [1.0, 1.0], [2e-4, 1e-4], [2e-3, 1e-3]], dtype=torch.float64)
    fake = types.SimpleNamespace(mu=mu, theta=mu.clone(), psi=torch.zeros(5, 3, dtype=torch.float64))
    monkeypatch.setattr(distill_module, "rollout", lambda *a, **k: fake)
    d = distill(run, env)
    assert torch.allclose(d.theta_bar, torch.tensor([11 / 9, 7 / 9], dtype=torch.float64))
    fake.mu = torch.zeros(5, 2, dtype=torch.float64)
    with pytest.raises(ArtlibError, match="sum to about 0"):
        distill(run, env)


def test_mlp_has_the_asked_depth_and_width():
    from artlib.art.learner import mlp
    net = mlp(3, 16, 4)
    linear = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(3, 16), (16, 16), (16, 16), (16, 1)]


def test_init_is_uniform_within_the_fan_in_bound():
    # PyTorch's default: U(−1/√fan_in, 1/√fan_in) for weights and biases; here from our generator
    from artlib.art.learner import init_mlp, mlp
    net = mlp(64, 512, 2)
    init_mlp(net, torch.Generator().manual_seed(0))
    for p, fan_in in ((net[0].weight, 64), (net[0].bias, 64), (net[2].weight, 512)):
        bound = 1 / fan_in ** 0.5
        assert p.abs().max() <= bound and p.max() > 0.9 * bound and p.min() < -0.9 * bound


def test_policy_variance_values_and_td_by_hand():
    from artlib.art.tclock import policy_variance, values_and_td
    q = torch.tensor([0.01, 2.0], dtype=torch.float64)
    assert torch.allclose(policy_variance(q, 0.1, 0.05), torch.tensor([2.0, 0.05], dtype=torch.float64))
    # λ = 0.2 in value units of 2: λ_v = 0.1; V̂ = (1 + 0, −1 + 0.15); costs /2 = (0.2, 0.1); V̂_K = 0.3
    v, delta = values_and_td(torch.tensor([[1.0, -1.0]], dtype=torch.float64), torch.tensor([[0.4, 0.2]], dtype=torch.float64),
                             torch.tensor([0.0, 1.5, 3.0], dtype=torch.float64), lam=0.2, v_unit=2.0, T=3.0)
    assert torch.allclose(v, torch.tensor([[1.0, -0.85]], dtype=torch.float64))
    assert torch.allclose(delta, torch.tensor([[-2.05, 1.05]], dtype=torch.float64))


def test_rollout_actions_have_the_policy_variance(gauss1d):
    from artlib.art.tclock import Actor, policy_variance
    env = ARTEnv(gauss1d, 4)
    cfg = dataclasses.replace(SMALL, lam=0.01, eps=0.05)
    ro = rollout(env, Actor(2, 16, 3, torch.Generator().manual_seed(0)), cfg, 4000, torch.Generator().manual_seed(1))
    z = (ro.theta - ro.mu) / policy_variance(ro.q, cfg.lam, cfg.eps).sqrt()
    assert abs(float(z.std()) - 1) < 0.03 and abs(float(z.mean())) < 0.03


def test_non_finite_value_names_the_first_bad_sample():
    from artlib.art.tclock import _check_finite
    env = ARTEnv(GaussianDenoiser(1.0, 1, sigma_min=0.0, sigma_max=3.0), 4)
    psi = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    with pytest.raises(Diverged, match=r"non-finite q at rollout step k=2, sigma=2:"):
        _check_finite(env, 2, psi, q=torch.tensor([1.0, float("nan"), float("nan")], dtype=torch.float64))


def test_jvp_rollouts_measure_q_at_their_own_states(gauss1d):
    # replaying the identity clock (λ ≈ 0, so θ ≡ μ ≡ 1) from the same noise, |Q| at each state is
    # the JVP's there: the rollout must not fall back to differences of drifts
    from artlib.art.tclock import Actor
    from artlib.core.samplers import initial_noise
    env = ARTEnv(gauss1d, 6)
    cfg = dataclasses.replace(SMALL, lam=1e-24)
    ro = rollout(env, Actor(2, 16, 3, torch.Generator().manual_seed(0)), cfg, 16, torch.Generator().manual_seed(3))
    x, psi = initial_noise(gauss1d, 16, torch.Generator().manual_seed(3)), torch.zeros(16, dtype=torch.float64)
    for k in range(env.K):
        f, qv = env.oracle.drift_and_q(x, psi)
        assert torch.allclose(ro.q[:, k], qv.flatten(1).norm(dim=1), rtol=1e-6)
        x, psi = env.step(x, psi, torch.ones_like(psi), f)


def test_state_features_train_for_actor_and_time_features_for_critic(gauss1d):
    res = train(dataclasses.replace(SMALL, iterations=1, actor_features="state", critic_features="time"),
                ARTEnv(gauss1d, 3), progress=False)
    assert len(res.history["budget"]) == 1


def test_the_critic_values_each_of_the_k_steps_from_its_own_features(gauss1d, monkeypatch):
    # V̂_k = NN_c(feat_k) + λ t_k (20): the critic is evaluated at every step's features, not one
    # step's broadcast over the clock (training still converges then, with 1.7× the TD error)
    import artlib.art.tclock
    seen, values_and_td = [], artlib.art.tclock.values_and_td
    monkeypatch.setattr(artlib.art.tclock, "values_and_td", lambda nn_c, *a: values_and_td(seen.append(nn_c.detach()) or nn_c, *a))
    train(dataclasses.replace(SMALL, iterations=1), ARTEnv(gauss1d, 5), progress=False)
    (nn_c,) = seen
    assert nn_c.shape == (SMALL.batch, 5) and (nn_c[:, 1:] != nn_c[:, :-1]).all()


def test_first_iteration_budget_return_and_multiplier_by_hand(gauss1d, tmp_path, monkeypatch):
    # λ ≈ 0: θ ≡ μ ≡ 1; with γ₀ > 0 and θ > 0 every cost is positive, so the return is negative;
    # after warm-up the multiplier takes one step (23) with the configured step size; checkpoints
    # every 3 iterations and at the last
    from artlib.art.tclock import multiplier_step
    env = ARTEnv(gauss1d, 5)
    cfg = dataclasses.replace(SMALL, lam=1e-24, gamma0=0.5, gamma_scale=2.0, value_unit=1.0, lr_gamma=0.3,
                              warmup=2, iterations=4, checkpoint_every=3, theta_clip=0.5)
    import artlib.art.learner
    saved_at, save = [], artlib.art.learner.save_training
    monkeypatch.setattr(artlib.art.learner, "save_training", lambda *a, **k: (saved_at.append(k["iteration"]), save(*a, **k)))
    t0 = time.perf_counter()
    res = train(cfg, env, checkpoint=tmp_path / "ck.pt", progress=False)
    wall = time.perf_counter() - t0
    h = res.history
    # θ ≡ 1 clipped to 0.5 where the environment applies it: the budget is T/2
    assert h["budget"][0] == pytest.approx(1.5, rel=1e-9) and h["return"][0] < 0
    assert saved_at == [3, 4]
    assert h["gamma"][:2] == [0.5, 0.5]                               # frozen during warm-up
    assert h["gamma"][2] == pytest.approx(multiplier_step(0.5, h["budget"][2], 3.0, 0.3 * 2.0), rel=1e-12)
    saved = torch_load(tmp_path / "ck.pt")
    assert saved["iteration"] == 4 and 0 < saved["seconds"] <= wall   # the last iteration is saved too


@pytest.mark.parametrize("units", [{}, {"gamma0": 0.0, "gamma_scale": 1.0, "value_unit": 1.0}])   # calibrated, or not
def test_the_reported_training_cost_is_the_denoiser_work_done(gmm, counting, units):
    from artlib.art.learn import learn_schedule
    den = counting(gmm)
    cfg = TrainConfig(iterations=3, batch=4, hidden=8, warmup=1, distill_rollouts=8, **units)
    learned = learn_schedule(den, 4, cfg, steps=4, progress=False)
    assert learned.evaluations == den.samples > 0


# The t-clock decision process


def test_step_clamps_psi_and_moves_x_with_it(gauss1d):
    env = ARTEnv(gauss1d, 6)  # Δt = 0.5
    x = torch.ones(3, 1, dtype=torch.float64)
    psi = torch.tensor([2.9, 0.5, 1.0], dtype=torch.float64)
    f = torch.full((3, 1), 2.0, dtype=torch.float64)
    x2, psi2 = env.step(x, psi, torch.tensor([1.0, -2.0, 1.0], dtype=torch.float64), f)
    assert psi2.tolist() == [3.0, 0.0, 1.5]                     # ψ + θΔt, clamped to [0, T]
    assert x2.squeeze(1).tolist() == pytest.approx([1.0 + 0.1 * 2, 1.0 - 0.5 * 2, 1.0 + 0.5 * 2], abs=1e-15)


def test_features_shapes(gauss1d):
    env = ARTEnv(gauss1d, 4)
    x, psi = torch.ones(3, 1, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    t, q = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    assert env.features("time", t, x, psi, q).shape == (3, 2)
    assert env.features("state", t, x, psi, q).shape == (3, 4)
    with pytest.raises(ArtlibError, match="unknown feature"):
        env.features("pixels", t, x, psi, q)


def test_feature_values_of_a_known_state(gauss1d):
    # time: (t/T, ψ/T); state adds log(rms x)/5 and log|Q|/10
    env = ARTEnv(gauss1d, 4)
    x = torch.tensor([[math.e ** 2]], dtype=torch.float64)
    t, psi, q = (torch.tensor([v], dtype=torch.float64) for v in (0.75, 1.5, math.e ** -3))
    f = env.features("state", t, x, psi, q)
    assert torch.allclose(f, torch.tensor([[0.25, 0.5, 2 / 5, -3 / 10]], dtype=torch.float64), atol=1e-9)
    assert torch.allclose(env.features("time", t, x, psi, q), f[:, :2])


def test_clock_steps_run_from_zero_to_t(gauss1d):
    assert torch.allclose(ARTEnv(gauss1d, 4).t_grid, torch.tensor([0.0, 0.75, 1.5, 2.25, 3.0], dtype=torch.float64))
