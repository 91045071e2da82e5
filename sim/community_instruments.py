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

It chooses the x of largest expected net gain over a year,

    V(x) = k x (E[S(x)] - cost(x)),

where S(x) is the yearly saving of claims the community expects from x against its *reference* claims R (claims
per resident-year in the periods it held no instrument), in yuan a year for the county's residents, and cost(x)
what x costs a year. Both pass through the purse, so the community keeps k of their difference: k is the weight
its members put on its result (``MedicalCommunity.margin_weight``: ``savings_retained_share`` while the purse is
in surplus, else ``overspend_shared_share``, times the members' ``community_weight``). With no stake (k = 0) no
choice beats doing nothing, and nothing is done; ties go to less. Expectations come only from what it has seen:

- a first estimate, from the last period's claims: a posted doctor's slots (``outpatient_visits_per_doctor_day``
  x days present a year) each treating at a township centre a case the county hospital would otherwise have
  treated, at the observed gap in fund money per treated episode (F_county - F_township)+; the platform keeps
  ``1 - platform_insist_share`` of the referred patients observed leaving the county though it could treat them,
  at (F_out_of_county - F_county);
- scaled by the response it has seen: at each review the observed saving of the choice held over the period,
  O = R - (claims per resident-year of the period), updates E[S(x)] <- E + a (O - E) for that x, and the scale m of
  the first estimates of choices it has not tried, m <- m + a (O / estimate(x) - m); a =
  ``expectation_learning_rate``. While it holds nothing, R <- R + a (observed claims - R).

Instruments are paid day by day out of the community's purse (``instruments_paid``), so money is still conserved:
what the fund sent = claims paid + instruments paid + the community's net position. Nothing here runs, and no
random number is drawn, unless payment.model is global_budget and ``manages_instruments`` is true.
"""

from __future__ import annotations

import numpy as np

from sim.levels import COUNTY, N_LEVELS, OUT_OF_COUNTY, TOWNSHIP

DAYS_PER_YEAR = 365.0


class CommunityInstruments:
    """The community's choice of instruments and its expectations of what they save."""

    def __init__(self, model, start_day: int) -> None:
        fac = model.facilities
        self.start_day = start_day
        self.townships = int((fac.level == TOWNSHIP).sum())
        self.posted = 0                 # doctors the community posts (added to policies.sinking's)
        self.platform = False           # whether it runs the referral platform
        self.reference = None           # R: claims per resident-year without instruments
        self.scale = 1.0                # m: observed saving / first estimate, learned
        self.expected: dict[tuple[int, bool], float] = {}  # E[S(x)] of choices tried, yuan/year
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
        seen = self._observe(model)
        held = (self.posted, self.platform)
        rate = model.spec.behaviour.community.expectation_learning_rate
        estimate = self._first_estimate(model, seen, *held)
        if held == (0, False):
            if self.reference is None:
                self.reference = seen["claims_rate"]
            else:
                self.reference += rate * (seen["claims_rate"] - self.reference)
        else:
            observed = (self.reference - seen["claims_rate"]) * model.alive_count
            before = self.expected.get(held, self.scale * estimate)
            self.expected[held] = before + rate * (observed - before)
            if estimate > 0:
                self.scale += rate * (observed / estimate - self.scale)
        choice, value = self._choose(model, community, seen)
        self.history.append({"day": model.day, "posted": self.posted, "platform": self.platform,
                             "claims_rate": seen["claims_rate"], "reference": self.reference,
                             "scale": self.scale, "chosen_posted": choice[0], "chosen_platform": choice[1],
                             "value": value})
        self._apply(model, *choice)
        self.mark = self._mark(model)

    def _choose(self, model, community, seen) -> tuple[tuple[int, bool], float]:
        """The choice of largest expected net gain; ties go to less (fewer doctors, no platform)."""
        k = community.margin_weight()
        per = model.spec.behaviour.community.max_posted_per_township
        best, best_value = (0, False), 0.0
        platforms = (False,) if model.spec.policies.referral.platform else (False, True)  # one runs already
        for per_township in range(per + 1):
            for platform in platforms:
                x = (per_township * self.townships, platform)
                if x == (0, False):
                    continue
                saving = self.expected.get(x, self.scale * self._first_estimate(model, seen, *x))
                value = k * (saving - self.yearly_cost(model, *x))
                if value > best_value:
                    best, best_value = x, value
        return best, best_value

    def _first_estimate(self, model, seen, posted: int, platform: bool) -> float:
        """Yearly claims a choice would save by the community's first reckoning from the last period's claims."""
        spec = model.spec
        fund = seen["fund_per_episode"]
        rules = spec.policies.sinking
        days_present = DAYS_PER_YEAR * rules.days_per_week / 7.0
        slots = spec.facilities.township.outpatient_visits_per_doctor_day * days_present * rules.adds_outpatient_slots
        doctors = slots * self.effective_posted(model, posted) * max(fund[COUNTY] - fund[TOWNSHIP], 0.0)
        kept = seen["leaks_per_year"] * (1.0 - spec.policies.referral.platform_insist_share)
        return doctors + platform * kept * (fund[OUT_OF_COUNTY] - fund[COUNTY])

    # ------------------------------------------------------------------------------------------ bookkeeping
    @staticmethod
    def _mark(model) -> dict:
        t, c = model.tally, model.community
        return {"claims": c.claims_paid if c is not None else 0.0, "person_days": t.person_days,
                "fund": t.fund.copy(), "treated": t.treated.copy(), "leaks": t.referred_leaks}

    def _observe(self, model) -> dict:
        """The period since the last review: claims per resident-year, fund money per treated episode by level,
        referred patients leaving the county though it could treat them (per year)."""
        now, before = self._mark(model), self.mark
        years = max(now["person_days"] - before["person_days"], 1.0) / DAYS_PER_YEAR
        treated = now["treated"] - before["treated"]
        fund = now["fund"] - before["fund"]
        per_episode = np.divide(fund, treated, out=np.zeros(N_LEVELS), where=treated > 0)
        return {"claims_rate": (now["claims"] - before["claims"]) / years,
                "fund_per_episode": per_episode,
                "leaks_per_year": (now["leaks"] - before["leaks"]) / years * model.alive_count}

    def stop(self, model) -> None:
        """Bring the posted doctors home and close the platform (the community stopped managing them)."""
        self._apply(model, 0, False)

    def _apply(self, model, posted: int, platform: bool) -> None:
        """Put the choice in force: the doctors through ``sim.staffing``, the platform through ``sim.referral``."""
        if posted != self.posted:
            rules = model.spec.policies.sinking
            model.staffing.community_rules = None if posted == 0 else rules.model_copy(
                update={"doctors": rules.doctors + posted, "start_day": 0, "duration_days": None})
        self.posted, self.platform = posted, platform

