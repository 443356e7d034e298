"""Every denoiser behind EDM's protocol ``D(x, sigma, class_labels=None)``: exact Gaussians and
mixtures, the CPU stand-ins, the small trained network, EDM checkpoints; ``registry`` has one row
per family of model strings."""
from .registry import load_model, model_identity  # noqa: F401
