"""Per-episode loops compiled with Numba: the inner parts of the daily step that run for every episode.

Each stage of the step (``sim.model``) finds its episodes with numpy (``np.flatnonzero`` of a state), applies
the rules that only some scenarios switch on (``sim.referral``, ``sim.integration``, ``sim.emergency``,
``sim.assessment`` ...) as whole-array operations, and calls the loops here for the rest. A loop reads the
episode table's columns in place at the rows it is given and writes its results back into them, or into the
facilities' and the tally's columns, in one pass. The equations are those of the module each loop names;
written as a loop over episodes they read as the model states them ("for each finished treatment: its risks,
its outcome, its bill") and cost one call instead of dozens of whole-array operations, each with its
temporaries, whose fixed cost dominated small counties and whose memory traffic dominated large ones. Each
loop keeps the arithmetic, and so the numbers, of the array operations it replaced. Random numbers are
drawn with numpy, in the episode's birth order (``sim.model._episode_draws``), never here.

Sections follow the daily step (docs/ODD.md, section 3). Loops are compiled on first use and cached beside
the source (``cache=True``), so a new process pays the compilation once per machine; ``load`` warms them.
"""

from __future__ import annotations

import numba as nb
import numpy as np

JIT = {"cache": True, "nogil": True}
PRIORITIES = 6  # queue priority: severity 0-2, plus 3 for a time-critical case


# ---- Shared equations

@nb.njit(**JIT)
def curvature(ratio: float, over: float, under: float) -> float:
    """1 at the guideline (ratio 1), rising quadratically on either side with its own curvature
    (``sim.outcomes``)."""
    gap = ratio - 1.0
    return 1.0 + (over if gap > 0 else under) * gap * gap


@nb.njit(**JIT)
def capability_factor(risk_ratio: float, shortfall: float) -> float:
    """``risk_ratio ** shortfall`` for a positive shortfall of capability below need, else 1 (``sim.outcomes``);
    most cases are met by a capable facility and skip the power."""
    return risk_ratio ** shortfall if shortfall > 0.0 else 1.0


@nb.njit(**JIT)
def years_of_life_lost(life_expectancy: float, age) -> float:
    """Years of life lost by a death at ``age``: the life expectancy left, at least one (``sim.outcomes``)."""
    return max(life_expectancy - age, 1.0)


@nb.njit(**JIT)
def delay_factor(time_critical: bool, harm_per_hour: float, minutes, harm_per_day: float, days) -> float:
    """The harm of waiting (``sim.outcomes``): minutes from onset for a time-critical case, else days waited."""
    return 1.0 + harm_per_hour * minutes / 60.0 if time_critical else 1.0 + harm_per_day * days


@nb.njit(**JIT)
def gated(r, referred, condition, severity, time_critical, filed) -> bool:
    """Whether the first-contact rule applies to episode ``r`` (``sim.referral``): unreferred, not
    time-critical, and no filed chronic-disease referral for its condition and severity."""
    c = condition[r]
    return not referred[r] and not time_critical[c] and not filed[c, severity[r]]


@nb.njit(**JIT)
def guideline_row(ci, si, price, factors, has_factors, cost_split, outpatient_cost, inpatient_cost, per_day_share,
                  split, outpatient, per_case):
    """Charges of one case at guideline intensity and clinical stay (``sim.provider.guideline_charges``):
    fills ``split`` (yuan charged per listed yuan in services, drugs, consumables: the catalogue's split times
    procurement's price ``factors``), ``outpatient`` and the inpatient ``per_case`` items; returns the daily
    bundle (total over the clinical stay) and the sum of ``split``."""
    total = 0.0
    for k in range(3):
        split[k] = cost_split[ci, k] * (factors[k] if has_factors else 1.0)
        total += split[k]
    bundle = inpatient_cost[ci, si] * price
    for k in range(3):
        outpatient[k] = outpatient_cost[ci, si] * price * split[k]
        per_case[k] = bundle * (1.0 - per_day_share[ci]) * split[k]
    return bundle * per_day_share[ci] * (total if has_factors else 1.0), total


