"""Family-doctor contracts and township emergency units, on a small county.

As in tests/test_behaviour.py, arms run on the same seed (common random numbers) and the tests assert
directions and exact invariants, never calibrated values. Each effect is shown with its mechanism on, and
shown to vanish when the mechanism's parameter is neutral.
"""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
import pytest
import yaml

from sim.core.conditions import BUNDLED
from sim.core.levels import TOWNSHIP, VILLAGE
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.policies.family_doctor import KEY_GROUP_AGE
from sim.results import metrics

SIZE = 30_000
DAYS = 150

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def family_doctor(continuity: float | None = None, **policy) -> dict:
    """Contracts on, with ``policy`` overrides and, if given, ``outcomes.continuity_risk_reduction``."""
    out = {"policies": {"family_doctor": {"enabled": True, **policy}}}
    if continuity is not None:
        out["outcomes"] = {"continuity_risk_reduction": continuity}
    return out


def emergency_units(**policy) -> dict:
    return {"policies": {"emergency_units": {"enabled": True, **policy}}}


# --------------------------------------------------------------------------------------------- contracts
def test_contracts_reach_key_groups_and_are_what_capitation_pays_for():
    """The drawn contracts reach the key groups first and the household rate overall (a light check of the
    draw); what they do under capitation: a contracted resident's visit to their own clinic or centre earns it
    only the copayment, the fund paying per contract instead, so the more residents contract, the less
    intensively primary care treats and the more fund money it receives. Management and continuity are held
    neutral, so the contracts act only as enrolment; with nobody contracted, primary care treats as under
    fee-for-service."""
    p = Scenario().policies.family_doctor
    model = HealthSystemModel(county(family_doctor()))
    fd, pop = model.policies["family_doctor"], model.pop
    key = (pop.age >= KEY_GROUP_AGE) | pop.chronic.any(1)
    assert fd.contracted.mean() == pytest.approx(p.contract_share, abs=0.015)
    assert fd.contracted[~key].mean() < p.contract_share < fd.contracted[key].mean()
    assert model.enrolled is fd.contracted

    capitation = {"payment": {"model": "capitation"}}
    neutral = {"exacerbation_relative_risk": 1.0, "continuity": 0.0}
    arms = [run(overlay(capitation, family_doctor(**neutral, contract_share=share, key_group_share=share)))
            for share in (0.0, 0.4, 1.0)]
    intensity = [metrics_["intensity_primary"] for _, metrics_ in arms]
    primary = arms[0][0].facilities.level <= TOWNSHIP
    fund = [model_.facilities.books["fund_income"][primary].sum() for model_, _ in arms]
    assert intensity[0] > intensity[1] > intensity[2]
    assert fund[0] < fund[1] < fund[2]
    _, fee_for_service = run(family_doctor(**neutral))
    assert intensity[0] == fee_for_service["intensity_primary"]


def test_without_the_policy_capitation_enrols_as_before():
    model = HealthSystemModel(county({"payment": {"capitation": {"enrolment_share": 0.3}}}))
    assert not model.policies["family_doctor"].contracted.any()
    assert model.enrolled.mean() == pytest.approx(0.3, abs=0.015)


# --------------------------------------------------------------------------------------------- management
def test_family_doctors_mean_fewer_chronic_admissions():
    _, off = run()
    on_model, on = run(family_doctor())
    assert on["exacerbation_admissions_per_1000"] < 0.9 * off["exacerbation_admissions_per_1000"]
    assert on_model.tally.exacerbation_admissions < run()[0].tally.exacerbation_admissions


def test_without_management_or_continuity_contracts_change_nothing():
    _, off = run()
    _, neutral = run(family_doctor(exacerbation_relative_risk=1.0, continuity=0.0))
    np.testing.assert_equal(neutral, off)  # every metric, bit for bit (nan equals nan)


def test_management_needs_primary_doctors_time():
    """Too many chronic patients per primary doctor: each is managed less, fewer exacerbations are avoided."""
    _, off = run()
    _, managed = run(family_doctor(continuity=0.0))
    _, stretched = run(family_doctor(continuity=0.0, chronic_panel_per_doctor=20))
    key = "exacerbation_admissions_per_1000"
    assert managed[key] < stretched[key] < off[key]

    model = HealthSystemModel(county(family_doctor(chronic_panel_per_doctor=20)))
    fd, fac = model.policies["family_doctor"], model.facilities
    rr = fd.relative_risk(fac)
    assert (rr > Scenario().policies.family_doctor.exacerbation_relative_risk).all() and (rr < 1).all()
    fac.doctors[fac.level <= TOWNSHIP] *= 0.5  # doctors siphoned away: management thins further
    assert (fd.relative_risk(fac) > rr).all()


