"""Every reported figure, defined once: name, corner of the triangle, unit, and formula (in the docstring).

Metrics are plain functions of a finished model's running totals (``model.tally``) and facility books;
they read state and never change it. "person-years" = resident-days alive / 365.

A metric is a finite number, or n/a (NaN here, ``null`` with an ``"n/a"`` reason in JSON, "n/a" in tables) when
what it divides by did not occur in the run: a cost per admission with no admission. Each metric that can be n/a
says when (``Metric.na``, listed by ``triangle metrics``); the others are always numbers (their denominators,
person-years and days, are never zero).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.core.episodes import FORGONE, SELF_CARE
from sim.core.levels import COUNTY, IN_COUNTY, OUT_OF_COUNTY, PRIMARY, TOWNSHIP, VILLAGE
from sim.core.pay import staff_income
from sim.core.tally import CRITICAL_KINDS, WAIT_BINS_PER_DAY

GROUPS = ("cost", "access", "quality", "providers", "payment")


@dataclass(frozen=True)
class Metric:
    name: str
    group: str
    unit: str
    fn: Callable
    lower_is_better: bool | None
    na: str | None = None  # when the metric is n/a (what did not occur); None: always a number

    @property
    def formula(self) -> str:
        return (self.fn.__doc__ or "").strip()


METRICS: dict[str, Metric] = {}


def metric(group: str, unit: str, lower_is_better: bool | None = None, na: str | None = None):
    def register(fn):
        METRICS[fn.__name__] = Metric(fn.__name__, group, unit, fn, lower_is_better, na)
        return fn
    return register


NOT_A_NUMBER = "n/a"  # how tables and JSON show a metric that is not defined for a run


def na_reason(name: str) -> str:
    """Why ``name`` can be n/a, for reports: its documented reason (or, for a metric documented as always a
    number, a plain statement, so that no value is ever left unexplained)."""
    return METRICS[name].na or "no value in this run"


def _div(a, b) -> float:
    return float(a) / float(b) if b else float("nan")


def _person_years(m) -> float:
    return m.tally.person_days / 365.0


def _percentile(hist: np.ndarray, q: float) -> float:
    """The q-quantile bin of a histogram (NaN when empty)."""
    if hist.sum() == 0:
        return float("nan")
    return float(np.searchsorted(np.cumsum(hist), q * hist.sum()))


# ----------------------------------------------------------------------------------------------- cost
def _fund_outlays(m) -> float:
    """What the fund sent: claims, or under a global budget the community's claims, instruments and net position."""
    return float(m.tally.fund.sum() + m.tally.community_net + m.tally.community_instruments)


@metric("cost", "yuan/resident-year", True)
def spending_per_capita(m):
    """(fund outlays + out-of-pocket) / person-years: what payers spent (equal to all bills under
    fee-for-service)"""
    return _div(_fund_outlays(m) + m.tally.oop.sum(), _person_years(m))


@metric("cost", "yuan/resident-year", True)
def capacity_cost_per_capita(m):
    """base pay of the county's own doctors (with the salary uplift under salary reform) and the capital cost of
    its beds, summed over days / person-years: what its capacity costs public budgets apart from bills, used
    or idle (sim.core.pay.capacity_cost_per_day)"""
    return _div(m.tally.capacity_cost, _person_years(m))


@metric("cost", "yuan/resident-year", True)
def total_cost_per_capita(m):
    """spending_per_capita + capacity_cost_per_capita: bills and the capacity that stands ready"""
    return _div(_fund_outlays(m) + m.tally.oop.sum() + m.tally.capacity_cost, _person_years(m))


@metric("cost", "yuan/resident-year", True)
def fund_spending_per_capita(m):
    """fund outlays / person-years"""
    return _div(_fund_outlays(m), _person_years(m))


@metric("cost", "yuan/resident-year", True)
def fund_claims_per_capita(m):
    """the fund's part of every claim / person-years: what residents' care cost the insurance, whoever paid the
    claim (the fund, or the medical community from its budget); equal to fund_spending_per_capita except under
    a global budget, where the fund pays the budget instead"""
    return _div(m.tally.fund.sum(), _person_years(m))


