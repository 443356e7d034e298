"""EDM's defaults (Karras et al. 2022, ``generate.py`` and Table 1): its sampler's noise range, the
ramp exponent ρ of its grid and the data standard deviation σ_data of its preconditioning. Every
module that needs one of these reads it here."""

#: The smallest non-zero σ of EDM's sampler (and of every grid built for a model whose σ_min is 0
#: by methods that need a positive end point).
SIGMA_MIN = 0.002
#: The largest σ of EDM's sampler: T of the ART clock on EDM's models.
SIGMA_MAX = 80.0
#: The exponent of EDM's ρ-ramp.
RHO = 7.0
#: EDM's σ_data: the standard deviation its preconditioning assumes of the data in [−1, 1].
SIGMA_DATA = 0.5
