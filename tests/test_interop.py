"""Round trips: an exported schedule run by diffusers' schedulers and k-diffusion's samplers gives
artlib's endpoint from the same noise. These are the code the book's "use a schedule elsewhere"
section shows. Skipped (with the reason) where diffusers or k-diffusion is not installed; the
README's test command installs both (requirements-interop.txt)."""

import pytest
import torch

from artlib.core.errors import ArtlibError
from artlib.export.diffusers import betas_for_sigmas, diffusers_heun_timesteps, set_diffusers_schedule
from artlib.models import load_model
from artlib.core.samplers import initial_noise, sample
from artlib.core.schedules import load_schedule

diffusers = pytest.importorskip("diffusers", reason="diffusers is not installed (pip install -r requirements-interop.txt)")
pytest.importorskip("k_diffusion.sampling", reason="k-diffusion is not installed (see requirements-interop.txt)")

#: float32 round-off, accumulated over the steps: diffusers keeps σ and its step arithmetic in float32
FLOAT32_RTOL = 2e-5   # measured: 1.6e-6 (Euler), 4.1e-6 (Heun) on the digits stand-in, K = 6


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A GITS grid for the digits stand-in, exported by the CLI as a user would."""
    from artlib.cli import main
    out = tmp_path_factory.mktemp("export") / "digits-gits.json"
    assert main(["schedule", "--model", "digits", "--schedule", "gits:points=31,batch=16", "--K", "6",
                 "--out", str(out), "--quiet"]) == 0
    return out


def _start(den, n=8):
    return initial_noise(den, n, torch.Generator().manual_seed(0))


def _example():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "use_elsewhere.py"
    spec = importlib.util.spec_from_file_location("use_elsewhere", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_books_example_matches_artlib_in_every_sampler(exported):
    """examples/use_elsewhere.py, shown in the book: k-diffusion to float64 round-off, diffusers to
    its float32 arithmetic's."""
    out = _example().run_everywhere(str(exported.with_name("digits-gits.sigmas.txt")), "digits", 8)
    den = load_model("digits")
    sigmas, _ = load_schedule(exported)
    x = _start(den)
    for solver in ("euler", "heun"):
        ours = sample(den, x, sigmas, solver=solver)
        assert torch.allclose(out[f"k-diffusion {solver}"], ours, rtol=1e-12, atol=1e-12)
        err = float((out[f"diffusers {solver}"] - ours).abs().max() / ours.abs().max())
        assert err < FLOAT32_RTOL
        # the tolerance is not loose: artlib's endpoint on EDM's grid of the same K is far outside it
        from artlib.core.schedules import edm_sigmas
        edm = sample(den, x, edm_sigmas(sigmas.numel() - 1, den.sigma_min, den.sigma_max), solver=solver)
        assert float((edm - ours).abs().max() / ours.abs().max()) > 100 * FLOAT32_RTOL


@pytest.mark.parametrize("solver", ["euler", "heun"])
def test_diffusers_spends_the_nfe_artlib_counts(exported, solver):
    sigmas, _ = load_schedule(exported)
    cls = diffusers.EulerDiscreteScheduler if solver == "euler" else diffusers.HeunDiscreteScheduler
    sch = cls(trained_betas=betas_for_sigmas(1e-3, 100.0).tolist(), prediction_type="epsilon")
    set_diffusers_schedule(sch, sigmas)
    K = sigmas.numel() - 1
    assert len(sch.timesteps) == (K if solver == "euler" else 2 * K - 1)


def test_euler_scheduler_takes_the_list_with_its_final_zero():
    sigmas = torch.tensor([80.0, 10.0, 1.0, 0.1, 0.0], dtype=torch.float64)
    sch = diffusers.EulerDiscreteScheduler(prediction_type="epsilon")
    sch.set_timesteps(sigmas=sigmas.tolist())
    assert len(sch.timesteps) == 4 and torch.allclose(sch.sigmas.double(), sigmas)
    sch.set_timesteps(sigmas=sigmas[:-1].tolist())      # without the 0, the last real step is lost
    assert len(sch.timesteps) == 3


def test_heun_timesteps_reproduce_the_grid_and_out_of_range_is_refused():
    sigmas = torch.tensor([80.0, 10.0, 1.0, 0.1, 0.002, 0.0], dtype=torch.float64)
    sch = diffusers.HeunDiscreteScheduler(trained_betas=betas_for_sigmas(1e-3, 100.0).tolist())
    t = diffusers_heun_timesteps(sch, sigmas)
    set_diffusers_schedule(sch, sigmas)
    assert torch.allclose(torch.cat([sch.sigmas[:1], sch.sigmas[1::2]]).double(), sigmas, rtol=1e-5)
    assert t[0] > t[-1]
    default = diffusers.HeunDiscreteScheduler()       # linear betas: σ from about 0.01 to 157
    with pytest.raises(ArtlibError, match=r"outside this scheduler's training range"):
        set_diffusers_schedule(default, sigmas)