@metric("cost", "yuan/resident-year", True)
def oop_per_capita(m):
    """out-of-pocket payments / person-years"""
    return _div(m.tally.oop.sum(), _person_years(m))


@metric("cost", "yuan/resident-year", True)
def self_care_spending_per_capita(m):
    """what residents spent on self-care (pharmacy purchases of episodes treated at home) / person-years; paid
    outside the fund and the facilities, so not in spending_per_capita or oop_per_capita"""
    return _div(m.tally.self_care_spending, _person_years(m))


@metric("cost", "share", True, na="nothing was spent (no fund outlay and no out-of-pocket payment)")
def oop_share(m):
    """out-of-pocket / (fund outlays + out-of-pocket)"""
    return _div(m.tally.oop.sum(), m.tally.oop.sum() + _fund_outlays(m))


@metric("cost", "yuan/visit", True, na="no episode was treated as an outpatient")
def cost_per_visit(m):
    """bills of episodes treated as outpatients / number of such episodes"""
    return _div(m.tally.outpatient_charges.sum(), m.tally.outpatient_episodes.sum())


@metric("cost", "yuan/admission", True, na="no inpatient was discharged")
def cost_per_admission(m):
    """bills of discharged inpatients / discharges"""
    return _div(m.tally.inpatient_charges.sum(), m.tally.discharges.sum())


@metric("cost", "share", True, na="nothing was charged")
def drug_share(m):
    """drug charges / all charges (药占比)"""
    return _div(m.tally.charges[:, 1].sum(), m.tally.charges.sum())


@metric("cost", "share", True, na="nothing was charged")
def consumables_share(m):
    """consumable charges / all charges (耗占比)"""
    return _div(m.tally.charges[:, 2].sum(), m.tally.charges.sum())


@metric("cost", "share", na="nothing was charged")
def services_share(m):
    """service charges (tests, imaging, procedures, nursing, beds) / all charges: rises when drug prices fall,
    and more when providers make up lost drug revenue with services"""
    return _div(m.tally.charges[:, 0].sum(), m.tally.charges.sum())


@metric("cost", "share", True, na="the fund paid no claim")
def out_of_county_fund_share(m):
    """fund payments to out-of-county hospitals / all fund payments (医保基金域外使用率)"""
    return _div(m.tally.fund[OUT_OF_COUNTY], m.tally.fund.sum())


@metric("cost", "share", na="the fund paid no claim")
def primary_fund_share(m):
    """fund payments to village clinics and township centres / all fund payments"""
    return _div(m.tally.fund[list(PRIMARY)].sum(), m.tally.fund.sum())


# ----------------------------------------------------------------------------------------------- access
@metric("access", "days", True, na="no episode was treated")
def wait_days_mean(m):
    """mean over treated episodes of (day treated or admitted - day care was first sought + hours waited for
    the consultation on the day seen / 24)"""
    return _div(m.tally.wait_days_total, m.tally.wait_hist.sum())


@metric("access", "days", True, na="no episode was treated")
def wait_days_p90(m):
    """90th percentile of the same waits (from their histogram in hours)"""
    return _percentile(m.tally.wait_hist, 0.9) / WAIT_BINS_PER_DAY


@metric("access", "hours", True, na="no patient was seen in a clinic")
def outpatient_wait_hours_mean(m):
    """hours waited for the consultation on the day seen (the clinic queue, sim.kernels.queueing; time-critical
    cases go first and wait none), summed over patients seen in clinics / those patients"""
    return _div(m.tally.clinic_wait_hours_sum.sum(), m.tally.consultations.sum())


@metric("access", "days", True, na="no elective patient was admitted")
def elective_wait_days_mean(m):
    """mean over elective admissions (neither time-critical nor severe) of days on the hospital's waiting list
    (from admission to the list to a bed)"""
    h = m.tally.elective_wait_hist
    return _div((np.arange(len(h)) * h).sum(), h.sum())


@metric("access", "days", True, na="no elective patient was admitted")
def elective_wait_days_p90(m):
    """90th percentile of the same waits (whole days)"""
    return _percentile(m.tally.elective_wait_hist, 0.9)


