"""Completion (``sim.engine.model._end_untreated``, ``sim.engine.model._complete``): outcomes, bills, the
tally."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT, capability_factor, curvature, delay_factor, guideline_row, years_of_life_lost
from sim.kernels.records import (
    CompletionColumns,
    FinishedCases,
    ForgoneOutcomes,
    Stakes,
    Tariff,
    TreatmentColumns,
    TreatmentContext,
    TreatmentCounts,
    TreatmentOutcomes,
    TreatmentRules,
    Treatments,
    TreatmentTally,
)


@nb.njit(**JIT)
def forgo_outcomes(rows, ep, stakes, risk_ratio, daly_per_severity):
    """Outcomes of the episodes ``rows`` that went without a facility's care, untreated or treated at home
    (``sim.engine.model._end_without_facility``): their base risks times ``risk_ratio[condition]`` (at most 1),
    decided by their own uniforms. Returns who died, and the counts of deaths, complications, time-critical
    episodes and their deaths, and the health loss (DALY: years of life lost, ``complication_daly`` per
    complication, ``daly_per_severity[condition]`` x (severity + 1) for the illness left to itself)."""
    ep, stakes = CompletionColumns(*ep), Stakes(*stakes)
    condition, severity, resident, u_death, u_complication = (ep.condition, ep.severity, ep.resident, ep.u_death,
                                                              ep.u_complication)
    age, death_risk, complication_risk, time_critical = (stakes.age, stakes.death_risk, stakes.complication_risk,
                                                         stakes.time_critical)
    life_expectancy, complication_daly = stakes.life_expectancy, stakes.complication_daly
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
    return ForgoneOutcomes(died, deaths, complications, critical, critical_deaths, loss)


@nb.njit(**JIT)
def finish_treatments(rows, day, cases, ep, context, rules):
    """Outcomes and bill of every treatment finished today (``sim.behaviour.outcomes``, billing in
    ``sim.engine.model``), for the episodes ``rows`` on ``day``: their columns (``TreatmentColumns``) are read in
    place; their condition, severity, treating facility, the capability that treated them, what policies change in
    their care and procurement's price factors are given per case (``FinishedCases``), with their residents',
    facilities' and clinical tables (``TreatmentContext``) and the numbers outcomes and bills follow
    (``TreatmentRules``).

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
    ``price_factors`` are procurement's price factors by category (empty: none in force). A stay transferred
    down (``down_days`` > 0) bills here only its days at the township. Health loss: years of life lost at
    death, ``complication_daly`` per complication, ``readmission_daly`` per readmission, and the admission
    benefit lost by a wrong admission decision.

    Returns capability factor, death and complication risks, died, complication, readmitted (inpatients
    only), charges [m, 3], bill, resource cost, intensity as the outcome feels it (drugs prescribed apart from
    the bundle weigh by their share), inpatient, wait (days), bed-days billed here, coded severity and the
    health loss (DALY), as ``TreatmentOutcomes``."""
    cases, ep = FinishedCases(*cases), TreatmentColumns(*ep)
    context, rules = TreatmentContext(*context), TreatmentRules(*rules)
    c, s, fac, capability, risk_factor, factors = (cases.condition, cases.severity, cases.facility,
                                                   cases.capability, cases.risk_factor, cases.price_factors)
    resident, seek_day, admit_day, critical_minutes = ep.resident, ep.seek_day, ep.admit_day, ep.critical_minutes
    intensity, drug_ratio, los_days, down_days = ep.intensity, ep.drug_ratio, ep.los_days, ep.down_days
    u_death, u_comp, u_readmit = ep.u_death, ep.u_complication, ep.u_readmission
    cost_factor, coded_severity, admission_benefit = ep.cost_factor, ep.coded_severity, ep.admission_benefit
    consult_short, wait_hours, corridor, returns = ep.consult_short, ep.wait_hours, ep.corridor, ep.returns
    age, price_level, tariff = context.age, context.price_level, context.tariff
    need_level, death_risk, complication_risk, readmission_risk, clinical_los = (
        context.need_level, context.death_risk, context.complication_risk, context.readmission_risk,
        context.clinical_los)
    harm_per_day, harm_per_hour, time_critical = (context.delay_harm_per_day, context.critical_harm_per_hour,
                                                  context.time_critical)
    cost_split = Tariff(*tariff).cost_split
    risk_ratio, complication_cost_share = rules.capability_risk_ratio, rules.complication_cost_share
    over, under, overstay, understay = (rules.overtreatment_harm, rules.undertreatment_harm, rules.overstay_harm,
                                        rules.understay_harm)
    item_cost_share, bed_day_margin = rules.item_cost_share, rules.bed_day_margin
    life_expectancy, complication_daly, readmission_daly = (rules.life_expectancy_years, rules.complication_daly,
                                                            rules.readmission_daly)
    miss_per_shortening, untreated_ratio, corridor_ratio = (rules.missed_diagnosis_per_shortening,
                                                            rules.untreated_risk_ratio, rules.corridor_risk_ratio)
    followup_share, followup_reduction, followup_decay = (rules.followup_visit_share, rules.followup_risk_reduction,
                                                          rules.followup_benefit_decay)
    has_factors = len(factors) > 0
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
    no_factors = np.ones(0)
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
        daily, total = guideline_row(ci, si, price, factors[i] if has_factors else no_factors, tariff,
                                     (split, outpatient, per_case))
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
    return TreatmentOutcomes(cap, p_death, p_comp, died, comp, readmit, charges, bill, cost, q_care, inpatient, wait,
                             bed_days, coded, health_loss)


@nb.njit(**JIT)
def tally_treatments(done, tally, n_levels, bins_per_day):
    """Add today's finished treatments ``done`` to the running totals (``sim.core.tally``, ``tally``): their sums by
    level, for the run and today, each the day's sum added at once; the wait histogram (in bins of 1 /
    ``bins_per_day`` day, capped at its last bin), each critical kind's (``critical_kind`` of the condition, -1
    for none) minutes and cases, and the end states (recovered, complication, died). Returns the days waited by
    level and the counts and sums over all levels, which the tally keeps as numbers."""
    done, tally = Treatments(*done), TreatmentTally(*tally)
    condition, severity, level, inpatient, charges_in = (done.condition, done.severity, done.level, done.inpatient,
                                                         done.charges)
    fund_in, oop_in, revenue_in, cost_in, q_care, appropriate_in, bed_days_in, wait = (
        done.fund, done.oop, done.revenue, done.cost, done.q_care, done.appropriate, done.bed_days, done.wait)
    died, complicated, readmitted = done.died, done.complication, done.readmitted
    travel_minutes, critical_minutes = done.travel_minutes, done.critical_minutes
    clinical_los, time_critical, critical_kind = tally.clinical_los, tally.time_critical, tally.critical_kind
    wait_hist, ended, kind_minutes, kind_treated = (tally.wait_hist, tally.ended, tally.kind_critical_minutes_sum,
                                                    tally.kind_critical_treated)
    # today's sums by level
    treated, inpatient_charges, outpatient_charges = np.zeros(n_levels), np.zeros(n_levels), np.zeros(n_levels)
    outpatient_episodes, fund, oop = np.zeros(n_levels), np.zeros(n_levels), np.zeros(n_levels)
    revenue, cost, intensity = np.zeros(n_levels), np.zeros(n_levels), np.zeros(n_levels)
    appropriate, bed_days, wait_days = np.zeros(n_levels), np.zeros(n_levels), np.zeros(n_levels)
    charges = np.zeros((n_levels, 3))
    deaths = complications = readmissions = critical_cases = critical_deaths = 0
    travel = minutes = clinical_days = 0.0
    top = len(wait_hist) - 1
    for i in range(len(condition)):
        ci, lv = condition[i], level[i]
        bill = charges_in[i, 0] + charges_in[i, 1] + charges_in[i, 2]
        treated[lv] += 1.0
        for k in range(3):
            charges[lv, k] += charges_in[i, k]
        if inpatient[i]:
            inpatient_charges[lv] += bill
            clinical_days += clinical_los[ci, severity[i]]
        else:
            outpatient_charges[lv] += bill
            outpatient_episodes[lv] += 1.0
        fund[lv] += fund_in[i]
        oop[lv] += oop_in[i]
        revenue[lv] += revenue_in[i]
        cost[lv] += cost_in[i]
        intensity[lv] += q_care[i]
        appropriate[lv] += 1.0 if appropriate_in[i] else 0.0
        bed_days[lv] += bed_days_in[i]
        wait_days[lv] += wait[i]
        wait_hist[min(int(wait[i] * bins_per_day), top)] += 1
        deaths += 1 if died[i] else 0
        complications += 1 if complicated[i] else 0
        readmissions += 1 if readmitted[i] else 0
        ended[2 if died[i] else (1 if complicated[i] else 0)] += 1  # sim.core.episodes: DIED, COMPLICATION, RECOVERED
        travel += travel_minutes[i]
        if time_critical[ci]:
            critical_cases += 1
            critical_deaths += 1 if died[i] else 0
            minutes += critical_minutes[i]
        kind = critical_kind[ci]
        if kind >= 0:
            kind_minutes[kind] += critical_minutes[i]
            kind_treated[kind] += 1.0
    # the day's sums into the running totals and today's rows
    treated_total, charges_total, inpatient_total, outpatient_total = (tally.treated, tally.charges,
                                                                       tally.inpatient_charges,
                                                                       tally.outpatient_charges)
    episodes_total, fund_total, oop_total, revenue_total, cost_total = (tally.outpatient_episodes, tally.fund,
                                                                        tally.oop, tally.provider_revenue,
                                                                        tally.provider_cost)
    intensity_total, appropriate_total, bed_days_total = tally.intensity_sum, tally.appropriate, tally.bed_days
    treated_today, spending_today, fund_today, oop_today, wait_days_today = (
        tally.treated_today, tally.spending_today, tally.fund_today, tally.oop_today, tally.wait_days_sum_today)
    for lv in range(n_levels):
        treated_total[lv] += treated[lv]
        for k in range(3):
            charges_total[lv, k] += charges[lv, k]
        inpatient_total[lv] += inpatient_charges[lv]
        outpatient_total[lv] += outpatient_charges[lv]
        episodes_total[lv] += outpatient_episodes[lv]
        fund_total[lv] += fund[lv]
        oop_total[lv] += oop[lv]
        revenue_total[lv] += revenue[lv]
        cost_total[lv] += cost[lv]
        intensity_total[lv] += intensity[lv]
        appropriate_total[lv] += appropriate[lv]
        bed_days_total[lv] += bed_days[lv]
        wait_days_today[lv] += wait_days[lv]
        treated_today[lv] += treated[lv]
        spending_today[lv] += revenue[lv]
        fund_today[lv] += fund[lv]
        oop_today[lv] += oop[lv]
    return TreatmentCounts(wait_days, deaths, complications, readmissions, travel, minutes, critical_cases,
                           critical_deaths, clinical_days)


@nb.njit(**JIT)
def die(residents, alive):
    """Mark ``residents`` dead (a resident may be listed twice); returns how many were alive."""
    deaths = 0
    for r in residents:
        if alive[r]:
            alive[r] = False
            deaths += 1
    return deaths
