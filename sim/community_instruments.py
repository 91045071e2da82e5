"""What a medical community under a global budget does with its margin: it posts county doctors to township
centres and runs a referral platform when, and only because, it expects to keep more of its budget than they cost.

The community (``sim.community``) pays every fund claim of its residents, out-of-county care included, and keeps
``savings_retained_share`` of a saving (bears ``overspend_shared_share`` of an overspend). Every
``behaviour.community.review_days`` it reviews its *instruments*, x = (d, p):

- d, county doctors posted to the township centres (0, n_T, 2 n_T, ... ``max_posted_per_township`` x n_T, with
  n_T township centres). They are ``policies.sinking``'s doctors (``sim.staffing``): a present doctor adds
  outpatient slots at the host and capability, which residents learn from outcomes (``sim.perception``);
  the community pays each ``posted_doctor_allowance_yuan`` a year;
- p, the referral platform (``sim.referral``: referred patients booked into a capable in-county facility), at
  ``platform_cost_yuan_per_resident_year`` (not considered when ``policies.referral.platform`` already runs one).

Its members weigh their own margins and k times the community's result, so it chooses, among doing nothing
(V = 0) and the x its budget pays for (k (E[S] - C) > 0), the x of largest expected net gain over a year,

    V(x) = k x (E[S(x)] - C(x)) + E[D(x)],

S(x) the yearly saving of claims, D(x) the yearly change of its members' margin (revenue - resource cost of the
in-county facilities: a posted doctor's home hospital loses revenue) and C(x) what x costs a year. S and C pass
through the purse, so the community keeps k of their difference: k is the weight its members put on its result
(``MedicalCommunity.margin_weight``: ``savings_retained_share`` while the purse is in surplus, else
``overspend_shared_share``, times the members' ``community_weight``). With no stake (k = 0) the budget pays for
nothing and nothing is done; ties go to less. Doctors stay posted ``posting_term_days`` after the posting grew.
S and D are measured against *reference* rates per resident-year, those of the periods in which it held nothing
(R <- R + a (observed - R) then; the first period sets them). Expectations come only from what it has seen:

- a first estimate, from the last period's books: a posted doctor's slots (``outpatient_visits_per_doctor_day``
  x days present a year) each treat at a township centre a case the county hospitals would otherwise have
  treated, saving the observed gap in fund money per treated episode (F_county - F_township)+ and moving the
  members' margin by M_township - M_county; the platform books in the county ``1 - platform_insist_share`` of the
  referred patients seen leaving it though it could treat them, saving F_out_of_county - F_county and earning
  M_county each;
- corrected by the response it has seen: after a period with x held, the observed gain O updates
  E[x] <- E + a (O - E) (first E = m x estimate), and the scale m = <O> / <estimate> (running means at the same
  rate) by which choices not yet tried are expected; a = ``expectation_learning_rate``.

Instruments are paid day by day out of the community's purse (``instruments_paid``), so money is still conserved:
what the fund sent = claims paid + instruments paid + the community's net position. Nothing here runs, and no
random number is drawn, unless payment.model is global_budget and ``manages_instruments`` is true.
"""

from __future__ import annotations

import numpy as np

from sim.levels import COUNTY, IN_COUNTY, N_LEVELS, OUT_OF_COUNTY, TOWNSHIP

DAYS_PER_YEAR = 365.0


class Expectation:
    """Adaptive expectations of one yearly gain of the community's choices (claims saved, or members' margin
    gained): a reference rate per resident-year seen while no instrument is held, learned values of the choices
    tried, and a learned scale on the first estimates of those not yet tried."""

    def __init__(self, sign: float) -> None:
        self.sign = sign                # +1: a rate above the reference is a gain; -1: below it (claims)
        self.reference = None           # R, per resident-year
        self.observed = 0.0             # running mean of the gains observed ...
        self.estimated = 0.0            # ... and of their first estimates: m = observed / estimated
        self.tried: dict[tuple[int, bool], float] = {}  # E[gain(x)], yuan/year

    @property
    def scale(self) -> float:
        """m: what choices turned out to gain per yuan of their first estimates (1 until one is seen)."""
        return self.observed / self.estimated if self.estimated > 0 else 1.0

    def learn(self, held, rate_seen: float, residents: int, estimate: float, a: float) -> None:
        if held == NOTHING:
            self.reference = rate_seen if self.reference is None else self.reference + a * (rate_seen - self.reference)
            return
        observed = self.sign * (rate_seen - self.reference) * residents
        before = self.tried.get(held, self.scale * estimate)
        self.tried[held] = before + a * (observed - before)
        if not self.estimated:
            self.observed, self.estimated = observed, estimate
        else:
            self.observed += a * (observed - self.observed)
            self.estimated += a * (estimate - self.estimated)

    def expect(self, x, estimate: float) -> float:
        return self.tried.get(x, self.scale * estimate)


