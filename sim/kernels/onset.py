"""Onset (``sim.engine.model._onset``): which residents fall ill, and new episodes written into the table."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT, years_of_life_lost


@nb.njit(**JIT)
def onset_cases(counts, u_pick, u_severity, n_bands, kind, pool_start, pool_size, pools, severity_cdf, alive,
                female, female_kind):
    """Today's onsets (``sim.engine.model``): ``counts`` per (condition, age band) cell, each falling on the resident
    of its cell's pool that ``u_pick`` points to, with the severity ``u_severity`` draws from the condition's
    severity distribution. Returns condition, resident, severity, and whether the onset can happen (the
    resident is alive, and female for conditions of women)."""
    total = len(u_pick)
    c = np.empty(total, np.int16)  # as the episode table keeps it
    resident = np.empty(total, pools.dtype)
    severity = np.empty(total, np.int8)
    possible = np.empty(total, np.bool_)
    i = 0
    for cell in range(len(counts)):
        ci, band = cell // n_bands, cell % n_bands
        k = kind[ci]
        for _ in range(counts[cell]):
            res = pools[pool_start[k, band] + np.int64(u_pick[i] * pool_size[k, band])]
            c[i] = ci
            resident[i] = res
            severity[i] = (1 if u_severity[i] > severity_cdf[ci, 0] else 0) + \
                (1 if u_severity[i] > severity_cdf[ci, 1] else 0)
            possible[i] = alive[res] and (k != female_kind or female[res])
            i += 1
    return c, resident, severity, possible


@nb.njit(**JIT)
def write_episodes(start, keep, resident, condition, severity, readmission, day, taste, patience, noise, u_death,
                   u_complication, u_readmission, u_readmit_day, u_stay, scruple, u_review, cost_factor,
                   u_referral, age, death_risk, complication_risk, need_z, life_expectancy, complication_daly,
                   benefit_spread, patience_days, choosing, col_resident, col_condition, col_severity,
                   col_seek_day, col_state, col_facility, col_readmission, col_patience, col_benefit, col_u_death,
                   col_u_complication, col_u_readmission, col_u_readmit_day, col_u_stay, col_scruple, col_u_review,
                   col_u_insist, col_u_transfer, col_cost_factor, col_taste):
    """Write the onsets that ``keep`` selects into the episode table from row ``start`` on (``sim.engine.model``,
    ``sim.core.episodes``): who, what and how severe, their random numbers, and what follows from them. Patience
    (days) = ``patience_days`` x an exponential draw / (1 + severity); the admission benefit (DALY) =
    ``benefit_spread`` x the case's health stakes (death risk x years of life lost + complication risk x
    ``complication_daly``) x (the probit of its group's admission share, ``need_z``, + its own normal draw).
    ``u_referral`` holds the kept ones' two referral draws. Rows start zeroed (``Episodes.extend``), so
    only the episode's own values, its state (``choosing``) and its facility (-1: none yet) are written."""
    j = start
    for i in range(len(keep)):
        if not keep[i]:
            continue
        ci, si = condition[i], severity[i]
        col_resident[j] = resident[i]
        col_condition[j] = ci
        col_severity[j] = si
        col_seek_day[j] = day
        col_state[j] = choosing
        col_facility[j] = -1
        col_readmission[j] = readmission
        col_patience[j] = patience_days * patience[i] / (1.0 + si)
        stakes = (death_risk[ci, si] * years_of_life_lost(life_expectancy, age[resident[i]])
                  + complication_risk[ci, si] * complication_daly)
        col_benefit[j] = benefit_spread * stakes * (need_z[ci, si] + noise[i])
        col_u_death[j] = u_death[i]
        col_u_complication[j] = u_complication[i]
        col_u_readmission[j] = u_readmission[i]
        col_u_readmit_day[j] = u_readmit_day[i]
        col_u_stay[j] = u_stay[i]
        col_scruple[j] = scruple[i]
        col_u_review[j] = u_review[i]
        col_u_insist[j] = u_referral[j - start, 0]
        col_u_transfer[j] = u_referral[j - start, 1]
        col_cost_factor[j] = cost_factor[i]
        for k in range(taste.shape[1]):
            col_taste[j, k] = taste[i, k]
        j += 1
