"""Performance assessment (``policies.assessment``): money withheld by score changes what township centres
do only through the deduction they expect; a new director and a merger change capacity and geography. Each
test runs arms on the same seed (common random numbers) and asserts directions and exact invariants."""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
from conftest import SEED, check_queues, same

from sim.core import episodes as E
from sim.core.levels import TOWNSHIP
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.results import metrics
from sim.results.periods import period_metrics

SIZE = 30_000   # two townships
DAYS = 120
NO_JOBS = {"replace_after_periods": 0, "merge_after_periods": 0}

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def assessment(**rules) -> dict:
    return {"policies": {"assessment": {"enabled": True, **rules}}}


def township(model: HealthSystemModel) -> dict[str, float]:
    t = model.tally
    return {"drug_share": t.charges[TOWNSHIP, 1] / t.charges[TOWNSHIP].sum(),
            "intensity": t.intensity_sum[TOWNSHIP] / t.treated[TOWNSHIP],
            "cost_per_visit": t.outpatient_charges[TOWNSHIP] / t.outpatient_episodes[TOWNSHIP]}


# --------------------------------------------------------------------------------------------- money
def test_drug_share_deductions_lower_drug_share_and_intensity_at_township_centres():
    off_model, off = run(assessment(deduction_yuan_per_point=0, **NO_JOBS))
    on_model, on = run(assessment(deduction_yuan_per_point=5_000, **NO_JOBS))
    before, after = township(off_model), township(on_model)
    assert after["drug_share"] < before["drug_share"] - 0.02
    assert after["intensity"] < before["intensity"]
    assert after["cost_per_visit"] < before["cost_per_visit"]
    assert on["assessment_deductions_per_capita"] > 0 == off["assessment_deductions_per_capita"]
    # county hospitals are not assessed: their drug share moves only through the patients they share (cheaper
    # township visits draw some, since residents weigh prices), by a small fraction of the township's fall
    county_change = abs(on_model.tally.charges[2, 1] / on_model.tally.charges[2].sum()
                        - off_model.tally.charges[2, 1] / off_model.tally.charges[2].sum())
    assert county_change < 0.1 * (before["drug_share"] - after["drug_share"])


def test_deductions_change_nothing_when_providers_ignore_profit():
    _, off = run(overlay(assessment(deduction_yuan_per_point=0, **NO_JOBS),
                         {"behaviour": {"provider": {"profit_weight": 0.0}}}))
    _, on = run(overlay(assessment(deduction_yuan_per_point=5_000, **NO_JOBS),
                        {"behaviour": {"provider": {"profit_weight": 0.0}}}))
    assert on["assessment_deductions_per_capita"] > 0
    # the money withheld changes the books, and nothing else
    books = {"assessment_deductions_per_capita", "fund_spending_per_capita", "fund_claims_per_capita",
             "spending_per_capita", "total_cost_per_capita", "oop_share",
             "primary_fund_share", "out_of_county_fund_share", "provider_surplus_per_capita",
             "staff_income_primary"}
    assert same(off, on, skip=books)


def test_zero_deductions_and_no_jobs_leave_every_number_as_without_assessment():
    _, without = run({})
    _, zero = run(assessment(deduction_yuan_per_point=0, **NO_JOBS))
    assert same(without, zero)
    assert without["directors_replaced"] == without["centres_merged"] == 0


def test_withheld_money_is_conserved():
    model, _ = run(assessment(deduction_yuan_per_point=5_000, **NO_JOBS))
    books, t = model.facilities.books, model.tally
    assert t.assessment_deductions > 0
    np.testing.assert_allclose(books["revenue"].sum(), books["fund_income"].sum() + books["oop_income"].sum(),
                               rtol=1e-9)
    np.testing.assert_allclose(model.fund.spending, t.fund, rtol=1e-9)
    assert np.isclose(books["revenue"].sum(), t.provider_revenue.sum(), rtol=1e-9)


