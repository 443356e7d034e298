"""Grids handed to the samplers people already use: diffusers' schedulers (``diffusers``),
k-diffusion's samplers (``kdiffusion``)."""
