"""The exact denoisers: Gaussian data and Gaussian mixtures behind EDM's protocol
``D(x, sigma, class_labels=None) -> x̂0`` (paper §2; EDM's parametrisation).

Everything downstream sees only this call plus ``sigma_min``, ``sigma_max``, ``shape`` (one
sample's shape) and ``prior_std`` (the std of the noise a sample starts from). These models have
exact D, so every error measured on them is the solver's alone.
"""
from __future__ import annotations

import copy
import math
import torch

from ..core.constants import SIGMA_MAX, SIGMA_MIN
from ..core.errors import ArtlibError
from ..core.io import check_input_file
from ..core.samplers import per_sample


class GaussianDenoiser:
    """Data N(0, c² I) in ``dim`` dimensions: D(x; σ) = c² x / (c² + σ²), exact.

    ``gauss1d`` is the paper's 1-D example (c = 1, dim = 1, T = σ_max = 3, σ_min = 0); the
    sample starts from the exact marginal N(0, c² + σ_max²), i.e. N(0, 10) there.
    """

    def __init__(self, c: float = 1.0, dim: int = 1, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX):
        if not 0 < c <= 1e6:
            raise ArtlibError(f"gaussian: c must be in (0, 1e6], got {c}")
        if not sigma_max <= 1e6:
            raise ArtlibError(f"gaussian: sigma_max must be at most 1e6, got {sigma_max}")
        if dim != int(dim) or dim < 1:
            raise ArtlibError(f"gaussian: dim must be a positive integer, got {dim}")
        if not 0 <= sigma_min < sigma_max:
            raise ArtlibError(f"gaussian: need 0 <= sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        self.c, self.dim = float(c), int(dim)
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.shape = (self.dim,)
        self.prior_std = math.sqrt(self.c ** 2 + self.sigma_max ** 2)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor | float, class_labels=None) -> torch.Tensor:
        s = per_sample(sigma, x)
        return self.c ** 2 / (self.c ** 2 + s ** 2) * x


