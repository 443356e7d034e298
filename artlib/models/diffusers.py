"""Models from diffusers folders behind EDM's protocol: ``diffusers:DIR[,key=value,...]``.

DIR is a pipeline folder (``unet/`` or ``transformer/`` beside ``scheduler/``) or a model folder
(``config.json`` and its safetensors) with ``scheduler=DIR`` naming a scheduler folder. Loading is
offline (``local_files_only``) and safetensors only: artlib never unpickles, so a folder with only
``.bin`` weights is refused. The classes come from the configs' ``_class_name``.

Two families of noise schedule, each mapped to EDM's σ (x = x₀ + σε, D(x; σ) the denoiser):

* **VP-discrete** (DDPM, DDIM, Euler, Heun, DPM-Solver, UniPC, ... scheduler configs): the training
  table σ_t = √((1 − ᾱ_t)/ᾱ_t), t = 0 … N−1; the network sees x/√(σ² + 1) at the timestep t(σ),
  interpolated linearly in log σ as k-diffusion and diffusers do (``quantize=1``: the nearest
  training timestep). ε-prediction: D = x − σ·out; v-prediction: D = x/(σ² + 1) − σ/√(σ² + 1)·out;
  sample-prediction: D = out. σ_min and σ_max are the table's ends.
* **Flow matching** (``FlowMatchEulerDiscreteScheduler``): the network's flow time is t = σ/(1 + σ)
  (timestep 1000·t), its input x_t = x/(1 + σ) and its output the velocity ε − x₀, so
  D = x_t − t·out. A scheduler's ``shift`` belongs to the scheduler: in σ it multiplies σ, so the
  model's own σ is unshifted. t = 1 is σ = ∞: σ_max is capped at N − 1 (the flow time 1 − 1/N,
  the training grid's last point below 1) unless ``sigma_max=`` says otherwise; σ_min = 1/(N − 1).

Text-conditioned networks (``UNet2DConditionModel``, ``SD3Transformer2DModel``,
``FluxTransformer2DModel``) take their prompt embeddings from a safetensors file,
``prompt=EMB.safetensors`` (``prompt_embeds`` [P, L, D], and ``pooled_prompt_embeds`` [P, D'] for SD3
and Flux); ``negative=NEG.safetensors`` and ``guidance=W`` give classifier-free guidance, both
branches in one batched call. artlib runs no text encoder. With P > 1 prompts the model is
conditional on the prompt index (``label_dim`` = P): each seed draws its prompt as EDM draws a class,
and a schedule learned on it is for that prompt set. Keys: ``scheduler``, ``quantize``, ``prompt``,
``negative``, ``guidance``, ``sigma_max``, ``size`` (the latent side, for Flux), ``flux_guidance``
(Flux's embedded guidance, default 3.5) and ``dtype`` (``float32`` or ``float64``).

Forward-mode AD through diffusers' attention: torch's CPU flash attention has no JVP rule; the Q
oracle (``artlib.art.dynamics``) runs its JVPs with the math backend of scaled-dot-product attention.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..core.errors import ArtlibError
from ..core.io import TORCH_MAX_BYTES, check_input_file, read_json

#: Networks artlib can call, and whether they take text embeddings.
NETWORKS = {"UNet2DModel": False, "UNet2DConditionModel": True, "SD3Transformer2DModel": True,
            "FluxTransformer2DModel": True}
#: Schedulers whose config defines a VP-discrete table (betas → ᾱ_t).
VP_SCHEDULERS = ("DDPMScheduler", "DDIMScheduler", "PNDMScheduler", "EulerDiscreteScheduler",
                 "EulerAncestralDiscreteScheduler", "HeunDiscreteScheduler", "LMSDiscreteScheduler",
                 "DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "UniPCMultistepScheduler",
                 "KDPM2DiscreteScheduler", "DEISMultistepScheduler")
FLOW_SCHEDULERS = ("FlowMatchEulerDiscreteScheduler",)
PREDICTIONS = ("epsilon", "v_prediction", "sample")
KEYS = ("scheduler", "quantize", "prompt", "negative", "guidance", "sigma_max", "size", "flux_guidance", "dtype")


@dataclass(frozen=True)
class Spec:
    """A checked ``diffusers:`` string: what to load and how, decided before any network is built."""
    model_dir: Path
    model_class: str
    model_config: dict
    scheduler_class: str
    scheduler_config: dict
    kind: str                      # "vp" or "flow"
    prediction: str                # epsilon, v_prediction, sample or flow
    options: dict = field(default_factory=dict)


def _split(rest: str, what: str) -> tuple[str, dict[str, str]]:
    """``DIR[,k=v,...]`` → (DIR, {k: v}); values stay strings."""
    head, *parts = rest.split(",")
    opts: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in parts)):
        key, eq, val = part.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ArtlibError(f"{what}: expected key=value after the folder, got {part!r}")
        if key not in KEYS:
            raise ArtlibError(f"{what}: unknown option {key!r}; allowed: {', '.join(KEYS)}")
        if key in opts:
            raise ArtlibError(f"{what}: {key} is given twice")
        opts[key] = val.strip()
    if not head.strip():
        raise ArtlibError(f"{what}: give the folder, diffusers:DIR")
    return head.strip(), opts


def _number(opts: dict, key: str, what: str, lo: float, hi: float, default: float | None) -> float | None:
    if key not in opts:
        return default
    try:
        v = float(opts[key])
    except ValueError:
        raise ArtlibError(f"{what}: {key}={opts[key]!r} is not a number") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ArtlibError(f"{what}: {key} must be from {lo:g} to {hi:g}, got {opts[key]}")
    return v


def _config(folder: Path, name: str, what: str) -> dict:
    path = folder / name
    if not path.is_file():
        raise ArtlibError(f"{what}: no {name} in {folder}")
    cfg = read_json(path, f"{what}: {name}")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("_class_name"), str):
        raise ArtlibError(f"{what}: {path} has no _class_name")
    return cfg


def _folders(root: Path, opts: dict, what: str) -> tuple[Path, Path]:
    """(model folder, scheduler folder) of a pipeline folder or of a model folder + scheduler=DIR."""
    if not root.is_dir():
        raise ArtlibError(f"{what}: {root} is not a folder")
    model_dir = next((root / sub for sub in ("unet", "transformer") if (root / sub / "config.json").is_file()), None)
    if model_dir is None:
        if not (root / "config.json").is_file():
            raise ArtlibError(f"{what}: {root} holds neither unet/ nor transformer/ nor a model's config.json")
        model_dir = root
    sched = Path(opts["scheduler"]) if "scheduler" in opts else root / "scheduler"
    if not (sched / "scheduler_config.json").is_file():
        raise ArtlibError(f"{what}: no scheduler config ({sched / 'scheduler_config.json'} is missing); "
                          "give scheduler=DIR, a folder with scheduler_config.json")
    return model_dir, sched


def _weights(model_dir: Path, what: str) -> None:
    """The folder must hold safetensors weights (pickled .bin weights are never loaded)."""
    if any(model_dir.glob("*.safetensors")) or any(model_dir.glob("*.safetensors.index.json")):
        return
    if any(model_dir.glob("*.bin")):
        raise ArtlibError(f"{what}: {model_dir} has only .bin weights (pickles, which artlib never loads); "
                          "save them as safetensors (save_pretrained(..., safe_serialization=True))")
    raise ArtlibError(f"{what}: {model_dir} has no safetensors weights")


def _schedule_kind(cfg: dict, what: str) -> tuple[str, str]:
    """(kind, prediction) of a scheduler config, refusing what artlib's ODE cannot sample."""
    name = cfg["_class_name"]
    if name in FLOW_SCHEDULERS:
        if cfg.get("invert_sigmas") or cfg.get("stochastic_sampling"):
            raise ArtlibError(f"{what}: {name} with invert_sigmas or stochastic_sampling is not a flow ODE artlib samples")
        return "flow", "flow"
    if name not in VP_SCHEDULERS:
        raise ArtlibError(f"{what}: scheduler {name} is not supported; supported: "
                          f"{', '.join(VP_SCHEDULERS + FLOW_SCHEDULERS)}")
    prediction = cfg.get("prediction_type", "epsilon")
    if prediction not in PREDICTIONS:
        raise ArtlibError(f"{what}: prediction_type {prediction!r} is not supported; supported: {', '.join(PREDICTIONS)}")
    if cfg.get("thresholding"):
        raise ArtlibError(f"{what}: the scheduler uses dynamic thresholding, which is not the probability-flow "
                          "ODE; set thresholding to false in scheduler_config.json")
    if cfg.get("clip_sample"):
        raise ArtlibError(f"{what}: the scheduler clips its x0 prediction (clip_sample=true), which is not the "
                          "probability-flow ODE; set clip_sample to false in scheduler_config.json")
    return "vp", prediction


