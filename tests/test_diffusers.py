"""``diffusers:`` models: every family loads from a ``save_pretrained`` folder and samples through
artlib; artlib's sampler on a grid equals diffusers' own pipelines and scheduler loops on the same
grid; Q is a JVP within 1e-4 of a float64 one; bad folders and prompt files are refused with one
line before any network is built; grids go back to diffusers' schedulers and ComfyUI."""
import json
import math

import pytest
import torch

diffusers = pytest.importorskip("diffusers", reason="diffusers is not installed (pip install -r requirements-interop.txt)")

from artlib.art.dynamics import FD_STEP, QOracle  # noqa: E402
from artlib.cli import main  # noqa: E402
from artlib.core.errors import ArtlibError  # noqa: E402
from artlib.core.samplers import per_sample, sample, seeded_batch  # noqa: E402
from artlib.core.schedules import edm_sigmas, load_schedule  # noqa: E402
from artlib.export.diffusers import ddim_timesteps, flow_sigmas, set_diffusers_schedule  # noqa: E402
from artlib.models import load_model  # noqa: E402
from artlib.models import diffusers as dm  # noqa: E402
from artlib.repro import tiny  # noqa: E402

#: diffusers keeps σ, its inputs and its step arithmetic in float32
RTOL = 1e-5


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """family → model string of a tiny saved pipeline folder."""
    root = tmp_path_factory.mktemp("diffusers")
    return {family: tiny.make(root, family) for family in tiny.FAMILIES}


def rel(a, b) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def grid(den, K=5):
    return edm_sigmas(K, den.sigma_min, den.sigma_max)


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_every_family_loads_and_samples(models, family):
    den = load_model(models[family])
    x, labels = seeded_batch(den, range(3))
    assert x.shape == (3, *den.shape) and den.sigma_min < den.sigma_max
    assert den.label_dim == {"vp-class": 3, "sd": 2, "sd3": 2, "flux": 2}.get(family, 0)
    for solver in ("euler", "heun"):
        out = sample(den, x, grid(den), solver=solver, class_labels=labels)
        assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("family,prediction", [("vp-eps", "epsilon"), ("vp-v", "v_prediction"), ("vp-sample", "sample")])
def test_vp_conversions_by_hand(models, family, prediction):
    den = load_model(models[family])
    assert den.prediction == prediction
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    t = torch.tensor([600, 120])
    ac = den.scheduler.alphas_cumprod[t].double()
    sigma = ((1 - ac) / ac).sqrt()
    s = sigma.view(-1, 1, 1, 1)
    with torch.no_grad():
        out = den.net((x / (s ** 2 + 1).sqrt()).float(), t.float()).sample.double()
    want = {"epsilon": x - s * out, "v_prediction": x / (s ** 2 + 1) - s / (s ** 2 + 1).sqrt() * out,
            "sample": out}[prediction]
    assert torch.allclose(den(x, sigma), want, rtol=1e-5, atol=1e-6)
    # σ_min and σ_max are the table's ends, the prior the VP unit noise at σ_max
    table = ((1 - den.scheduler.alphas_cumprod) / den.scheduler.alphas_cumprod).sqrt()
    assert den.sigma_min == pytest.approx(float(table[0])) and den.sigma_max == pytest.approx(float(table[-1]))
    assert den.prior_std == pytest.approx(math.sqrt(den.sigma_max ** 2 + 1))


def test_timestep_is_log_linear_in_sigma_and_quantize_rounds(models):
    den = load_model(models["vp-eps"])
    table = den.table
    at = den.timestep(table[[0, 10, 500, 999]])
    assert torch.allclose(at, torch.tensor([0.0, 10.0, 500.0, 999.0], dtype=torch.float64), atol=1e-9)
    mid = (table[500].log() * 0.75 + table[501].log() * 0.25).exp()
    assert float(den.timestep(mid.view(1))) == pytest.approx(500.25, abs=1e-9)
    q = load_model(models["vp-eps"] + ",quantize=1")
    assert float(q.timestep(mid.view(1))) == 500.0
    flow = load_model(models["flow-unet"])
    assert float(flow.timestep(torch.tensor([1.0], dtype=torch.float64))) == pytest.approx(500.0)
    assert flow.sigma_max == 999.0 and flow.sigma_min == pytest.approx(1 / 999)
    assert load_model(models["flow-unet"] + ",sigma_max=50").sigma_max == 50.0


