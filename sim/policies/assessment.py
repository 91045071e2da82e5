"""Performance assessment of township centres tied to money and jobs (绩效考核, ``policies.assessment``).

Every ``period_days`` the assessor, the county's operations centre that scores the medical community's members
(seed 001: Linxiang's two assessment schemes), scores each open township centre f on what it did in the period:

    drug share        d_f = drug charges / charges at f                                   (at most d*)
    cost per visit    v_f = outpatient charges / outpatient cases finished at f            (at most v*)
    in-county fund    i_f = fund money for f's catchment residents paid in the county
                            / all fund money for them (医保资金县域内使用率)                  (at least i*)

    points lost  P_f = w_d 100 (d_f - d*)+  +  w_v 100 (v_f - v*)+ / v*  +  w_i 100 (i* - i_f)+
    score_f = 100 - P_f          deduction_f = deduction_yuan_per_point x P_f

Money: the deduction is withheld from the centre's fund payments (its revenue and fund income fall; the fund,
or under a global budget the medical community, keeps it). Providers anticipate it: the operations platform
shows each centre its indicators daily (seed 001), so a centre knows what one more yuan of drugs, one more yuan
of an outpatient bill and one more referral will cost it at the next assessment. With the period's totals
forecast as what has accumulated so far plus the last period's totals for the days still to come (C charges,
N outpatient cases, F catchment fund money, E out-of-county fund money per referral from the catchment):

    pi_drug  = ypp w_d 100 (1 - d) / C        per yuan of drug charges            while d > d*
    pi_other = -ypp w_d 100 d / C             per yuan of other charges           while d > d*
    pi_visit = ypp w_v 100 / (v* N)           per yuan of an outpatient bill      while v > v*
              and -pi_visit v                 per outpatient case (its bill counts against the mean v)
    pi_refer = ypp w_i 100 i E / F            per referral                        while i < i*

(the derivatives of P with respect to each, so a case of drug share s and bill B costs ~ ypp w_d 100 (s - d)
B / C: cases with fewer drugs than the centre's mix lower its share). These enter the provider's margins as
the assessment's contribution to the per-case margin adjustment (``sim.behaviour.margin``, each with the sign of
a loss): drugs are prescribed at their own intensity, which falls below the rest of the bundle's
when a drug yuan costs a deduction (and tests and consumables rise a little, as they dilute the share);
outpatient intensity falls with pi_visit; a referral is weighed with pi_refer. With
deduction_yuan_per_point = 0 nothing is at stake and nothing changes.

Jobs: the centre with the lowest score (below 100; ties to the lower index) counts a bottom period; after
``replace_after_periods`` in a row it gets a new director, whose management raises its outpatient visits per
doctor-day by ``director_efficiency_gain``. A centre whose mean daily visits fall below
``merge_min_daily_visits`` or whose score falls below ``merge_score_below`` counts a failing period; after
``merge_after_periods`` in a row the worst such centre (at most one per assessment) is merged into the nearest
open centre by road: its doctors and beds, its waiting and admitted patients (queue places, bed-queue places
and beds with them) move to the absorber, and its villages' township option becomes the absorber, farther
away. All of it is deterministic (no random draws).
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.margin import MarginAdjustment
from sim.core import episodes as E
from sim.core.levels import OUT_OF_COUNTY, TOWNSHIP
from sim.params.scenario import Assessment
from sim.policies.base import Policy

MOVING_STATES = (E.WAITING, E.BED_QUEUE, E.INPATIENT)
# The expected deductions by what they are charged on, and the margin adjustment each becomes (with its sign flipped).
PENALTIES = {"drug": "per_drug_yuan", "other": "per_other_yuan", "visit": "per_outpatient_yuan",
             "visit_case": "per_outpatient_case", "referral": "per_referral"}
# Period-to-date sums per facility (charges at the facility; fund money by the resident's township centre).
SUMS = ("charges", "drug_charges", "outpatient_charges", "outpatient_cases", "catchment_fund",
        "catchment_fund_in_county", "catchment_referred_out_fund")


class Assessor:
    """Scores township centres every period, withholds money, replaces directors and merges weak centres."""

    def __init__(self, model, rules: Assessment, start_day: int) -> None:
        n = model.facilities.n
        self.rules = rules
        self.n = n
        self.is_centre = model.facilities.level == TOWNSHIP
        self.bottom_streak = np.zeros(n, np.int64)
        self.failing_streak = np.zeros(n, np.int64)
        self.history: list[dict] = []
        self.last: dict[str, np.ndarray] | None = None
        # expected deduction per yuan of drug charges, per yuan of other charges (negative: they dilute the drug
        # share), per yuan of an outpatient bill, per outpatient case apart from its bill (negative: a case
        # lowers the mean) and per referral, by facility
        self.penalty = {k: np.zeros(n) for k in PENALTIES}
        self._start_period(model, start_day)

    def set_rules(self, rules: Assessment) -> None:
        self.rules = rules

    def _start_period(self, model, day: int) -> None:
        books = model.facilities.books
        self.start_day = day
        self.sums = {name: np.zeros(self.n) for name in SUMS}
        self.visits_start = books["visits"].copy()
        self.referrals_start = books["referrals_out"].copy()

    # ------------------------------------------------------------------------------------------ sensing
    def open_centres(self, model) -> np.ndarray:
        """Township centres some village still uses (a merged centre is no village's option)."""
        return np.isin(np.arange(self.n), model.geo.options[:, 1]) & self.is_centre

    def book(self, model, fac, lvl, charges, inpatient, fund, resident, referred) -> None:
        """Add the day's finished cases: charges at the treating facility, fund money by the resident's
        township centre (its catchment)."""
        n, s = self.n, self.sums
        bill = charges.sum(1)
        catchment = model.geo.options[model.pop.village[resident], 1]
        in_county = lvl != OUT_OF_COUNTY
        for name, index, weights in (
                ("charges", fac, bill), ("drug_charges", fac, charges[:, 1]),
                ("outpatient_charges", fac, np.where(inpatient, 0.0, bill)),
                ("outpatient_cases", fac, (~inpatient).astype(float)), ("catchment_fund", catchment, fund),
                ("catchment_fund_in_county", catchment, np.where(in_county, fund, 0.0)),
                ("catchment_referred_out_fund", catchment, np.where(referred & ~in_county, fund, 0.0))):
            s[name] += np.bincount(index, weights, minlength=n)

    def _catchment_referrals(self, model) -> np.ndarray:
        """Referrals made this period by each centre and the village clinics of its catchment."""
        referrals = model.facilities.books["referrals_out"] - self.referrals_start
        geo = model.geo
        out = referrals.copy()
        out += np.bincount(geo.options[:, 1], referrals[geo.options[:, 0]], minlength=self.n)
        return np.where(self.is_centre, out, 0.0)

    def _indicators(self, s: dict[str, np.ndarray], referrals: np.ndarray) -> dict[str, np.ndarray]:
        def ratio(a, b):
            return np.divide(a, b, out=np.full(self.n, np.nan), where=b > 0)

        return {"drug_share": ratio(s["drug_charges"], s["charges"]),
                "cost_per_visit": ratio(s["outpatient_charges"], s["outpatient_cases"]),
                "in_county_fund": ratio(s["catchment_fund_in_county"], s["catchment_fund"]),
                "out_fund_per_referral": ratio(s["catchment_referred_out_fund"], referrals)}

    def _points(self, ind: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """Points lost on each indicator (0 where the indicator is undefined)."""
        r = self.rules
        drug = r.drug_share_weight * 100 * np.maximum(np.nan_to_num(ind["drug_share"]) - r.drug_share_target, 0)
        visit = r.cost_per_visit_weight * 100 * np.maximum(
            np.nan_to_num(ind["cost_per_visit"]) / r.cost_per_visit_target_yuan - 1.0, 0)
        fund = r.in_county_fund_weight * 100 * np.maximum(
            r.in_county_fund_target - np.nan_to_num(ind["in_county_fund"], nan=1.0), 0)
        return drug, visit, fund

    def _update_penalties(self, model) -> None:
        """The marginal deduction each centre expects (module docstring), from its forecast of the period."""
        r = self.rules
        if r.deduction_yuan_per_point == 0:
            return
        elapsed = model.day + 1 - self.start_day
        remaining = max(r.period_days - elapsed, 0) / r.period_days
        referrals = self._catchment_referrals(model)
        if self.last is None:  # the first period: what accumulated so far, extrapolated
            scale = r.period_days / max(elapsed, 1)
            forecast = {k: v * scale for k, v in self.sums.items()}
            referrals = referrals * scale
        else:
            forecast = {k: v + remaining * self.last[k] for k, v in self.sums.items()}
            referrals = referrals + remaining * self.last["referrals"]
        ind = self._indicators(forecast, referrals)
        open_ = self.open_centres(model)
        ypp = r.deduction_yuan_per_point

        def per(value, amount):
            return np.where(open_ & (amount > 0), np.divide(value, amount, out=np.zeros(self.n), where=amount > 0),
                            0.0)

        d = np.nan_to_num(ind["drug_share"])
        per_share = np.where(d > r.drug_share_target, per(ypp * r.drug_share_weight * 100, forecast["charges"]), 0.0)
        self.penalty["drug"] = per_share * (1 - d)
        self.penalty["other"] = -per_share * d
        v = np.nan_to_num(ind["cost_per_visit"])
        per_visit = np.where(
            v > r.cost_per_visit_target_yuan,
            per(ypp * r.cost_per_visit_weight * 100 / r.cost_per_visit_target_yuan, forecast["outpatient_cases"]),
            0.0)
        self.penalty["visit"] = per_visit
        self.penalty["visit_case"] = -per_visit * v
        i = np.nan_to_num(ind["in_county_fund"], nan=1.0)
        self.penalty["referral"] = np.where(
            i < r.in_county_fund_target,
            per(ypp * r.in_county_fund_weight * 100 * i * np.nan_to_num(ind["out_fund_per_referral"]),
                forecast["catchment_fund"]), 0.0)

    def margin_adjustment(self, fac: np.ndarray) -> MarginAdjustment | None:
        """What the centres seeing these cases expect to lose, as their margins see it (None when nothing is at
        stake)."""
        if self.rules.deduction_yuan_per_point == 0:
            return None
        p = self.penalty
        return MarginAdjustment(**{field: -p[name][fac] for name, field in PENALTIES.items()})

    # ------------------------------------------------------------------------------------------ the period
    def end_of_day(self, model) -> None:
        if model.day + 1 - self.start_day >= self.rules.period_days:
            self._assess(model)
            self._start_period(model, model.day + 1)
        self._update_penalties(model)

    def _assess(self, model) -> None:
        r, fac_t = self.rules, model.facilities
        days = model.day + 1 - self.start_day
        referrals = self._catchment_referrals(model)
        ind = self._indicators(self.sums, referrals)
        drug, visit, fund = self._points(ind)
        open_ = self.open_centres(model)
        lost = np.where(open_, drug + visit + fund, 0.0)
        score = 100.0 - lost
        self._deduct(model, r.deduction_yuan_per_point * lost)
        daily_visits = (fac_t.books["visits"] - self.visits_start) / days
        replaced = self._replace_director(model, score, open_)
        merged = self._merge_weakest(model, score, daily_visits, open_)
        self.history.append({"day": model.day, "score": np.where(open_, score, np.nan), "indicators": ind,
                             "daily_visits": daily_visits, "replaced": replaced, "merged": merged})
        self.last = {**{k: v.copy() for k, v in self.sums.items()}, "referrals": referrals}

    def _deduct(self, model, deduction: np.ndarray) -> None:
        """Withhold each centre's deduction from its fund payments: the fund (or the community) keeps it."""
        total = float(deduction.sum())
        if total == 0:
            return
        books, t = model.facilities.books, model.tally
        books["revenue"] -= deduction
        books["fund_income"] -= deduction
        for row in (t.fund, t.provider_revenue, model.fund.spending, t.day_row(model.day, "fund"),
                    t.day_row(model.day, "spending")):
            row[TOWNSHIP] -= total
        if model.community is not None and model.payment.community is not None:
            model.community.pay_claims(-total)  # the community withholds it from its member
        t.assessment_deductions += total

    def _replace_director(self, model, score: np.ndarray, open_: np.ndarray) -> int:
        """The lowest-scoring centre (if below 100) counts a bottom period; enough in a row: a new director."""
        r = self.rules
        candidates = np.flatnonzero(open_ & (score < 100.0))
        bottom = candidates[np.argmin(score[candidates])] if len(candidates) else -1
        streak = np.zeros(self.n, np.int64)
        if bottom >= 0:
            streak[bottom] = self.bottom_streak[bottom] + 1
        self.bottom_streak = streak
        if bottom < 0 or r.replace_after_periods == 0 or streak[bottom] < r.replace_after_periods:
            return -1
        model.facilities.clinic_hours[bottom] *= 1.0 + r.director_efficiency_gain
        self.bottom_streak[bottom] = 0
        model.tally.directors_replaced += 1
        return int(bottom)

    def _merge_weakest(self, model, score: np.ndarray, daily_visits: np.ndarray, open_: np.ndarray) -> int:
        r = self.rules
        failing = open_ & ((daily_visits < r.merge_min_daily_visits) | (score < r.merge_score_below))
        self.failing_streak = np.where(failing, self.failing_streak + 1, 0)
        due = np.flatnonzero(failing & (self.failing_streak >= r.merge_after_periods))
        if r.merge_after_periods == 0 or len(due) == 0 or open_.sum() < 2:
            return -1
        weakest = int(due[np.argmin(score[due])])
        others = np.flatnonzero(open_)
        others = others[others != weakest]
        into = int(others[np.argmin(model.geo.facility_minutes[weakest, others])])
        merge_centre(model, weakest, into)
        self.failing_streak[weakest] = 0
        self.bottom_streak[weakest] = 0
        model.tally.centres_merged += 1
        return weakest


def merge_centre(model, centre: int, into: int) -> None:
    """Merge a township centre into another: staff, beds, patients and booked return visits move; its villages
    now use ``into``."""
    fac, geo, ep = model.facilities, model.geo, model.episodes
    fac.doctors[into] += fac.doctors[centre]
    fac.doctors[centre] = 0.0
    fac.beds[into] += fac.beds[centre]
    fac.beds[centre] = 0
    fac.capability[centre] = -1.0  # closed: no time-critical transfer picks it as the nearest capable facility
    # Waiting patients keep their place in the absorber's queue (and travel there); admitted patients and
    # those waiting for a bed go with the beds.
    rows = np.flatnonzero((ep.facility == centre) & np.isin(ep.state, MOVING_STATES))
    waiting = rows[ep.state[rows] == E.WAITING]
    ep.travel_minutes[waiting] += geo.facility_minutes[centre, into]
    ep.facility[rows] = into
    for column in (fac.queue, fac.bed_queue, fac.occupied):
        column[into] += column[centre]
        column[centre] = 0
    for booked in model.booked_returns.values():  # return visits booked there (minutes, visits) are kept there
        for column in booked:
            column[into] += column[centre]
            column[centre] = 0
    villages = np.flatnonzero(geo.options[:, 1] == centre)
    g = model.spec.geography
    km = np.linalg.norm(geo.village_xy[villages] - geo.facility_xy[into], axis=1) * g.road_winding
    geo.options[villages, 1] = into
    geo.option_minutes[villages, 1] = km / g.road_speed_kmh * 60.0


def configure(model, spec, assessor: Assessor | None) -> Assessor | None:
    """The assessor in force under ``spec``: created when assessment starts (its first period starts that day),
    kept with new rules while it lasts, dropped when it stops."""
    rules = spec.policies.assessment
    if not rules.enabled:
        return None
    if assessor is None:
        return Assessor(model, rules, start_day=model.day)
    assessor.set_rules(rules)
    return assessor


class PerformanceAssessment(Policy):
    """The assessment's part in the daily step: an ``Assessor`` while ``policies.assessment`` is on."""

    name = "assessment"
    counters = ("assessment_deductions", "directors_replaced", "centres_merged")
    # deductions from the centres' fund income; a new director's longer clinic hours; a merger moves staff, beds
    # and patients
    writes = ("episodes.facility", "episodes.travel_minutes", "facilities.doctors", "facilities.beds",
              "facilities.capability", "facilities.clinic_hours", "facilities.queue", "facilities.bed_queue",
              "facilities.occupied", "facilities.books.revenue", "facilities.books.fund_income", "tally.fund",
              "tally.provider_revenue", "tally.daily.fund", "tally.daily.spending")

    def __init__(self, model) -> None:
        super().__init__(model)
        self.assessor: Assessor | None = None

    def configure(self, before) -> None:
        self.assessor = configure(self.model, self.model.spec, self.assessor)

    def end_of_day(self) -> None:
        if self.assessor is not None:
            self.assessor.end_of_day(self.model)

    def margin_adjustment(self, fac: np.ndarray, level: np.ndarray, adjustment):
        """The deductions a centre expects per drug yuan, outpatient yuan and referral, added to ``adjustment``."""
        if self.assessor is None:
            return adjustment
        return MarginAdjustment.combine(adjustment, self.assessor.margin_adjustment(fac))

    def completed(self, done) -> None:
        if self.assessor is not None:
            self.assessor.book(self.model, done.fac, done.level, done.charges, done.inpatient, done.fund,
                               done.resident, done.referred)
