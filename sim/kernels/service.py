"""Service (``sim.engine.model._serve``, ``sim.behaviour.provider``): queues, what the provider sees and
decides, referrals."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import (
    JIT,
    PRIORITIES,
    capability_factor,
    delay_factor,
    gated,
    stay_margin,
    years_of_life_lost,
)
from sim.kernels.records import (
    CaseContext,
    CaseDecisions,
    CaseTables,
    CaseTerms,
    DecisionCases,
    DecisionColumns,
    FirstContactVisits,
    Gate,
    GuidelineCharges,
    MarginTerms,
    ProviderRules,
    SeenCases,
    SeenColumns,
    Visits,
)


@nb.njit(**JIT)
def serve_queue(rows, facility, severity, seek_day, always, cost, budget):
    """Serve the episodes ``rows`` queueing at their facilities (clinic minutes in step 4, beds in step 5 of
    ``sim.engine.model``): each facility's queue in order of priority (severity, time-critical cases first) and then
    of arrival. Episode ``rows[i]`` takes ``cost[i]`` of its facility's ``budget`` (consultation minutes, or one
    bed); a case is served while the work ahead of it and its own fit in the budget, and when ``always[i]``
    (time-critical cases; for beds, urgent ones too) whether it fits or not; nobody is served past someone of the same
    facility who was not (no queue jumping). ``budget`` is reduced by what was served (not below 0). Returns the rows
    in queue order, whether each was served, the position in ``rows`` of each, for those not served the work still
    ahead of them after today's (the work ahead in the queue less the budget left), and whether each fitted in the
    budget (served beyond it: a corridor bed)."""
    m = len(rows)
    # Stable counting sort by (facility, priority), then by arrival within each (an insertion sort: the table
    # keeps episodes in order of arrival, so the runs are sorted already), ties in the order of ``rows``.
    n_buckets = len(budget) * PRIORITIES
    bucket = np.empty(m, np.int64)
    start = np.zeros(n_buckets + 1, np.int64)
    for i in range(m):
        r = rows[i]
        priority = severity[r] + 3 * always[i]
        bucket[i] = facility[r] * PRIORITIES + (PRIORITIES - 1 - priority)
        start[bucket[i] + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    ordered = np.empty(m, np.int64)  # positions in rows
    ordered_bucket = np.empty(m, np.int64)
    for i in range(m):
        b = bucket[i]
        ordered[start[b]] = i
        ordered_bucket[start[b]] = b
        start[b] += 1
    for j in range(1, m):
        i, k = ordered[j], j
        before = ordered[k - 1] if k > 0 else 0
        while k > 0 and ordered_bucket[k - 1] == ordered_bucket[j] and seek_day[rows[before]] > seek_day[rows[i]]:
            ordered[k] = ordered[k - 1]
            k -= 1
            before = ordered[k - 1] if k > 0 else 0
        ordered[k] = i
    served = np.empty(m, np.bool_)
    fitted = np.empty(m, np.bool_)
    ahead = np.empty(m)
    prev, work, blocked = -1, 0.0, False
    for j in range(m):
        i = ordered[j]
        f = facility[rows[i]]
        if f != prev:
            work, blocked, prev = 0.0, False, f
        ahead[j] = work
        fits = not blocked and work + cost[i] <= budget[f]
        served[j] = fits or always[i]
        fitted[j] = fits
        if not served[j]:
            blocked = True
        work += cost[i]
    for j in range(m):
        if served[j]:
            budget[facility[rows[ordered[j]]]] -= cost[ordered[j]]
    for f in range(len(budget)):
        budget[f] = max(budget[f], 0.0)
    for j in range(m):
        ahead[j] -= budget[facility[rows[ordered[j]]]]
    return rows[ordered], served, ordered, ahead, fitted


@nb.njit(**JIT)
def gather_cases(rows, day, ep, context, top_level, scruple_yuan):
    """What a provider sees of the episodes ``rows`` it treats (``sim.engine.model._cases``), one entry each:
    facility, condition, severity, resident, the facility's level, employee scheme, age, need level, the facility's
    price level, the case's cost factor, whether the facility has beds, whether a higher level exists, bed
    occupancy, the delay factor already incurred (``sim.behaviour.outcomes``), the admission benefit and
    the provider's cost of coding the case up (yuan)."""
    ep, context = SeenColumns(*ep), CaseContext(*context)
    facility, condition, severity, resident, seek_day, critical_minutes, admission_benefit, cost_factor, scruple = (
        ep.facility, ep.condition, ep.severity, ep.resident, ep.seek_day, ep.critical_minutes, ep.admission_benefit,
        ep.cost_factor, ep.scruple)
    age, employee, level, beds, occupied, price_level = (context.age, context.employee, context.level, context.beds,
                                                         context.occupied, context.price_level)
    need_level, time_critical, harm_per_day, harm_per_hour = (context.need_level, context.time_critical,
                                                              context.delay_harm_per_day,
                                                              context.critical_harm_per_hour)
    m = len(rows)
    fac = np.empty(m, facility.dtype)
    c = np.empty(m, np.int64)
    s = np.empty(m, np.int64)
    res = np.empty(m, resident.dtype)
    lvl = np.empty(m, np.int64)
    emp = np.empty(m, np.bool_)
    ages = np.empty(m, age.dtype)
    need = np.empty(m)
    price = np.empty(m)
    factor = np.empty(m)
    has_beds = np.empty(m, np.bool_)
    can_refer = np.empty(m, np.bool_)
    occupancy = np.empty(m)
    delay = np.empty(m)
    benefit = np.empty(m, admission_benefit.dtype)
    coding = np.empty(m, scruple.dtype)
    yuan = scruple.dtype.type(scruple_yuan)
    for i in range(m):
        r = rows[i]
        f, ci, si, p = facility[r], condition[r], severity[r], resident[r]
        fac[i], c[i], s[i], res[i] = f, ci, si, p
        lvl[i] = level[f]
        emp[i] = employee[p]
        ages[i] = age[p]
        need[i] = need_level[ci, si]
        price[i] = price_level[f]
        factor[i] = cost_factor[r]
        has_beds[i] = beds[f] > 0
        can_refer[i] = level[f] < top_level
        occupancy[i] = occupied[f] / max(beds[f], 1) if beds[f] > 0 else 0.0
        delay[i] = delay_factor(time_critical[ci], harm_per_hour[ci], critical_minutes[r], harm_per_day[ci],
                                day - seek_day[r])
        benefit[i] = admission_benefit[r]
        coding[i] = scruple[r] * yuan
    return SeenCases(fac, c, s, res, lvl, emp, ages, need, price, factor, has_beds, can_refer, occupancy, delay,
                     benefit, coding)