@metric("access", "patients/1,000 residents", True)
def waiting_list_per_1000(m):
    """elective patients on hospitals' waiting lists, summed over days / person-days x 1,000 (the mean list)"""
    return _div(m.tally.waiting_list_days * 1000, m.tally.person_days)


@metric("access", "minutes", na="no patient was seen in a clinic")
def minutes_per_consultation(m):
    """consultation minutes given in clinics (at the pace providers chose, sim.behaviour.pace) / patients seen"""
    return _div(m.tally.consultation_minutes_sum.sum(), m.tally.consultations.sum())


@metric("access", "bed-days/1,000 resident-years", True)
def corridor_bed_days_per_1000(m):
    """inpatients above the beds there are (corridor beds), summed over days / person-years x 1,000"""
    return _div(m.tally.corridor_bed_days.sum() * 1000, _person_years(m))


@metric("access", "minutes", True, na="no episode was treated")
def travel_minutes_mean(m):
    """travel minutes to every facility an episode went to, summed per episode, mean over treated episodes"""
    return _div(m.tally.travel_minutes_sum, m.tally.treated.sum())


@metric("access", "share", True, na="no episode of illness ended")
def forgone_care_rate(m):
    """episodes of illness that needs care that went without any (no facility, no self-care) / episodes ended"""
    return _div(m.tally.ended[FORGONE], m.tally.ended.sum())


@metric("access", "share", na="no episode of illness ended")
def self_care_rate(m):
    """episodes treated at home or with pharmacy drugs instead of at a facility (a self-limiting illness left to
    run its course at home included) / episodes ended"""
    return _div(m.tally.ended[SELF_CARE], m.tally.ended.sum())


@metric("access", "days", na="no inpatient was discharged")
def los_mean(m):
    """bed-days of discharged inpatients / discharges"""
    return _div(m.tally.bed_days.sum(), m.tally.discharges.sum())


@metric("access", "ratio to clinical stay", na="no inpatient was discharged")
def stay_ratio_mean(m):
    """bed-days of discharged inpatients / the clinical stays of the same cases (1 = stays as the case needs;
    above 1 kept longer, below 1 discharged early)"""
    return _div(m.tally.bed_days.sum(), m.tally.clinical_bed_days)


@metric("access", "share", na="township centres and county hospitals have no beds")
def bed_occupancy(m):
    """occupied bed-days / available bed-days, in-county facilities with beds"""
    levels = [TOWNSHIP, COUNTY]
    return _div(m.tally.occupied_bed_days[levels].sum(), m.tally.available_bed_days[levels].sum())


@metric("access", "share", na="the county and out-of-county hospitals have no beds")
def hospital_occupancy(m):
    """occupied bed-days / available bed-days, county and out-of-county hospitals (the statistical bulletin's
    hospitals: township centres are primary-care institutions and not among them)"""
    levels = [COUNTY, OUT_OF_COUNTY]
    return _div(m.tally.occupied_bed_days[levels].sum(), m.tally.available_bed_days[levels].sum())


@metric("access", "admissions/bed-year", na="township centres have no beds")
def township_bed_turnover(m):
    """admissions to township centres / (their available bed-days / 365): how many patients a township bed
    takes in a year (病床周转次数)"""
    return _div(m.tally.admissions[TOWNSHIP] * 365, m.tally.available_bed_days[TOWNSHIP])


@metric("access", "share", na="no episode was treated")
def in_county_rate(m):
    """treated episodes whose final facility is in the county / treated episodes (县域内就诊率)"""
    return _div(m.tally.treated[list(IN_COUNTY)].sum(), m.tally.treated.sum())


@metric("access", "share", na="no outpatient visit")
def primary_visit_share(m):
    """outpatient visits at village clinics and township centres / all outpatient visits"""
    return _div(m.tally.visits[list(PRIMARY)].sum(), m.tally.visits.sum())


@metric("access", "episodes/1,000 residents", True, na="no resident was alive at the end")
def waiting_at_end_per_1000(m):
    """episodes still waiting for an outpatient slot or a bed on the last day / residents alive x 1,000 (the
    waits of these episodes are not yet in wait_days_mean)"""
    return _div(m.tally.waiting_now * 1000, m.tally.alive_now)


