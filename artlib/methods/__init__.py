"""Every schedule method by name (``registry``: one row each) and the peer methods' modules:
closed-form grids (``grids``), ``ays``, ``gits``, ``dmn`` and ``ld3``."""
from .registry import METHODS, build, parse  # noqa: F401