@nb.njit(**JIT)
def optimum(profit_weight, margin, stakes, value, over, under, lo, hi):
    """argmax over r in [lo, hi] of profit_weight x margin x (r - 1) - value x stakes x h x (r - 1)^2, with h
    the curvature on the side the margin pushes toward (``sim.behaviour.provider``). Where the stakes are zero any push
    goes to the bound; no push leaves the guideline."""
    denom = 2.0 * value * stakes * (over if margin > 0 else under)
    push = profit_weight * margin
    if denom > 0:
        ratio = 1.0 + push / denom
    else:
        ratio = np.inf if push > 0 else (-np.inf if push < 0 else 1.0)
    return min(max(ratio, lo), hi)


@nb.njit(**JIT)
def decide_cases(cases, charges, terms, margin, tables, rules):
    """The provider's decisions for each case (``sim.behaviour.provider``: the equations are there): intensity as an
    outpatient and as an inpatient, stay, admission, referral up, and (when a policy prices items,
    ``margin.prices_items``) drugs apart from the rest of the bundle. The cases (``DecisionCases``), their charges at
    guideline care (``GuidelineCharges``), what they earn in the payment model's terms (``CaseTerms``,
    ``sim.payment.interface.Terms``), what policies add to the margin per case (``MarginTerms``,
    ``sim.behaviour.margin``), the catalogue's tables (``CaseTables``) and the provider's numbers
    (``ProviderRules``).
    Return visits of a case treated as an outpatient: the j-th is asked while its value to the provider,
    ``value x followup_reduction x followup_decay^(j-1) x stakes + profit_weight x m_r - benefit_weight x burden``,
    is positive (j <= ``followup_max``), with m_r the margin of a return (``followup_share`` of the visit's items
    at the chosen intensity, in the payment model's terms) and burden the patient's copayment on it plus
    ``followup_burden`` (yuan).
    Returns refer, admit (not referred), intensity, stay ratio, drug ratio, return visits and coding up (admitted
    where the payment model's terms code the case up) as ``CaseDecisions``."""
    cases, charges, terms = DecisionCases(*cases), GuidelineCharges(*charges), CaseTerms(*terms)
    margin, tables, rules = MarginTerms(*margin), CaseTables(*tables), ProviderRules(*rules)
    c, s, age, capability, has_beds, can_refer, occupancy, delay, admission_benefit = (
        cases.condition, cases.severity, cases.age, cases.capability, cases.has_beds, cases.can_refer,
        cases.occupancy, cases.delay, cases.admission_benefit)
    profit_weight, fund_rate_out = cases.profit_weight, cases.fund_rate_out
    outpatient, per_case, daily = charges.outpatient, charges.per_case, charges.daily
    fixed_out, marginal_out, fixed_in, marginal_in, per_bed_day_in = (terms.fixed_out, terms.marginal_out,
                                                                      terms.fixed_in, terms.marginal_in,
                                                                      terms.per_bed_day_in)
    referral_cost_out, referral_cost_in, coded_up = terms.referral_cost_out, terms.referral_cost_in, terms.code_up
    item_cost_share, bed_day_margin = terms.item_cost_share, terms.bed_day_margin
    prices_items, per_drug_yuan, per_other_yuan, per_outpatient_yuan, per_outpatient_case = (
        margin.prices_items, margin.per_drug_yuan, margin.per_other_yuan, margin.per_outpatient_yuan,
        margin.per_outpatient_case)
    per_referral, referral_margin_share = margin.per_referral, margin.referral_margin_share
    cost_split, clinical_los, need_level, death_risk, complication_risk, readmission_risk, admission_need = (
        tables.cost_split, tables.clinical_los, tables.need_level, tables.death_risk, tables.complication_risk,
        tables.readmission_risk, tables.admission_need)
    bed_shadow_price, pressure_start = rules.bed_shadow_price_yuan, rules.occupancy_pressure_start
    life_expectancy, complication_daly, readmission_daly, risk_ratio = (
        rules.life_expectancy_years, rules.complication_daly, rules.readmission_daly, rules.capability_risk_ratio)
    benefit_weight, value_per_daly = rules.benefit_weight, rules.value_per_daly_yuan
    overtreatment, undertreatment, overstay, understay = (rules.overtreatment_harm, rules.undertreatment_harm,
                                                          rules.overstay_harm, rules.understay_harm)
    min_q, max_q, min_stay, max_stay = rules.min_intensity, rules.max_intensity, rules.min_stay, rules.max_stay
    referral_friction, followup_share = rules.referral_friction_yuan, rules.followup_visit_share
    followup_max, followup_burden = rules.followup_max_visits, rules.followup_burden_yuan
    followup_reduction, followup_decay = rules.followup_risk_reduction, rules.followup_benefit_decay
    m = len(c)
    refer = np.zeros(m, np.bool_)
    admit = np.zeros(m, np.bool_)
    intensity = np.empty(m)
    stay = np.empty(m)
    drug_ratio = np.ones(m)
    returns = np.zeros(m, np.int8)
    code_up = np.zeros(m, np.bool_)
    value = benefit_weight * value_per_daly
    for i in range(m):
        ci, si = c[i], s[i]
        pw = profit_weight[i]
        bill_out = outpatient[i, 0] + outpatient[i, 1] + outpatient[i, 2]
        items_in = per_case[i, 0] + per_case[i, 1] + per_case[i, 2]
        cost_out = 0.0
        cost_in = 0.0
        for k in range(3):
            cost_out += outpatient[i, k] * item_cost_share[k]
            cost_in += per_case[i, k] * item_cost_share[k]
        # margins of one more unit of intensity (q) and of stay (s)
        m_q_out = marginal_out[i] * bill_out - cost_out
        m_q_in = marginal_in[i] * items_in - cost_in
        m_s = stay_margin(marginal_in[i], per_bed_day_in[i], daily[i], clinical_los[ci, si], bed_day_margin,
                          bed_shadow_price, occupancy[i], pressure_start)
        drug_part = cost_split[ci, 1]
        m_drug_out = m_q_out
        m_drug_in = m_q_in
        if prices_items:  # policies price drugs and the rest of the bundle apart
            m_drug_out = m_q_out + (per_outpatient_yuan[i] + per_drug_yuan[i]) * bill_out
            m_drug_in = m_q_in + per_drug_yuan[i] * items_in
            m_q_out = m_q_out + (per_outpatient_yuan[i] + per_other_yuan[i]) * bill_out
            m_q_in = m_q_in + per_other_yuan[i] * items_in
            m_s = m_s + daily[i] * (per_drug_yuan[i] * drug_part + per_other_yuan[i] * (1 - drug_part))
        # health stakes (DALY) at guideline treatment, here and at a capable facility
        yll = years_of_life_lost(life_expectancy, age[i])
        cap = capability_factor(risk_ratio, need_level[ci, si] - capability[i])
        clinical = death_risk[ci, si] * yll + complication_risk[ci, si] * complication_daly
        stakes_q = clinical * cap * delay[i]
        stakes_s = (complication_risk[ci, si] * complication_daly * cap * delay[i]
                    + readmission_risk[ci, si] * readmission_daly)
        q_out = optimum(pw, m_q_out, stakes_q, value, overtreatment, undertreatment, min_q, max_q)
        q_in = optimum(pw, m_q_in, stakes_q, value, overtreatment, undertreatment, min_q, max_q)
        stay[i] = optimum(pw, m_s, stakes_s, value, overstay, understay, min_stay, max_stay)
        if prices_items:
            q_drug_out = optimum(pw, m_drug_out, stakes_q, value, overtreatment, undertreatment, min_q, max_q)
            q_drug_in = optimum(pw, m_drug_in, stakes_q, value, overtreatment, undertreatment, min_q, max_q)
            out_margin = (fixed_out[i] + per_outpatient_case[i] + (1 - drug_part) * m_q_out * q_out
                          + drug_part * m_drug_out * q_drug_out)
            in_margin = (fixed_in[i] + (1 - drug_part) * m_q_in * q_in + drug_part * m_drug_in * q_drug_in
                         + m_s * stay[i])
        else:
            q_drug_out, q_drug_in = q_out, q_in
            out_margin = fixed_out[i] + m_q_out * q_out
            in_margin = fixed_in[i] + m_q_in * q_in + m_s * stay[i]
        # admission: the valued benefit of admitting plus the weighted extra margin of an inpatient case
        need = admission_need[ci, si]
        admitted = has_beds[i] and (value * admission_benefit[i] + pw * (in_margin - out_margin) > 0 or need >= 1.0)
        admitted = admitted and need > 0.0
        # referral up: health gained at a capable facility vs the margin kept here, plus friction
        gain = value * clinical * delay[i] * (cap - 1.0)
        if admitted:
            kept = in_margin + referral_cost_in[i] - referral_margin_share[i] * max(in_margin, 0.0)
        else:
            kept = out_margin + referral_cost_out[i] - referral_margin_share[i] * max(out_margin, 0.0)
        kept -= per_referral[i]
        needs_bed = not has_beds[i] and admission_benefit[i] > 0 and need > 0
        refer[i] = (gain > pw * kept + referral_friction or needs_bed) and can_refer[i]
        intensity[i] = q_in if admitted else q_out
        if prices_items:
            drug_ratio[i] = q_drug_in / q_in if admitted else q_drug_out / q_out
        admit[i] = admitted and not refer[i]
        code_up[i] = admit[i] and coded_up[i]
        if not admitted and not refer[i] and followup_max > 0:
            # a return visit: its items at the chosen intensity, the margin they earn, what the patient bears
            variable = out_margin - fixed_out[i] - (per_outpatient_case[i] if prices_items else 0.0)
            m_r = followup_share * variable
            burden = (1.0 - fund_rate_out[i]) * followup_share * bill_out * q_out + followup_burden
            averted = value * followup_reduction * stakes_q
            k = 0
            while k < followup_max and averted + pw * m_r - benefit_weight * burden > 0:
                k += 1
                averted *= followup_decay
            returns[i] = k
    return CaseDecisions(refer, admit, intensity, stay, drug_ratio, returns, code_up)


