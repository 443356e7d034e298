"""ART: the Q oracle (``dynamics``), the closed-form optimum of the proxy (``optimum``), the shared
learner frame (``learner``), the paper's t-clock actor-critic (``tclock``), the ψ-indexed learner
(``psiclock``, the default) and ``learn.learn_schedule`` over both."""
