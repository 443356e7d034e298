"""The Q oracle: the drift F and the local-error proxy Q of one denoiser (paper §2, eqs. (7)–(8);
the EDM form is derived on the book's method page).

Positions are given on the reverse clock ψ ∈ [0, T], T = σ_max, at which D is evaluated at
σ = T − ψ, floored away from 0. The proxy is

    Q = d²x̃/dτ² = (∇ₓD · F − ∂_σD) / σ,

i.e. one forward-mode JVP of the denoiser with the joint tangent (dx = F, dσ = −1). Where the
network has an operation without a forward-mode rule (EDM's U-Nets compute attention weights in a
custom autograd Function with a backward pass only), Q is a central difference along the same
tangent with a step of ``FD_STEP``·σ, and a warning says so once. The oracle knows nothing of clocks,
policies or optimisers: the t-clock decision process (``artlib.art.tclock``), the ψ-clock learner
and the closed-form optimum all ask it.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
import torch.autograd.forward_ad as fwAD
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..core.samplers import per_sample

# torch's forward-mode AD registers its decompositions through torch.jit.script on first use,
# which warns on every run (an upstream deprecation that users cannot act on).
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)

#: The central difference's step, relative to σ: the step of least worst-case error against a
#: float64 JVP over float32 networks of four diffusers families at σ = 0.05 … 10 (measured in
#: tests/test_diffusers.py; truncation grows as h², float32 round-off as 1/h). At 3·10⁻⁴ the worst
#: was 1.1 % (most points below 0.2 %); 10⁻³ gave up to 1.5 %, 10⁻² up to 90 %.
FD_STEP = 3e-4


class QOracle:
    """F and Q of a denoiser at batched positions ψ [B] of the reverse clock."""

    def __init__(self, denoiser, *, class_labels: torch.Tensor | None = None):
        self.denoiser = denoiser
        self.T = float(denoiser.sigma_max)
        self.class_labels = class_labels
        self.device = torch.device(getattr(denoiser, "device", "cpu"))   # work runs where the model is
        # σ = 0 (ψ = T) makes Q a 0/0; evaluate there at a floor instead (σ_min for real models).
        self.sigma_floor = float(denoiser.sigma_min) if denoiser.sigma_min > 0 else 1e-6 * self.T
        self.difference_q = False   # set when the denoiser has no forward-mode rule for some op

    def sigma(self, psi: torch.Tensor) -> torch.Tensor:
        """σ = T − ψ at which D and Q are evaluated, floored away from 0 [B]."""
        return (self.T - psi).clamp(min=self.sigma_floor, max=self.T)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, class_labels=None) -> torch.Tensor:
        """D(x; σ) in float64 [B, ...], with the oracle's labels unless others are given."""
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
        h = FD_STEP * sig
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

    def heun_terms(self, x: torch.Tensor, psi: torch.Tensor,
                   class_labels=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """F, Q = x″, x‴ and R, the coefficient of Heun's local error [B, ...] each: EDM's Heun step
        of length h in τ from (x, σ) errs by h³R + O(h⁴) with R = (3 ∇ₓF·Q − x‴)/12 (the book's
        method page). x‴ = dQ/dτ along the path is a nested JVP, ∇ₓF·Q one more: 5 denoiser
        evaluations, counting each JVP level as one more."""
        sig = self.sigma(psi)
        s = per_sample(sig, x)
        down = -torch.ones_like(sig)

        def F(x_, s_):
            return (self.denoise(x_, s_, class_labels) - x_) / per_sample(s_, x_)

        def f_and_q(x_, s_):
            f_ = F(x_, s_)
            return f_, torch.func.jvp(F, (x_, s_), (f_, down))[1]
        f = (self.denoise(x, sig, class_labels) - x) / s
        # grad mode on: under no_grad, torch has no forward-over-forward rule for some activations
        # (silu's derivative, aten::silu_backward); the results still carry no graph
        with sdpa_kernel(SDPBackend.MATH), torch.enable_grad():
            (_, q), (_, x3) = torch.func.jvp(f_and_q, (x, sig), (f, down))
            fxq = torch.func.jvp(lambda x_: F(x_, sig), (x,), (q,))[1]
        return f, q, x3, (3 * fxq - x3) / 12

    def q_norm(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """|Q| per sample (Euclidean norm) [B]."""
        return self.drift_and_q(x, psi)[1].flatten(1).norm(dim=1)


def _jvp(fn: Callable, primals: tuple, tangents: tuple) -> torch.Tensor:
    """The directional derivative of fn at primals along tangents, by forward-mode AD (dual
    tensors; cheaper per call than ``torch.func.jvp`` on CPU, same numbers). Attention runs through
    the math backend of scaled-dot-product attention: torch's CPU flash kernel has no JVP rule."""
    with fwAD.dual_level(), sdpa_kernel(SDPBackend.MATH):
        primal, tangent = fwAD.unpack_dual(fn(*(fwAD.make_dual(p, t) for p, t in zip(primals, tangents))))
        return torch.zeros_like(primal) if tangent is None else tangent   # None: fn ignores its inputs