@nb.njit(**JIT)
def record_decisions(rows, decisions, day, ep, visits, states):
    """Book the provider's ``decisions`` (``CaseDecisions``) on the episodes ``rows`` it saw today
    (``sim.engine.model._treat``): each leaves its facility's queue and counts as a visit (by facility, and by level in
    the run and in the day); its intensity, drugs, stay and coded severity are kept; an admitted case joins the bed
    queue (its decision day kept until a bed is found), one neither admitted nor referred is treated. ``states``:
    the episode states of the bed queue and of a treated case. Referrals are booked apart
    (``sim.engine.model._refer``)."""
    decisions, ep, visits = CaseDecisions(*decisions), DecisionColumns(*ep), Visits(*visits)
    refer, admit, intensity, drug_ratio, stay_ratio, code_up = (decisions.refer, decisions.admit,
                                                                decisions.intensity, decisions.drug_ratio,
                                                                decisions.stay_ratio, decisions.code_up)
    bed_queue_state, treated_state = states
    facility, state, severity, admit_day = ep.facility, ep.state, ep.severity, ep.admit_day
    intensity_col, drug_ratio_col, stay_ratio_col, coded_severity = (ep.intensity, ep.drug_ratio, ep.stay_ratio,
                                                                     ep.coded_severity)
    level, queue, bed_queue, visited = visits.level, visits.queue, visits.bed_queue, visits.visits
    visits_by_level, served_today = visits.visits_by_level, visits.served_today
    for i in range(len(rows)):
        r = rows[i]
        f = facility[r]
        lv = level[f]
        queue[f] -= 1
        visited[f] += 1.0
        visits_by_level[lv] += 1.0
        served_today[lv] += 1.0
        intensity_col[r] = intensity[i]
        drug_ratio_col[r] = drug_ratio[i]
        stay_ratio_col[r] = stay_ratio[i]
        coded_severity[r] = severity[r] + (1 if code_up[i] else 0)
        if admit[i]:
            state[r] = bed_queue_state
            admit_day[r] = day
            bed_queue[f] += 1
        elif not refer[i]:
            state[r] = treated_state


