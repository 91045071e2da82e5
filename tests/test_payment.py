"""Payment models change behaviour only through incentives: each test runs arms on the same seed (common random
numbers) and asserts directions and exact invariants, and each effect is shown to vanish when the incentive
is switched off (profit_weight 0, audits, volume response)."""

from __future__ import annotations

import json
from functools import partial
from typing import get_args

import conftest
import numpy as np
import pytest
from conftest import SEED

from sim.apps.cli import main
from sim.engine.model import HealthSystemModel
from sim.params.loading import ScenarioError, load_scenario_text, overlay
from sim.params.scenario import BUDGET_MODELS, PAYMENT_MODELS, ClaimModel
from sim.payment.registry import REGISTRY, check
from sim.results import metrics
from sim.results.periods import period_metrics

SIZE = 20_000
DAYS = 150

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def pay(model: str, profit_weight: float = 0.5, **extra) -> dict:
    return overlay({"payment": {"model": model}, "behaviour": {"provider": {"profit_weight": profit_weight}}},
                   extra)


# ----------------------------------------------------------------------------------------------- registry
def test_the_registry_holds_exactly_the_payment_models_the_schema_names():
    """The schema (the layer below) lists the names; the payment package registers one class per name."""
    assert set(REGISTRY) == set(PAYMENT_MODELS)
    assert {name for name, cls in REGISTRY.items() if cls.wraps_claims} == set(BUDGET_MODELS)
    assert set(get_args(ClaimModel)) == set(PAYMENT_MODELS) - set(BUDGET_MODELS)
    dropped = next(iter(REGISTRY))
    with pytest.raises(ImportError, match="register each model's class here and name it there"):
        check({name: cls for name, cls in REGISTRY.items() if name != dropped})


# ----------------------------------------------------------------------------------------------- DRG
def test_drg_shortens_stays_and_cuts_cost_per_admission_without_fewer_admissions():
    _, ffs = run(pay("fee_for_service"))
    _, drg = run(pay("drg"))
    assert drg["stay_ratio_mean"] < 1.0 < ffs["stay_ratio_mean"]
    assert drg["los_mean"] < ffs["los_mean"]
    assert drg["cost_per_admission"] < ffs["cost_per_admission"]
    assert drg["admissions_per_1000"] >= ffs["admissions_per_1000"]


def test_drg_changes_nothing_when_providers_ignore_profit():
    ffs_model, ffs = run(pay("fee_for_service", 0.0))
    drg_model, drg = run(pay("drg", 0.0))
    for name in ("los_mean", "stay_ratio_mean", "intensity_mean", "admissions_per_1000", "upcoding_rate"):
        assert drg[name] == ffs[name], name
    assert drg["upcoding_rate"] == 0.0
    # ... but the money does change hands differently
    assert drg["provider_surplus_per_capita"] != ffs["provider_surplus_per_capita"]


def test_upcoding_and_case_mix_index_rise_when_audits_fall():
    _, audited = run(pay("drg", payment={"drg": {"audit_rate": 0.3}}))
    _, unaudited = run(pay("drg", payment={"drg": {"audit_rate": 0.0}}))
    assert unaudited["upcoding_rate"] > audited["upcoding_rate"] > 0.0
    assert unaudited["case_mix_index"] > audited["case_mix_index"]
    # Audit fines above the gain stop it entirely: expected gain (1 - 0.5 x (1 + 2)) < 0.
    _, deterred = run(pay("drg", payment={"drg": {"audit_rate": 0.5}}))
    assert deterred["upcoding_rate"] == 0.0


def test_readmissions_rise_when_stays_are_cut_below_need():
    _, honest = run(pay("drg", 0.0))
    _, cutting = run(pay("drg", 2.0))
    assert cutting["stay_ratio_mean"] < 0.95 < honest["stay_ratio_mean"]
    assert cutting["readmission_rate_30d"] > honest["readmission_rate_30d"]