def test_contracted_residents_fare_better_with_their_own_doctor_and_learn_to_trust_primary_care():
    """Continuity: a doctor who knows the patient averts part of the risks of care at the resident's own clinic
    and centre. Residents are told nothing; those who fare better there come to trust those levels more
    (sim.behaviour.learning), the contracted more than the others (whose trust moves only through what their
    village hears). The pull on first contact is small: measured at 30,000 residents over a year, the primary
    visit share moves from 0.531 to 0.532."""
    apart = {"exacerbation_relative_risk": 1.0}  # management apart, so that only continuity differs
    without_model, without = run(family_doctor(continuity=0.0, **apart), days=365)
    with_model, with_ = run(family_doctor(**apart), days=365)
    assert with_["health_loss_per_1000"] < without["health_loss_per_1000"]
    assert with_["deaths_per_1000_episodes"] < without["deaths_per_1000_episodes"]
    contracted = with_model.policies["family_doctor"].contracted
    gained = with_model.pop.trust - without_model.pop.trust
    for level in (VILLAGE, TOWNSHIP):
        assert gained[contracted, level].mean() > 0
        assert gained[contracted, level].mean() > gained[~contracted, level].mean()


# --------------------------------------------------------------------------------------------- emergency
NEAR = {"behaviour": {"resident": {"trust_initial": {"township": 3.0}}}}  # emergencies go to the centre first
CRITICAL = "critical_minutes_to_treatment"


def test_emergency_units_save_minutes_for_the_cases_that_reach_them():
    """A unit acts on the cases that come to its township centre: with the default trust most time-critical
    cases go straight to a hospital and the units save a few minutes on average; where residents take their
    emergencies to the centre first, several times as many."""
    _, off = run()
    _, units = run(emergency_units())
    for key in ("chest_pain_minutes_to_treatment", "stroke_minutes_to_treatment", CRITICAL):
        assert units[key] < off[key]
    _, near_off = run(NEAR)
    _, near_units = run(overlay(NEAR, emergency_units()))
    assert near_off[CRITICAL] - near_units[CRITICAL] > 2 * (off[CRITICAL] - units[CRITICAL]) > 0


def test_emergency_units_that_are_no_faster_change_nothing():
    d = Scenario().facilities
    _, off = run()
    _, same = run(emergency_units(identification_minutes=d.township.identification_minutes,
                                  transfer_handover_minutes=d.county.identification_minutes,
                                  first_treatment_effect=0.0))
    np.testing.assert_equal(same, off)


def test_units_save_minutes_only_where_and_for_what_they_are():
    """Units at one of the two centres save fewer minutes than at both; a centre without a stroke unit saves
    strokes nothing (their minutes exactly as without units) while its chest-pain unit still saves minutes."""
    _, off = run()
    _, one = run(emergency_units(townships=1))
    _, every = run(emergency_units())
    assert every[CRITICAL] < one[CRITICAL] < off[CRITICAL]
    _, near_off = run(NEAR)
    _, no_stroke = run(overlay(NEAR, emergency_units(stroke=False)))
    assert no_stroke["stroke_minutes_to_treatment"] == near_off["stroke_minutes_to_treatment"]
    assert no_stroke["chest_pain_minutes_to_treatment"] < near_off["chest_pain_minutes_to_treatment"]


@pytest.fixture(scope="module")
def emergencies_only(tmp_path_factory) -> str:
    """A catalogue of only chest pain, stroke and trauma, 30 times as frequent and without readmissions, so that
    a fast run holds ~9,000 time-critical episodes and every episode keeps its own random numbers in both arms
    (readmissions draw from one shared stream, so a single readmission more would shift all later ones)."""
    doc = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    doc["conditions"] = {
        name: {**c, "readmission_risk": [0.0, 0.0, 0.0],
               "incidence_per_1000": {band: 30 * x for band, x in c["incidence_per_1000"].items()}}
        for name, c in doc["conditions"].items() if c["time_critical"]}
    path = tmp_path_factory.mktemp("catalogue") / "emergencies.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def test_emergency_units_mean_fewer_deaths(emergencies_only):
    # Trust learning is off so that choices do not drift apart between the arms: differences come from minutes.
    base = {"case_mix": {"catalogue": emergencies_only},
            "behaviour": {"resident": {"trust_learning_rate": 0.0, "word_of_mouth_rate": 0.0}}}

    def deaths(policy: dict) -> tuple[int, float]:
        model = HealthSystemModel(county(overlay(base, policy), size=50_000, days=365)).run()
        return model.tally.critical_deaths, metrics.compute(model)["critical_deaths_per_1000"]

    off = deaths({})
    units = deaths(emergency_units())
    neutral = deaths(emergency_units(identification_minutes=25, transfer_handover_minutes=10,
                                     first_treatment_effect=0.0))
    assert units[0] < off[0] and units[1] < off[1]
    assert neutral == off


def test_policies_switched_on_by_the_timeline_leave_the_days_before_untouched():
    from sim.results.periods import period_metrics

    on = {"timeline": [{"day": 60, "set": {"policies.family_doctor.enabled": True,
                                           "policies.emergency_units.enabled": True}}]}
    model = HealthSystemModel(county(on, days=100)).run()
    before = HealthSystemModel(county(days=60)).run()
    np.testing.assert_equal(period_metrics(model)[0]["metrics"], metrics.compute(before))
    assert model.policies["family_doctor"].enabled and model.policies["emergency_units"].enabled
    assert model.enrolled is model.policies["family_doctor"].contracted
