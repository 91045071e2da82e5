"""Care seeking (``sim.engine.model._seek_care``, ``sim.behaviour.care_seeking``): the logit's choice
and the booking of each choice."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT
from sim.kernels.records import Arrivals, BookingColumns, ChoiceColumns, ChoiceTerms


@nb.njit(**JIT)
def choose_options(rows, scheme, personal_trust, closed_above, ep, terms, favoured, bonus):
    """The residents' multinomial logit (``sim.behaviour.care_seeking``) for the choosing episodes ``rows`` of the
    table ``ep``, with the day's choice model ``terms``: each episode takes the open option of largest utility
    (village terms, expected wait unless time-critical, personal trust ``personal_trust`` [i, level] and the
    village's opinion of the option's level, the case's expected out-of-pocket term by its pricing class
    ``scheme``, its own Gumbel taste, and with ``by_facility`` the capability it expects to miss or gain at that
    facility, ``sim.behaviour.perception``), or treats itself or forgoes care if either is larger. An option is
    open if its facility has slots today, its level is at least the episode's ``min_level``, it is not the
    facility a re-choice leaves, and it is below ``hospital_level`` for the episodes ``closed_above``. Self-care
    is worth ``self_care_term[condition x 3 + severity]`` (-inf where it is no option) plus the episode's last
    Gumbel taste; going without, ``forgo_utility`` less ``forgo_severity_penalty`` per step of severity (two
    more when time-critical) and ``forgo_need_penalty`` per level of need, plus the first. An episode's option
    ``favoured[i]`` (a booking offered to it, ``sim.policies.referral``; -1 or an empty array: none) is worth
    ``bonus`` more. Returns each episode's village and choice: 0 to forgo, -1 for self-care, j + 1 for option j."""
    ep, terms = ChoiceColumns(*ep), ChoiceTerms(*terms)
    resident, condition, severity, facility, rechoices, min_level, taste = (
        ep.resident, ep.condition, ep.severity, ep.facility, ep.rechoices, ep.min_level, ep.taste)
    residence, time_critical, need_level = terms.residence, terms.time_critical, terms.need_level
    option_level, options, open_village, village_term, wait_term, village_opinion, case_term = (
        terms.option_level, terms.options, terms.open_village, terms.village_term, terms.wait_term,
        terms.village_opinion, terms.case_term)
    by_facility, perceived, prior = terms.by_facility, terms.perceived, terms.prior
    self_care_term, n_schemes, hospital_level = terms.self_care_term, terms.n_schemes, terms.hospital_level
    capability_preference, capability_gain_preference = terms.capability_preference, terms.capability_gain_preference
    forgo_utility, forgo_severity_penalty, forgo_need_penalty = (terms.forgo_utility, terms.forgo_severity_penalty,
                                                                 terms.forgo_need_penalty)
    m = len(rows)
    n_options = len(option_level)
    # [village, option] terms shared by every episode of a village, looked up once per option below
    n_villages = village_term.shape[0]
    shared = np.empty((n_villages, n_options))
    seen = np.zeros((n_villages, n_options))
    gain = np.zeros((n_villages, n_options))
    for v in range(n_villages):
        for j in range(n_options):
            shared[v, j] = village_term[v, j] + village_opinion[v, option_level[j]]
            if by_facility:
                f = options[v, j]
                seen[v, j] = perceived[f]
                gain[v, j] = capability_gain_preference * (perceived[f] - prior[f])
    # the villages first, in a loop of their own: scattered reads that overlap when nothing else waits on them
    village = np.empty(m, np.int64)
    for i in range(m):
        village[i] = residence[resident[rows[i]]]
    choice = np.zeros(m, np.int64)
    offers = len(favoured) > 0
    for i in range(m):
        row = rows[i]
        v = village[i]
        ci, si = condition[row], severity[row]
        critical = time_critical[ci]
        kind = (ci * 3 + si) * n_schemes + scheme[i]
        excluded = facility[row] if rechoices[row] > 0 else -1
        need = need_level[ci, si]
        lowest = min_level[row]
        closed = closed_above[i]
        offered = favoured[i] if offers else -1
        best, best_j = -np.inf, -1
        for j in range(n_options):
            lvl = option_level[j]
            if (not open_village[v, j] or lvl < lowest or options[v, j] == excluded
                    or (closed and lvl >= hospital_level)):
                continue
            u = (shared[v, j] + (0.0 if critical else wait_term[v, j]) + personal_trust[i, lvl]
                 + case_term[kind, j] + taste[row, j + 1])
            if by_facility:
                u += -capability_preference * max(need - seen[v, j], 0.0) + gain[v, j]
            if j == offered:
                u += bonus
            if u > best:
                best, best_j = u, j
        forgo = (forgo_utility - forgo_severity_penalty * (si + 2.0 * critical) - forgo_need_penalty * need
                 + taste[row, 0])
        self_care = self_care_term[ci * 3 + si] + taste[row, n_options + 1]
        if best_j >= 0 and best > forgo and best > self_care:
            choice[i] = best_j + 1
        elif self_care > forgo:
            choice[i] = -1
        else:
            choice[i] = 0
    return village, choice


@nb.njit(**JIT)
def book_choices(rows, village, choice, ep, arrivals, waiting, untreated, self_cared):
    """Carry out the choices of the episodes ``rows`` (``sim.engine.model._seek_care``): one that forgoes care ends
    untreated today, one that treats itself ends self-cared today; one that goes joins its facility's queue (an
    arrival there, and at its level today) after the trip's minutes. Returns the time-critical ones that went and
    their trip's minutes (their clock adds the facility's minutes to identify them, set by the caller); the
    others' clocks stay at 0."""
    ep, arrivals = BookingColumns(*ep), Arrivals(*arrivals)
    condition, state, facility, travel_minutes, critical_minutes = (
        ep.condition, ep.state, ep.facility, ep.travel_minutes, ep.critical_minutes)
    options, option_minutes, time_critical = arrivals.options, arrivals.option_minutes, arrivals.time_critical
    level, queue, arrived, arrivals_today = arrivals.level, arrivals.queue, arrivals.arrivals, arrivals.arrivals_today
    m = len(rows)
    critical = np.empty(m, rows.dtype)
    trip = np.empty(m, option_minutes.dtype)
    n = 0
    for i in range(m):
        r = rows[i]
        if choice[i] <= 0:
            state[r] = untreated if choice[i] == 0 else self_cared
            continue
        j, v = choice[i] - 1, village[i]
        f = options[v, j]
        facility[r] = f
        state[r] = waiting
        travel_minutes[r] += option_minutes[v, j]
        arrived[f] += 1.0
        queue[f] += 1
        arrivals_today[level[f]] += 1.0
        if time_critical[condition[r]]:
            critical[n], trip[n] = r, option_minutes[v, j]
            n += 1
        else:
            critical_minutes[r] = 0.0
    return critical[:n], trip[:n]