def test_drg_sends_costly_cases_away_and_only_because_costs_differ_within_a_group():
    county = 2
    ffs_model, _ = run(pay("fee_for_service"))
    drg_model, _ = run(pay("drg"))
    flat_model, _ = run(pay("drg", case_mix={"cost_dispersion": 0.0}))
    ffs, drg, flat = (m.tally.referrals_up[county] for m in (ffs_model, drg_model, flat_model))
    # a case whose cost exceeds its DRG payment is worth referring up (measured at 20,000 residents: 152 referrals
    # up from county hospitals under DRG, 80 under fee-for-service, 28 with no cost dispersion)
    assert drg > 1.5 * max(ffs, 1)
    assert flat < drg / 3              # with every case of a group costing the same, there is little to dump


def test_payment_models_mix_by_level():
    _, ffs = run(pay("fee_for_service"))
    _, drg = run(pay("drg"))
    _, county_only = run(pay("fee_for_service", payment={"by_level": {"county": "drg"}}))
    assert drg["stay_ratio_mean"] < county_only["stay_ratio_mean"] < ffs["stay_ratio_mean"]
    with pytest.raises(ValueError, match="capitation pays primary care"):
        county(pay("fee_for_service", payment={"by_level": {"county": "capitation"}}))


def test_admission_review_refuses_unneeded_admissions_and_deters_them():
    open_model, open_ = run(pay("drg"))
    reviewed_model, reviewed = run(pay("drg", payment={"drg": {"admission_review_rate": 1.0}}))
    assert open_model.tally.admissions_refused == 0  # nothing is refused without review
    # providers anticipate the review: fewer admissions, and those that remain unneeded are refused
    assert reviewed["admissions_per_1000"] < open_["admissions_per_1000"]


# ----------------------------------------------------------------------------------------------- DIP
def test_dip_volume_race_raises_points_and_lowers_the_point_value():
    _, calm = run(pay("dip", 0.0))
    _, racing = run(pay("dip", 0.5))
    assert racing["dip_points_per_capita"] > calm["dip_points_per_capita"]
    assert racing["dip_point_value"] < calm["dip_point_value"]


# ----------------------------------------------------------------------------------------------- global budget
def test_global_budget_spends_less_than_fee_for_service():
    _, ffs = run(pay("fee_for_service"))
    model, gb = run(pay("global_budget"))
    assert gb["spending_per_capita"] < ffs["spending_per_capita"]
    assert gb["intensity_mean"] < ffs["intensity_mean"]
    # the same budget with members whose income does not move with the community's purse (and whose leaders'
    # jobs do not depend on it: no integration) behaves like fee-for-service
    _, careless = run(pay("global_budget", policies={"integration": {"income_tie": {"none": 0.0}}}))
    assert careless["intensity_mean"] == ffs["intensity_mean"]
    assert careless["los_mean"] == ffs["los_mean"]


@pytest.mark.parametrize("model_name", ["fee_for_service", "drg", "dip", "capitation", "global_budget"])
def test_money_is_conserved_to_the_yuan(model_name):
    overrides = pay(model_name, payment={"drg": {"audit_rate": 0.2}})
    model = HealthSystemModel(county(overrides, days=370), seed=SEED).run()  # past a yearly settlement
    books, fund, t = model.facilities.books, model.fund, model.tally
    # providers receive exactly fund + out-of-pocket
    assert books["revenue"].sum() == pytest.approx(books["fund_income"].sum() + books["oop_income"].sum(),
                                                   rel=1e-12)
    assert books["fund_income"].sum() == pytest.approx(fund.spending.sum(), rel=1e-12)
    assert t.fund.sum() == pytest.approx(fund.spending.sum(), rel=1e-9)
    community = model.community
    if model_name == "global_budget":
        assert community.settlements, "a settlement must have happened"
        # what the fund sent the community = the claims it paid for its residents + its instruments (posted
        # doctors, platform) + what it holds or kept
        assert fund.to_community == pytest.approx(
            community.claims_paid + community.instruments_paid + community.net_position, rel=1e-12)
        assert community.claims_paid == pytest.approx(fund.spending.sum(), rel=1e-12)
    else:
        assert community is None and fund.to_community == 0.0