@nb.njit(**JIT)
def guideline_charges(c, s, price, factors, has_factors, cost_split, outpatient_cost, inpatient_cost,
                      per_day_share):
    """``guideline_row`` for every case: outpatient [m, 3], inpatient per-case [m, 3] and daily [m] charges, and
    the whole outpatient and inpatient bills [m]."""
    m = len(c)
    outpatient = np.empty((m, 3))
    per_case = np.empty((m, 3))
    daily = np.empty(m)
    bill_out = np.empty(m)
    bill_in = np.empty(m)
    split = np.empty(3)
    no_factors = np.ones(3)
    for i in range(m):
        daily[i], _ = guideline_row(c[i], s[i], price[i], factors[i] if has_factors else no_factors, has_factors,
                                    cost_split, outpatient_cost, inpatient_cost, per_day_share, split,
                                    outpatient[i], per_case[i])
        bill_out[i] = outpatient[i, 0] + outpatient[i, 1] + outpatient[i, 2]
        bill_in[i] = per_case[i, 0] + per_case[i, 1] + per_case[i, 2] + daily[i]
    return outpatient, per_case, daily, bill_out, bill_in


@nb.njit(**JIT)
def add_counts(into, index, sign):
    """``into[index] += sign`` with repeated indices counted each time (``sim.model.count``)."""
    for i in range(len(index)):
        into[index[i]] += sign


@nb.njit(**JIT)
def add_weights(into, index, weights, sign):
    """``into += sign x`` the sums of ``weights`` by ``index`` (each bin summed first, as ``np.bincount``)."""
    sums = np.zeros(len(into))
    for i in range(len(index)):
        sums[index[i]] += weights[i]
    for k in range(len(into)):
        into[k] += sign * sums[k]


# ---- 1. Onset (``sim.model._onset``)

@nb.njit(**JIT)
def onset_cases(counts, u_pick, u_severity, n_bands, kind, pool_start, pool_size, pools, severity_cdf, alive,
                female, female_kind):
    """Today's onsets (``sim.model``): ``counts`` per (condition, age band) cell, each falling on the resident
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
    """Write the onsets that ``keep`` selects into the episode table from row ``start`` on (``sim.model``,
    ``sim.episodes``): who, what and how severe, their random numbers, and what follows from them. Patience
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


# ---- 2. Care seeking (``sim.model._seek_care``, ``sim.care_seeking``)

@nb.njit(**JIT)
def choose_options(rows, resident, residence, condition, severity, min_level, rechoices, facility, time_critical,
                   scheme, n_schemes, personal_trust, open_village, closed_above, hospital_level, taste,
                   option_level, village_opinion, village_term, wait_term, case_term, options, by_facility,
                   need_level, perceived, prior, capability_preference, capability_gain_preference, forgo_utility,
                   forgo_severity_penalty):
    """The residents' multinomial logit (``sim.care_seeking``) for the choosing episodes ``rows`` (their
    columns read in place; ``residence`` is each resident's village): each episode takes the open option of
    largest utility (village terms, expected wait unless time-critical, personal trust and the village's opinion
    of the option's level, the case's expected out-of-pocket term by its pricing class ``scheme``, its own
    Gumbel taste, and with ``by_facility`` the capability it expects to miss or gain at that facility,
    ``sim.perception``), or forgoes care if that is larger. An option is open if its facility has slots
    today, its level is at least the episode's ``min_level``, it is not the facility a re-choice leaves, and
    it is below ``hospital_level`` for the episodes ``closed_above``. Returns each episode's village and
    choice: 0 to forgo, j + 1 for option j."""
    m = len(rows)
    n_options = len(option_level)
    choice = np.zeros(m, np.int64)
    village = np.empty(m, np.int64)
    for i in range(m):
        row = rows[i]
        v = residence[resident[row]]
        village[i] = v
        ci, si = condition[row], severity[row]
        critical = time_critical[ci]
        kind = (ci * 3 + si) * n_schemes + scheme[i]
        excluded = facility[row] if rechoices[row] > 0 else -1
        best, best_j = -np.inf, -1
        for j in range(n_options):
            lvl = option_level[j]
            if (not open_village[v, j] or lvl < min_level[row] or options[v, j] == excluded
                    or (closed_above[i] and lvl >= hospital_level)):
                continue
            u = (village_term[v, j] + (0.0 if critical else wait_term[v, j]) + personal_trust[i, lvl]
                 + village_opinion[v, lvl] + case_term[kind, j] + taste[row, j + 1])
            if by_facility:
                f = options[v, j]
                need = need_level[ci, si]
                u += (-capability_preference * max(need - perceived[f], 0.0)
                      + capability_gain_preference * (perceived[f] - prior[f]))
            if u > best:
                best, best_j = u, j
        forgo = forgo_utility - forgo_severity_penalty * (si + 2.0 * critical) + taste[row, 0]
        choice[i] = best_j + 1 if best_j >= 0 and best > forgo else 0
    return village, choice