NOTHING = (0, False)


class CommunityInstruments:
    """The community's choice of instruments and its expectations of what they save and cost its members."""

    def __init__(self, model, start_day: int) -> None:
        fac = model.facilities
        self.start_day = start_day
        self.townships = int((fac.level == TOWNSHIP).sum())
        self.posted = 0                 # doctors the community posts (added to policies.sinking's)
        self.posted_on = start_day      # day the posting last grew: doctors stay posted for their term
        self.platform = False           # whether it runs the referral platform
        self.saving = Expectation(sign=-1.0)   # S: claims saved
        self.margin = Expectation(sign=+1.0)   # D: members' margin gained (negative: lost hospital revenue)
        self.mark = self._mark(model)
        self.history: list[dict] = []   # one row per review, for reports and tests

    # ------------------------------------------------------------------------------------------ the day
    def end_of_day(self, model, community) -> None:
        """Pay today's share of the instruments' yearly cost; review them at the end of each period."""
        cost = self.yearly_cost(model, self.posted, self.platform) / DAYS_PER_YEAR
        if cost:
            community.pay_instruments(cost)
        days = model.spec.behaviour.community.review_days
        if (model.day + 1 - self.start_day) % days == 0:
            self.review(model, community)

    def yearly_cost(self, model, posted: int, platform: bool) -> float:
        """Yuan a year the instruments cost the community: allowances of the doctors actually posted (the
        sinking rules cap them at ``max_county_share`` of the county hospitals' doctors) and the platform."""
        b = model.spec.behaviour.community
        return (b.posted_doctor_allowance_yuan * self.effective_posted(model, posted)
                + platform * b.platform_cost_yuan_per_resident_year * model.alive_count)

    @staticmethod
    def effective_posted(model, posted: int) -> float:
        """Doctors the community's ``posted`` actually add at the township centres: the sinking rules cap all
        posted doctors, the policy's and the community's, at ``max_county_share`` of the county hospitals'."""
        rules, staffing = model.spec.policies.sinking, model.staffing
        home = float(((staffing.base_doctors + staffing.moved) * staffing.county).sum())
        cap = rules.max_county_share * home
        return min(float(rules.doctors + posted), cap) - min(float(rules.doctors), cap)

    # ------------------------------------------------------------------------------------------ review
    def review(self, model, community) -> None:
        """Learn from the period just ended what the choice held saved and cost the members, then choose."""
        seen = self._observe(model)
        held = (self.posted, self.platform)
        a = model.spec.behaviour.community.expectation_learning_rate
        saving, margin = self._first_estimates(model, seen, *held)
        self.saving.learn(held, seen["claims_rate"], model.alive_count, saving, a)
        self.margin.learn(held, seen["margin_rate"], model.alive_count, margin, a)
        choice, value = self._choose(model, community, seen)
        self.history.append({"day": model.day, "posted": self.posted, "platform": self.platform,
                             "claims_rate": seen["claims_rate"], "margin_rate": seen["margin_rate"],
                             "reference": self.saving.reference, "scale": self.saving.scale,
                             "chosen_posted": choice[0], "chosen_platform": choice[1], "value": value})
        self._apply(model, *choice)
        self.mark = self._mark(model)

    def _choose(self, model, community, seen) -> tuple[tuple[int, bool], float]:
        """The choice of largest expected net gain k (S - C) + D among those the budget pays for (k (S - C) > 0),
        and doing nothing (0); doctors posted less than ``posting_term_days`` ago stay. Ties go to less (fewer
        doctors, no platform)."""
        k = community.margin_weight()
        per = model.spec.behaviour.community.max_posted_per_township
        bound = model.day + 1 - self.posted_on < model.spec.behaviour.community.posting_term_days
        platforms = (False,) if model.spec.policies.referral.platform else (False, True)  # one runs already
        best, best_value = None, -np.inf
        for per_township in range(per + 1):
            for platform in platforms:
                x = (per_township * self.townships, platform)
                if bound and x[0] < self.posted:
                    continue  # doctors posted less than a term ago are not called back yet
                value = 0.0
                if x != NOTHING:
                    saving, margin = self._first_estimates(model, seen, *x)
                    kept = k * (self.saving.expect(x, saving) - self.yearly_cost(model, *x))
                    value = kept + self.margin.expect(x, margin)
                    if kept <= 0 and x != (self.posted, False):
                        continue  # the budget does not pay for it
                if value > best_value:
                    best, best_value = x, value
        return best, best_value

    def _first_estimates(self, model, seen, posted: int, platform: bool) -> tuple[float, float]:
        """Yearly claims a choice would save, and members' margin it would gain, by the community's first
        reckoning from the last period: each posted doctor's slots treat at a township centre cases the county
        hospitals would otherwise have treated; the platform books in the county referred patients who left it."""
        spec = model.spec
        fund, margin = seen["fund_per_episode"], seen["margin_per_episode"]
        rules = spec.policies.sinking
        days_present = DAYS_PER_YEAR * rules.days_per_week / 7.0
        slots = spec.facilities.township.outpatient_visits_per_doctor_day * days_present * rules.adds_outpatient_slots
        moved = slots * self.effective_posted(model, posted)
        kept = platform * seen["leaks_per_year"] * (1.0 - spec.policies.referral.platform_insist_share)
        saving = moved * max(fund[COUNTY] - fund[TOWNSHIP], 0.0) + kept * (fund[OUT_OF_COUNTY] - fund[COUNTY])
        return saving, moved * (margin[TOWNSHIP] - margin[COUNTY]) + kept * margin[COUNTY]

    # ------------------------------------------------------------------------------------------ bookkeeping
    @staticmethod
    def _mark(model) -> dict:
        t, c = model.tally, model.community
        return {"claims": c.claims_paid if c is not None else 0.0, "person_days": t.person_days,
                "fund": t.fund.copy(), "treated": t.treated.copy(), "leaks": t.referred_leaks,
                "margin": t.provider_revenue - t.provider_cost}

    def _observe(self, model) -> dict:
        """The period since the last review: claims and members' margin (revenue - resource cost of the
        in-county facilities) per resident-year; fund money and margin per treated episode by level; referred
        patients leaving the county though it could treat them, per year."""
        now, before = self._mark(model), self.mark
        years = max(now["person_days"] - before["person_days"], 1.0) / DAYS_PER_YEAR
        treated = now["treated"] - before["treated"]
        fund, margin = now["fund"] - before["fund"], now["margin"] - before["margin"]

        def per_episode(x):
            return np.divide(x, treated, out=np.zeros(N_LEVELS), where=treated > 0)

        return {"claims_rate": (now["claims"] - before["claims"]) / years,
                "margin_rate": float(margin[list(IN_COUNTY)].sum()) / years,
                "fund_per_episode": per_episode(fund), "margin_per_episode": per_episode(margin),
                "leaks_per_year": (now["leaks"] - before["leaks"]) / years * model.alive_count}

    def stop(self, model) -> None:
        """Bring the posted doctors home and close the platform (the community stopped managing them)."""
        self._apply(model, 0, False)

    def _apply(self, model, posted: int, platform: bool) -> None:
        """Put the choice in force: the doctors through ``sim.staffing``, the platform through ``sim.referral``."""
        if posted > self.posted:
            self.posted_on = model.day + 1
        if posted != self.posted:
            rules = model.spec.policies.sinking
            model.staffing.community_rules = None if posted == 0 else rules.model_copy(
                update={"doctors": rules.doctors + posted, "start_day": 0, "duration_days": None})
        self.posted, self.platform = posted, platform
