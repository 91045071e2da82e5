"""Resource sinking (``policies.sinking``) and the siphon of staff (``behaviour.staff``), on a small county.

Each test runs arms on the same seed (common random numbers) and asserts directions and exact invariants: the
effect with the mechanism on, and its absence when the mechanism's parameter is zero.
"""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
import pytest
from conftest import same

from sim.core.levels import COUNTY, TOWNSHIP
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.results.periods import period_metrics

SIZE = 30_000   # two townships, two county hospitals (19 doctors each), one city hospital
DAYS = 120

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def sinking(**rules) -> dict:
    return {"policies": {"sinking": rules}}


def staff(**rules) -> dict:
    return {"behaviour": {"staff": rules}}


@pytest.fixture(scope="module")
def base():
    return run()


# ------------------------------------------------------------------------------------------------ sinking
def test_sinking_off_changes_nothing(base):
    """doctors = 0 (and any other sinking setting) leaves every number as it was."""
    _, off = run(sinking(doctors=0, capability_gain_per_doctor=1.0, training_gain_per_doctor_year=1.0,
                         days_per_week=7, hosts="weakest"))
    assert same(off, base[1])
    assert off["sinking_doctor_days"] == 0


# The channels one at a time: the posted doctors' capability (no extra slots, no lasting training) ...
CAPABILITY_ONLY = {"training_gain_per_doctor_year": 0.0, "adds_outpatient_slots": False}
# ... and their clinic hours (no capability gain, no training)
SLOTS_ONLY = {"capability_gain_per_doctor": 0.0, "training_gain_per_doctor_year": 0.0}


def test_posted_doctors_keep_cases_at_the_host_centre(base):
    """A centre made more capable by the doctors posted there refers fewer cases up and treats and admits more
    itself, so the county hospitals treat fewer; with no capability gain per doctor, nothing changes."""
    model, on = run(sinking(doctors=8, **CAPABILITY_ONLY))
    off_model, off = base
    t, t0 = model.tally, off_model.tally
    assert t.referrals_up[TOWNSHIP] < 0.5 * t0.referrals_up[TOWNSHIP]
    assert on["township_referral_rate"] < 0.5 * off["township_referral_rate"]
    assert t.treated[TOWNSHIP] > t0.treated[TOWNSHIP]
    assert t.admissions[TOWNSHIP] > t0.admissions[TOWNSHIP]
    assert t.appropriate[TOWNSHIP] > t0.appropriate[TOWNSHIP]  # cases it can now treat, treated there
    assert t.treated[COUNTY] < t0.treated[COUNTY]
    _, no_gain = run(sinking(doctors=8, **CAPABILITY_ONLY | {"capability_gain_per_doctor": 0.0}))
    assert no_gain["sinking_doctor_days"] > 0
    assert same(no_gain, off, skip=("sinking_doctor_days",))


def test_posted_doctors_see_patients_where_the_host_clinic_is_full():
    """At centres with one doctor each the clinic is full: a posted doctor's clinic hours see patients who
    would otherwise have gone elsewhere or without; posted doctors who bring no clinic hours change nothing."""
    short = {"facilities": {"township": {"doctors": 1}}}
    base_model, base_metrics = run(short)
    model, on = run(overlay(short, sinking(doctors=8, **SLOTS_ONLY)))
    t, t0 = model.tally, base_model.tally
    assert t.consultations[TOWNSHIP] > 1.05 * t0.consultations[TOWNSHIP]
    assert t.treated[TOWNSHIP] > 1.05 * t0.treated[TOWNSHIP]
    assert on["primary_visit_share"] > base_metrics["primary_visit_share"]
    _, no_slots = run(overlay(short, sinking(doctors=8, **SLOTS_ONLY | {"adds_outpatient_slots": False})))
    assert same(no_slots, base_metrics, skip=("sinking_doctor_days",))


def test_doctors_present_fewer_days_keep_fewer_cases(base):
    """The gain lasts only while the doctors are there: posted one day a week, they keep fewer cases at the
    centres than posted six."""
    _, one = run(sinking(doctors=8, days_per_week=1, **CAPABILITY_ONLY))
    _, six = run(sinking(doctors=8, days_per_week=6, **CAPABILITY_ONLY))
    rate = "township_referral_rate"
    assert six[rate] < one[rate] < base[1][rate]
    assert six["township_capability_mean"] > one["township_capability_mean"] > base[1]["township_capability_mean"]


def test_without_capability_gain_or_slots_sinking_does_nothing(base):
    """The effect comes from capability and capacity: with neither, the numbers are the baseline's."""
    _, inert = run(sinking(doctors=8, capability_gain_per_doctor=0.0, training_gain_per_doctor_year=0.0,
                           adds_outpatient_slots=False))
    assert inert["sinking_doctor_days"] > 0
    assert same(inert, base[1], skip=("sinking_doctor_days",))