@nb.njit(**JIT)
def book_choices(rows, village, choice, options, option_minutes, condition, time_critical, facility, state,
                 travel_minutes, critical_minutes, arrivals, queue, level, arrivals_today, waiting, untreated):
    """Carry out the choices of the episodes ``rows`` (``sim.model._seek_care``): one that forgoes care ends
    untreated today; one that goes joins its facility's queue (an arrival there, by facility and by level
    today) after the trip's minutes. Returns the time-critical ones that went and their trip's minutes (their
    clock adds the facility's minutes to identify them, set by the caller); the others' clocks stay at 0."""
    m = len(rows)
    critical = np.empty(m, rows.dtype)
    trip = np.empty(m, option_minutes.dtype)
    n = 0
    for i in range(m):
        r = rows[i]
        if choice[i] == 0:
            state[r] = untreated
            continue
        j, v = choice[i] - 1, village[i]
        f = options[v, j]
        facility[r] = f
        state[r] = waiting
        travel_minutes[r] += option_minutes[v, j]
        arrivals[f] += 1.0
        queue[f] += 1
        arrivals_today[level[f]] += 1.0
        if time_critical[condition[r]]:
            critical[n], trip[n] = r, option_minutes[v, j]
            n += 1
        else:
            critical_minutes[r] = 0.0
    return critical[:n], trip[:n]


# ---- 3. Discharges

@nb.njit(**JIT)
def discharge(day, state, discharge_day, facility, level, occupied, discharges, discharges_today, inpatient_state,
              treated_state):
    """Discharge every inpatient whose stay ends today (``sim.model._discharge``): the bed is freed, the
    discharge counted by level in the run and in the day, and the treatment is finished (billed today)."""
    for r in range(len(state)):
        if state[r] == inpatient_state and discharge_day[r] <= day:
            f = facility[r]
            occupied[f] -= 1
            discharges[level[f]] += 1.0
            discharges_today[level[f]] += 1.0
            state[r] = treated_state


# ---- 4. Service (``sim.model._serve``, ``sim.provider``): queues, what the provider sees and decides, referrals