def test_flow_conversion_by_hand(models):
    den = load_model(models["flow-unet"])
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4
    sigma = torch.tensor([3.0, 0.25], dtype=torch.float64)
    t = sigma / (1 + sigma)
    s, tt = sigma.view(-1, 1, 1, 1), t.view(-1, 1, 1, 1)
    with torch.no_grad():
        v = den.net((x / (1 + s)).float(), (1000 * t).float()).sample.double()
    assert torch.allclose(den(x, sigma), x / (1 + s) - tt * v, rtol=1e-5, atol=1e-6)


def test_guidance_is_one_batched_call_on_both_branches(models):
    den = load_model(models["sd"])
    uncond = load_model(models["sd"].split(",negative")[0])        # the prompt alone, no guidance
    calls = []
    forward = den.net.forward
    den.net.forward = lambda *a, **k: (calls.append(a[0].shape[0]), forward(*a, **k))[1]
    x, labels = seeded_batch(den, range(3))
    s = torch.full((3,), 2.0, dtype=torch.float64)
    guided = den(x, s, labels)
    assert calls == [6]                                        # cond and uncond together
    w = den.guidance
    neg = load_model(models["sd"].split(",prompt=")[0] + ",prompt=" + models["sd"].split(",negative=")[1].split(",")[0])
    cond_d, neg_d = uncond(x, s, labels), neg(x, s, torch.eye(1, dtype=torch.float64).expand(3, 1))
    assert torch.allclose(guided, neg_d + w * (cond_d - neg_d), rtol=1e-5, atol=1e-6)


def _loop(den, scheduler, x, labels=None):
    """A pipeline's denoising loop: scale the input, call the network, step."""
    index = None if labels is None else labels.argmax(-1)
    xx = x.float().clone()
    for t in scheduler.timesteps:
        inp = scheduler.scale_model_input(xx, t) if hasattr(type(scheduler), "scale_model_input") else xx
        out = den.net(inp, t.expand(x.shape[0]), **({"class_labels": index} if index is not None else {})).sample
        xx = scheduler.step(out, t, xx).prev_sample
    return xx


@pytest.mark.parametrize("family", ["vp-eps", "vp-v", "vp-sample", "vp-class"])
@pytest.mark.parametrize("cls,solver", [("EulerDiscreteScheduler", "euler"), ("HeunDiscreteScheduler", "heun")])
def test_artlib_equals_diffusers_euler_and_heun_loops(models, family, cls, solver):
    den = load_model(models[family])
    x, labels = seeded_batch(den, range(4))
    s = grid(den, 6)
    sched = getattr(diffusers, cls).from_config(den.scheduler.config)
    set_diffusers_schedule(sched, s)
    with torch.no_grad():
        theirs = _loop(den, sched, x, labels)
    ours = sample(den, x, s, solver=solver, class_labels=labels)
    assert rel(theirs, ours) < RTOL


def test_the_ddim_pipeline_is_artlibs_euler_on_the_ddim_grid(models):
    from artlib.methods.pipeline import ddim_sigmas
    # K divides the 1,000 training steps: DDIM's step goes to t − N/K, which is then the next timestep
    den = load_model(models["vp-eps"])
    for trailing in (False, True):
        s = ddim_sigmas(den, 5, trailing=trailing)
        pipe = diffusers.DDIMPipeline(unet=den.net, scheduler=diffusers.DDIMScheduler.from_config(
            den.scheduler.config, timestep_spacing="trailing" if trailing else "leading", set_alpha_to_one=True))
        z = torch.randn(3, *den.shape, generator=torch.Generator().manual_seed(5))
        pipe.set_progress_bar_config(disable=True)
        # DDIMPipeline draws its latents from the generator: the same unit noise, in VP units at σ_0
        theirs = pipe(batch_size=3, num_inference_steps=5, eta=0.0, output_type="np",
                      generator=torch.Generator().manual_seed(5)).images
        x0 = z.double() * math.sqrt(float(s[0]) ** 2 + 1)
        ours = sample(den, x0, s, solver="euler")
        ours_img = (ours / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)
        assert rel(torch.from_numpy(theirs), ours_img) < RTOL
        assert ddim_timesteps(den.table, s) == pipe.scheduler.timesteps.tolist()