@metric("access", "visits/resident-year")
def visits_per_capita(m):
    """outpatient and emergency visits (every consultation, including those leading to admission or
    referral, and the return visits providers asked for) / person-years"""
    return _div(m.tally.visits.sum(), _person_years(m))


@metric("access", "visits/episode", na="no episode was treated as an outpatient")
def followup_visits_per_episode(m):
    """return visits providers asked of outpatients (sim.behaviour.provider: each asked while its value to the
    provider, margin included, is positive) / outpatient episodes treated"""
    return _div(m.tally.returns_asked.sum(), m.tally.outpatient_episodes.sum())


@metric("access", "share", na="no visit at primary level")
def township_primary_visit_share(m):
    """visits at township centres / visits at village clinics and township centres"""
    return _div(m.tally.visits[TOWNSHIP], m.tally.visits[list(PRIMARY)].sum())


@metric("access", "visits/resident-year")
def primary_visits_per_capita(m):
    """visits at village clinics and township centres / person-years"""
    return _div(m.tally.visits[list(PRIMARY)].sum(), _person_years(m))


@metric("access", "admissions/1,000 resident-years")
def admissions_per_1000(m):
    """admissions / person-years x 1,000"""
    return _div(m.tally.admissions.sum() * 1000, _person_years(m))


@metric("access", "admissions/1,000 resident-years")
def primary_admissions_per_1000(m):
    """admissions to township centres (village clinics have no beds) / person-years x 1,000"""
    return _div(m.tally.admissions[[VILLAGE, TOWNSHIP]].sum() * 1000, _person_years(m))


@metric("access", "share", na="no outpatient visit")
def referral_up_rate(m):
    """referrals up (including time-critical transfers) / outpatient visits"""
    return _div(m.tally.referrals_up.sum(), m.tally.visits.sum())


@metric("access", "transfers/1,000 admissions", na="no admission")
def referrals_down_per_1000(m):
    """downward transfers of convalescent inpatients to township centres / admissions x 1,000 (a transfer
    also counts as an admission at the township centre)"""
    return _div(m.tally.referrals_down.sum() * 1000, m.tally.admissions.sum())


@metric("access", "share", na="no hospital offered a downward transfer")
def referral_down_acceptance(m):
    """downward transfers / inpatients the hospital offered one (nan when none was offered)"""
    return _div(m.tally.referrals_down.sum(), m.tally.down_proposals)


@metric("access", "share", na="no inpatient was discharged")
def township_convalescent_bed_day_share(m):
    """bed-days moved to township centres by downward transfers / all bed-days"""
    return _div(m.tally.down_bed_days, m.tally.bed_days.sum())


@metric("access", "share", na="no visit at a county or out-of-county hospital")
def unreferred_upper_level_share(m):
    """visits at county and out-of-county hospitals by episodes without a referral from a lower level (not
    time-critical, no filed chronic referral) / all visits there"""
    upper = [COUNTY, OUT_OF_COUNTY]
    return _div(m.tally.unreferred_visits[upper].sum(), m.tally.visits[upper].sum())


@metric("access", "share", True, na="no referred episode visited a facility")
def referred_leakage_rate(m):
    """visits of non-critical referred episodes at out-of-county hospitals whose need an in-county facility
    could meet / all visits of non-critical referred episodes"""
    return _div(m.tally.referred_leaks, m.tally.referred_visits.sum())


@metric("access", "share", na="the referral platform offered no booking")
def platform_acceptance(m):
    """referred patients who accepted the referral platform's booking / referred patients offered one"""
    return _div(m.tally.platform_placed, m.tally.platform_offers)


# ----------------------------------------------------------------------------------------------- quality
@metric("quality", "deaths/1,000 episodes", True, na="no episode of illness ended")
def deaths_per_1000_episodes(m):
    """deaths (treated or untreated) / episodes ended x 1,000"""
    return _div(m.tally.deaths * 1000, m.tally.ended.sum())


@metric("quality", "share", True, na="no episode of illness ended")
def complication_rate(m):
    """complications / episodes ended"""
    return _div(m.tally.complications, m.tally.ended.sum())


