"""Learning (``sim.behaviour.care_seeking.CostBeliefs``, ``sim.behaviour.perception``): cost beliefs and
perceived capability."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT, capability_factor
from sim.kernels.records import Evidence, OutcomesSeen


@nb.njit(**JIT)
def learn_cost_beliefs(key, bill, admitted, outpatient_bill, inpatient_bill, admission_rate, rate):
    """Cost beliefs move toward today's mean bills and admission rates where cases were seen
    (``sim.behaviour.care_seeking.CostBeliefs.learn``); ``key`` is each case's flat (condition, severity, level) cell
    and the three beliefs are flat arrays over those cells."""
    size = len(outpatient_bill)
    seen = np.zeros(size)
    n_out, total_out = np.zeros(size), np.zeros(size)
    n_in, total_in = np.zeros(size), np.zeros(size)
    admissions = np.zeros(size)
    for i in range(len(key)):
        k = key[i]
        seen[k] += 1.0
        if admitted[i]:
            n_in[k] += 1.0
            total_in[k] += bill[i]
            admissions[k] += 1.0
        else:
            n_out[k] += 1.0
            total_out[k] += bill[i]
    for k in range(size):
        if n_out[k] > 0:
            outpatient_bill[k] += rate * (total_out[k] / n_out[k] - outpatient_bill[k])
        if n_in[k] > 0:
            inpatient_bill[k] += rate * (total_in[k] / n_in[k] - inpatient_bill[k])
        if seen[k] > 0:
            admission_rate[k] += rate * (admissions[k] / seen[k] - admission_rate[k])


@nb.njit(**JIT)
def observe_outcomes(seen, evidence):
    """Add today's completed cases ``seen`` (``OutcomesSeen``) to each facility's ``evidence`` (``Evidence``,
    ``sim.behaviour.perception.CapabilityPerception.observe``): realised bad outcomes, and those expected at the
    facility's prior capability (the case's risks with its capability factor replaced by the prior's), by
    [facility, need level] cell; cases with no need level show nothing."""
    seen, evidence = OutcomesSeen(*seen), Evidence(*evidence)
    fac, need, p_death, p_comp, cap, died, comp = (seen.facility, seen.need, seen.p_death, seen.p_complication,
                                                   seen.capability_factor, seen.died, seen.complication)
    prior, need_values, risk_ratio = evidence.prior, evidence.need_values, evidence.capability_risk_ratio
    observed, expected, cases = evidence.observed, evidence.expected, evidence.cases
    n_fac, n_need = observed.shape
    add_expected = np.zeros((n_fac, n_need))
    add_observed = np.zeros((n_fac, n_need))
    add_cases = np.zeros(n_fac)
    for i in range(len(fac)):
        if not need[i] > 0:
            continue
        f = fac[i]
        scale = capability_factor(risk_ratio, need[i] - prior[f]) / cap[i]
        pd0 = min(p_death[i] * scale, 1.0)
        pc0 = min(p_comp[i] * scale, 1.0)
        j = np.searchsorted(need_values, need[i])
        add_expected[f, j] += pd0 + (1.0 - pd0) * pc0
        add_observed[f, j] += 1.0 if died[i] or comp[i] else 0.0
        add_cases[f] += 1.0
    expected += add_expected
    observed += add_observed
    cases += add_cases


@nb.njit(**JIT)
def most_likely_capability(observed, expected, table_of, log_rho, rho, prior_term, grid):
    """Each facility's grid capability of largest likelihood given its evidence and its reputation
    (``sim.behaviour.perception.CapabilityPerception``): ll(k) = sum_n [O_n ln rho_n(k) - X_n rho_n(k)] + prior term(k),
    with the tables of the facility's prior (``table_of``); the first k of largest ll wins."""
    n_fac, n_need = observed.shape
    out = np.empty(n_fac)
    for f in range(n_fac):
        t = table_of[f]
        best, best_g = -np.inf, 0
        for g in range(len(grid)):
            gain = 0.0
            loss = 0.0
            for n in range(n_need):
                gain += observed[f, n] * log_rho[t, n, g]
                loss += expected[f, n] * rho[t, n, g]
            ll = gain - loss + prior_term[t, g]
            if ll > best:
                best, best_g = ll, g
        out[f] = grid[best_g]
    return out
