"""What a medical community under a global budget does with its margin: it posts county doctors to township
centres, runs a referral platform and invests in its county hospitals' capability when, and only because, it
expects to keep more of its budget (and its members more margin) than they cost.

The community (``sim.payment.community``) pays every fund claim of its residents, out-of-county care included, and keeps
``savings_retained_share`` of a saving (bears ``overspend_shared_share`` of an overspend). Every
``behaviour.community.review_days`` it reviews its *instruments*, x = (d, p, i):

- d, county doctors posted to the township centres (0, n_T, 2 n_T, ... ``max_posted_per_township`` x n_T, with
  n_T township centres). They are ``policies.sinking``'s doctors (``sim.policies.staffing``): a present doctor adds
  outpatient slots at the host and capability, which residents learn from outcomes (``sim.behaviour.perception``);
  the community pays each ``posted_doctor_allowance_yuan`` a year;
- p, the referral platform (``sim.policies.referral``: referred patients booked into a capable in-county facility), at
  ``platform_cost_yuan_per_resident_year`` (not considered when ``policies.referral.platform`` already runs one);
- i, steps of investment in the county hospitals (0 .. ``max_capability_steps``: departments, recruited
  specialists, equipment), at ``capability_step_cost_yuan_per_resident_year`` each. Every county hospital's
  capability rises by i x ``capability_gain_per_step`` levels (``sim.policies.staffing``'s county gain, which also lifts
  the cap on what posted doctors bring): cases of higher need are treated there with better outcomes and referred
  out less (``sim.behaviour.provider``), and residents, who learn capability from outcomes
  (``sim.behaviour.perception``), choose the county hospitals more, for mild cases too. Kept ``capability_term_days``
  after it grew.

Its members weigh their own margins and k times the community's result, so it chooses, among doing nothing
(V = 0) and the x its budget pays for (k (E[S] - C) > 0), the x of largest expected net gain over a year,

    V(x) = k x (E[S(x)] - C(x)) + E[D(x)],

S(x) the yearly saving of claims, D(x) the yearly change of its members' margin (revenue - resource cost of the
in-county facilities: a posted doctor's home hospital loses revenue) and C(x) what x costs a year. S and C pass
through the purse, so the community keeps k of their difference: k is the weight its members put on its result
(``MedicalCommunity.margin_weight``: ``savings_retained_share`` while the purse is in surplus, else
``overspend_shared_share``, times the weight its lead hospital puts on the community's result,
``sim.core.pay.community_weight``). With no stake (k = 0) the budget pays for
nothing and nothing is done; ties go to less. Doctors stay posted ``posting_term_days`` after the posting grew.
An out-of-county claim is money that leaves the community entirely; the same case treated by a member costs the
purse its claim in the county and earns the member its margin, so a case kept is worth k (F_out - F_county) +
M_county to the community.
S and D are measured against *reference* rates per resident-year, those of the periods in which it held nothing
(R <- R + a (observed - R) then; the first period sets them). Expectations come only from what it has seen:

- a first estimate, from the last period's books: a posted doctor's slots (``clinic_hours_per_doctor_day x 60 /
consultation_minutes``
  x days present a year) each treat at a township centre a case the county hospitals would otherwise have
  treated, saving the observed gap in fund money per treated episode (F_county - F_township)+ and moving the
  members' margin by M_township - M_county; the platform keeps in the county the referred patients it has seen
  who would leave it by their own choice but take a booking (``sim.policies.referral``: counted whether it runs
  or not), saving F_out_of_county - F_county and earning M_county each; the investment keeps in the county the
  out-of-county cases of each kind (condition, severity) whose need n exceeds the county hospitals' capability K,
  in the share of their shortfall the gain G = i x g closes, min(G, n - K) / (n - K) (cases the county could already
  treat left it by their own choice, and it does not count on them), saving F_out - F_county and earning M_county
  each, per kind; a kind the county hospitals did not treat is reckoned at F_county = r_F F_out and M_county = r_M
  F_out, r_F and r_M the ratios of like cases (kinds both treated, weighted by out-of-county cases) in its books;
- corrected by the response it has seen: after a period with x held, the observed gain O updates
  E[x] <- E + a (O - E) (first E = m x estimate), and the scale m = <O> / <estimate> (running means at the same
  rate) by which choices not yet tried are expected; a = ``expectation_learning_rate``.

Instruments are paid day by day out of the community's purse (``instruments_paid``), so money is still conserved:
what the fund sent = claims paid + instruments paid + the community's net position. Nothing here runs, and no
random number is drawn, unless payment.model is global_budget and ``manages_instruments`` is true.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import COUNTY, IN_COUNTY, N_LEVELS, OUT_OF_COUNTY, TOWNSHIP

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
        self.tried: dict[tuple[int, bool, int], float] = {}  # E[gain(x)], yuan/year

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


NOTHING = (0, False, 0)


class CommunityInstruments:
    """The community's choice of instruments and its expectations of what they save and cost its members."""

    def __init__(self, model, start_day: int) -> None:
        fac = model.facilities
        self.start_day = start_day
        self.townships = int((fac.level == TOWNSHIP).sum())
        self.posted = 0                 # doctors the community posts (added to policies.sinking's)
        self.posted_on = start_day      # day the posting last grew: doctors stay posted for their term
        self.platform = False           # whether it runs the referral platform
        self.invested = 0               # steps of capability investment in the county hospitals
        self.invested_on = start_day    # day the investment last grew: it lasts its term
        self.need = model.cat.need_level.reshape(-1).astype(float)  # need level of each kind of case (c, s)
        self.cases = np.zeros((3, N_LEVELS, len(self.need)))  # treated, fund money, members' margin [level, c x 3 + s]
        self.uninvested = None          # its books by kind of case while it held no investment (a reference)
        self.saving = Expectation(sign=-1.0)   # S: claims saved
        self.margin = Expectation(sign=+1.0)   # D: members' margin gained (negative: lost hospital revenue)
        self.mark = self._mark(model)
        self.history: list[dict] = []   # one row per review, for reports and tests

    # ------------------------------------------------------------------------------------------ the day
    def end_of_day(self, model, community) -> None:
        """Pay today's share of the instruments' yearly cost; review them at the end of each period."""
        cost = self.yearly_cost(model, *self.held) / DAYS_PER_YEAR
        if cost:
            community.pay_instruments(cost)
        days = model.spec.behaviour.community.review_days
        if (model.day + 1 - self.start_day) % days == 0:
            self.review(model, community)

    @property
    def held(self) -> tuple[int, bool, int]:
        """The choice in force: (doctors posted, platform run, steps invested)."""
        return self.posted, self.platform, self.invested

    def book(self, level, kind, fund, margin) -> None:
        """Today's treated episodes, their fund money and members' margin, by level and kind of case
        (condition x 3 + severity): the books from which the community reckons what its county hospitals
        could keep."""
        n = self.cases.shape[1] * self.cases.shape[2]
        cell = level.astype(np.int64) * self.cases.shape[2] + kind
        for i, weights in enumerate((None, fund, margin)):
            self.cases[i] += np.bincount(cell, weights, minlength=n).reshape(self.cases.shape[1:])

    def yearly_cost(self, model, posted: int, platform: bool, invested: int = 0) -> float:
        """Yuan a year the instruments cost the community: allowances of the doctors actually posted (the
        sinking rules cap them at ``max_county_share`` of the county hospitals' doctors), the platform, and the
        capability investment's specialists and equipment."""
        b = model.spec.behaviour.community
        return (b.posted_doctor_allowance_yuan * self.effective_posted(model, posted)
                + (platform * b.platform_cost_yuan_per_resident_year
                   + invested * b.capability_step_cost_yuan_per_resident_year) * model.alive_count)

    @staticmethod
    def effective_posted(model, posted: int) -> float:
        """Doctors the community's ``posted`` actually add at the township centres: the sinking rules cap all
        posted doctors, the policy's and the community's, at ``max_county_share`` of the county hospitals'."""
        rules, staffing = model.spec.policies.sinking, model.policies["staffing"]
        home = float(((staffing.base_doctors + staffing.moved) * staffing.county).sum())
        cap = rules.max_county_share * home
        return min(float(rules.doctors + posted), cap) - min(float(rules.doctors), cap)

    # ------------------------------------------------------------------------------------------ review
    def review(self, model, community) -> None:
        """Learn from the period just ended what the choice held saved and cost the members, then choose."""
        seen = self._observe(model)
        held = self.held
        a = model.spec.behaviour.community.expectation_learning_rate
        if self.invested == 0:
            self._learn_uninvested(model, seen, a)
        saving, margin = self._first_estimates(model, seen, *held)
        self.saving.learn(held, seen["claims_rate"], model.alive_count, saving, a)
        self.margin.learn(held, seen["margin_rate"], model.alive_count, margin, a)
        choice, value = self._choose(model, community, seen)
        self.history.append({"day": model.day, "posted": self.posted, "platform": self.platform,
                             "invested": self.invested, "county_capability": self._county_capability(model),
                             "out_of_county_claims_rate": seen["out_of_county_claims_rate"],
                             "claims_rate": seen["claims_rate"], "margin_rate": seen["margin_rate"],
                             "reference": self.saving.reference, "scale": self.saving.scale,
                             "chosen_posted": choice[0], "chosen_platform": choice[1],
                             "chosen_invested": choice[2], "value": value})
        self._apply(model, *choice)
        self.mark = self._mark(model)

    def _choose(self, model, community, seen) -> tuple[tuple[int, bool, int], float]:
        """The choice of largest expected net gain k (S - C) + D among those the budget pays for (k (S - C) > 0),
        and doing nothing (0); doctors posted less than ``posting_term_days`` ago stay, and an investment
        raised less than ``capability_term_days`` ago is kept. Ties go to less (fewer doctors, no platform,
        fewer steps)."""
        k = float(community.margin_weight())
        b = model.spec.behaviour.community
        day = model.day + 1
        doctors_bound = day - self.posted_on < b.posting_term_days
        investment_bound = day - self.invested_on < b.capability_term_days
        platforms = (False,) if model.spec.policies.referral.platform else (False, True)  # one runs already
        best, best_value = None, -np.inf
        for steps in range(b.max_capability_steps + 1):
            if investment_bound and steps < self.invested:
                continue  # specialists and equipment of less than a term ago are not given up yet
            for per_township in range(b.max_posted_per_township + 1):
                if doctors_bound and per_township * self.townships < self.posted:
                    continue  # doctors posted less than a term ago are not called back yet
                for platform in platforms:
                    x = (per_township * self.townships, platform, steps)
                    value = 0.0
                    if x != NOTHING:
                        saving, margin = self._first_estimates(model, seen, *x)
                        kept = k * (self.saving.expect(x, saving) - self.yearly_cost(model, *x))
                        value = kept + self.margin.expect(x, margin)
                        if kept <= 0 and x != (self.posted, False, self.invested):
                            continue  # the budget does not pay for it
                    if value > best_value:
                        best, best_value = x, value
        return best, best_value

    def _first_estimates(self, model, seen, posted: int, platform: bool, invested: int = 0) -> tuple[float, float]:
        """Yearly claims a choice would save, and members' margin it would gain, by the community's first
        reckoning from the last period: each posted doctor's slots treat at a township centre cases the county
        hospitals would otherwise have treated; the platform books in the county referred patients who would have left
        it and take its booking;
        the investment keeps in the county the out-of-county cases whose need it brings within reach."""
        spec = model.spec
        fund, margin = seen["fund_per_episode"], seen["margin_per_episode"]
        rules = spec.policies.sinking
        days_present = DAYS_PER_YEAR * rules.days_per_week / 7.0
        township = spec.facilities.township
        slots = (township.clinic_hours_per_doctor_day * 60.0 / township.consultation_minutes * days_present
                 * rules.adds_outpatient_slots)
        moved = slots * self.effective_posted(model, posted)
        kept = platform * seen["keepable_per_year"]
        saving = moved * max(fund[COUNTY] - fund[TOWNSHIP], 0.0) + kept * (fund[OUT_OF_COUNTY] - fund[COUNTY])
        gained = moved * (margin[TOWNSHIP] - margin[COUNTY]) + kept * margin[COUNTY]
        if invested:
            captured = self._captured(model, seen, invested)
            books = self.uninvested
            saving += float(captured @ (books["fund_by_kind"][0] - books["fund_by_kind"][1]))
            gained += float(captured @ books["county_margin_by_kind"])
        return saving, gained

    def _captured(self, model, seen, invested: int) -> np.ndarray:
        """Out-of-county cases a year, by kind of case of need level n, that ``invested`` steps would keep in
        the county, by the community's reckoning: those of need above the county hospitals' capability K
        without the investment, in the share of their shortfall the gain G closes, min(G, n - K) / (n - K);
        cases the county can already treat left the county by their own choice, and it does not count on them."""
        b = model.spec.behaviour.community
        staffing = model.policies["staffing"]
        base = float(staffing.base_capability[staffing.county].min(initial=np.inf))
        shortfall = self.need - base
        share = np.divide(np.minimum(invested * b.capability_gain_per_step, shortfall), shortfall,
                          out=np.zeros_like(shortfall), where=shortfall > 0)
        return self.uninvested["out_by_kind"] * model.alive_count * share

    def _learn_uninvested(self, model, seen, a: float) -> None:
        """The books by kind of case of the periods without investment, R <- R + a (observed - R) (the first
        sets them): what the investment is reckoned against, since once it is in force the cases it keeps no
        longer show out of the county."""
        now = {"out_by_kind": seen["out_by_kind"] / max(model.alive_count, 1),
               "fund_by_kind": seen["fund_by_kind"], "county_margin_by_kind": seen["county_margin_by_kind"]}
        if self.uninvested is None:
            self.uninvested = now
            return
        for key, value in now.items():
            self.uninvested[key] = self.uninvested[key] + a * (value - self.uninvested[key])

    @staticmethod
    def _county_capability(model) -> float:
        county = model.policies["staffing"].county
        return float(model.facilities.capability[county].mean()) if county.any() else float("nan")

    # ------------------------------------------------------------------------------------------ bookkeeping
    def _mark(self, model) -> dict:
        t, c = model.tally, model.community
        return {"claims": c.claims_paid if c is not None else 0.0, "person_days": t.person_days,
                "fund": t.fund.copy(), "treated": t.treated.copy(), "keepable": t.platform_keepable,
                "margin": t.provider_revenue - t.provider_cost,
                "cases": self.cases.copy()}

    def _observe(self, model) -> dict:
        """The period since the last review: claims and members' margin (revenue - resource cost of the
        in-county facilities) per resident-year; fund money and margin per treated episode by level; referred
        patients who would leave the county by their own choice but take a platform's booking, per year."""
        now, before = self._mark(model), self.mark
        years = max(now["person_days"] - before["person_days"], 1.0) / DAYS_PER_YEAR
        treated = now["treated"] - before["treated"]
        fund, margin = now["fund"] - before["fund"], now["margin"] - before["margin"]

        def per_episode(x):
            return np.divide(x, treated, out=np.zeros(N_LEVELS), where=treated > 0)

        cases = now["cases"] - before["cases"]
        fund_by_kind, margin_by_kind = self._like_for_like(cases)
        return {"claims_rate": (now["claims"] - before["claims"]) / years,
                "out_of_county_claims_rate": cases[1, OUT_OF_COUNTY].sum() / years,
                "out_by_kind": cases[0, OUT_OF_COUNTY] / years * model.alive_count,
                "fund_by_kind": fund_by_kind, "county_margin_by_kind": margin_by_kind,
                "margin_rate": float(margin[list(IN_COUNTY)].sum()) / years,
                "fund_per_episode": per_episode(fund), "margin_per_episode": per_episode(margin),
                "keepable_per_year": (now["keepable"] - before["keepable"]) / years * model.alive_count}

    @staticmethod
    def _like_for_like(cases) -> tuple[np.ndarray, np.ndarray]:
        """Fund money per treated episode of each kind of case out of the county and at the county hospitals,
        [2, kind], and the members' margin per episode at the county hospitals. A kind the county hospitals
        did not treat (those beyond their capability) is reckoned at what like cases cost the fund in the
        county against out of it (r_F, and members' margin r_M, per yuan the fund paid out of the county), over
        the kinds both treated, weighted by out-of-county cases:
            F_county = r_F x F_out,  M_county = r_M x F_out."""
        n = cases[0]
        per = np.divide(cases[1:], n, out=np.zeros_like(cases[1:]), where=n > 0)  # [fund, margin][level, kind]
        out, county = per[0, OUT_OF_COUNTY], per[0, COUNTY]
        both = (n[OUT_OF_COUNTY] > 0) & (n[COUNTY] > 0)
        weight = n[OUT_OF_COUNTY] * both
        paid_out = float(weight @ out)
        r_fund = float(weight @ county) / paid_out if paid_out > 0 else 1.0
        r_margin = float(weight @ per[1, COUNTY]) / paid_out if paid_out > 0 else 0.0
        seen = n[COUNTY] > 0
        fund = np.vstack([out, np.where(seen, county, r_fund * out)])
        return fund, np.where(seen, per[1, COUNTY], r_margin * out)

    def stop(self, model) -> None:
        """Bring the posted doctors home, close the platform and end the investment (the community stopped
        managing them)."""
        self._apply(model, 0, False, 0)

    def _apply(self, model, posted: int, platform: bool, invested: int) -> None:
        """Put the choice in force: the doctors and the county hospitals' capability through ``sim.policies.staffing``,
        the platform through ``sim.policies.referral``."""
        if posted > self.posted:
            self.posted_on = model.day + 1
        if invested > self.invested:
            self.invested_on = model.day + 1
        if invested != self.invested:
            model.policies["staffing"].set_county_gain(
                invested * model.spec.behaviour.community.capability_gain_per_step)
            self.invested = invested
        if posted != self.posted:
            rules = model.spec.policies.sinking
            model.policies["staffing"].community_rules = None if posted == 0 else rules.model_copy(
                update={"doctors": rules.doctors + posted, "start_day": 0, "duration_days": None})
        self.posted, self.platform = posted, platform