@metric("quality", "share", True, na="no inpatient was discharged")
def readmission_rate_30d(m):
    """readmissions within 30 days of discharge / discharges"""
    return _div(m.tally.readmissions, m.tally.discharges.sum())


@metric("quality", "minutes", True, na="no chest pain, stroke or trauma episode was treated")
def critical_minutes_to_treatment(m):
    """mean minutes from onset to treatment at the treating facility for chest pain, stroke and trauma
    (travel + recognition + transfers; transfer minutes after a township emergency unit's first treatment count
    (1 - first_treatment_effect), see sim.policies.emergency)"""
    return _div(m.tally.critical_minutes_sum, m.tally.critical_treated)


def _kind_minutes(m, kind: str) -> float:
    i = CRITICAL_KINDS.index(kind)
    return _div(m.tally.kind_critical_minutes_sum[i], m.tally.kind_critical_treated[i])


@metric("quality", "minutes", True, na="no chest pain episode was treated")
def chest_pain_minutes_to_treatment(m):
    """the same for chest pain alone"""
    return _kind_minutes(m, "chest_pain")


@metric("quality", "minutes", True, na="no stroke episode was treated")
def stroke_minutes_to_treatment(m):
    """the same for stroke alone"""
    return _kind_minutes(m, "stroke")


@metric("quality", "deaths/1,000 episodes", True, na="no chest pain, stroke or trauma episode ended")
def critical_deaths_per_1000(m):
    """deaths among chest pain, stroke and trauma episodes (treated or untreated) / such episodes ended x 1,000"""
    return _div(m.tally.critical_deaths * 1000, m.tally.critical_ended)


@metric("quality", "admissions/1,000 resident-years", True)
def exacerbation_admissions_per_1000(m):
    """admissions for heart failure, acute diabetes complications and COPD exacerbations / person-years x
    1,000 (chronic admissions that managed care can prevent)"""
    return _div(m.tally.exacerbation_admissions * 1000, _person_years(m))


@metric("quality", "share", na="no episode was treated")
def appropriate_level_rate(m):
    """treated episodes whose facility's capability meets the case's need level / treated episodes"""
    return _div(m.tally.appropriate.sum(), m.tally.treated.sum())


@metric("quality", "DALY/1,000 resident-years", True)
def health_loss_per_1000(m):
    """health loss (years of life lost + complications + readmissions + untreated illness + wrong
    admission decisions, in DALY) / person-years x 1,000"""
    return _div(m.tally.health_loss_daly * 1000, _person_years(m))


# ----------------------------------------------------------------------------------------------- providers
def _staff_income(m, levels) -> float:
    return staff_income(m.facilities, m.facilities.books, m.day, m.spec, m.tally.community_net, levels)


@metric("providers", "yuan/doctor-year", na="village clinics and township centres had no doctors")
def staff_income_primary(m):
    """(base salary x doctors + bonus share x positive surplus), summed over village clinics and township
    centres / their doctor-years; under salary reform, (base salary x (1 + salary_uplift) x doctors + their
    share, by good outcomes, of bonus_pool_share x the community's retained savings) / doctor-years"""
    return _staff_income(m, list(PRIMARY))


@metric("providers", "yuan/doctor-year", na="county hospitals had no doctors")
def staff_income_county(m):
    """the same for county hospitals"""
    return _staff_income(m, [COUNTY])


@metric("providers", "yuan/resident-year")
def provider_surplus_per_capita(m):
    """provider revenue - resource cost, all facilities / person-years"""
    return _div(m.tally.provider_revenue.sum() - m.tally.provider_cost.sum(), _person_years(m))


@metric("providers", "ratio to guideline", na="no episode was treated")
def intensity_mean(m):
    """mean over treated episodes of the intensity chosen by the provider (1 = guideline)"""
    return _div(m.tally.intensity_sum.sum(), m.tally.treated.sum())


@metric("providers", "ratio to guideline", na="no episode was treated at a village clinic or township centre")
def intensity_primary(m):
    """the same mean over episodes treated at village clinics and township centres"""
    return _div(m.tally.intensity_sum[list(PRIMARY)].sum(), m.tally.treated[list(PRIMARY)].sum())


