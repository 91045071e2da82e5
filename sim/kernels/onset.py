"""Onset (``sim.engine.model._onset``): which residents fall ill, and new episodes written into the table."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT, years_of_life_lost
from sim.kernels.records import CaseMix, DrawColumns, EpisodeDraws, EpisodeStart, OnsetColumns, Onsets, Stakes


@nb.njit(**JIT)
def onset_cases(counts, u_pick, u_severity, n_bands, case_mix, female_kind):
    """Today's onsets (``sim.engine.model``): ``counts`` per (condition, age band) cell, each falling on the resident
    of its cell's pool that ``u_pick`` points to, with the severity ``u_severity`` draws from the condition's
    severity distribution (``case_mix``). Returns condition, resident, severity, and whether the onset can happen
    (the resident is alive, and female for conditions of women)."""
    case_mix = CaseMix(*case_mix)
    population, cdf, pools, pool_start, pool_size, alive, female = (
        case_mix.population, case_mix.severity_cdf, case_mix.pools, case_mix.pool_start, case_mix.pool_size,
        case_mix.alive, case_mix.female)
    total = len(u_pick)
    c = np.empty(total, np.int16)  # as the episode table keeps it
    resident = np.empty(total, pools.dtype)
    severity = np.empty(total, np.int8)
    possible = np.empty(total, np.bool_)
    i = 0
    for cell in range(len(counts)):
        ci, band = cell // n_bands, cell % n_bands
        k = population[ci]
        for _ in range(counts[cell]):
            res = pools[pool_start[k, band] + np.int64(u_pick[i] * pool_size[k, band])]
            c[i] = ci
            resident[i] = res
            severity[i] = (1 if u_severity[i] > cdf[ci, 0] else 0) + (1 if u_severity[i] > cdf[ci, 1] else 0)
            possible[i] = alive[res] and (k != female_kind or female[res])
            i += 1
    return Onsets(c, resident, severity, possible)


@nb.njit(**JIT)
def write_episodes(ep, ep_draws, onsets, draws, start, stakes):
    """Write the ``onsets`` that ``start.keep`` selects into the episode table from row ``start.row`` on
    (``sim.engine.model``, ``sim.core.episodes``: its columns ``ep`` and ``ep_draws``): who, what and how severe,
    their random numbers ``draws``, and what follows from them (``EpisodeStart``: the day, their state, whether they
    are readmissions). Patience (days) = ``patience_days`` x an exponential draw / (1 + severity); the admission
    benefit (DALY) = ``benefit_spread`` x the case's health stakes (death risk x years of life lost + complication
    risk x ``complication_daly``) x (the probit of its group's admission share, ``need_z``, + its own normal draw).
    ``u_transfer`` holds the kept ones' referral draws (a downward transfer's taste). Rows start zeroed
    (``Episodes.extend``), so only the episode's own values, its state and its facility (-1: none yet) are
    written."""
    ep, ep_draws, onsets, draws, start, stakes = (OnsetColumns(*ep), DrawColumns(*ep_draws), Onsets(*onsets),
                                                  EpisodeDraws(*draws), EpisodeStart(*start), Stakes(*stakes))
    keep, u_transfer_draw, readmission, day, patience_days, choosing = (start.keep, start.u_transfer, start.readmission,
                                                                   start.seek_day, start.patience_days, start.state)
    resident, condition, severity, seek_day, state, facility = (ep.resident, ep.condition, ep.severity, ep.seek_day,
                                                                ep.state, ep.facility)
    readmitted, patience, admission_benefit = ep.readmission, ep.patience, ep.admission_benefit
    u_death, u_complication, u_readmission, u_readmit_day, u_stay = (
        ep_draws.u_death, ep_draws.u_complication, ep_draws.u_readmission, ep_draws.u_readmit_day, ep_draws.u_stay)
    scruple, u_review, u_transfer, cost_factor, taste = (
        ep_draws.scruple, ep_draws.u_review, ep_draws.u_transfer, ep_draws.cost_factor, ep_draws.taste)
    new_condition, new_severity, new_resident = onsets.condition, onsets.severity, onsets.resident
    draw_taste, draw_patience, draw_noise = draws.taste, draws.patience, draws.admission_noise
    draw_death, draw_complication, draw_readmission, draw_readmit_day, draw_stay = (
        draws.u_death, draws.u_complication, draws.u_readmission, draws.u_readmit_day, draws.u_stay)
    draw_scruple, draw_review, draw_cost = draws.scruple, draws.u_review, draws.cost_factor
    age, death_risk, complication_risk, need_z = stakes.age, stakes.death_risk, stakes.complication_risk, stakes.need_z
    life_expectancy, complication_daly, benefit_spread = (stakes.life_expectancy, stakes.complication_daly,
                                                          stakes.benefit_spread)
    first = start.row
    j = first
    for i in range(len(keep)):
        if not keep[i]:
            continue
        ci, si, res = new_condition[i], new_severity[i], new_resident[i]
        resident[j] = res
        condition[j] = ci
        severity[j] = si
        seek_day[j] = day
        state[j] = choosing
        facility[j] = -1
        readmitted[j] = readmission
        patience[j] = patience_days * draw_patience[i] / (1.0 + si)
        at_stake = (death_risk[ci, si] * years_of_life_lost(life_expectancy, age[res])
                    + complication_risk[ci, si] * complication_daly)
        admission_benefit[j] = benefit_spread * at_stake * (need_z[ci, si] + draw_noise[i])
        u_death[j] = draw_death[i]
        u_complication[j] = draw_complication[i]
        u_readmission[j] = draw_readmission[i]
        u_readmit_day[j] = draw_readmit_day[i]
        u_stay[j] = draw_stay[i]
        scruple[j] = draw_scruple[i]
        u_review[j] = draw_review[i]
        u_transfer[j] = u_transfer_draw[j - first]
        cost_factor[j] = draw_cost[i]
        for k in range(draw_taste.shape[1]):
            taste[j, k] = draw_taste[i, k]
        j += 1
