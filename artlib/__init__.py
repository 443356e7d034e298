"""artlib: learned diffusion sampling schedules by continuous-time RL (ART-RL, arXiv 2601.18681)."""
__version__ = "0.1.0"

from .errors import ArtlibError  # noqa: E402,F401