def parse(rest: str, what: str = "diffusers") -> Spec:
    """Check a ``diffusers:`` string before any network is built: the folders, configs, classes,
    weights, prediction type, the refused scheduler settings and the prompt files."""
    head, opts = _split(rest, what)
    model_dir, sched_dir = _folders(Path(head).expanduser(), opts, what)
    mcfg, scfg = _config(model_dir, "config.json", what), _config(sched_dir, "scheduler_config.json", what)
    if mcfg["_class_name"] not in NETWORKS:
        raise ArtlibError(f"{what}: network {mcfg['_class_name']} is not supported; supported: {', '.join(NETWORKS)}")
    _weights(model_dir, what)
    kind, prediction = _schedule_kind(scfg, what)
    if opts.get("quantize", "0") not in ("0", "1"):
        raise ArtlibError(f"{what}: quantize must be 0 or 1, got {opts['quantize']!r}")
    if mcfg.get("time_embedding_type") == "learned" and opts.get("quantize") != "1":
        raise ArtlibError(f"{what}: the network's time embedding is a learned table of integer timesteps; "
                          "add quantize=1 to condition it on the nearest training timestep")
    _number(opts, "sigma_max", what, 1e-3, 1e6, None)
    if kind == "vp" and "sigma_max" in opts:
        raise ArtlibError(f"{what}: sigma_max= caps a flow model's σ (t = 1 is σ = ∞); a VP model's σ range is "
                          "its scheduler's table")
    if "size" in opts and not (opts["size"].isdigit() and 1 <= int(opts["size"]) <= 4096):
        raise ArtlibError(f"{what}: size must be an integer from 1 to 4096, got {opts['size']!r}")
    _number(opts, "flux_guidance", what, 0, 1e3, None)
    if opts.get("dtype", "float32") not in ("float32", "float64"):
        raise ArtlibError(f"{what}: dtype must be float32 or float64, got {opts['dtype']!r}")
    spec = Spec(model_dir, mcfg["_class_name"], mcfg, scfg["_class_name"], scfg, kind, prediction, opts)
    _check_conditioning(spec, what)
    return spec


