"""The ART environment (paper §2, eqs. (4), (7)–(8); the EDM form is derived on the book's method page).

State (x, ψ) per sample; control θ. One step of the clock t is the explicit Euler step of
ẋ = θ F(x, ψ), ψ̇ = θ with ψ kept in [0, T], T = σ_max and σ = T − ψ. The local-error proxy is

    Q = d²x̃/dτ² = (∇ₓD · F − ∂_σD) / σ,

i.e. one forward-mode JVP of the denoiser with the joint tangent (dx = F, dσ = −1). Where the
network has an operation without a forward-mode rule (EDM's U-Nets compute attention weights in a
custom autograd Function with a backward pass only), Q is a central difference along the same
tangent with a step of 10⁻³ σ, and a warning says so once.
The environment knows nothing of networks or optimisers.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
import torch.autograd.forward_ad as fwAD

from .denoisers import per_sample
from .errors import ArtlibError
from .options import check_K

# torch's forward-mode AD registers its decompositions through torch.jit.script on first use,
# which warns on every run (an upstream deprecation that users cannot act on).
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

FEATURES = ("time", "state")


class ARTEnv:
    """Batched ART dynamics on K clock steps of Δt = T/K for one denoiser."""

    def __init__(self, denoiser, K: int, *, class_labels: torch.Tensor | None = None):
        self.denoiser = denoiser
        self.K = check_K(K)
        self.T = float(denoiser.sigma_max)
        self.dt = self.T / self.K
        self.class_labels = class_labels
        self.device = torch.device(getattr(denoiser, "device", "cpu"))   # rollouts run where the model is
        # σ = 0 (ψ = T) makes Q a 0/0; evaluate there at a floor instead (σ_min for real models).
        self.sigma_floor = float(denoiser.sigma_min) if denoiser.sigma_min > 0 else 1e-6 * self.T
        self.difference_q = False   # set when the denoiser has no forward-mode rule for some op

    @property
    def t_grid(self) -> torch.Tensor:
        """The clock's steps t_k = k T/K, k = 0 … K [K+1]."""
        return torch.arange(self.K + 1, dtype=torch.float64, device=self.device) * self.dt

    def sigma(self, psi: torch.Tensor) -> torch.Tensor:
        """σ = T − ψ at which D and Q are evaluated, floored away from 0 [B]."""
        return (self.T - psi).clamp(min=self.sigma_floor, max=self.T)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, class_labels=None) -> torch.Tensor:
        """D(x; σ) in float64 [B, ...], with the environment's labels unless others are given."""
        labels = self.class_labels if class_labels is None else class_labels
        return self.denoiser(x, sigma, labels).to(torch.float64)

    def drift_and_q(self, x: torch.Tensor, psi: torch.Tensor,
                    class_labels=None) -> tuple[torch.Tensor, torch.Tensor]:
        """F(x, ψ) [B, ...] and the proxy vector Q [B, ...]: one forward pass plus one JVP."""
        sig = self.sigma(psi)
        s = per_sample(sig, x)
        f = (self.denoise(x, sig, class_labels) - x) / s
        den = lambda x_, s_: self.denoise(x_, s_, class_labels)   # noqa: E731
        if not self.difference_q:
            try:
                return f, _jvp(den, (x, sig), (f, -torch.ones_like(sig))) / s
            except NotImplementedError:   # a custom autograd Function without a jvp rule
                self.difference_q = True
                warnings.warn("the denoiser has an operation without forward-mode AD; Q is computed "
                              "by central differences along (F, -1) instead of a JVP", stacklevel=2)
        h = 1e-3 * sig
        hs = per_sample(h, x)
        return f, (den(x + hs * f, sig - h) - den(x - hs * f, sig + h)) / (2 * hs) / s

    def drift(self, x: torch.Tensor, psi: torch.Tensor, class_labels=None) -> torch.Tensor:
        """F(x, ψ) alone: one forward pass [B, ...]."""
        sig = self.sigma(psi)
        return (self.denoise(x, sig, class_labels) - x) / per_sample(sig, x)

    def q_three_queries(self, x: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The paper's path to the same (F, Q): a forward pass, a JVP in x (∇ₓD·F) and a separate
        time-derivative query ∂_σD (a second JVP). The reference the one-JVP path is measured against."""
        sig = self.sigma(psi)
        s = per_sample(sig, x)
        f = (self.denoise(x, sig) - x) / s
        dx = _jvp(lambda x_: self.denoise(x_, sig), (x,), (f,))
        ds = _jvp(lambda s_: self.denoise(x, s_), (sig,), (torch.ones_like(sig),))
        return f, (dx - ds) / s

    def q_norm(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """|Q| per sample (Euclidean norm) [B]."""
        return self.drift_and_q(x, psi)[1].flatten(1).norm(dim=1)

    def step(self, x: torch.Tensor, psi: torch.Tensor, theta: torch.Tensor,
             f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Explicit Euler of (4) under θ [B]: ψ moves by θΔt, clamped to [0, T]; x follows ψ."""
        psi_next = (psi + theta * self.dt).clamp(0.0, self.T)
        return x + per_sample(psi_next - psi, x) * f, psi_next

    def features(self, kind: str, t: torch.Tensor, x: torch.Tensor, psi: torch.Tensor,
                 q: torch.Tensor) -> torch.Tensor:
        """Inputs of actor/critic [B, n]. ``time``: (t/T, ψ/T). ``state`` adds log‖x‖_rms and log|Q|."""
        base = [t / self.T, psi / self.T]
        if kind == "time":
            return torch.stack(base, 1)
        if kind == "state":
            rms = x.flatten(1).pow(2).mean(1).sqrt()
            return torch.stack(base + [torch.log(rms + 1e-12) / 5, torch.log(q + 1e-12) / 10], 1)
        raise ArtlibError(f"unknown feature set {kind!r}; choose one of {', '.join(FEATURES)}")


def _jvp(fn: Callable, primals: tuple, tangents: tuple) -> torch.Tensor:
    """The directional derivative of fn at primals along tangents, by forward-mode AD (dual
    tensors; cheaper per call than ``torch.func.jvp`` on CPU, same numbers)."""
    with fwAD.dual_level():
        primal, tangent = fwAD.unpack_dual(fn(*(fwAD.make_dual(p, t) for p, t in zip(primals, tangents))))
        return torch.zeros_like(primal) if tangent is None else tangent   # None: fn ignores its inputs
