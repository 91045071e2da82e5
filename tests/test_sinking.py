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


@pytest.fixture(scope="module")
def posted():
    """Eight senior doctors posted from day 0, Monday to Saturday, to the end of the run."""
    return run(sinking(doctors=8))


# ------------------------------------------------------------------------------------------------ sinking
def test_sinking_off_changes_nothing(base):
    """doctors = 0 (and any other sinking setting) leaves every number as it was."""
    _, off = run(sinking(doctors=0, capability_gain_per_doctor=1.0, training_gain_per_doctor_year=1.0,
                         days_per_week=7, hosts="weakest"))
    assert same(off, base[1])
    assert off["sinking_doctor_days"] == 0


def test_posted_doctors_raise_host_capability_and_primary_care(base, posted):
    model, on = posted
    _, off = base
    assert on["sinking_doctor_days"] == pytest.approx(8 * (6 * 17 + 1))  # 120 days = 17 weeks + Monday
    assert on["township_capability_mean"] > off["township_capability_mean"] + 0.3
    # The provider refers up less from a more capable centre, so more cases are admitted there.
    assert on["township_referral_rate"] < 0.8 * off["township_referral_rate"]
    assert on["primary_admissions_per_1000"] > off["primary_admissions_per_1000"]


def test_posted_doctors_leave_the_county_hospitals():
    spec = county(sinking(doctors=8), days=2)
    model = HealthSystemModel(spec)
    fac = model.facilities
    county_before = fac.doctors[fac.level == COUNTY].sum()
    township_before = fac.doctors[fac.level == TOWNSHIP].sum()
    beds_before = fac.beds.copy()
    model.step()  # day 0, a Monday: the doctors are at their hosts
    assert fac.doctors[fac.level == COUNTY].sum() == pytest.approx(county_before - 8)
    assert fac.doctors[fac.level == TOWNSHIP].sum() == pytest.approx(township_before + 8)
    assert (fac.beds == beds_before).all()


def test_doctors_are_home_on_their_days_off():
    model = HealthSystemModel(county(sinking(doctors=8, days_per_week=1), days=3))
    fac = model.facilities
    base_cap = fac.capability.copy()
    model.step()
    assert (fac.capability[fac.level == TOWNSHIP] > base_cap[fac.level == TOWNSHIP]).all()
    model.step()  # Tuesday: home
    assert fac.capability[fac.level == TOWNSHIP] == pytest.approx(base_cap[fac.level == TOWNSHIP] + 0.05 * 4 / 365,
                                                                  rel=1e-9)


def test_without_capability_gain_or_slots_sinking_does_nothing(base):
    """The effect comes from capability and capacity: with neither, the numbers are the baseline's."""
    _, inert = run(sinking(doctors=8, capability_gain_per_doctor=0.0, training_gain_per_doctor_year=0.0,
                           adds_outpatient_slots=False))
    assert inert["sinking_doctor_days"] > 0
    assert same(inert, base[1], skip=("sinking_doctor_days",))


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
    plan = {"timeline": [{"day": 100, "set": {"policies.sinking.doctors": 20}}]}
    model, on = run(plan, days=110)
    # 20 asked, but at most max_county_share (25%) of the county hospitals' 38 doctors can go.
    posted = 0.25 * model.policies["staffing"].base_doctors[model.facilities.level == COUNTY].sum()
    presence_days = sum(1 for d in range(100, 110) if d % 7 < 6)
    assert on["sinking_doctor_days"] == pytest.approx(posted * presence_days)
    before, after = (p["metrics"] for p in period_metrics(model))
    assert before["township_capability_mean"] == Scenario().facilities.township.capability
    assert after["township_capability_mean"] > before["township_capability_mean"]
    assert before["sinking_doctor_days"] == 0 and after["sinking_doctor_days"] == on["sinking_doctor_days"]


def test_a_facility_change_on_the_timeline_keeps_the_posted_doctors():
    plan = {"timeline": [{"day": 3, "set": {"facilities.township.doctors": 20}}]}
    model = HealthSystemModel(county({**plan, **sinking(doctors=4, days_per_week=7)}, days=5)).run()
    fac = model.facilities
    assert fac.doctors[fac.level == TOWNSHIP] == pytest.approx(20 + 2)


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
