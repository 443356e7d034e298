"""``python -m artlib``: the parser and exit codes (``main``), the checks every command makes
before work (``checks``) and one module per group of commands."""
from .main import build_parser, main  # noqa: F401
