"""Completion (``sim.engine.model._end_untreated``, ``sim.engine.model._complete``): outcomes, bills, the
tally."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT, capability_factor, curvature, delay_factor, guideline_row, years_of_life_lost


@nb.njit(**JIT)
def forgo_outcomes(rows, condition, severity, u_death, u_complication, resident, age, death_risk,
                   complication_risk, time_critical, risk_ratio, life_expectancy, complication_daly,
                   daly_per_severity):
    """Outcomes of the episodes ``rows`` that went without a facility's care, untreated or treated at home
    (``sim.engine.model._end_without_facility``): their base risks times ``risk_ratio[condition]`` (at most 1),
    decided by their own uniforms. Returns who died, and the counts of deaths, complications, time-critical
    episodes and their deaths, and the health loss (DALY: years of life lost, ``complication_daly`` per
    complication, ``daly_per_severity[condition]`` x (severity + 1) for the illness left to itself)."""
    m = len(rows)
    died = np.zeros(m, np.bool_)
    deaths = complications = critical = critical_deaths = 0
    loss = 0.0
    for i in range(m):
        r = rows[i]
        ci, si = condition[r], severity[r]
        died[i] = u_death[r] < min(death_risk[ci, si] * risk_ratio[ci], 1.0)
        comp = not died[i] and u_complication[r] < min(complication_risk[ci, si] * risk_ratio[ci], 1.0)
        if died[i]:
            deaths += 1
            loss += years_of_life_lost(life_expectancy, age[resident[r]])
        if comp:
            complications += 1
            loss += complication_daly
        loss += (si + 1) * daly_per_severity[ci]
        if time_critical[ci]:
            critical += 1
            critical_deaths += 1 if died[i] else 0
    return died, deaths, complications, critical, critical_deaths, loss


@nb.njit(**JIT)
def finish_treatments(rows, c, s, capability, fac, day, intensity, drug_ratio, los_days, down_days, admit_day,
                      seek_day, critical_minutes, u_death, u_comp, u_readmit, cost_factor, coded_severity,
                      admission_benefit, resident, age, price_level, factors, has_factors,
                      need_level, death_risk, complication_risk, readmission_risk, harm_per_day, harm_per_hour,
                      time_critical, cost_split, outpatient_cost, inpatient_cost, per_day_share, clinical_los,
                      risk_ratio, over, under, overstay, understay, complication_cost_share,
                      item_cost_share, bed_day_margin, life_expectancy, complication_daly, readmission_daly,
                      consult_short, wait_hours, corridor, miss_per_shortening, untreated_ratio, corridor_ratio,
                      returns, followup_share, followup_reduction, followup_decay, risk_factor):
    """Outcomes and bill of every treatment finished today (``sim.behaviour.outcomes``, billing in
    ``sim.engine.model``), for the episodes ``rows`` (their columns are read in place; ``c``, ``s``, the treating
    ``fac`` and the ``capability`` that treated them are given per case).

    Risk = base risk x capability factor x delay factor x treatment factor (x stay factor for complications
    and readmissions) x the consultation's factor 1 + miss x (untreated_ratio - 1), miss =
    ``miss_per_shortening`` x how much shorter than normal the consultation was (``sim.behaviour.pace``)
    x ``corridor_ratio`` for an inpatient in a corridor bed, x 1 - ``followup_reduction`` x (1 - decay^k) /
    (1 - decay) for an outpatient asked back k times (``returns``), x ``risk_factor[i]`` (what policies change in
    the care itself, ``sim.policies.base.Policy.risk_factor``); the episode's own uniforms decide death,
    complication and readmission. The wait runs to admission (inpatients) or to today, plus the hours waited
    for the consultation on the day seen (``wait_hours`` / 24). The bill: items (outpatient or the inpatient per-case
    part) times intensity, drugs times the drug ratio, plus the daily bundle times days stayed here, plus an inpatient
    complication's treatment, and for a surviving outpatient its return visits, each ``followup_share`` of the
    visit's items, all at the facility's price level times the case's own resource use;
    ``factors`` are procurement's price factors by category (``has_factors`` False: none). A stay transferred
    down (``down_days`` > 0) bills here only its days at the township. Health loss: years of life lost at
    death, ``complication_daly`` per complication, ``readmission_daly`` per readmission, and the admission
    benefit lost by a wrong admission decision.

    Returns capability factor, death and complication risks, died, complication, readmitted (inpatients
    only), charges [m, 3], bill, resource cost, intensity as the outcome feels it (drugs prescribed apart from
    the bundle weigh by their share), inpatient, wait (days), bed-days billed here, coded severity and the
    health loss (DALY)."""
    m = len(rows)
    cap = np.empty(m)
    q_care = np.empty(m)
    p_death = np.empty(m)
    p_comp = np.empty(m)
    died = np.zeros(m, np.bool_)
    comp = np.zeros(m, np.bool_)
    readmit = np.zeros(m, np.bool_)
    inpatient = np.zeros(m, np.bool_)
    wait = np.empty(m)
    bed_days = np.empty(m)
    coded = np.empty(m, np.int64)
    charges = np.empty((m, 3))
    bill = np.empty(m)
    cost = np.empty(m)
    split = np.empty(3)
    items = np.empty(3)
    outpatient = np.empty(3)
    per_case = np.empty(3)
    no_factors = np.ones(3)
    health_loss = 0.0
    for i in range(m):
        r = rows[i]
        ci, si = c[i], s[i]
        q = float(intensity[r])
        los = float(los_days[r])
        inpatient[i] = los > 0
        moved = down_days[r] > 0
        stay = los / clinical_los[ci, si] if inpatient[i] else 1.0
        stay_here = (down_days[r] / clinical_los[ci, si] if moved else stay) if inpatient[i] else 1.0
        bed_days[i] = down_days[r] if moved else los
        wait[i] = (admit_day[r] if inpatient[i] else day) - seek_day[r] + wait_hours[r] / 24.0
        coded[i] = coded_severity[r] if inpatient[i] else si
        # outcomes
        cap[i] = capability_factor(risk_ratio, need_level[ci, si] - capability[i])
        delay = delay_factor(time_critical[ci], harm_per_hour[ci], critical_minutes[r], harm_per_day[ci], wait[i])
        q_care[i] = q * (1.0 + cost_split[ci, 1] * (drug_ratio[r] - 1.0))  # drugs weigh by their share
        treat = curvature(q_care[i], over, under)
        stay_f = curvature(stay, overstay, understay)
        seen = 1.0 + miss_per_shortening * consult_short[r] * (untreated_ratio - 1.0)
        if inpatient[i] and corridor[r]:
            seen *= corridor_ratio
        k_returns = 0 if inpatient[i] else returns[r]
        followed = risk_factor[i]
        if k_returns > 0:
            followed *= 1.0 - followup_reduction * (1.0 - followup_decay ** k_returns) / (1.0 - followup_decay)
        p_death[i] = min(death_risk[ci, si] * cap[i] * delay * treat * seen * followed, 1.0)
        p_comp[i] = min(complication_risk[ci, si] * cap[i] * delay * treat * stay_f * seen * followed, 1.0)
        p_readmit = min(readmission_risk[ci, si] * stay_f * treat * seen, 1.0)
        died[i] = u_death[r] < p_death[i]
        comp[i] = not died[i] and u_comp[r] < p_comp[i]
        readmit[i] = inpatient[i] and not died[i] and u_readmit[r] < p_readmit
        benefit = admission_benefit[r]
        health_loss += (years_of_life_lost(life_expectancy, age[resident[r]]) if died[i] else 0.0) \
            + (complication_daly if comp[i] else 0.0) + (readmission_daly if readmit[i] else 0.0) \
            + max(-benefit if inpatient[i] else benefit, 0.0)
        # bill
        price = price_level[fac[i]] * cost_factor[r]
        daily, total = guideline_row(ci, si, price, factors[i] if has_factors else no_factors, has_factors,
                                     cost_split, outpatient_cost, inpatient_cost, per_day_share, split, outpatient,
                                     per_case)
        per_case_sum = 0.0
        visits = 1.0 + (followup_share * k_returns if not died[i] else 0.0)
        for k in range(3):
            per_case_sum += per_case[k]
            if inpatient[i]:
                items[k] = 0.0 if moved else per_case[k] * q
            else:
                items[k] = outpatient[k] * q * visits
        items[1] *= drug_ratio[r]
        extra = complication_cost_share * (per_case_sum + daily) if inpatient[i] and comp[i] else 0.0
        days = daily * stay_here if inpatient[i] else 0.0
        cost[i] = days / (1.0 + bed_day_margin)
        for k in range(3):
            share = split[k] / total if has_factors else split[k]
            items[k] += extra * share
            charges[i, k] = items[k] + days * share
            cost[i] += items[k] * item_cost_share[k]
        bill[i] = charges[i, 0] + charges[i, 1] + charges[i, 2]
    return (cap, p_death, p_comp, died, comp, readmit, charges, bill, cost, q_care, inpatient, wait, bed_days,
            coded, health_loss)


TREATMENT_SUMS = ("treated", "services", "drugs", "consumables", "inpatient_charges", "outpatient_charges",
                  "outpatient_episodes", "fund", "oop", "revenue", "cost", "intensity", "appropriate", "bed_days",
                  "wait_days")


@nb.njit(**JIT)
def tally_treatments(rows, c, s, level, inpatient, charges, fund, oop, revenue, cost, q_care, appropriate, bed_days,
                     wait, died, comp, readmit, time_critical, critical_kind, critical_minutes, travel_minutes,
                     clinical_los, n_levels, wait_hist, bins_per_day, kind_minutes, kind_treated, ended):
    """The running totals of today's finished treatments (``sim.core.tally``), the episodes ``rows`` (their minutes
    read in place): per-level sums [n_levels, columns of ``TREATMENT_SUMS``], returned; the wait histogram
    (in bins of 1 / ``bins_per_day`` day, capped at its last bin), each critical kind's (``critical_kind`` of the
    condition, -1 for none) minutes and cases, and the end states (recovered, complication, died), added in place; and
    the counts and sums returned after the per-level ones: deaths, complications, readmissions, travel minutes, minutes
    to treatment and cases of time-critical episodes, their deaths, clinical bed-days of inpatients."""
    sums = np.zeros((n_levels, len(TREATMENT_SUMS)))
    deaths = complications = readmissions = critical_cases = critical_deaths = 0
    travel = minutes = clinical = 0.0
    top = len(wait_hist) - 1
    for i in range(len(rows)):
        r, ci = rows[i], c[i]
        row = sums[level[i]]
        bill = charges[i, 0] + charges[i, 1] + charges[i, 2]
        row[0] += 1.0
        for k in range(3):
            row[1 + k] += charges[i, k]
        if inpatient[i]:
            row[4] += bill
            clinical += clinical_los[ci, s[i]]
        else:
            row[5] += bill
            row[6] += 1.0
        row[7] += fund[i]
        row[8] += oop[i]
        row[9] += revenue[i]
        row[10] += cost[i]
        row[11] += q_care[i]
        row[12] += 1.0 if appropriate[i] else 0.0
        row[13] += bed_days[i]
        row[14] += wait[i]
        wait_hist[min(int(wait[i] * bins_per_day), top)] += 1
        deaths += 1 if died[i] else 0
        complications += 1 if comp[i] else 0
        readmissions += 1 if readmit[i] else 0
        ended[2 if died[i] else (1 if comp[i] else 0)] += 1  # sim.core.episodes: DIED, COMPLICATION, RECOVERED
        travel += travel_minutes[r]
        if time_critical[ci]:
            critical_cases += 1
            critical_deaths += 1 if died[i] else 0
            minutes += critical_minutes[r]
        kind = critical_kind[ci]
        if kind >= 0:
            kind_minutes[kind] += critical_minutes[r]
            kind_treated[kind] += 1.0
    return sums, deaths, complications, readmissions, travel, minutes, critical_cases, critical_deaths, clinical


@nb.njit(**JIT)
def die(residents, alive):
    """Mark ``residents`` dead (a resident may be listed twice); returns how many were alive."""
    deaths = 0
    for r in residents:
        if alive[r]:
            alive[r] = False
            deaths += 1
    return deaths
