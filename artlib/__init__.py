"""artlib: learned diffusion sampling schedules by continuous-time RL (ART-RL, arXiv 2601.18681).

The package's folders are its layers, each importing only from those before it:
``core`` (errors, constants, I/O, schedules, samplers) → ``models`` (every denoiser behind EDM's
protocol, one registry row per family) → ``art`` (the Q oracle, the closed-form optimum and the two
ART-RL learners) → ``methods`` (every schedule method by name, one registry row each) → ``eval``
(metrics, FID, shards, processes) → ``export`` (grids for diffusers, k-diffusion, ComfyUI) →
``repro`` (what the book's notebooks compute and show) → ``cli`` (``python -m artlib``).
"""
from .core import __version__  # noqa: F401
from .core.errors import ArtlibError  # noqa: F401
