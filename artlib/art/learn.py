"""ART-RL for a K-step schedule, by either learner: a config names the learner (``PsiConfig``, the
default, or the paper's ``TrainConfig``), and the trained clock answers the same protocol
(``artlib.art.learner.Clock``) whichever ran."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import psiclock, tclock
from .learner import Clock
from .psiclock import PsiConfig
from .tclock import TrainConfig

#: Each config class and the function that trains it.
LEARNERS = {PsiConfig: psiclock.learn, TrainConfig: tclock.learn}


@dataclass
class Learned:
    """A learned K-step schedule and the trained clock it came from."""
    sigmas: torch.Tensor        # [K+1]
    run: Clock

    @property
    def clock(self) -> str:
        """``psi`` (the default learner) or ``t`` (the paper's)."""
        return self.run.clock

    @property
    def evaluations(self) -> int:
        """Denoiser evaluations the training spent (a JVP counted as one more)."""
        return self.run.evaluations

    def at(self, K: int) -> torch.Tensor:
        """The learned clock as a K-step grid (the Table 3 re-use rule) [K+1]."""
        return self.run.sigmas(K)


def learn_schedule(denoiser, K: int, cfg: TrainConfig | PsiConfig | None = None, *,
                   steps: int | None = None, checkpoint=None, progress: bool = True,
                   class_labels=None) -> Learned:
    """ART-RL for a K-step schedule. With a ``PsiConfig`` (the default) the ψ-indexed learner runs
    on ``steps`` ψ-nodes (default its ``nodes``) and its continuous clock is sampled at K. With a
    ``TrainConfig`` the paper's t-clock actor-critic trains on ``steps`` clock steps (default
    ``tclock.CLOCK_STEPS``), is distilled, and the clock is re-used at K steps with the Table 3 rule."""
    cfg = PsiConfig() if cfg is None else cfg
    run = LEARNERS[type(cfg)](cfg, denoiser, steps=steps, checkpoint=checkpoint, progress=progress,
                              class_labels=class_labels)
    return Learned(run.sigmas(K), run)