def test_the_county_hospitals_keep_most_of_their_doctors():
    """At most max_county_share (25%) of the county hospitals' 38 doctors go: asking 10 or 20 posts the same
    9.5 doctors (the same run), asking 5 posts fewer, who keep fewer cases at the centres."""
    _, five = run(sinking(doctors=5))
    _, ten = run(sinking(doctors=10))
    _, twenty = run(sinking(doctors=20))
    assert same(ten, twenty)
    assert five["township_referral_rate"] > ten["township_referral_rate"]
    _, uncapped = run(sinking(doctors=20, max_county_share=1.0))
    assert uncapped["township_referral_rate"] < twenty["township_referral_rate"]


def test_capability_gain_ends_when_doctors_leave_unless_they_trained_the_staff():
    rules = {"doctors": 8, "start_day": 0, "duration_days": 60}
    no_training, _ = run(sinking(**rules, training_gain_per_doctor_year=0.0), days=90)
    training, m = run(sinking(**rules, training_gain_per_doctor_year=0.5), days=90)
    base_capability = Scenario().facilities.township.capability
    cap = no_training.facilities.capability[no_training.facilities.level == TOWNSHIP]
    assert cap == pytest.approx(base_capability, abs=0)
    trained = training.facilities.capability[training.facilities.level == TOWNSHIP]
    assert (trained > base_capability + 0.01).all()
    assert m["township_capability_lasting"] == pytest.approx(trained.mean())


def test_sinking_can_start_on_the_timeline():
    """Doctors posted from day 100: the days before are the run without them, number for number; after, the
    centres are more capable and refer less."""
    plan = {"timeline": [{"day": 100, "set": {"policies.sinking.doctors": 20}}]}
    model, on = run(plan, days=110)
    before, after = (p["metrics"] for p in period_metrics(model))
    _, without = run(days=100)
    # (staff incomes divide a period's pay by the doctors where they are at the end of the run)
    assert same(before, without, skip=("staff_income_primary", "staff_income_county"))
    assert after["township_capability_mean"] > before["township_capability_mean"]
    assert after["township_referral_rate"] < before["township_referral_rate"]
    assert before["sinking_doctor_days"] == 0 < after["sinking_doctor_days"] == on["sinking_doctor_days"]


def test_a_facility_change_on_the_timeline_keeps_the_posted_doctors():
    """Township doctors rewritten on day 3: the posted doctors stay on top of the new staff, so the centres
    keep their higher capability and their extra doctors."""
    plan = {"timeline": [{"day": 3, "set": {"facilities.township.doctors": 20}}]}
    posted = HealthSystemModel(county({**plan, **sinking(doctors=4, days_per_week=7)}, days=5)).run()
    alone = HealthSystemModel(county(plan, days=5)).run()
    t = posted.facilities.level == TOWNSHIP
    assert (posted.facilities.capability[t] > alone.facilities.capability[t]).all()
    assert (posted.facilities.doctors[t] > alone.facilities.doctors[t]).all()
    assert (alone.facilities.doctors[t] == 20).all()


def test_weakest_hosts_fill_in_turn():
    model = HealthSystemModel(county(sinking(doctors=3, hosts="weakest", doctors_per_host=2), days=2)).run()
    hosted = np.sort(model.policies["staffing"].hosted[model.facilities.level == TOWNSHIP])
    assert hosted == pytest.approx([1, 2])


# ------------------------------------------------------------------------------------------------ siphon
def siphon_run(reform: bool, mobility: float) -> dict:
    plan = {**staff(mobility_rate=mobility), "policies": {"salary_reform": {"enabled": reform}}}
    return run(plan, days=181)[1]


def test_siphon_off_by_default_changes_nothing(base):
    _, still = run(staff(mobility_rate=0.0, prestige_premium_yuan=1e6))
    assert same(still, base[1])


def test_township_doctors_flow_to_the_county_under_fee_for_service_and_less_under_salary_reform():
    """Fee-for-service pays county doctors a larger surplus bonus; the annual salary removes that part of the
    gap, so fewer doctors leave the township centres."""
    ffs = siphon_run(reform=False, mobility=0.05)
    reform = siphon_run(reform=True, mobility=0.05)
    stay = siphon_run(reform=False, mobility=0.0)
    assert ffs["doctors_moved_to_county"] > 0
    assert ffs["township_doctors_per_10k"] < stay["township_doctors_per_10k"]
    assert reform["doctors_moved_to_county"] < ffs["doctors_moved_to_county"]
    assert stay["doctors_moved_to_county"] == 0