@nb.njit(**JIT)
def count_visits(rows, level, gate, first_contact):
    """Count today's visits for the first-contact rules (``sim.policies.referral.ReferralRules.served``), of the
    episodes ``rows`` seen at facilities of ``level``: hospital visits (``level`` >= ``county``) of gated episodes
    (``gated``) into ``unreferred_visits``, visits of non-critical referred episodes into ``referred_visits``, by
    level (``FirstContactVisits``); returns the referred visits out of the county whose need a facility in it could
    meet (capability ``in_county``)."""
    seen, first_contact = Gate(*gate), FirstContactVisits(*first_contact)
    referred, condition, severity, time_critical = seen.referred, seen.condition, seen.severity, seen.time_critical
    need_level, in_county, county = first_contact.need_level, first_contact.in_county, first_contact.county
    unreferred_visits, referred_visits = first_contact.unreferred_visits, first_contact.referred_visits
    leaks = 0
    for i in range(len(rows)):
        r, lv = rows[i], level[i]
        c, s = condition[r], severity[r]
        if gated(r, gate):
            if lv >= county:
                unreferred_visits[lv] += 1
        elif referred[r] and not time_critical[c]:
            referred_visits[lv] += 1
            if lv > county and need_level[c, s] <= in_county:
                leaks += 1
    return leaks


@nb.njit(**JIT)
def gated_rows(rows, gate):
    """``gated`` for each of the episodes ``rows``."""
    out = np.empty(len(rows), np.bool_)
    for i in range(len(rows)):
        out[i] = gated(rows[i], gate)
    return out


@nb.njit(**JIT)
def transfer_destinations(src, need, capability, level, facility_minutes):
    """Where each time-critical case referred up from ``src`` is transferred (``sim.engine.model``): the nearest
    facility of a higher level capable of its ``need``, or, when none is, the most capable higher one."""
    m, n_fac = len(src), len(level)
    best = np.zeros(m, np.int64)
    for i in range(m):
        here = level[src[i]]
        nearest, nearest_f = np.inf, -1
        most, most_f = -np.inf, 0
        for f in range(n_fac):
            if level[f] <= here:
                continue
            if capability[f] >= need[i] and facility_minutes[src[i], f] < nearest:
                nearest, nearest_f = facility_minutes[src[i], f], f
            if capability[f] > most:
                most, most_f = capability[f], f
        best[i] = nearest_f if nearest_f >= 0 else most_f
    return best