@metric("providers", "ratio to guideline", na="no episode was treated at a county hospital")
def intensity_county(m):
    """the same mean over episodes treated at county hospitals"""
    return _div(m.tally.intensity_sum[COUNTY], m.tally.treated[COUNTY])


@metric("providers", "doctors/10,000 residents", na="no resident was alive at the end")
def township_doctors_per_10k(m):
    """township centres' own doctors at the end (after any siphon; posted county doctors not counted) /
    residents alive x 10,000"""
    return _div(m.tally.township_doctors_now * 10_000, m.tally.alive_now)


@metric("providers", "doctors")
def doctors_moved_to_county(m):
    """doctors the siphon moved from township centres to county hospitals, net of those moving back"""
    return m.tally.doctors_moved_to_county


@metric("providers", "doctor-days")
def sinking_doctor_days(m):
    """posted senior county doctors x days present at township centres (resource sinking)"""
    return m.tally.sinking_doctor_days


@metric("providers", "level")
def township_capability_mean(m):
    """mean over days of the township centres' mean capability (posted doctors' and training's gains
    included; 1 = township level, 2 = county level)"""
    return _div(m.tally.township_capability_days, m.day)


@metric("providers", "level", na="no township centre")
def township_capability_lasting(m):
    """the township centres' mean capability at the end without posted doctors (base + lasting training gain)"""
    return m.tally.township_capability_lasting


@metric("access", "share", True, na="no visit at a township centre")
def township_referral_rate(m):
    """referrals up from township centres / visits at township centres"""
    return _div(m.tally.referrals_up[TOWNSHIP], m.tally.visits[TOWNSHIP])


# ----------------------------------------------------------------------------------------------- payment
@metric("payment", "relative weight", na="no inpatient was discharged")
def case_mix_index(m):
    """mean DRG relative weight of discharges as coded (CMI); rises with upcoding"""
    return _div(m.tally.coded_weight_sum, m.tally.discharges.sum())


@metric("payment", "share", True, na="no inpatient was discharged")
def upcoding_rate(m):
    """discharges coded one severity above the case's severity / discharges"""
    return _div(m.tally.upcoded, m.tally.discharges.sum())


@metric("payment", "yuan/point", na="no DIP settlement (the payment model is not DIP, or no settlement fell due)")
def dip_point_value(m):
    """points-weighted mean of the DIP point values set at the settlements (nan without DIP)"""
    return _div(m.tally.dip_settled_value, m.tally.dip_settled_points)


@metric("payment", "points/resident-year",
        na="no DIP settlement (the payment model is not DIP, or no settlement fell due)")
def dip_points_per_capita(m):
    """DIP points settled / person-years (nan without DIP)"""
    if not m.tally.dip_settled_points:
        return float("nan")
    return _div(m.tally.dip_settled_points, _person_years(m))


@metric("payment", "yuan/resident-year")
def community_retained_per_capita(m):
    """change in the medical community's net position (budget received - claims paid, after settlements) /
    person-years (0 without a global budget)"""
    return _div(m.tally.community_net, _person_years(m))


@metric("payment", "yuan/resident-year")
def community_instruments_per_capita(m):
    """what the medical community paid for its instruments (posted doctors' allowances, the referral platform;
    sim.payment.instruments) / person-years (0 without a global budget)"""
    return _div(m.tally.community_instruments, _person_years(m))


@metric("payment", "yuan/resident-year")
def assessment_deductions_per_capita(m):
    """money withheld from township centres after performance assessment / person-years"""
    return _div(m.tally.assessment_deductions, _person_years(m))


@metric("providers", "count")
def directors_replaced(m):
    """township centre directors replaced after performance assessment"""
    return m.tally.directors_replaced


@metric("providers", "count")
def centres_merged(m):
    """township centres merged into a neighbouring centre after performance assessment"""
    return m.tally.centres_merged


def compute(model) -> dict[str, float]:
    """All metrics of a finished model, in definition order."""
    return {name: float(spec.fn(model)) for name, spec in METRICS.items()}