def _check_conditioning(spec: Spec, what: str) -> None:
    """Prompt files exist and fit the network's config; guidance needs a negative prompt."""
    opts, text = spec.options, NETWORKS[spec.model_class]
    if not text:
        for key in ("prompt", "negative", "guidance"):
            if key in opts:
                raise ArtlibError(f"{what}: {key}= is for text-conditioned networks; {spec.model_class} takes none")
        return
    if "prompt" not in opts:
        raise ArtlibError(f"{what}: {spec.model_class} is text-conditioned; give prompt=EMB.safetensors "
                          "(prompt_embeds [P, L, D] from the pipeline's encode_prompt)")
    guidance = _number(opts, "guidance", what, 0, 1e3, None)
    if guidance is not None and "negative" not in opts:
        raise ArtlibError(f"{what}: guidance={opts['guidance']} needs negative=NEG.safetensors (the unconditional branch)")
    if "negative" in opts and guidance is None:
        raise ArtlibError(f"{what}: negative= needs guidance=W")
    prompts = _embeddings(opts["prompt"], spec, what, "prompt")
    if "negative" in opts:
        neg = _embeddings(opts["negative"], spec, what, "negative")
        for key in prompts:
            if neg[key][1:] != prompts[key][1:]:
                raise ArtlibError(f"{what}: negative {key} has shape {list(neg[key])}, the prompt's {list(prompts[key])}")
            if neg[key][0] not in (1, prompts[key][0]):
                raise ArtlibError(f"{what}: the negative file holds {neg[key][0]} prompts; give 1 or {prompts[key][0]}")


