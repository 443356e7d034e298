"""The bottom layer: errors, EDM's constants, option parsing, file I/O, schedules as data and the
samplers. It imports nothing else of artlib (tests/test_layering.py)."""
__version__ = "0.1.0"