# --------------------------------------------------------------------------------------------- jobs
def weak_centres(gain: float) -> dict:
    """Understaffed centres (queues bind), assessed monthly; the bottom one gets a new director at once."""
    return overlay(assessment(deduction_yuan_per_point=0, period_days=30, replace_after_periods=1,
                              merge_after_periods=0, director_efficiency_gain=gain),
                   {"facilities": {"township": {"doctors": 2}}})


def test_a_new_director_raises_the_weak_centres_throughput():
    """More clinic hours under a new director see more patients where the centre's hours bind."""
    busy = {"facilities": {"township": {"clinic_hours_per_doctor_day": 1.0}}}
    still, _ = run(overlay(weak_centres(0.0), busy))
    better, m = run(overlay(weak_centres(0.5), busy))
    first = better.policies["assessment"].assessor.history[0]["replaced"]
    # same seed, same verdict
    assert first >= 0 and still.policies["assessment"].assessor.history[0]["replaced"] == first
    assert m["directors_replaced"] >= 1
    assert better.facilities.clinic_hours[first] > still.facilities.clinic_hours[first]
    assert better.facilities.books["visits"][first] > still.facilities.books["visits"][first]


def test_a_merger_moves_staff_beds_patients_and_villages_and_loses_no_episode():
    spec = county(assessment(deduction_yuan_per_point=0, period_days=30, replace_after_periods=0,
                             merge_after_periods=1, merge_min_daily_visits=1e6), days=60)
    model = HealthSystemModel(spec, seed=SEED)
    for _ in range(29):
        model.step()
    fac, geo = model.facilities, model.geo
    centres = np.flatnonzero(fac.level == TOWNSHIP)
    doctors, beds, options = fac.doctors.sum(), fac.beds.sum(), geo.options[:, 1].copy()
    minutes = geo.option_minutes[:, 1].copy()
    occupied = fac.occupied.copy()
    model.step()  # day 29: the first assessment
    merged = model.policies["assessment"].assessor.history[0]["merged"]
    assert merged in centres and model.tally.centres_merged == 1
    into = int(np.setdiff1d(centres, [merged])[0])
    moved = options == merged
    assert moved.any() and (geo.options[moved, 1] == into).all() and (geo.options[~moved, 1] == options[~moved]).all()
    assert geo.option_minutes[moved, 1].mean() > minutes[moved].mean()  # those villages are farther from care
    assert fac.doctors.sum() == doctors and fac.beds.sum() == beds
    assert fac.doctors[merged] == 0 and fac.beds[merged] == 0
    assert occupied[merged] > 0  # there were inpatients to move
    check_queues(model)
    visits_then = fac.books["visits"][merged]
    model.run()  # the remaining days
    check_queues(model)
    assert fac.books["visits"][merged] == visits_then  # nobody is seen there any more
    t = model.tally
    assert t.episodes_started == t.ended.sum() + int((model.episodes.state != E.ENDED).sum())


# --------------------------------------------------------------------------------------------- timeline
def test_timeline_switches_assessment_on_at_a_day():
    on_day = 60
    model, m = run({"timeline": [{"day": on_day, "set": {"policies.assessment.enabled": True,
                                                         "policies.assessment.period_days": 30}}]})
    base, _ = run({})
    assessor = model.policies["assessment"].assessor
    assert assessor is not None and assessor.history[0]["day"] == on_day + 30 - 1
    assert m["assessment_deductions_per_capita"] > 0
    assert base.policies["assessment"].assessor is None
    before, _ = period_metrics(model)
    assert before["end_day"] == on_day
    base_before = HealthSystemModel(county(days=on_day), seed=SEED).run()
    assert same(metrics.compute(base_before), before["metrics"])


def test_in_county_deductions_make_township_centres_refer_less():
    only_fund = {"drug_share_weight": 0, "cost_per_visit_weight": 0, **NO_JOBS}
    off_model, _ = run(assessment(deduction_yuan_per_point=0, **only_fund))
    on_model, on = run(assessment(deduction_yuan_per_point=100_000, **only_fund))
    assert on["assessment_deductions_per_capita"] > 0
    assert on_model.tally.referrals_up[TOWNSHIP] < off_model.tally.referrals_up[TOWNSHIP]