def _embeddings(path: str, spec: Spec, what: str, role: str) -> dict[str, tuple[int, ...]]:
    """The shapes in a prompt file, checked against the network's config."""
    from safetensors import safe_open
    check_input_file(path, f"{what}: {role}", TORCH_MAX_BYTES)
    try:
        with safe_open(path, framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:   # safetensors raises its own error types for foreign files
        raise ArtlibError(f"{what}: {role} file {path} is not a safetensors file ({type(e).__name__})") from None
    cfg = spec.model_config
    width = {"UNet2DConditionModel": cfg.get("cross_attention_dim"), "SD3Transformer2DModel": cfg.get("joint_attention_dim"),
             "FluxTransformer2DModel": cfg.get("joint_attention_dim")}[spec.model_class]
    need = {"prompt_embeds": 3}
    if spec.model_class != "UNet2DConditionModel":
        need["pooled_prompt_embeds"] = 2
    for key, ndim in need.items():
        if key not in shapes:
            raise ArtlibError(f"{what}: {role} file {path} has no {key!r} (has {', '.join(shapes) or 'nothing'})")
        if len(shapes[key]) != ndim or min(shapes[key]) < 1:
            raise ArtlibError(f"{what}: {role} {key} must be {ndim}-D, got shape {list(shapes[key])}")
    if shapes["prompt_embeds"][-1] != width:
        raise ArtlibError(f"{what}: {role} prompt_embeds have width {shapes['prompt_embeds'][-1]}, the network "
                          f"expects {width}")
    if "pooled_prompt_embeds" in need and shapes["pooled_prompt_embeds"][-1] != cfg.get("pooled_projection_dim"):
        raise ArtlibError(f"{what}: {role} pooled_prompt_embeds have width {shapes['pooled_prompt_embeds'][-1]}, "
                          f"the network expects {cfg.get('pooled_projection_dim')}")
    if "pooled_prompt_embeds" in need and shapes["pooled_prompt_embeds"][0] != shapes["prompt_embeds"][0]:
        raise ArtlibError(f"{what}: {role} file holds {shapes['prompt_embeds'][0]} prompt_embeds but "
                          f"{shapes['pooled_prompt_embeds'][0]} pooled_prompt_embeds")
    return {k: shapes[k] for k in need}


def _scheduler(spec: Spec):
    import diffusers
    return getattr(diffusers, spec.scheduler_class).from_config(spec.scheduler_config)


def vp_table(scheduler) -> torch.Tensor:
    """σ_t = √((1 − ᾱ_t)/ᾱ_t) of a VP scheduler's training table, t = 0 … N−1, computed in float32 as
    diffusers computes it, returned in float64 [N]."""
    ac = scheduler.alphas_cumprod.to(torch.float32)
    return (((1 - ac) / ac) ** 0.5).to(torch.float64)


def load(rest: str, what: str = "diffusers") -> "DiffusersDenoiser":
    """Build the denoiser of a ``diffusers:`` string (``parse`` first, then the network)."""
    spec = parse(rest, what)
    import diffusers
    from diffusers.utils import logging as dlogging
    cls = getattr(diffusers, spec.model_class)
    level = dlogging.get_verbosity()
    dlogging.set_verbosity_error()     # its advice to install accelerate is not the user's business here
    try:
        net = cls.from_pretrained(spec.model_dir, local_files_only=True, use_safetensors=True,
                                  low_cpu_mem_usage=False).to(_dtype(spec))   # every module: a float64 reference
    except (OSError, ValueError, RuntimeError) as e:
        raise ArtlibError(f"{what}: cannot load {spec.model_class} from {spec.model_dir} "
                          f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    finally:
        dlogging.set_verbosity(level)
    return DiffusersDenoiser(spec, net, _scheduler(spec), _conditioning(spec))


def _dtype(spec: Spec) -> torch.dtype:
    return torch.float64 if spec.options.get("dtype") == "float64" else torch.float32


def _conditioning(spec: Spec) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file
    out = {}
    for role in ("prompt", "negative"):
        if role in spec.options:
            for key, value in load_file(spec.options[role]).items():
                if key in ("prompt_embeds", "pooled_prompt_embeds"):
                    out[f"{role}:{key}"] = value
    return out


class DiffusersDenoiser:
    """A diffusers network and its scheduler's noise schedule as D(x, σ, class_labels): float64 in and
    out, the network's dtype inside (module docstring)."""

    def __init__(self, spec: Spec, net, scheduler, conditioning: dict[str, torch.Tensor], device="cpu"):
        self.spec, self.scheduler, self.device = spec, scheduler, torch.device(device)
        self.dtype = _dtype(spec)
        self.net = net.eval().requires_grad_(False).to(device=self.device)
        self.cond = {k: v.to(device=self.device, dtype=self.dtype) for k, v in conditioning.items()}
        self.kind, self.prediction, self.quantize = spec.kind, spec.prediction, spec.options.get("quantize") == "1"
        self.guidance = float(spec.options["guidance"]) if "guidance" in spec.options else None
        self.N = int(scheduler.config.num_train_timesteps)
        if self.kind == "vp":
            self.table = vp_table(scheduler).to(self.device)
            self.log_table = self.table.log()
            self.sigma_min, self.sigma_max = float(self.table[0]), float(self.table[-1])
            self.prior_std = math.sqrt(self.sigma_max ** 2 + 1)
        else:
            self.sigma_min = 1.0 / (self.N - 1)
            self.sigma_max = _number(spec.options, "sigma_max", "diffusers", 2 * self.sigma_min, 1e6, self.N - 1.0)
            self.prior_std = 1.0 + self.sigma_max
        self.shape = self._shape()
        prompts = self.cond["prompt:prompt_embeds"].shape[0] if "prompt:prompt_embeds" in self.cond else 1
        self.label_dim = int(self.net.config.get("num_class_embeds") or 0) or (prompts if prompts > 1 else 0)

    def _shape(self) -> tuple[int, int, int]:
        cfg = self.net.config
        size = int(self.spec.options.get("size", 0)) or cfg.get("sample_size")
        if not size:
            raise ArtlibError(f"{self.spec.model_class} has no sample_size; give size=S (the latent side)")
        size = size if isinstance(size, int) else int(size[0])
        channels = cfg["in_channels"] // (4 if self.spec.model_class == "FluxTransformer2DModel" else 1)
        return channels, size, size

    def to(self, device) -> "DiffusersDenoiser":
        """The same network on ``device``."""
        cond = {k: v.cpu() for k, v in self.cond.items()}
        return DiffusersDenoiser(self.spec, self.net, self.scheduler, cond, device)

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        """The network's timestep at σ [B] (float64): VP, t(σ) by log-linear interpolation of the table
        (or the nearest training timestep); flow, 1000·σ/(1 + σ)."""
        if self.kind == "flow":
            return self.N * sigma / (1 + sigma)
        ls = sigma.clamp(self.sigma_min, self.sigma_max).log()
        hi = torch.searchsorted(self.log_table, ls.detach()).clamp(1, self.N - 1)
        lo = hi - 1
        w = (ls - self.log_table[lo]) / (self.log_table[hi] - self.log_table[lo])
        t = lo.to(torch.float64) + w
        return t.round() if self.quantize else t

    def __call__(self, x: torch.Tensor, sigma, class_labels=None) -> torch.Tensor:
        sig = torch.as_tensor(sigma, dtype=torch.float64, device=x.device)
        sig = sig.expand(x.shape[0]) if sig.ndim == 0 else sig
        s = sig.reshape(-1, *([1] * (x.ndim - 1)))
        x = x.to(torch.float64)
        if self.kind == "flow":
            t = s / (1 + s)
            x_in = x / (1 + s)
        else:
            x_in = x / (s ** 2 + 1).sqrt()
        out = self._network(x_in, self.timestep(sig), class_labels)
        if self.kind == "flow":
            return x_in - t * out
        if self.prediction == "epsilon":
            return x - s * out
        if self.prediction == "v_prediction":
            return x / (s ** 2 + 1) - s / (s ** 2 + 1).sqrt() * out
        return out

    def _network(self, x_in: torch.Tensor, t: torch.Tensor, class_labels) -> torch.Tensor:
        """The network's output at (x_in, t) in float64, guided when a negative prompt is given."""
        guided = self.guidance is not None
        index = self._labels(class_labels, x_in.shape[0], x_in.device)
        xs, ts = (torch.cat([x_in, x_in]), torch.cat([t, t])) if guided else (x_in, t)
        out = self._call(xs.to(self.dtype), ts.to(self.dtype), index, guided).to(torch.float64)
        if not guided:
            return out
        cond, uncond = out.chunk(2)
        return uncond + self.guidance * (cond - uncond)

    def _labels(self, class_labels, n: int, device) -> torch.Tensor | None:
        """The class or prompt index of each sample [n], from EDM's one-hot labels."""
        if not self.label_dim:
            return None
        if class_labels is None:
            raise ArtlibError("this diffusers model is conditional (classes or several prompts); give class "
                              "labels (the samplers draw them per seed)")
        return class_labels.argmax(-1).to(device)

    def _text(self, role: str, key: str, index, n: int) -> torch.Tensor:
        emb = self.cond[f"{role}:{key}"]
        if emb.shape[0] == 1:
            return emb.expand(n, *emb.shape[1:])
        return emb[index] if index is not None else emb[torch.zeros(n, dtype=torch.long, device=emb.device)]

    def _call(self, x: torch.Tensor, t: torch.Tensor, index, guided: bool) -> torch.Tensor:
        name, n = self.spec.model_class, x.shape[0] // (2 if guided else 1)
        if name == "UNet2DModel":
            return self.net(x, t, class_labels=index).sample
        emb = {k: (torch.cat([self._text("prompt", k, index, n), self._text("negative", k, index, n)]) if guided
                   else self._text("prompt", k, index, n)) for k in ("prompt_embeds", "pooled_prompt_embeds")
               if f"prompt:{k}" in self.cond}
        if name == "UNet2DConditionModel":
            return self.net(x, t, encoder_hidden_states=emb["prompt_embeds"]).sample
        if name == "SD3Transformer2DModel":
            return self.net(hidden_states=x, encoder_hidden_states=emb["prompt_embeds"],
                            pooled_projections=emb["pooled_prompt_embeds"], timestep=t).sample
        return self._flux(x, t, emb)

    def _flux(self, x: torch.Tensor, t: torch.Tensor, emb: dict) -> torch.Tensor:
        """Flux packs 2×2 latent patches into tokens and takes its flow time in [0, 1]."""
        b, c, h, w = x.shape
        packed = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(b, (h // 2) * (w // 2), c * 4)
        ids = torch.zeros(h // 2, w // 2, 3, dtype=x.dtype, device=x.device)
        ids[..., 1] += torch.arange(h // 2, device=x.device)[:, None]
        ids[..., 2] += torch.arange(w // 2, device=x.device)[None, :]
        txt = torch.zeros(emb["prompt_embeds"].shape[1], 3, dtype=x.dtype, device=x.device)
        g = None
        if self.net.config.get("guidance_embeds"):
            g = torch.full((b,), float(self.spec.options.get("flux_guidance", 3.5)), dtype=x.dtype, device=x.device)
        out = self.net(hidden_states=packed, encoder_hidden_states=emb["prompt_embeds"],
                       pooled_projections=emb["pooled_prompt_embeds"], timestep=t / self.N,
                       img_ids=ids.reshape(-1, 3), txt_ids=txt, guidance=g).sample
        return out.view(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


    @torch.no_grad()
    def run_scheduler(self, scheduler, x: torch.Tensor, sigma: float, class_labels=None) -> torch.Tensor:
        """A diffusers pipeline's denoising loop with ``scheduler`` (its ``set_timesteps`` done): from x
        at σ (artlib's convention, x = x₀ + σε; a flow pipeline's latents are x/(1 + σ)), scale the
        input, call the network at each timestep and step; returns the endpoint [B, ...]."""
        xx = (x / (1 + sigma) if self.kind == "flow" else x).to(self.dtype)
        for t in scheduler.timesteps:
            ts = t.to(torch.float64).expand(x.shape[0])
            inp = scheduler.scale_model_input(xx, t) if hasattr(type(scheduler), "scale_model_input") else xx
            out = self._network(inp.to(torch.float64), ts, class_labels).to(self.dtype)
            xx = scheduler.step(out, t, xx).prev_sample
        return xx.to(torch.float64)


def identity_files(rest: str) -> list[str]:
    """The files a ``diffusers:`` string's model is made of (hashed into work-folder manifests): the
    network's config and weights, the scheduler's config and the prompt files."""
    head, opts = _split(rest, "diffusers")
    model_dir, sched = _folders(Path(head).expanduser(), opts, "diffusers")
    files = [model_dir / "config.json", *sorted(model_dir.glob("*.safetensors")), sched / "scheduler_config.json"]
    return [str(f) for f in files] + [opts[k] for k in ("prompt", "negative") if k in opts]