class GMMDenoiser:
    """Exact denoiser of a Gaussian mixture Σ_j π_j N(μ_j, Σ_j) with full covariances.

    With Σ_j = U_j diag(λ_j) U_jᵀ, the posterior mean is
    D(x; σ) = Σ_j w_j(x) [μ_j + U_j diag(λ_j/(λ_j+σ²)) U_jᵀ (x − μ_j)],
    w_j ∝ π_j N(x; μ_j, Σ_j + σ² I). Data are vectors of length ``dim``; ``shape`` may be an image shape.
    With ``component_labels`` [J] (class of each component) the model is class-conditional: EDM's
    one-hot ``class_labels`` [B, label_dim] restrict the mixture to that class's components.
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, covs: torch.Tensor, *,
                 shape: tuple[int, ...] | None = None, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX,
                 component_labels: torch.Tensor | None = None):
        weights = torch.as_tensor(weights, dtype=torch.float64)
        means = torch.as_tensor(means, dtype=torch.float64)
        covs = torch.as_tensor(covs, dtype=torch.float64)
        J, dim = means.shape
        if weights.shape != (J,) or covs.shape != (J, dim, dim):
            raise ArtlibError("gmm: weights [J], means [J, d] and covs [J, d, d] disagree in shape")
        evals, evecs = torch.linalg.eigh(0.5 * (covs + covs.transpose(1, 2)))
        self.log_w = torch.log(weights / weights.sum())
        self.means, self.evals, self.evecs = means, evals.clamp_min(0.0), evecs
        self.dim = dim
        self.shape = tuple(shape) if shape is not None else (dim,)
        if math.prod(self.shape) != dim:
            raise ArtlibError(f"gmm: shape {self.shape} does not hold {dim} values")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        total_var = (weights / weights.sum() * evals.sum(1)).sum() / dim
        self.prior_std = math.sqrt(self.sigma_max ** 2 + float(total_var))
        self.label_dim = 0
        if component_labels is not None:
            component_labels = torch.as_tensor(component_labels, dtype=torch.int64)
            if component_labels.shape != (J,) or component_labels.min() < 0:
                raise ArtlibError("gmm: component_labels must be [J] non-negative class indices")
            self.label_dim = int(component_labels.max()) + 1
            self._member = torch.nn.functional.one_hot(component_labels, self.label_dim).to(torch.float64)

    def to(self, device) -> "GMMDenoiser":
        """A copy of the mixture with its tensors on ``device`` (``self`` is left as it is)."""
        new = copy.copy(self)
        new.device = torch.device(device)
        for name in ("log_w", "means", "evals", "evecs", "_member"):
            if hasattr(self, name):
                setattr(new, name, getattr(self, name).to(new.device))
        return new

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor | float, class_labels=None) -> torch.Tensor:
        B = x.shape[0]
        xf = x.reshape(B, 1, self.dim).to(torch.float64)
        s2 = torch.as_tensor(sigma, dtype=torch.float64, device=x.device).reshape(-1, 1, 1) ** 2
        proj = torch.einsum("bjd,jde->bje", xf - self.means, self.evecs)   # coordinates in eigenbases
        var = self.evals + s2                                               # [B, J, d]
        logp = self.log_w - 0.5 * (proj ** 2 / var + torch.log(var)).sum(-1)
        if self.label_dim and class_labels is not None:
            logp = logp + torch.log(class_labels.to(torch.float64) @ self._member.T)  # −inf off-class
        w = torch.softmax(logp, dim=1)                                      # [B, J]
        shrunk = torch.einsum("bje,jde->bjd", proj * (self.evals / var), self.evecs) + self.means
        return (w.unsqueeze(-1) * shrunk).sum(1).reshape(x.shape).to(x.dtype)


#: Largest mixture file ``gmm:`` reads (bytes).
GMM_MAX_BYTES = 1 << 30


def _read_npz(path: str, what: str) -> dict:
    """The arrays of an .npz file, each a plain real numeric array (no pickles, no complex numbers)."""
    import zipfile

    import numpy as np
    check_input_file(path, "gmm:", GMM_MAX_BYTES)
    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an archive")
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, TypeError, AttributeError) as e:
        raise ArtlibError(f"{what}: not an .npz archive of plain arrays ({type(e).__name__})") from None
    for key, arr in arrays.items():
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
                or arr.dtype == np.bool_):
            raise ArtlibError(f"{what}: {key} must be a real numeric array, got dtype {arr.dtype}")
    return arrays


def _check_covariances(cov, what: str) -> None:
    """Each covariance symmetric and positive semi-definite, to round-off relative to its scale."""
    import numpy as np
    asym = np.abs(cov - cov.transpose(0, 2, 1)).max(axis=(1, 2))
    scale = np.abs(cov).max(axis=(1, 2)) + 1e-300
    bad = np.nonzero(asym > 1e-8 * scale)[0]
    if bad.size:
        raise ArtlibError(f"{what}: covs[{bad[0]}] is not symmetric")
    lam_min = np.linalg.eigvalsh(cov).min(axis=1)
    bad = np.nonzero(lam_min < -1e-10 * scale)[0]
    if bad.size:
        raise ArtlibError(f"{what}: covs[{bad[0]}] is not positive semi-definite "
                          f"(eigenvalue {lam_min[bad[0]]:.3g})")


def _range_and_shape(arrays: dict, d: int, what: str) -> tuple[float, float, tuple[int, ...] | None]:
    """(σ_min, σ_max, shape) from the optional arrays, checked."""
    import numpy as np
    opts = {}
    for key in ("sigma_min", "sigma_max"):
        if key in arrays:
            v = np.asarray(arrays[key])
            if v.size != 1 or not np.isfinite(v).all():
                raise ArtlibError(f"{what}: {key} must be one finite number")
            opts[key] = float(v.reshape(()))
    smin, smax = opts.get("sigma_min", SIGMA_MIN), opts.get("sigma_max", SIGMA_MAX)
    if not 0 <= smin < smax:
        raise ArtlibError(f"{what}: need 0 <= sigma_min < sigma_max, got {smin:g}, {smax:g}")
    if "shape" not in arrays:
        return smin, smax, None
    sh = np.asarray(arrays["shape"])
    if sh.ndim != 1 or not np.issubdtype(sh.dtype, np.integer) or (sh < 1).any() or int(np.prod(sh)) != d:
        raise ArtlibError(f"{what}: shape {sh.tolist()} does not hold d = {d} values")
    return smin, smax, tuple(int(v) for v in sh)


def load_gmm_npz(path: str) -> GMMDenoiser:
    """A user's Gaussian mixture from an .npz: ``weights`` [J], ``means`` [J, d], ``covs`` [J, d, d],
    optionally ``sigma_min``, ``sigma_max`` (default EDM's 0.002, 80) and ``shape`` (one sample's shape).
    Every rejection is one line naming the file and the array."""
    import numpy as np

    what = f"gmm:{path}"
    arrays = _read_npz(path, what)
    for key in ("weights", "means", "covs"):
        if key not in arrays:
            raise ArtlibError(f"{what}: missing array {key!r} (need weights [J], means [J, d], covs [J, d, d])")
    w, mu, cov = (np.asarray(arrays[k], dtype=np.float64) for k in ("weights", "means", "covs"))
    if mu.ndim != 2 or w.shape != (mu.shape[0],) or cov.shape != (mu.shape[0], mu.shape[1], mu.shape[1]):
        raise ArtlibError(f"{what}: shapes disagree: weights {w.shape}, means {mu.shape}, covs {cov.shape}; "
                          "need [J], [J, d], [J, d, d]")
    if mu.shape[0] < 1 or mu.shape[1] < 1:
        raise ArtlibError(f"{what}: need at least one component and one dimension")
    for key, arr in (("weights", w), ("means", mu), ("covs", cov)):
        if not np.isfinite(arr).all():
            raise ArtlibError(f"{what}: {key} contain NaN or infinity")
    if (w < 0).any() or not w.sum() > 0:
        raise ArtlibError(f"{what}: weights must be non-negative with a positive sum")
    _check_covariances(cov, what)
    smin, smax, shape = _range_and_shape(arrays, mu.shape[1], what)
    return GMMDenoiser(torch.from_numpy(w), torch.from_numpy(mu), torch.from_numpy(cov), shape=shape,
                       sigma_min=smin, sigma_max=smax)
