"""Residents as columns: one numpy array per attribute, indexed by resident id.

Every resident is an individual with its own age, village, sex, insurance scheme, chronic conditions and
trust in each level of care; the rules that use them are evaluated over whole arrays at once.

Trust is the intercept of a resident's utility for a level (see ``sim.behaviour.care_seeking``): the level's mean
initial trust, plus a personal part (``trust``, starting at the resident's own ``trust_base`` and moved by
their outcomes), plus the village's shared opinion (``village_opinion``, moved by word of mouth). Both
drift back to their initial values over ``trust_memory_days``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.conditions import AGE_BANDS, POPULATIONS
from sim.core.geography import Geography
from sim.core.levels import N_LEVELS
from sim.params.scenario import Scenario

BAND_EDGES = (0, 5, 15, 45, 65, 100)  # age bands of conditions.AGE_BANDS
CHRONIC = ("hypertension", "diabetes", "copd", "kidney_failure")
EMPLOYEE, RESIDENT_SCHEME = 1, 0


@dataclass
class Population:
    age: np.ndarray            # [n] int8 years
    band: np.ndarray           # [n] int8 index into AGE_BANDS
    female: np.ndarray         # [n] bool
    village: np.ndarray        # [n] int32
    employee: np.ndarray       # [n] bool: employee scheme (else resident scheme)
    chronic: np.ndarray        # [n, len(CHRONIC)] bool
    trust_base: np.ndarray     # [n, 4] float32, the resident's initial deviation from the level's mean trust
    trust: np.ndarray          # [n, 4] float32, current deviation: moved by own outcomes, decays to trust_base
    alive: np.ndarray          # [n] bool
    village_opinion: np.ndarray  # [villages, 4] float64 shared opinion per village and level
    pools: np.ndarray          # concatenated resident ids: eligible pool per (population kind, band)
    pool_start: np.ndarray     # [kind, band] offset in pools
    pool_size: np.ndarray      # [kind, band]

    @property
    def size(self) -> int:
        return len(self.age)


def build_population(scenario: Scenario, geo: Geography, rng: np.random.Generator) -> Population:
    pop = scenario.population
    n = pop.size
    band = rng.choice(len(AGE_BANDS), size=n, p=np.asarray(pop.age_shares.as_array())).astype(np.int8)
    lo, hi = np.asarray(BAND_EDGES[:-1]), np.asarray(BAND_EDGES[1:])
    age = (lo[band] + rng.random(n) * (hi[band] - lo[band])).astype(np.int8)
    female = rng.random(n) < pop.female_share
    village = rng.choice(geo.n_villages, size=n, p=geo.village_weight).astype(np.int32)
    employee = rng.random(n) < pop.employee_share
    chronic = np.zeros((n, len(CHRONIC)), dtype=bool)
    for j, name in enumerate(CHRONIC):
        prev = getattr(pop, name)
        p_band = np.array([0.0, 0.0, prev.age_15_44, prev.age_45_64, prev.age_65_plus])
        chronic[:, j] = rng.random(n) < p_band[band]
    sd = scenario.behaviour.resident.trust_sd
    trust_base = (rng.standard_normal((n, N_LEVELS)) * sd).astype(np.float32)

    # Eligible pools for onset sampling, one per (population kind, age band); ids sorted for locality.
    kinds = {"all": np.ones(n, bool), "female": female}
    kinds.update({name: chronic[:, j] for j, name in enumerate(CHRONIC)})
    order = np.argsort(band, kind="stable")
    pools, start, size = [], np.zeros((len(POPULATIONS), len(AGE_BANDS)), np.int64), \
        np.zeros((len(POPULATIONS), len(AGE_BANDS)), np.int64)
    offset = 0
    for k, kind in enumerate(POPULATIONS):
        # "female" conditions sample from everyone in the band and keep women (thinning), so the same
        # draws serve every scenario; only chronic pools are restricted, because they are small.
        members = order if kind in ("all", "female") else order[kinds[kind][order]]
        counts = np.bincount(band[members], minlength=len(AGE_BANDS))
        start[k] = offset + np.concatenate([[0], np.cumsum(counts)[:-1]])
        size[k] = counts
        pools.append(members)
        offset += len(members)
    return Population(age=age, band=band, female=female, village=village, employee=employee,
                      chronic=chronic, trust_base=trust_base,
                      trust=trust_base.copy(),
                      alive=np.ones(n, bool), village_opinion=np.zeros((geo.n_villages, N_LEVELS)),
                      pools=np.concatenate(pools).astype(np.int32), pool_start=start, pool_size=size)
