"""Residents learn from outcomes: trust in a level moves with the surprise of an episode treated there.

surprise = expected bad outcomes (death + complication risk of the case at a capable facility, without
delay, at guideline care) - realised bad outcomes (1 for a death, 1 for a complication).
A resident's own trust in the level moves by ``trust_learning_rate x surprise``; the village's shared
opinion moves by ``word_of_mouth_rate x`` the sum of its residents' surprises. Both decay back toward zero
(the resident's initial trust) with time scale ``trust_memory_days``. Facilities that treat cases beyond their
capability, or make them wait, disappoint, and lose patients; facilities that improve gain them, only as
fast as outcomes accumulate.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import N_LEVELS
from sim.core.population import Population
from sim.params.scenario import ResidentBehaviour

PERSONAL_DECAY_DAYS = 30


class TrustLearning:
    def __init__(self, behaviour: ResidentBehaviour) -> None:
        self.own_rate = behaviour.trust_learning_rate
        self.village_rate = behaviour.word_of_mouth_rate
        self.memory = behaviour.trust_memory_days

    def learn(self, pop: Population, resident: np.ndarray, level: np.ndarray, day: int,
              surprise: np.ndarray) -> None:
        # A resident rarely ends two episodes at one level on one day; if so, the last one counts.
        cell = resident.astype(np.int64) * N_LEVELS + level
        trust = pop.trust.reshape(-1)
        trust[cell] += self.own_rate * surprise
        opinion = pop.village_opinion.reshape(-1)
        cell = pop.village[resident].astype(np.int64) * pop.village_opinion.shape[1] + level
        opinion += self.village_rate * np.bincount(cell, surprise, minlength=opinion.size)

    def end_of_day(self, pop: Population, day: int) -> None:
        """Opinions fade: villages' every day, residents' personal trust every PERSONAL_DECAY_DAYS (one pass
        over every resident, too costly daily for a million residents)."""
        pop.village_opinion *= np.exp(-1.0 / self.memory)
        if (day + 1) % PERSONAL_DECAY_DAYS == 0:
            keep = np.float32(np.exp(-PERSONAL_DECAY_DAYS / self.memory))
            pop.trust -= pop.trust_base
            pop.trust *= keep
            pop.trust += pop.trust_base