# ----------------------------------------------------------------------------------------------- capitation
def test_a_drg_case_whose_copayment_exceeds_its_payment_leaves_the_provider_the_copayment():
    """With a tenth of inpatient bills reimbursed, many copayments exceed the DRG payment: those cases earn their
    copayment, and the fund pays them nothing rather than taking money back."""
    low = {level: 0.1 for level in ("village", "township", "county", "out_of_county")}
    spec = county(pay("drg", insurance={"reimbursement": low, "employee_reimbursement": low}))
    floored = 0
    with conftest.money_watched() as money:
        original = money.settled

        def settled(system, facilities, kw, claims):
            nonlocal floored
            original(system, facilities, kw, claims)
            drg = kw["inpatient"] & ~claims.refused & (claims.recovered == 0)
            floored += int((drg & (claims.fund == 0) & (claims.oop > 0)).sum())
        money.settled = settled
        model = HealthSystemModel(spec)
        model.run()
    conftest.check_money(model, money)
    assert floored > 0


def test_capitation_lowers_primary_intensity_and_pays_per_head():
    ffs_model, ffs = run(pay("fee_for_service"))
    cap_model, cap = run(pay("capitation"))
    assert cap["intensity_mean"] < ffs["intensity_mean"]
    primary = np.isin(cap_model.facilities.level, [0, 1])
    assert cap_model.facilities.books["fund_income"][primary].sum() > 0
    _, none_enrolled = run(pay("capitation", payment={"capitation": {"enrolment_share": 0.0}}))
    assert none_enrolled["intensity_mean"] == ffs["intensity_mean"]


# ----------------------------------------------------------------------------------------------- salary reform
def test_salary_reform_lowers_intensity_and_stays_under_fee_for_service():
    _, ffs = run(pay("fee_for_service"))
    _, reform = run(pay("fee_for_service", policies={"salary_reform": {"enabled": True}}))
    assert reform["intensity_mean"] < ffs["intensity_mean"]
    assert reform["stay_ratio_mean"] < ffs["stay_ratio_mean"]
    assert reform["cost_per_visit"] < ffs["cost_per_visit"]


DECISIONS = ("intensity_mean", "stay_ratio_mean", "cost_per_visit", "admissions_per_1000",
             "followup_visits_per_episode", "referral_up_rate")


def bonus_shares(share: float) -> dict:
    """Every level's doctors paid ``share`` of their facility's surplus."""
    return {"facilities": {level: {"surplus_bonus_share": share}
                           for level in ("village", "township", "county", "out_of_county")}}


def test_salary_reform_acts_through_pay_so_it_changes_nothing_where_pay_was_not_tied_to_surplus():
    """An annual salary unties doctors' pay from the surplus (sim.core.pay.margin_weight_factor). Where no doctor
    was paid from the surplus, it leaves every decision as it was."""
    _, untied = run(pay("fee_for_service", **bonus_shares(0.0)))
    _, untied_reform = run(pay("fee_for_service", **bonus_shares(0.0), policies={"salary_reform": {"enabled": True}}))
    _, tied = run(pay("fee_for_service"))
    for name in DECISIONS:
        assert untied_reform[name] == untied[name], name
    assert untied["intensity_mean"] < tied["intensity_mean"]


def test_a_smaller_surplus_bonus_means_less_treatment_without_any_reform_unless_doctors_do_not_weigh_it():
    _, tied = run(pay("fee_for_service"))
    _, less = run(pay("fee_for_service", **bonus_shares(0.1)))
    assert less["intensity_mean"] < tied["intensity_mean"]
    assert less["stay_ratio_mean"] < tied["stay_ratio_mean"]
    indifferent = {"behaviour": {"provider": {"doctor_margin_share": 0.0}}}
    _, tied_0 = run(overlay(pay("fee_for_service"), indifferent))
    _, less_0 = run(overlay(pay("fee_for_service", **bonus_shares(0.1)), indifferent))
    for name in DECISIONS:
        assert less_0[name] == tied_0[name], name