def test_stable_diffusion_pipeline_with_prompt_embeddings_equals_artlib(models):
    pytest.importorskip("transformers", reason="diffusers' StableDiffusionPipeline imports transformers")
    den = load_model(models["sd"])
    pe, ne = den.cond["prompt:prompt_embeds"], den.cond["negative:prompt_embeds"]
    pipe = diffusers.StableDiffusionPipeline(vae=None, text_encoder=None, tokenizer=None, unet=den.net,
                                             scheduler=diffusers.EulerDiscreteScheduler.from_config(den.scheduler.config),
                                             safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    s = grid(den, 6)
    x, _ = seeded_batch(den, range(2))
    labels = torch.eye(2, dtype=torch.float64)          # sample i gets prompt i
    pipe.scheduler.set_timesteps(sigmas=s.tolist())     # the pipeline multiplies its latents by init_noise_sigma
    theirs = pipe(prompt_embeds=pe, negative_prompt_embeds=ne.expand(2, -1, -1), guidance_scale=den.guidance,
                  sigmas=s.tolist(), height=64, width=64, output_type="latent",
                  latents=(x / float(pipe.scheduler.init_noise_sigma)).float()).images
    ours = sample(den, x, s, solver="euler", class_labels=labels)
    assert rel(theirs, ours) < RTOL


@pytest.mark.parametrize("family", ["flow-unet", "sd3", "flux"])
def test_flow_pipelines_equal_artlib_with_the_shift_compensated(models, family):
    den = load_model(models[family])
    s = grid(den, 5)
    x, labels = seeded_batch(den, range(2))
    sched = diffusers.FlowMatchEulerDiscreteScheduler.from_config(den.scheduler.config)
    set_diffusers_schedule(sched, s)
    assert torch.allclose(sched.sigmas.double(), s / (1 + s), rtol=1e-6)     # the shift was undone
    ours = sample(den, x, s, solver="euler", class_labels=labels)
    latents = (x / (1 + s[0])).float()                                        # x_t at the first flow time
    if family == "flow-unet":
        with torch.no_grad():
            theirs = _loop(den, sched, latents)
        assert rel(theirs, ours) < RTOL
        return
    pytest.importorskip("transformers", reason="diffusers' SD3 and Flux pipelines import transformers")
    kw = dict(prompt_embeds=den.cond["prompt:prompt_embeds"], pooled_prompt_embeds=den.cond["prompt:pooled_prompt_embeds"],
              sigmas=flow_sigmas(sched, s), height=64, width=64, output_type="latent")
    if family == "sd3":
        pipe = diffusers.StableDiffusion3Pipeline(transformer=den.net, scheduler=sched, vae=None, text_encoder=None,
                                                  tokenizer=None, text_encoder_2=None, tokenizer_2=None,
                                                  text_encoder_3=None, tokenizer_3=None)
        kw.update(negative_prompt_embeds=den.cond["negative:prompt_embeds"].expand(2, -1, -1),
                  negative_pooled_prompt_embeds=den.cond["negative:pooled_prompt_embeds"].expand(2, -1),
                  guidance_scale=den.guidance, latents=latents)
        labels = torch.eye(2, dtype=torch.float64)
        ours = sample(den, x, s, solver="euler", class_labels=labels)
    else:
        pipe = diffusers.FluxPipeline(transformer=den.net, scheduler=sched, vae=None, text_encoder=None, tokenizer=None,
                                      text_encoder_2=None, tokenizer_2=None)
        b, c, h, w = latents.shape
        packed = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, h * w // 4, c * 4)
        kw.update(latents=packed, guidance_scale=3.5)
        # Flux has no negative branch here: compare with the model string without one
        den = load_model(models[family].split(",negative")[0] + ",size=8")
        ours = sample(den, x, s, solver="euler", class_labels=torch.eye(2, dtype=torch.float64))
    pipe.set_progress_bar_config(disable=True)
    theirs = pipe(**kw).images
    if family == "flux":
        b, n, cc = theirs.shape
        theirs = theirs.view(b, 4, 4, cc // 4, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, cc // 4, 8, 8)
    assert rel(theirs, ours) < RTOL


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_q_is_a_jvp_within_1e4_of_a_float64_reference(models, family):
    den, den64 = load_model(models[family]), load_model(models[family] + ",dtype=float64")
    x, labels = seeded_batch(den, range(3))
    for sigma in (0.05, 1.0, 8.0):
        psi = torch.full((3,), den.sigma_max - sigma, dtype=torch.float64)
        xs = x / den.prior_std * math.sqrt(sigma ** 2 + 1)
        oracle = QOracle(den, class_labels=labels)
        q = oracle.drift_and_q(xs, psi)[1]
        q64 = QOracle(den64, class_labels=labels).drift_and_q(xs, psi)[1]
        assert not oracle.difference_q                              # the JVP ran (math attention)
        assert float((q - q64).norm() / q64.norm()) < 1e-4, (family, sigma)


def test_the_difference_fallbacks_step_is_the_measured_minimax(models):
    # the central difference the oracle falls back to, against a float64 JVP, over four families and
    # σ from 0.05 to 10: at FD_STEP·σ its worst error is 1.5e-2 or less, and no larger than at a step
    # ten times smaller (float32 round-off) or ten times larger (truncation)
    worst = {}
    for family in ("vp-eps", "sd", "flow-unet", "sd3"):
        den, den64 = load_model(models[family]), load_model(models[family] + ",dtype=float64")
        x, labels = seeded_batch(den, range(3))
        for sigma in (0.05, 0.5, 2.0, 10.0):
            psi = torch.full((3,), den.sigma_max - sigma, dtype=torch.float64)
            xs = x / den.prior_std * math.sqrt(sigma ** 2 + 1)
            o = QOracle(den, class_labels=labels)
            q64 = QOracle(den64, class_labels=labels).drift_and_q(xs, psi)[1]
            f, s = o.drift(xs, psi), o.sigma(psi)
            for factor in (0.1, 1.0, 10.0):
                h = factor * FD_STEP * s
                hp = per_sample(h, xs)
                q = (o.denoise(xs + hp * f, s - h) - o.denoise(xs - hp * f, s + h)) / (2 * hp) / per_sample(s, xs)
                err = float((q - q64).norm() / q64.norm())
                worst[factor] = max(worst.get(factor, 0.0), err)
            o.difference_q = True                   # the oracle's own fallback path gives the middle value
            err = float((o.drift_and_q(xs, psi)[1] - q64).norm() / q64.norm())
            assert err <= worst[1.0] + 1e-12
    assert worst[1.0] < 1.5e-2 and worst[1.0] <= min(worst[0.1], worst[10.0]), worst


def test_the_fallback_is_announced(models):
    den = load_model(models["vp-eps"])

    class NoJVP:
        def __init__(self, d):
            self.d, self.sigma_min, self.sigma_max, self.shape = d, d.sigma_min, d.sigma_max, d.shape

        def __call__(self, x, s, labels=None):
            import torch.autograd.forward_ad as fwAD
            if fwAD.unpack_dual(x).tangent is not None:
                raise NotImplementedError("no forward-mode rule")
            return self.d(x, s, labels)
    oracle = QOracle(NoJVP(den))
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    with pytest.warns(UserWarning, match="central differences"):
        oracle.drift_and_q(x, torch.full((2,), den.sigma_max - 1.0, dtype=torch.float64))
    assert oracle.difference_q


def _copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def _edit_config(path, **changes):
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.write_text(json.dumps(cfg))


@pytest.mark.parametrize("case,needle", [
    ("no-scheduler", "no scheduler config"),
    ("bin-only", "only .bin weights"),
    ("prediction", "prediction_type 'x_start' is not supported"),
    ("thresholding", "dynamic thresholding"),
    ("clip", "clip_sample=true"),
    ("missing-prompt", "file not found"),
    ("no-prompt", "give prompt=EMB.safetensors"),
    ("wide-prompt", "prompt_embeds have width 7, the network expects 12"),
    ("guidance-alone", "needs negative=NEG.safetensors"),
    ("learned-time", "add quantize=1"),
    ("unknown-key", "unknown option 'steps'"),
    ("not-a-folder", "is not a folder"),
    ("vp-sigma-max", "sigma_max= caps a flow model's σ"),
])
def test_bad_folders_are_refused_with_one_line_before_any_network(models, tmp_path, monkeypatch, capsys, case, needle):
    import artlib.models.diffusers as module
    base = models["vp-eps"].removeprefix("diffusers:")
    sd = models["sd"].removeprefix("diffusers:").split(",")[0]
    folder = _copy(base, tmp_path / "m")
    spec = f"diffusers:{folder}"
    if case == "no-scheduler":
        import shutil
        shutil.rmtree(folder / "scheduler")
    elif case == "bin-only":
        (folder / "unet" / "diffusion_pytorch_model.safetensors").rename(folder / "unet" / "diffusion_pytorch_model.bin")
    elif case in ("prediction", "thresholding", "clip"):
        _edit_config(folder / "scheduler" / "scheduler_config.json",
                     **{"prediction": {"prediction_type": "x_start"}, "thresholding": {"thresholding": True},
                        "clip": {"clip_sample": True}}[case])
    elif case == "learned-time":
        _edit_config(folder / "unet" / "config.json", time_embedding_type="learned")
    elif case == "unknown-key":
        spec += ",steps=3"
    elif case == "vp-sigma-max":
        spec += ",sigma_max=20"
    elif case == "not-a-folder":
        spec = f"diffusers:{tmp_path / 'nope'}"
    else:
        folder = _copy(sd, tmp_path / "sd")
        from safetensors.torch import save_file
        save_file({"prompt_embeds": torch.zeros(1, 5, 7)}, tmp_path / "wide.safetensors")
        prompt = models["sd"].split("prompt=")[1].split(",")[0]
        spec = f"diffusers:{folder}" + {"missing-prompt": f",prompt={tmp_path / 'missing.safetensors'}",
                                        "no-prompt": "", "wide-prompt": f",prompt={tmp_path / 'wide.safetensors'}",
                                        "guidance-alone": f",prompt={prompt},guidance=3"}[case]
    monkeypatch.setattr(module, "DiffusersDenoiser", lambda *a, **k: pytest.fail("a network was built"))
    assert main(["evaluate", "--model", spec, "--schedule", "edm", "--K", "3", "--n", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err


def test_schedule_writes_what_diffusers_and_comfyui_take(models, tmp_path, capsys):
    out = tmp_path / "flow.json"
    assert main(["schedule", "--model", models["sd3"], "--schedule", "edm", "--K", "4", "--out", str(out), "--quiet"]) == 0
    manual = capsys.readouterr().out.strip()
    s, meta = load_schedule(out)
    t = (s / (1 + s)).tolist()
    assert meta["comfyui"]["sigmas"] == pytest.approx(t) and meta["comfyui"]["sigmas"][-1] == 0
    assert [float(v) for v in manual.split(",")] == pytest.approx(t, abs=1e-9) and "e" not in manual
    shift = 3.0
    want = [(v / shift) / (1 + v / shift) for v in s[:-1].tolist()]
    assert meta["diffusers"]["FlowMatchEulerDiscreteScheduler"]["sigmas"] == pytest.approx(want)
    out = tmp_path / "vp.json"
    assert main(["schedule", "--model", models["vp-eps"], "--schedule", "edm", "--K", "4", "--out", str(out), "--quiet"]) == 0
    s, meta = load_schedule(out)
    assert meta["diffusers"]["EulerDiscreteScheduler"]["sigmas"] == s.tolist() == meta["comfyui"]["sigmas"]
    assert meta["diffusers"]["DDPMScheduler"]["timesteps"][0] == 999 and "HeunDiscreteScheduler" in meta["diffusers"]


def test_a_dynamically_shifted_flow_scheduler_needs_mu():
    sched = diffusers.FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
    s = torch.tensor([20.0, 2.0, 0.1, 0.0], dtype=torch.float64)
    with pytest.raises(ArtlibError, match="give mu"):
        set_diffusers_schedule(sched, s)
    set_diffusers_schedule(sched, s, mu=0.7)
    assert torch.allclose(sched.sigmas.double(), s / (1 + s), rtol=1e-6)


@pytest.mark.parametrize("command", ["train", "schedule", "evaluate"])
def test_every_command_runs_on_a_diffusers_model(models, tmp_path, capsys, command):
    args = {"train": ["train", "--iterations", "3", "--batch", "4", "--bank", "8", "--quiet", "--out", str(tmp_path / "t.json")],
            "schedule": ["schedule", "--schedule", "optimal:n=4,fine_steps=16", "--quiet", "--out", str(tmp_path / "s.json")],
            "evaluate": ["evaluate", "--schedule", "edm", "--n", "4", "--ref-steps", "16", "--json"]}[command]
    assert main([*args[:1], "--model", models["sd"], "--K", "3", *args[1:]]) == 0


def test_the_leaderboard_runs_on_a_diffusers_model(models):
    from artlib.repro import leaderboard as lb
    den = load_model(models["flow-unet"])
    board = lb.run(den, [3], "euler", methods={"EDM (rho=7)": "edm", "pipeline default": "pipeline",
                                              "GITS": "gits:points=9,batch=4"}, n=4, ref_steps=16)
    assert set(board.error) == {"EDM (rho=7)", "pipeline default", "GITS"}
    assert all(math.isfinite(v[3]) for v in board.error.values())


def test_the_comfyui_node_reads_schedule_files_without_comfyui(models, tmp_path, capsys):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "integrations" / "comfyui" / "nodes.py"
    spec = importlib.util.spec_from_file_location("artlib_comfyui_nodes", path)
    nodes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nodes)
    out = tmp_path / "s.json"
    assert main(["schedule", "--model", models["flow-unet"], "--schedule", "edm", "--K", "4", "--out", str(out), "--quiet"]) == 0
    manual = capsys.readouterr().out.strip()
    node = nodes.NODE_CLASS_MAPPINGS["ArtlibSchedule"]()
    (sig,) = node.get_sigmas(str(out))
    assert sig.dtype == torch.float32 and sig.ndim == 1 and sig.numel() == 5 and sig[-1] == 0
    assert torch.allclose(sig.double(), torch.tensor(json.loads(out.read_text())["comfyui"]["sigmas"], dtype=torch.float64))
    (tmp_path / "manual.txt").write_text(manual)
    assert torch.allclose(node.get_sigmas(str(tmp_path / "manual.txt"))[0], sig, rtol=1e-6)
    (sig2,) = node.get_sigmas(str(out.with_name("s.sigmas.txt")))           # the plain σ list also reads
    assert sig2.numel() == 5
    assert nodes.ArtlibSchedule.CATEGORY == "sampling/custom_sampling/schedulers"
    (tmp_path / "bad.txt").write_text("1, 2, 0")
    with pytest.raises(ValueError, match="strictly decreasing"):
        node.get_sigmas(str(tmp_path / "bad.txt"))
    with pytest.raises(ValueError, match="file not found"):
        node.get_sigmas(str(tmp_path / "missing.json"))


def test_model_identity_hashes_every_file_of_the_pipeline(models, tmp_path):
    from artlib.models import model_identity
    folder = _copy(models["vp-eps"].removeprefix("diffusers:"), tmp_path / "m")
    a = model_identity(f"diffusers:{folder}")["model_sha256"]
    _edit_config(folder / "scheduler" / "scheduler_config.json", beta_end=0.03)
    assert model_identity(f"diffusers:{folder}")["model_sha256"] != a
    assert dm.identity_files(str(folder))[0].endswith("config.json")


@pytest.mark.parametrize("family", ["vp-v", "sd", "flow-unet", "flux"])
def test_the_pipeline_loop_equals_artlib(models, family):
    # DiffusersDenoiser.run_scheduler: the loop the pipelines above run, with artlib's model strings
    den = load_model(models[family])
    x, labels = seeded_batch(den, range(2))
    s = grid(den, 5)
    cls = "FlowMatchEulerDiscreteScheduler" if den.kind == "flow" else "EulerDiscreteScheduler"
    sched = getattr(diffusers, cls).from_config(den.scheduler.config)
    set_diffusers_schedule(sched, s)
    theirs = den.run_scheduler(sched, x, float(s[0]), labels)
    assert rel(theirs, sample(den, x, s, solver="euler", class_labels=labels)) < RTOL