@nb.njit(**JIT)
def serve_queue(rows, facility, condition, severity, seek_day, time_critical, places):
    """Serve the episodes ``rows`` queueing at their facilities (outpatient slots in step 4, beds in step 5 of
    ``sim.model``): each facility's queue in order of priority (severity, time-critical cases first) and then
    of arrival; the first ``places[f]`` are served, and time-critical cases always. ``places`` is reduced by
    those served (not below 0). Returns the rows in queue order, whether each was served, and for those not
    served the places still ahead of them after today's (their rank less the places left)."""
    m = len(rows)
    # Stable counting sort by (facility, priority), then by arrival within each (an insertion sort: the table
    # keeps episodes in order of arrival, so the runs are sorted already), ties in the order of ``rows``.
    n_buckets = len(places) * PRIORITIES
    bucket = np.empty(m, np.int64)
    start = np.zeros(n_buckets + 1, np.int64)
    for i in range(m):
        r = rows[i]
        priority = severity[r] + 3 * time_critical[condition[r]]
        bucket[i] = facility[r] * PRIORITIES + (PRIORITIES - 1 - priority)
        start[bucket[i] + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    ordered = np.empty(m, rows.dtype)
    ordered_bucket = np.empty(m, np.int64)
    for i in range(m):
        b = bucket[i]
        ordered[start[b]] = rows[i]
        ordered_bucket[start[b]] = b
        start[b] += 1
    for j in range(1, m):
        r, k = ordered[j], j
        while k > 0 and ordered_bucket[k - 1] == ordered_bucket[j] and seek_day[ordered[k - 1]] > seek_day[r]:
            ordered[k] = ordered[k - 1]
            k -= 1
        ordered[k] = r
    served = np.empty(m, np.bool_)
    rank = np.empty(m, np.int64)
    prev, k = -1, 0
    for j in range(m):
        r = ordered[j]
        f = facility[r]
        k = k + 1 if f == prev else 0
        prev = f
        rank[j] = k
        served[j] = k < places[f] or time_critical[condition[r]]
    for j in range(m):
        if served[j]:
            places[facility[ordered[j]]] -= 1
    for f in range(len(places)):
        places[f] = max(places[f], 0)
    for j in range(m):
        rank[j] -= places[facility[ordered[j]]]
    return ordered, served, rank


@nb.njit(**JIT)
def gather_cases(rows, facility, condition, severity, resident, seek_day, critical_minutes, admission_benefit,
                 cost_factor, scruple, age, employee, level, price_level, beds, occupied, top_level, day,
                 need_level, harm_per_day, harm_per_hour, time_critical, scruple_yuan):
    """What a provider sees of the episodes ``rows`` it treats (``sim.model._cases``), one row each: facility,
    condition, severity, resident, the facility's level, employee scheme, age, need level, the facility's price
    level, the case's cost factor, whether the facility has beds, whether a higher level exists, bed
    occupancy, the delay factor already incurred (``sim.outcomes``), the admission benefit and
    the provider's cost of coding the case up (yuan)."""
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
    return (fac, c, s, res, lvl, emp, ages, need, price, factor, has_beds, can_refer, occupancy, delay, benefit,
            coding)


@nb.njit(**JIT)
def optimum(profit_weight, margin, stakes, value, over, under, lo, hi):
    """argmax over r in [lo, hi] of profit_weight x margin x (r - 1) - value x stakes x h x (r - 1)^2, with h
    the curvature on the side the margin pushes toward (``sim.provider``). Where the stakes are zero any push
    goes to the bound; no push leaves the guideline."""
    denom = 2.0 * value * stakes * (over if margin > 0 else under)
    push = profit_weight * margin
    if denom > 0:
        ratio = 1.0 + push / denom
    else:
        ratio = np.inf if push > 0 else (-np.inf if push < 0 else 1.0)
    return min(max(ratio, lo), hi)


@nb.njit(**JIT)
def decide_cases(c, s, age, capability, has_beds, can_refer, occupancy, delay, admission_benefit,
                 profit_weight, referral_credit, outpatient, per_case, daily,
                 fixed_out, marginal_out, fixed_in, marginal_in, referral_cost_out, referral_cost_in,
                 has_assessment, a_drug, a_other, a_visit, a_visit_case, a_referral,
                 cost_split, clinical_los, need_level, death_risk, complication_risk, readmission_risk,
                 admission_need, item_cost_share, bed_day_margin, bed_shadow_price, pressure_start,
                 life_expectancy, complication_daly, readmission_daly, risk_ratio, benefit_weight, value_per_daly,
                 overtreatment, undertreatment, overstay, understay, min_q, max_q, min_stay, max_stay,
                 referral_friction):
    """The provider's decisions for each case (``sim.provider``: the equations are there): intensity as an
    outpatient and as an inpatient, stay, admission, referral up, and (under assessment) drugs apart from the
    rest of the bundle. Returns refer, admit (not referred), intensity, stay ratio and drug ratio."""
    m = len(c)
    refer = np.zeros(m, np.bool_)
    admit = np.zeros(m, np.bool_)
    intensity = np.empty(m)
    stay = np.empty(m)
    drug_ratio = np.ones(m)
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
        pressure = max((occupancy[i] - pressure_start) / (1 - pressure_start), 0.0)
        m_s = (marginal_in[i] * daily[i] - daily[i] / (1.0 + bed_day_margin)
               - bed_shadow_price * clinical_los[ci, si] * pressure)
        drug_part = cost_split[ci, 1]
        m_drug_out = m_q_out
        m_drug_in = m_q_in
        if has_assessment:  # expected deductions: drugs and the rest of the bundle apart
            m_drug_out = m_q_out - (a_visit[i] + a_drug[i]) * bill_out
            m_drug_in = m_q_in - a_drug[i] * items_in
            m_q_out = m_q_out - (a_visit[i] + a_other[i]) * bill_out
            m_q_in = m_q_in - a_other[i] * items_in
            m_s = m_s - daily[i] * (a_drug[i] * drug_part + a_other[i] * (1 - drug_part))
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
        if has_assessment:
            q_drug_out = optimum(pw, m_drug_out, stakes_q, value, overtreatment, undertreatment, min_q, max_q)
            q_drug_in = optimum(pw, m_drug_in, stakes_q, value, overtreatment, undertreatment, min_q, max_q)
            out_margin = (fixed_out[i] - a_visit_case[i] + (1 - drug_part) * m_q_out * q_out
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
            kept = in_margin + referral_cost_in[i] - referral_credit[i] * max(in_margin, 0.0)
        else:
            kept = out_margin + referral_cost_out[i] - referral_credit[i] * max(out_margin, 0.0)
        if has_assessment:
            kept += a_referral[i]
        needs_bed = not has_beds[i] and admission_benefit[i] > 0 and need > 0
        refer[i] = (gain > pw * kept + referral_friction or needs_bed) and can_refer[i]
        intensity[i] = q_in if admitted else q_out
        if has_assessment:
            drug_ratio[i] = q_drug_in / q_in if admitted else q_drug_out / q_out
        admit[i] = admitted and not refer[i]
    return refer, admit, intensity, stay, drug_ratio


@nb.njit(**JIT)
def record_decisions(rows, refer, admit, intensity, drug_ratio, stay_ratio, code_up, day, facility, level,
                     severity, state, intensity_col, drug_ratio_col, stay_ratio_col, coded_severity, admit_day,
                     queue, visits, bed_queue, visits_by_level, served_today, bed_queue_state, treated_state):
    """Book the provider's decisions on the episodes ``rows`` it saw today (``sim.model._treat``): each leaves
    its facility's queue and counts as a visit (by facility, and by level in the run and in the day); its
    intensity, drugs, stay and coded severity are kept; an admitted case joins the bed queue (its decision
    day kept until a bed is found), one neither admitted nor referred is treated. Referrals are booked apart
    (``sim.model._refer``)."""
    for i in range(len(rows)):
        r = rows[i]
        f = facility[r]
        lv = level[f]
        queue[f] -= 1
        visits[f] += 1.0
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
def count_visits(rows, level, referred, condition, severity, time_critical, filed, need_level, in_county, county,
                 unreferred_visits, referred_visits):
    """Count today's visits for the first-contact rules (``sim.referral.ReferralRules.count_visits``): hospital
    visits (``level`` >= ``county``) of gated episodes (unreferred, not time-critical, no ``filed`` referral)
    into ``unreferred_visits``, visits of non-critical referred episodes into ``referred_visits``, by level;
    returns the referred visits out of the county whose need a facility in it could meet (capability
    ``in_county``)."""
    leaks = 0
    for i in range(len(rows)):
        r, lv = rows[i], level[i]
        c, s = condition[r], severity[r]
        if gated(r, referred, condition, severity, time_critical, filed):
            if lv >= county:
                unreferred_visits[lv] += 1
        elif referred[r] and not time_critical[c]:
            referred_visits[lv] += 1
            if lv > county and need_level[c, s] <= in_county:
                leaks += 1
    return leaks


@nb.njit(**JIT)
def gated_rows(rows, referred, condition, severity, time_critical, filed):
    """``gated`` for each of the episodes ``rows``."""
    out = np.empty(len(rows), np.bool_)
    for i in range(len(rows)):
        out[i] = gated(rows[i], referred, condition, severity, time_critical, filed)
    return out


@nb.njit(**JIT)
def transfer_destinations(src, need, capability, level, facility_minutes):
    """Where each time-critical case referred up from ``src`` is transferred (``sim.model``): the nearest
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


# ---- 5. Admission

@nb.njit(**JIT)
def admit(rows, day, facility, condition, severity, stay_ratio, u_stay, clinical_los, exacerbation, los_days,
          admit_day, discharge_day, state, inpatient_state, occupied, bed_queue, admissions, level,
          admissions_by_level, admissions_today):
    """Admit the bed-queued episodes ``rows`` that found a bed today (``sim.model._admit_from_bed_queue``):
    the stay is fixed now, the provider's stay ratio times the clinical stay, rounded by the episode's own
    uniform and at least a day; the bed is occupied and the admission counted (by facility, and by level in
    the run and in the day). Returns how many were exacerbations of chronic disease."""
    exacerbations = 0
    for i in range(len(rows)):
        r = rows[i]
        f, ci = facility[r], condition[r]
        los = max(np.floor(stay_ratio[r] * clinical_los[ci, severity[r]] + u_stay[r]), 1.0)
        los_days[r] = int(los)
        admit_day[r] = day
        discharge_day[r] = day + int(los)
        state[r] = inpatient_state
        occupied[f] += 1
        bed_queue[f] -= 1
        admissions[f] += 1.0
        admissions_by_level[level[f]] += 1.0
        admissions_today[level[f]] += 1.0
        exacerbations += 1 if exacerbation[ci] else 0
    return exacerbations


# ---- 6. Completion (``sim.model._end_untreated``, ``sim.model._complete``): outcomes, bills, the tally

@nb.njit(**JIT)
def forgo_outcomes(rows, condition, severity, u_death, u_complication, resident, age, death_risk,
                   complication_risk, time_critical, risk_ratio, life_expectancy, complication_daly,
                   daly_per_severity):
    """Outcomes of the episodes ``rows`` that went without care (``sim.model._end_untreated``): their base
    risks times ``risk_ratio`` (at most 1), decided by their own uniforms. Returns who died, and the counts
    of deaths, complications, time-critical episodes and their deaths, and the health loss (DALY: years of
    life lost, ``complication_daly`` per complication, ``daly_per_severity`` x (severity + 1) for the illness
    left untreated)."""
    m = len(rows)
    died = np.zeros(m, np.bool_)
    deaths = complications = critical = critical_deaths = 0
    loss = 0.0
    for i in range(m):
        r = rows[i]
        ci, si = condition[r], severity[r]
        died[i] = u_death[r] < min(death_risk[ci, si] * risk_ratio, 1.0)
        comp = not died[i] and u_complication[r] < min(complication_risk[ci, si] * risk_ratio, 1.0)
        if died[i]:
            deaths += 1
            loss += years_of_life_lost(life_expectancy, age[resident[r]])
        if comp:
            complications += 1
            loss += complication_daly
        loss += (si + 1) * daly_per_severity
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
                      item_cost_share, bed_day_margin, life_expectancy, complication_daly, readmission_daly):
    """Outcomes and bill of every treatment finished today (``sim.outcomes``, billing in ``sim.model``), for
    the episodes ``rows`` (their columns are read in place; ``c``, ``s``, the treating ``fac`` and the
    ``capability`` that treated them are given per case).

    Risk = base risk x capability factor x delay factor x treatment factor (x stay factor for complications
    and readmissions); the episode's own uniforms decide death, complication and readmission. The wait runs to
    admission (inpatients) or to today. The bill: items (outpatient or the inpatient per-case part) times
    intensity, drugs times the drug ratio, plus the daily bundle times days stayed here, plus an inpatient
    complication's treatment, all at the facility's price level times the case's own resource use;
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
    wait = np.empty(m, np.int64)
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
        wait[i] = (admit_day[r] if inpatient[i] else day) - seek_day[r]
        coded[i] = coded_severity[r] if inpatient[i] else si
        # outcomes
        cap[i] = capability_factor(risk_ratio, need_level[ci, si] - capability[i])
        delay = delay_factor(time_critical[ci], harm_per_hour[ci], critical_minutes[r], harm_per_day[ci], wait[i])
        q_care[i] = q * (1.0 + cost_split[ci, 1] * (drug_ratio[r] - 1.0))  # drugs weigh by their share
        treat = curvature(q_care[i], over, under)
        stay_f = curvature(stay, overstay, understay)
        p_death[i] = min(death_risk[ci, si] * cap[i] * delay * treat, 1.0)
        p_comp[i] = min(complication_risk[ci, si] * cap[i] * delay * treat * stay_f, 1.0)
        p_readmit = min(readmission_risk[ci, si] * stay_f * treat, 1.0)
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
        for k in range(3):
            per_case_sum += per_case[k]
            if inpatient[i]:
                items[k] = 0.0 if moved else per_case[k] * q
            else:
                items[k] = outpatient[k] * q
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
                     clinical_los, n_levels, wait_hist, kind_minutes, kind_treated, ended):
    """The running totals of today's finished treatments (``sim.tally``), the episodes ``rows`` (their minutes
    read in place): per-level sums [n_levels, columns of ``TREATMENT_SUMS``], returned; the wait histogram
    (capped at its last bin), each critical kind's (``critical_kind`` of the condition, -1 for none) minutes
    and cases, and the end states (recovered, complication, died), added in place; and the counts and sums
    returned after the per-level ones: deaths, complications, readmissions, travel minutes, minutes to
    treatment and cases of time-critical episodes, their deaths, clinical bed-days of inpatients."""
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
        wait_hist[min(wait[i], top)] += 1
        deaths += 1 if died[i] else 0
        complications += 1 if comp[i] else 0
        readmissions += 1 if readmit[i] else 0
        ended[2 if died[i] else (1 if comp[i] else 0)] += 1  # sim.episodes: DIED, COMPLICATION, RECOVERED
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


# ---- Learning (``sim.care_seeking.CostBeliefs``, ``sim.perception``)

@nb.njit(**JIT)
def learn_cost_beliefs(key, bill, admitted, outpatient_bill, inpatient_bill, admission_rate, rate):
    """Cost beliefs move toward today's mean bills and admission rates where cases were seen
    (``sim.care_seeking.CostBeliefs.learn``); ``key`` is each case's flat (condition, severity, level) cell and
    the three beliefs are flat arrays over those cells."""
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
def observe_outcomes(fac, need, p_death, p_comp, cap, died, comp, prior, need_values, risk_ratio, observed,
                     expected, cases):
    """Add today's completed cases to each facility's evidence (``sim.perception.CapabilityPerception.observe``):
    realised bad outcomes, and those expected at the facility's prior capability (the case's risks with its
    capability factor ``cap`` replaced by the prior's), by [facility, need level] cell; cases with no need
    level show nothing."""
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
    (``sim.perception.CapabilityPerception``): ll(k) = sum_n [O_n ln rho_n(k) - X_n rho_n(k)] + prior term(k),
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


def compiled() -> bool:
    """Whether the loops are compiled and cached for this source (else the next use compiles them: about half a
    minute, once per machine and version). All loops share their source file's stamp, so one entry loop's
    cache answers for all; if Numba's cache index cannot be read, the answer is True (nothing to announce)."""
    try:
        return bool(finish_treatments._cache._cache_file._load_index())
    except Exception:  # a Numba without this (private) cache layout
        return True


def load() -> None:
    """Compile (first use on a machine) or load (from the cache) the loops now rather than at first use, so a
    timed run or a worker's first task does not pay for it: three days of a tiny county with every default
    pass each loop the argument types the model passes; the loops of rarer events are called with theirs."""
    from sim.model import HealthSystemModel
    from sim.scenario import Scenario

    HealthSystemModel(Scenario.model_validate({"population": {"size": 2000}, "days": 3})).run()
    # a time-critical transfer: facility ids int32, need and capability float64, levels int64, minutes float32
    transfer_destinations(np.zeros(1, np.int32), np.zeros(1), np.zeros(1), np.zeros(1, np.int64),
                          np.zeros((1, 1), np.float32))
    # first-contact rules: rows int64, referred bool, condition int16, severity int8, tables bool
    gated_rows(np.zeros(1, np.int64), np.zeros(1, np.bool_), np.zeros(1, np.int16), np.zeros(1, np.int8),
               np.zeros(1, np.bool_), np.zeros((1, 1), np.bool_))
