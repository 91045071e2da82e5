"""Per diem (``payment.model: per_diem``): inpatient care paid per bed-day. Its effects must come from the provider's
objective alone: the marginal bed-day earns the rate and the marginal item nothing, so a provider that weighs profit
keeps patients longer than under DRG and does fewer inpatient items than under fee-for-service; with profit weight
0 nothing but the money changes. Arms share the seed (common random numbers)."""

from __future__ import annotations

from pathlib import Path

import conftest
import numpy as np
import pytest
from conftest import every_case, provider_cases

from sim.behaviour.provider import Provider
from sim.core.conditions import load_catalogue
from sim.core.levels import LEVELS, N_LEVELS
from sim.params.loading import ScenarioError, load_scenario, load_scenario_text
from sim.params.scenario import Scenario
from sim.payment.models import make_payment

ROOT = Path(__file__).resolve().parents[1]
SIZE, DAYS = 20_000, 150


def run(model: str, profit_weight: float):
    """The same arms as tests/test_payment.py (shared through conftest's cache)."""
    return conftest.run({"payment": {"model": model}, "behaviour": {"provider": {"profit_weight": profit_weight}}},
                            size=SIZE, days=DAYS)


def decide(model: str, profit_weight: float):
    """The provider's decisions on every admitted (condition, severity) at the county hospital, beds not scarce,
    nothing referred: one row each."""
    spec = Scenario.model_validate({"payment": {"model": model}})
    cat = load_catalogue(spec.case_mix.catalogue)
    c, s = every_case(cat)
    keep = cat.admission_need[c, s] > 0
    cases = provider_cases(spec, "county", c[keep], s[keep], has_beds=True, can_refer=False,
                           admission_benefit=1e6, fund_rate_up_out=0.0, fund_rate_up_in=0.0, price_ratio_up=0.0)
    behaviour = spec.behaviour.provider.model_copy(update={"profit_weight": profit_weight})
    decisions = Provider(behaviour, spec.outcomes, cat, make_payment(spec, cat)).decide(cases)
    assert decisions.admit.all()
    return decisions


def test_per_diem_keeps_the_same_case_longer_than_drg_with_fewer_items_than_fee_for_service():
    ffs, drg, per_diem = (decide(model, 0.5) for model in ("fee_for_service", "drg", "per_diem"))
    # the marginal day earns the rate under per diem, its bundle's fee under fee-for-service, nothing under DRG
    assert (per_diem.stay_ratio > drg.stay_ratio).all()
    assert per_diem.stay_ratio.mean() > ffs.stay_ratio.mean() > 1.0 > drg.stay_ratio.mean()
    assert (per_diem.intensity <= ffs.intensity).all() and (per_diem.intensity < ffs.intensity).any()
    # an extra item earns nothing under either, so the same case gets the same items
    np.testing.assert_array_equal(per_diem.intensity, drg.intensity)
    # with no weight on profit the payment model changes no decision
    ffs0, per_diem0 = decide("fee_for_service", 0.0), decide("per_diem", 0.0)
    np.testing.assert_array_equal(per_diem0.stay_ratio, np.ones(len(per_diem0.stay_ratio)))
    np.testing.assert_array_equal(per_diem0.intensity, ffs0.intensity)


def test_per_diem_lengthens_stays_against_drg_only_when_providers_weigh_profit():
    _, drg = run("drg", 0.5)
    _, per_diem = run("per_diem", 0.5)
    assert per_diem["stay_ratio_mean"] > 1.0 > drg["stay_ratio_mean"]
    assert per_diem["los_mean"] > drg["los_mean"]
    ffs_model, ffs = run("fee_for_service", 0.0)
    per_diem_model, per_diem0 = run("per_diem", 0.0)
    for name in ("los_mean", "stay_ratio_mean", "intensity_mean", "admissions_per_1000", "referral_up_rate"):
        assert per_diem0[name] == ffs[name], name
    # ... but the money changes hands differently
    assert per_diem0["fund_spending_per_capita"] != ffs["fund_spending_per_capita"]


def test_money_is_conserved_under_per_diem():
    model, _ = run("per_diem", 0.5)
    books, fund, t = model.facilities.books, model.fund, model.tally
    by_level = [np.bincount(model.facilities.level, books[name], minlength=N_LEVELS)
                for name in ("revenue", "fund_income", "oop_income")]
    np.testing.assert_allclose(by_level[0], by_level[1] + by_level[2], rtol=1e-12)
    assert t.provider_revenue.sum() == pytest.approx(t.fund.sum() + t.oop.sum(), rel=1e-12)
    assert books["fund_income"].sum() == pytest.approx(fund.spending.sum(), rel=1e-12)


def test_the_rate_is_budget_neutral_unless_set():
    """null: the mean guideline inpatient bill of the catalogue's admissions per guideline bed-day (county
    prices), so a stay of guideline length and intensity earns about its bill on average."""
    spec = load_scenario(ROOT / "scenarios" / "per_diem.yaml")
    assert spec.payment.model == "per_diem" and spec.payment.claim_model("county") == "per_diem"
    cat = load_catalogue(spec.case_mix.catalogue)
    system = make_payment(spec, cat)
    (per_diem,) = system.claim_models
    admissions = system.grouper.admissions
    bill, days = (admissions * cat.inpatient_cost).sum(), (admissions * cat.clinical_los).sum()
    assert per_diem.rate == pytest.approx(bill / days)
    chosen = Scenario.model_validate({"payment": {"model": "per_diem", "per_diem": {"yuan_per_bed_day": 400}}})
    assert make_payment(chosen, cat).claim_models[0].rate == 400


def test_per_diem_mixes_by_level_and_a_bad_rate_is_refused():
    spec = load_scenario_text("payment: {model: drg, by_level: {township: per_diem}}\n")
    assert [spec.payment.claim_model(level) for level in LEVELS] == ["drg", "per_diem", "drg", "drg"]
    with pytest.raises(ScenarioError, match=r"payment.per_diem.yuan_per_bed_day.*greater than 0"):
        load_scenario_text("payment: {model: per_diem, per_diem: {yuan_per_bed_day: -300}}\n")
    with pytest.raises(ScenarioError, match=r"payment.model"):
        load_scenario_text("payment: {model: per_day}\n")