# ----------------------------------------------------------------------------------------------- timeline
def test_a_reform_on_a_timeline_leaves_the_days_before_it_untouched():
    switch = 60
    reform = county(overlay(pay("fee_for_service"),
                            {"timeline": [{"day": switch, "set": {"payment.model": "drg"}}]}))
    model = HealthSystemModel(reform, seed=SEED).run()
    periods = period_metrics(model)
    assert [(p["start_day"], p["end_day"]) for p in periods] == [(0, switch), (switch, DAYS)]
    before_only = HealthSystemModel(county(pay("fee_for_service"), days=switch), seed=SEED).run()
    expected = metrics.compute(before_only)
    got = periods[0]["metrics"]
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-9, nan_ok=True), name
    assert periods[1]["metrics"]["stay_ratio_mean"] < got["stay_ratio_mean"]
    assert model.spec.payment.model == "drg"


def test_a_timeline_may_not_change_the_county_itself():
    text = "days: 100\ntimeline:\n  - day: 10\n    set:\n      population.size: 5000\n"
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, name="reform.yaml")
    message = str(err.value)
    assert "reform.yaml" in message and "line 5" in message
    assert "timeline[0].set.population.size" in message and "cannot change during a run" in message


def test_a_timeline_value_is_validated_like_the_scenario():
    text = "days: 100\ntimeline:\n  - day: 10\n    set: {insurance.reimbursement.county: 1.7}\n"
    with pytest.raises(ScenarioError, match=r"timeline\[0\].*insurance.reimbursement.county.*1.7"):
        load_scenario_text(text, name="reform.yaml")
    with pytest.raises(ScenarioError, match="not within the run"):
        load_scenario_text("days: 100\ntimeline: [{day: 100, set: {payment.model: drg}}]\n")


# ----------------------------------------------------------------------------------------------- compare
def test_compare_pairs_arms_on_common_random_numbers(tmp_path, capsys):
    base = tmp_path / "a.yaml"
    base.write_text("name: a\npopulation: {size: 4000}\ndays: 60\nreplicates: 2\n")
    same = tmp_path / "b.yaml"
    same.write_text("name: b\npopulation: {size: 4000}\ndays: 60\n")
    drg = tmp_path / "c.yaml"
    drg.write_text("name: c\npopulation: {size: 4000}\ndays: 60\npayment: {model: drg}\n")
    status = main(["compare", str(base), str(same), str(drg), "--workers", "1", "--json", "--quiet"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["scenarios"] == ["a", "b", "c"] and doc["replicates"] == 2
    # the same policy on the same seeds: every paired difference is exactly zero
    for name, d in doc["differences"]["b - a"].items():
        assert d["mean"] in (0.0, None), name
    assert doc["differences"]["c - a"]["stay_ratio_mean"]["mean"] < 0


def test_a_budget_from_history_is_the_claims_before_it_and_needs_them():
    """budget_per_resident_year_yuan: null sets the budget from the fund's claims per resident-year before the
    global budget began, times (1 + growth_on_history); beginning it without that history is refused."""
    from sim.params.loading import ScenarioError, load_scenario_text

    text = """
name: history
days: 90
replicates: 1
population: {size: 8000}
timeline:
  - day: %d
    set:
      payment.model: global_budget
      payment.global_budget.budget_per_resident_year_yuan: null
      payment.global_budget.growth_on_history: -0.1
"""
    model = HealthSystemModel(load_scenario_text(text % 45), seed=3)
    for _ in range(45):
        model.step()
    claims_before = model.tally.fund.sum() / (model.tally.person_days / 365)
    model.step()
    assert model.community.historical_yuan == pytest.approx(claims_before)
    assert model.community.budget_per_resident_year == pytest.approx(0.9 * claims_before)
    with pytest.raises(ScenarioError, match="needs at least 30 days of claims"):
        load_scenario_text(text % 10)
