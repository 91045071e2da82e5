"""Referral rules (双向转诊): primary first contact, the referral platform, downward transfer of convalescent
inpatients, and deductible continuity across referrals (起付线连续计算). Seed 001 (Linxiang) describes all four.

*First contact* (``policies.referral.first_contact``). An episode is *gated* when it is not time-critical, has
not been referred up by a lower level (``referred``) and is not covered by a filed chronic-disease referral.
Under ``soft`` a gated episode at a county or out-of-county hospital is reimbursed
``unreferred_reimbursement_cut`` points less; residents see it in their expected out-of-pocket cost when they
choose (a second pricing class in the choice table) and the fund applies it when it pays. Under ``hard`` those
hospitals are closed to gated episodes, which must go through a village clinic or township centre and be
referred up by its doctor (the provider's ordinary referral decision, ``sim.behaviour.provider``).

*Platform* (``policies.referral.platform``). A non-critical referred patient is offered a booking at the
nearest facility of the county above the referring level whose capability meets the case's need (when one
exists). The patient decides as downward transfers are decided, by their own utility: the booking is worth its
facility's utility in their choice of care (``sim.behaviour.care_seeking``: trust, expected out-of-pocket price,
travel, expected wait, their own taste) plus ``platform_booking_utility`` (no search, a held slot); they take it
when that beats their best alternative (every other open facility, self-care, going without), and are then in
its queue the same day; otherwise they choose again, as every referred patient does without a platform, and may
leave the county (leakage). A distrusted or distant booking is refused more often.

*Downward transfer* (``policies.referral.down``). A county or out-of-county inpatient whose remaining stay is
convalescence (the whole stay of a ``convalescent_conditions`` case after its first day; the part of a
``tail_conditions`` case after ``acute_share`` of its clinical stay) may move to their own township centre for
the rest of the stay, if its capability covers convalescence (need level at most 1) and it has a free bed. Two
decisions, both needed:

- the hospital proposes when ``profit_weight x (-keep - elsewhere) > referral_friction_yuan``, where ``keep`` is
  its margin on the remaining days in its own view under the payment model (``sim.payment.models.terms``: revenue per
  yuan and per bed-day less resource cost less the bed shadow price when beds are scarce) and ``elsewhere`` what the
  township's claim for those days costs its medical community (``k x`` the fund's part; 0 outside a community). Under
  fee-for-service with spare beds the remaining days earn a margin, so it keeps the patient;
- the patient accepts when ``trust[township] - trust[hospital] - (P(OOP moving) - P(OOP staying)) +
  travel_sensitivity x (minutes home-hospital - minutes home-township) / 60 - transfer_disutility + e > 0``,
  with P the price disutility of the choice of care (``sim.behaviour.care_seeking.price_disutility``), OOP moving
  the out-of-pocket cost of the two bills (the hospital's for the days stayed, the township's for the rest, with a
  new deductible unless continuity waives it), OOP staying that of the whole stay at the hospital, and e a
  logistic draw of the episode's own (drawn at birth).

The stay is billed in two parts: the hospital's bill (items and days stayed) at the transfer, the township's
(its days, and any complication) at discharge; outcomes are met at discharge with the acute hospital's
capability and the whole stay.

*Deductible continuity* (``insurance.deductible_continuity``): the deductible due on an in-county bill of an
episode that already paid one is 0 after a downward (or same-level) transfer and the difference to the higher
level's deductible after an upward one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.behaviour.care_seeking import price_disutility
from sim.behaviour.provider import guideline_charges
from sim.core import episodes as E
from sim.core.conditions import POPULATIONS, check_conditions
from sim.core.levels import COUNTY, N_LEVELS, OUT_OF_COUNTY, TOWNSHIP
from sim.kernels import FirstContactVisits, Gate, count_visits, gated_rows, stay_margin
from sim.policies.base import Policy

CHRONIC_KINDS = POPULATIONS.index("hypertension")  # catalogue populations from here on are chronic diseases


@dataclass
class SplitStays:
    """What ``_complete`` needs for episodes whose stay was split by a downward transfer."""

    moved: np.ndarray        # the row's stay was split (the acute part was billed at the transfer)
    stay_here: np.ndarray    # days billed here / clinical stay (the whole stay ratio if not moved)
    days_here: np.ndarray    # bed-days here
    capability: np.ndarray   # capability that treated the case (the acute hospital's if moved)
    level: np.ndarray        # level credited with the outcome (the acute hospital's if moved)


class ReferralRules(Policy):
    """The referral rules in force (set afresh on every scenario change); every hook is a no-op when its
    policy is off, so a run without them is the run without this module."""

    name = "referral"
    # a downward transfer's days at the township, the hospital it left, the deductible paid, whether it was offered
    columns = ("down_days", "acute_facility", "deductible_paid", "down_offered")
    counters = ("unreferred_visits", "referred_visits", "referred_leaks", "platform_offers", "platform_placed",
                "platform_keepable", "referrals_down", "down_proposals", "down_bed_days")
    # the platform books referred patients into queues; a downward transfer moves a patient, a bed and the bill of
    # the days stayed at the hospital
    writes = ("episodes.facility", "episodes.state", "episodes.travel_minutes", "facilities.queue",
              "facilities.occupied", "facilities.books.arrivals", "facilities.books.admissions",
              "facilities.books.bed_days", "facilities.books.revenue", "facilities.books.resource_cost",
              "facilities.books.fund_income", "facilities.books.oop_income", "tally.admissions", "tally.discharges",
              "tally.bed_days", "tally.charges", "tally.inpatient_charges", "tally.fund", "tally.oop",
              "tally.provider_revenue", "tally.provider_cost", "tally.coded_weight_sum", "tally.upcoded",
              "tally.audit_recovered", "tally.admissions_refused", "tally.daily.arrivals", "tally.daily.admissions",
              "tally.daily.discharges", "tally.daily.spending", "tally.daily.fund", "tally.daily.oop")

    def configure(self, before) -> None:
        model = self.model
        spec = model.spec
        check_conditions(spec, model.cat)
        self.m = model
        self.rules = r = spec.policies.referral
        self.down = r.down
        self.continuity = spec.insurance.deductible_continuity
        cat = model.cat
        self.first_contact = r.first_contact
        chronic = cat.population >= CHRONIC_KINDS
        self.filed = (r.filed_chronic_referral & chronic[:, None]
                      & (cat.need_level > spec.facilities.township.capability))
        self.cut_by_level = np.where(np.arange(N_LEVELS) >= COUNTY, r.unreferred_reimbursement_cut, 0.0)
        self.convalescent = np.isin(cat.names, r.down.convalescent_conditions)
        self.tail = np.isin(cat.names, r.down.tail_conditions)

    # ------------------------------------------------------------------------------------- first contact
    def gate(self) -> tuple:
        """What the first-contact rule reads, as the compiled loops take it (``sim.kernels.Gate``)."""
        ep = self.m.episodes
        return tuple(Gate(referred=ep.referred, condition=ep.condition, severity=ep.severity,
                          time_critical=self.m.cat.time_critical, filed=self.filed))

    def gated(self, rows: np.ndarray) -> np.ndarray:
        """Episodes the first-contact rule applies to: unreferred, not time-critical, no filed referral."""
        return gated_rows(rows, self.gate())

    def steer(self, rows: np.ndarray, scheme: np.ndarray, closed_above) -> tuple[np.ndarray, np.ndarray | None]:
        """Care seeking under first contact: each episode's pricing class (soft: 2 x gated + scheme), and the
        episodes to which county and out-of-county hospitals are closed (hard: the gated ones; None when no
        episode is closed out)."""
        if self.first_contact == "none":
            return scheme, closed_above
        gated = self.gated(rows)
        if self.first_contact == "soft":
            return scheme + 2 * gated.astype(np.int8), closed_above
        return scheme, gated if closed_above is None else closed_above | gated

    def pricing_classes(self, beliefs, fund, oop: np.ndarray) -> np.ndarray:
        """[c, s, level, pricing class] expected out-of-pocket: the two schemes (``oop``), then (soft) the same
        unreferred."""
        if self.first_contact != "soft":
            return oop
        return np.concatenate([oop, beliefs.expected_oop(fund, self.cut_by_level)], axis=3)

    def rate_cut(self, rows: np.ndarray, level: np.ndarray, cut):
        """Points off each case's reimbursement rate (``cut`` as given when soft first contact is not in force)."""
        if self.first_contact != "soft":
            return cut
        return np.where(self.gated(rows), self.cut_by_level[level], 0.0)

    # ------------------------------------------------------------------------------------- counting
    def served(self, rows: np.ndarray, level: np.ndarray) -> None:
        """Visits at hospitals by gated episodes, visits by non-critical referred episodes, and referred visits
        that left the county though a facility in it could meet the case's need (leakage)."""
        m = self.m
        t, fac_t = m.tally, m.facilities
        in_county = float(fac_t.capability[fac_t.level <= COUNTY].max())
        visits = FirstContactVisits(need_level=m.cat.need_level, in_county=in_county, county=COUNTY,
                                    unreferred_visits=t.unreferred_visits, referred_visits=t.referred_visits)
        t.referred_leaks += count_visits(rows, level, self.gate(), tuple(visits))

    # ------------------------------------------------------------------------------------- platform
    def referred_up(self, rows: np.ndarray) -> None:
        self.place(rows)

    def place(self, rows: np.ndarray) -> np.ndarray:
        """The platform offers each non-critical referred patient a booking at the nearest capable in-county
        facility above the referring level; the patient takes it when it is worth more to them than their best
        alternative (``offer``). Books those who accept; returns the rows left to choose for themselves.

        While a medical community weighs running a platform (``sim.payment.instruments``), it counts the referred
        patients who would leave the county by their own choice but take, or would take, a booking
        (``platform_keepable``), whether it runs one or not; counting changes nothing."""
        m = self.m
        running = self.rules.platform or community_runs_platform(m)
        if not (running or community_weighs_platform(m)) or len(rows) == 0:
            return rows
        offered, option, accept = self.offer(rows)
        if community_weighs_platform(m):
            own = m.choose_care(offered)[1]  # what they would choose without the booking
            leaves = (own > 0) & (m.option_level[np.maximum(own - 1, 0)] == OUT_OF_COUNTY)
            m.tally.platform_keepable += int((accept & leaves).sum())
        if not running:
            return rows
        m.tally.platform_offers += len(offered)
        go, option = offered[accept], option[accept]
        if len(go) == 0:
            return rows
        ep, fac_t, geo = m.episodes, m.facilities, m.geo
        village = m.pop.village[ep.resident[go]]
        fac = geo.options[village, option]
        ep.facility[go] = fac
        ep.state[go] = E.WAITING
        ep.travel_minutes[go] += geo.option_minutes[village, option]
        count = np.bincount(fac, minlength=fac_t.n)
        fac_t.books["arrivals"] += count
        fac_t.queue += count
        m.tally.day_row(m.day, "arrivals")[:] += np.bincount(fac_t.level[fac], minlength=N_LEVELS)
        m.tally.platform_placed += len(go)
        return np.setdiff1d(rows, go, assume_unique=True)

    def offer(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The platform's offers to the referred patients ``rows`` and their answers: the rows offered a booking
        (a capable in-county facility above the referring level, open today, exists), the option column of the
        booking in their village's options (the nearest such facility), and whether each accepts.

        A patient accepts when the booking is the best of their options: its utility in the choice of care
        (``sim.behaviour.care_seeking``: trust, expected out-of-pocket price, travel, expected wait, their own
        taste for it) plus ``platform_booking_utility`` (no search, a held slot) against every other facility
        open to them, self-care and going without, each with its own taste: the choice they would make otherwise.
        A patient who refuses chooses again by that same utility."""
        m = self.m
        ep, fac_t, geo = m.episodes, m.facilities, m.geo
        village = m.pop.village[ep.resident[rows]]
        options = geo.options[village]
        need = m.cat.need_level[ep.condition[rows], ep.severity[rows]]
        level = fac_t.level[ep.facility[rows]]
        capable = ((fac_t.level[options] > level[:, None]) & (fac_t.level[options] <= COUNTY)
                   & (fac_t.capability[options] >= need[:, None]) & (fac_t.clinic_minutes()[options] > 0))
        minutes = np.where(capable, geo.option_minutes[village], np.inf)
        offered = capable.any(1)
        option = minutes.argmin(1)[offered]
        rows = rows[offered]
        _, choice = m.choose_care(rows, favoured=option, bonus=self.rules.platform_booking_utility)
        return rows, option, choice == option + 1

    # ------------------------------------------------------------------------------------- downward transfer
    def after_discharges(self) -> None:
        self.transfer_down()

    def transfer_down(self) -> None:
        """Propose, accept and carry out today's downward transfers (after discharges, before service)."""
        if not self.down.enabled:
            return
        m = self.m
        ep, fac_t, cat = m.episodes, m.facilities, m.cat
        rows = np.flatnonzero(ep.state == E.INPATIENT)
        rows = rows[(fac_t.level[ep.facility[rows]] >= COUNTY) & (ep.down_days[rows] == 0)]
        c = ep.condition[rows]
        convalescent = self.convalescent[c] | self.tail[c]
        rows, c = rows[convalescent], c[convalescent]
        s = ep.severity[rows]
        clinical = cat.clinical_los[c, s]
        acute = np.where(self.convalescent[c], 1, np.maximum(np.ceil(self.down.acute_share * clinical), 1))
        stayed = m.day - ep.admit_day[rows]
        township = m.geo.options[m.pop.village[ep.resident[rows]], 1]
        ok = ((stayed >= acute) & (ep.discharge_day[rows] - m.day >= self.down.min_remaining_days)
              & (fac_t.capability[township] >= np.minimum(cat.need_level[c, s], self.down.convalescent_need))
              & (fac_t.beds[township] > 0))
        rows = rows[ok & ~ep.down_offered[rows]]  # a patient who declined is not asked again
        if len(rows) == 0:
            return
        rows = rows[self._propose(rows)]
        if len(rows) == 0:
            return
        plan = self._accept(rows)
        go = plan.accept
        # the township centre must have a free bed (first come, first served among today's transfers); a patient
        # who accepted but found no bed is asked again tomorrow
        town = plan.township[go]
        order = np.argsort(town, kind="stable")
        rank = np.empty(len(town), np.int64)
        rank[order] = np.arange(len(town)) - np.searchsorted(town[order], town[order], side="left")
        free = np.maximum(fac_t.beds - fac_t.occupied, 0)
        go[np.flatnonzero(go)[rank >= free[town]]] = False
        answered = go | ~plan.accept
        m.tally.down_proposals += int(answered.sum())
        ep.down_offered[rows[answered]] = True
        if go.any():
            self._move(rows[go], plan, go)

    def _price_factors(self, fac: np.ndarray) -> np.ndarray | None:
        """Procurement's price factors by category at facilities ``fac`` (``sim.policies.procurement``), or None."""
        factors = self.m.price_factors
        return None if factors is None else factors[fac]

    def _remaining_bills(self, rows: np.ndarray):
        """Per row: the hospital's guideline items and daily bundle at its prices, the township's daily bundle,
        the clinical stay, days stayed and days remaining."""
        m = self.m
        ep, fac_t, cat = m.episodes, m.facilities, m.cat
        c, s = ep.condition[rows].astype(np.int64), ep.severity[rows].astype(np.int64)
        fac = ep.facility[rows]
        township = m.geo.options[m.pop.village[ep.resident[rows]], 1]
        factor = ep.cost_factor[rows]
        _, per_case, daily = guideline_charges(cat, c, s, fac_t.price_level[fac] * factor, self._price_factors(fac))
        if m.price_factors is None:
            daily_town = daily * fac_t.price_level[township] / fac_t.price_level[fac]
        else:  # the centre's own procurement prices
            _, _, daily_town = guideline_charges(cat, c, s, fac_t.price_level[township] * factor,
                                                 self._price_factors(township))
        return (per_case.sum(1) * ep.intensity[rows], daily, daily_town, cat.clinical_los[c, s],
                (m.day - ep.admit_day[rows]).astype(float), (ep.discharge_day[rows] - m.day).astype(float), township)

    def _propose(self, rows: np.ndarray) -> np.ndarray:
        """The hospital proposes when its objective prefers to let the remaining days go: its margin on them in its
        own view (``sim.payment.models.terms``) less the bed shadow price, against what the township's claim for them
        costs its community (a member's referral cost with the township as destination; 0 otherwise)."""
        m = self.m
        fac_t, pay, prov = m.facilities, m.payment, m.spec.behaviour.provider
        _, daily, daily_town, clinical, _, remaining, township = self._remaining_bills(rows)
        fac = m.episodes.facility[rows]
        rest_here = daily * remaining / clinical
        employee = m.pop.employee[m.episodes.resident[rows]]
        cases = replace(m._cases(rows),
                        fund_rate_up_in=m.fund.marginal_rate(np.full(len(rows), TOWNSHIP), employee, inpatient=True),
                        price_ratio_up=fac_t.price_level[township] / fac_t.price_level[fac])
        weight = m.provider.profit_weight * m.pay_factor[fac]  # the hospital's weight on margin (sim.core.pay)
        terms = pay.terms(cases, np.zeros(len(rows)), rest_here, weight)
        keep = stay_margin(terms.marginal_in, terms.per_bed_day_in, rest_here, remaining, pay.bed_day_margin,
                           prov.bed_shadow_price_yuan, fac_t.occupancy()[fac], prov.bed_pressure_start_occupancy)
        elsewhere = terms.referral_cost_in if pay.community is not None else 0.0
        return weight * (-keep - elsewhere) > prov.referral_friction_yuan

    def _accept(self, rows: np.ndarray) -> _Plan:
        """The patient accepts when moving beats staying: out-of-pocket cost of the two bills (with a new
        deductible unless continuity waives it) against staying's, trust, distance from home, the move itself."""
        m = self.m
        ep, fac_t, fund, geo, pop = m.episodes, m.facilities, m.fund, m.geo, m.pop
        items, daily, daily_town, clinical, stayed, remaining, township = self._remaining_bills(rows)
        res = ep.resident[rows]
        village = pop.village[res]
        fac = ep.facility[rows]
        level = fac_t.level[fac]
        employee = pop.employee[res]
        whole = items + daily * (stayed + remaining) / clinical
        first = items + daily * stayed / clinical
        rest_town = daily_town * remaining / clinical
        yes = np.ones(len(rows), bool)
        cut = self.rate_cut(rows, level, None)
        to_town = np.full(len(rows), TOWNSHIP)
        paid = np.minimum(fund.deductible[level], first * fund.eligible_share[level])
        due = self.deductible_due(to_town, paid, level)

        def oop(bill, lvl, rate_cut=None, deductible=None):
            return bill - fund.fund_share(bill, lvl, employee, yes, rate_cut, deductible)

        r = m.spec.behaviour.resident
        # the price of moving against staying, weighed as the choice of care weighs prices (by doublings)
        d_price = (price_disutility(oop(first, level, cut) + oop(rest_town, to_town, None, due), r)
                   - price_disutility(oop(whole, level, cut), r))
        trust_initial = m.care.trust_initial
        trust = (trust_initial[TOWNSHIP] - trust_initial[level] + pop.trust[res, TOWNSHIP] - pop.trust[res, level]
                 + pop.village_opinion[village, TOWNSHIP] - pop.village_opinion[village, level])
        column = (geo.options[village] == fac[:, None]).argmax(1)
        nearer = geo.option_minutes[village, column] - geo.option_minutes[village, 1]
        u = np.clip(ep.u_transfer[rows].astype(float), 1e-7, 1 - 1e-7)
        utility = (trust - d_price + r.travel_sensitivity * nearer / 60.0
                   - self.down.transfer_disutility + np.log(u / (1 - u)))
        return _Plan(accept=utility > 0, township=township, stayed=stayed, first=first, cut=cut)

    def _move(self, rows: np.ndarray, plan: _Plan, go: np.ndarray) -> None:
        """Bill the hospital's part, move the patient and their bed, count the transfer."""
        m = self.m
        ep, fac_t, t = m.episodes, m.facilities, m.tally
        fac = ep.facility[rows]
        level = fac_t.level[fac]
        town = plan.township[go]
        stayed = plan.stayed[go]
        self._bill_first_part(rows, fac, level, plan.first[go], stayed, None if plan.cut is None else plan.cut[go])
        ep.down_days[rows] = ep.discharge_day[rows] - m.day
        ep.acute_facility[rows] = fac
        ep.travel_minutes[rows] += m.geo.facility_minutes[fac, town]
        ep.facility[rows] = town
        n = fac_t.n
        fac_t.occupied -= np.bincount(fac, minlength=n)
        fac_t.occupied += np.bincount(town, minlength=n)
        fac_t.books["admissions"] += np.bincount(town, minlength=n)
        down = np.bincount(level, minlength=N_LEVELS)
        t.referrals_down += down
        t.discharges += down
        t.day_row(m.day, "discharges")[:] += down
        t.admissions[TOWNSHIP] += len(rows)
        t.day_row(m.day, "admissions")[TOWNSHIP] += len(rows)
        t.down_bed_days += float(ep.down_days[rows].sum())

    def _bill_first_part(self, rows, fac, level, bill, stayed, cut) -> None:
        """Settle the hospital's bill for the days stayed (items and days, no complication yet) and book it."""
        m = self.m
        ep, fac_t, cat, t, pay = m.episodes, m.facilities, m.cat, m.tally, m.payment
        c, s = ep.condition[rows].astype(np.int64), ep.severity[rows].astype(np.int64)
        res = ep.resident[rows]
        employee = m.pop.employee[res]
        factors = self._price_factors(fac)
        _, per_case, daily = guideline_charges(cat, c, s, fac_t.price_level[fac] * ep.cost_factor[rows], factors)
        items = per_case * ep.intensity[rows][:, None]
        days = daily * stayed / cat.clinical_los[c, s]
        split = cat.cost_split[c]
        if factors is not None:  # the days' bundle splits as its prices do (as a finished stay's, sim.kernels)
            split = split * factors
            split = split / split.sum(1, keepdims=True)
        charges = items + days[:, None] * split
        cost = items @ (1 / (1 + pay.item_margin)) + days / (1 + pay.bed_day_margin)
        n = len(rows)
        yes = np.ones(n, bool)
        claims = pay.settle(m.fund, fac_t, fac=fac, level=level, c=c, s=s,
                            coded_s=ep.coded_severity[rows].astype(np.int64), cc=np.zeros(n, bool), inpatient=yes,
                            bill=bill, employee=employee, capitated=np.zeros(n, bool),
                            admission_benefit=ep.admission_benefit[rows], u_review=ep.u_review[rows],
                            bed_days=stayed, rate_cut=cut)
        eligible = bill * m.fund.eligible_share[level]
        ep.deductible_paid[rows] = np.minimum(m.fund.deductible[level], eligible)
        books = fac_t.books
        for name, values in (("revenue", claims.revenue), ("resource_cost", cost), ("fund_income", claims.fund),
                             ("oop_income", claims.oop), ("bed_days", stayed)):
            books[name] += np.bincount(fac, values, minlength=fac_t.n)

        def by_level(w):
            return np.bincount(level, w, minlength=N_LEVELS)

        t.charges += np.stack([by_level(charges[:, k]) for k in range(3)], axis=1)
        t.inpatient_charges += by_level(bill)
        t.fund += by_level(claims.fund)
        t.oop += by_level(claims.oop)
        t.provider_revenue += by_level(claims.revenue)
        t.provider_cost += by_level(cost)
        t.bed_days += by_level(stayed)
        t.coded_weight_sum += float(claims.coded_weight.sum())
        t.upcoded += int(claims.upcoded.sum())
        t.audit_recovered += float(claims.recovered.sum())
        t.admissions_refused += int(claims.refused.sum())
        for name, values in (("spending", claims.revenue), ("fund", claims.fund), ("oop", claims.oop)):
            t.day_row(m.day, name)[:] += by_level(values)

    # ------------------------------------------------------------------------------------- billing
    def deductible_due(self, level: np.ndarray, paid: np.ndarray, source_level: np.ndarray):
        """Deductible due on an inpatient bill at ``level`` of an episode that already paid ``paid`` yuan of
        deductible at a facility of ``source_level`` (None = the listed deductible for every case: no continuity).

        With continuity, between in-county facilities: none after a transfer down or across, the difference to
        the listed deductible after a referral up; otherwise (nothing paid yet, or out of county) the listed one."""
        if not self.continuity:
            return None
        listed = self.m.fund.deductible[level]
        within = (source_level <= COUNTY) & (level <= COUNTY) & (paid > 0)
        due = np.where(source_level >= level, 0.0, np.maximum(listed - paid, 0.0))
        return np.where(within, due, listed)

    def deductible(self, rows: np.ndarray, level: np.ndarray, due):
        """The deductible due on the bills settled at discharge (``due`` as given without continuity)."""
        if not self.continuity:
            return due
        ep = self.m.episodes
        source = np.where(ep.down_days[rows] > 0, self.m.facilities.level[ep.acute_facility[rows]], level)
        return self.deductible_due(level, ep.deductible_paid[rows].astype(float), source)

    def split_stays(self, rows: np.ndarray, stays):
        """The split stays among episodes finishing today (``stays`` as given when no row was transferred)."""
        ep = self.m.episodes
        moved = ep.down_days[rows] > 0
        if not moved.any():
            return stays
        m = self.m
        fac_t, cat = m.facilities, m.cat
        c, s = ep.condition[rows], ep.severity[rows]
        los = ep.los_days[rows].astype(float)
        down = ep.down_days[rows].astype(float)
        fac = ep.facility[rows]
        acute = np.where(moved, ep.acute_facility[rows], fac)
        return SplitStays(moved=moved,
                          stay_here=np.where(moved, down, los) / cat.clinical_los[c, s],
                          days_here=np.where(moved, down, los), capability=fac_t.capability[acute],
                          level=fac_t.level[acute])


def community_weighs_platform(model) -> bool:
    """Whether a medical community under a global budget weighs running the platform (``sim.payment.instruments``:
    it manages its instruments and the rules run no platform), and so counts what one keeps in the county."""
    return (model.payment.community is not None and model.community.instruments is not None
            and not model.spec.policies.referral.platform)


def community_runs_platform(model) -> bool:
    """Whether a medical community under a global budget runs the platform of its own accord
    (``sim.payment.instruments``)."""
    return model.payment.community is not None and model.community.instruments is not None \
        and model.community.instruments.platform


@dataclass
class _Plan:
    """A proposed transfer as the patient sees it."""

    accept: np.ndarray
    township: np.ndarray
    stayed: np.ndarray
    first: np.ndarray
    cut: np.ndarray | None
