"""Volume-based procurement, the providers' income effect, and an integrated medical community, on a small county.

Arms run on the same seed (common random numbers), so differences come from prices and decisions. Each effect
is shown with its mechanism on and shown to vanish with the mechanism off (cut 0, elasticity 0, profit weight
0, no shared diagnostics).
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from sim import metrics
from sim.conditions import load_catalogue
from sim.levels import COUNTY, OUT_OF_COUNTY, TOWNSHIP, VILLAGE
from sim.loading import ScenarioError, load_scenario_text, overlay
from sim.model import HealthSystemModel
from sim.periods import period_metrics
from sim.procurement import price_factors
from sim.scenario import Scenario

SEED = 20240101
SIZE = 20_000
DAYS = 150
CUT_DAY = 75
XIANGTAN = {"drug_price_cut": 0.53, "consumable_price_cut": 0.69}  # DOMAIN.md, seed 000


def county(overrides: dict | None = None, *, days: int = DAYS) -> Scenario:
    data = overlay(Scenario().model_dump(mode="json"),
                   {"name": "small county", "seed": SEED, "days": days, "replicates": 1,
                    "population": {"size": SIZE}})
    return Scenario.model_validate(overlay(data, overrides or {}))


@cache
def _run(key: str) -> tuple[HealthSystemModel, dict]:
    model = HealthSystemModel(county(json.loads(key)), seed=SEED).run()
    return model, metrics.compute(model)


def run(overrides: dict | None = None) -> tuple[HealthSystemModel, dict]:
    return _run(json.dumps(overrides or {}, sort_keys=True))


def procurement(**cut) -> dict:
    return {"policies": {"procurement": cut}}


def provider(**values) -> dict:
    return {"behaviour": {"provider": values}}


def integration(level: str, **extra) -> dict:
    return {"policies": {"integration": {"level": level, **extra}}}


def same_numbers(a: dict, b: dict) -> set:
    return {k for k in a if not (a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])))}


# ----------------------------------------------------------------------------------------------- prices
def test_procurement_lowers_drug_and_consumables_shares_and_bills():
    _, base = run()
    _, cut = run(procurement(**XIANGTAN))
    assert cut["drug_share"] < base["drug_share"]
    assert cut["consumables_share"] < base["consumables_share"]
    assert cut["services_share"] > base["services_share"]
    assert cut["cost_per_visit"] < base["cost_per_visit"]
    assert cut["cost_per_admission"] < base["cost_per_admission"]
    assert cut["spending_per_capita"] < base["spending_per_capita"]


def test_a_cut_of_zero_changes_nothing():
    _, base = run()
    _, zero = run(overlay(procurement(drug_price_cut=0.0, consumable_price_cut=0.0, primary_pass_through=1.0),
                          provider(income_reference_days=200, income_recent_days=20)))
    assert not same_numbers(base, zero)


def test_drug_cut_alone_leaves_consumables_prices():
    """A drug cut lowers the drug share; the consumables share of the (smaller) bill rises."""
    _, base = run()
    _, drugs = run(procurement(drug_price_cut=0.5))
    assert drugs["drug_share"] < base["drug_share"]
    assert drugs["consumables_share"] > base["consumables_share"]


def test_the_cut_reaches_primary_facilities_through_pass_through_or_unified_procurement():
    level = np.array([VILLAGE, TOWNSHIP, COUNTY, OUT_OF_COUNTY])
    alone = price_factors(county(procurement(drug_price_cut=0.5, consumable_price_cut=0.6)), level)
    np.testing.assert_allclose(alone[:, 0], 1.0)
    np.testing.assert_allclose(alone[:, 1], [1.0, 1.0, 0.5, 0.5])
    np.testing.assert_allclose(alone[:, 2], [1.0, 1.0, 0.4, 0.4])
    half = price_factors(county(procurement(drug_price_cut=0.5, primary_pass_through=0.5)), level)
    np.testing.assert_allclose(half[:, 1], [0.75, 0.75, 0.5, 0.5])
    unified = price_factors(county(overlay(procurement(drug_price_cut=0.5), integration("loose"))), level)
    np.testing.assert_allclose(unified[:, 1], 0.5)
    assert price_factors(county(), level) is None


# ----------------------------------------------------------------------------------------------- income effect
def cut_on_day(**behaviour) -> dict:
    """Xiangtan's cuts from CUT_DAY on, so facilities have a revenue to compare with."""
    return overlay(provider(**behaviour),
                   {"timeline": [{"day": CUT_DAY, "set": {f"policies.procurement.{k}": v
                                                          for k, v in XIANGTAN.items()}}]})


def after_cut(overrides: dict) -> dict:
    model, _ = run(overrides)
    periods = period_metrics(model)
    assert periods[-1]["start_day"] == CUT_DAY
    return periods[-1]["metrics"]


def test_income_effect_makes_up_lost_revenue_with_volume_under_fee_for_service():
    """With target-income behaviour, hospitals that lost drug revenue treat more intensively and admit more
    than the same hospitals without it; without it, the cut (thinner margins) does not raise intensity."""
    target, plain = 1.5, 0.0
    cut_target = after_cut(cut_on_day(income_effect_elasticity=target))
    cut_plain = after_cut(cut_on_day(income_effect_elasticity=plain))
    no_cut_target = after_cut(overlay(provider(income_effect_elasticity=target), _no_op_timeline()))
    no_cut_plain = after_cut(overlay(provider(income_effect_elasticity=plain), _no_op_timeline()))
    # The cut's effect on intensity at county hospitals (which get the whole cut), with and without the income
    # effect: volume rises only with it.
    with_effect = cut_target["intensity_county"] - no_cut_target["intensity_county"]
    without = cut_plain["intensity_county"] - no_cut_plain["intensity_county"]
    assert without <= 0.0
    assert with_effect > without + 0.01
    assert cut_target["intensity_county"] > cut_plain["intensity_county"]
    assert cut_target["admissions_per_1000"] > cut_plain["admissions_per_1000"]
    assert cut_target["services_share"] > cut_plain["services_share"]


def _no_op_timeline() -> dict:
    """A timeline entry on CUT_DAY that changes nothing, so both arms have the same periods."""
    return {"timeline": [{"day": CUT_DAY, "set": {"policies.procurement.drug_price_cut": 0.0}}]}


def test_income_effect_needs_a_weight_on_profit():
    _, plain = run(overlay(cut_on_day(income_effect_elasticity=0.0), provider(profit_weight=0.0)))
    _, target = run(overlay(cut_on_day(income_effect_elasticity=1.5), provider(profit_weight=0.0)))
    assert not same_numbers(plain, target)


def test_income_windows_are_checked():
    with pytest.raises(ScenarioError, match="income_recent_days"):
        load_scenario_text("behaviour: {provider: {income_recent_days: 400}}")


# ----------------------------------------------------------------------------------------------- integration
def test_shared_diagnostics_raise_township_capability_and_speed_chest_pain_recognition():
    none_model, none = run(integration("none"))
    tight_model, tight = run(integration("tight"))
    # more cases treated at a capable level, fewer township referrals up, faster chest pain care
    assert tight["appropriate_level_rate"] > none["appropriate_level_rate"]
    assert tight_model.tally.referrals_up[TOWNSHIP] < none_model.tally.referrals_up[TOWNSHIP]
    assert tight["critical_minutes_to_treatment"] < none["critical_minutes_to_treatment"]
    # the county's care is kept in the county
    assert tight["out_of_county_fund_share"] < none["out_of_county_fund_share"]


def test_without_shared_diagnostics_township_capability_is_its_own():
    none_model, none = run(integration("none"))
    off_model, off = run(integration("tight", shared_diagnostics=False))
    assert off["appropriate_level_rate"] == none["appropriate_level_rate"] or \
        off_model.tally.appropriate[TOWNSHIP] / off_model.tally.treated[TOWNSHIP] == pytest.approx(
            none_model.tally.appropriate[TOWNSHIP] / none_model.tally.treated[TOWNSHIP], abs=0.02)
    assert off["critical_minutes_to_treatment"] >= none["critical_minutes_to_treatment"] - 1.0


def test_one_account_makes_internal_referral_cheaper_under_fee_for_service():
    """Without shared diagnostics, the one account is the only change: members referring up to a member keep
    the case's margin in the community, so township centres and village clinics refer more; with no weight on
    profit, nothing changes."""
    none_model, _ = run(integration("none"))
    tight_model, _ = run(integration("tight", shared_diagnostics=False, unified_procurement=False))
    assert tight_model.tally.referrals_up[[VILLAGE, TOWNSHIP]].sum() > none_model.tally.referrals_up[
        [VILLAGE, TOWNSHIP]].sum()
    _, none0 = run(overlay(integration("none"), provider(profit_weight=0.0)))
    _, tight0 = run(overlay(integration("tight", shared_diagnostics=False, unified_procurement=False),
                            provider(profit_weight=0.0)))
    assert not same_numbers(none0, tight0)


def test_tight_community_under_a_global_budget_weighs_its_purse_more_than_a_loose_one():
    _, loose = run(overlay({"payment": {"model": "global_budget"}},
                           integration("loose", shared_diagnostics=False, unified_procurement=False)))
    _, tight = run(overlay({"payment": {"model": "global_budget"}},
                           integration("tight", shared_diagnostics=False, unified_procurement=False)))
    assert tight["fund_spending_per_capita"] < loose["fund_spending_per_capita"]
    assert tight["intensity_mean"] < loose["intensity_mean"]


def test_loose_integration_with_the_default_weight_is_the_global_budget_community():
    """A global budget without integration forms a community weighed with behaviour.provider.community_weight;
    loose integration with the same weight differs only by the referral credit, which is zero at the county."""
    gb = {"payment": {"model": "global_budget"}}
    _, plain = run(gb)
    _, same = run(overlay(gb, provider(community_weight=0.5)))
    assert not same_numbers(plain, same)


def test_unified_procurement_passes_the_cut_to_township_centres():
    cut = procurement(**XIANGTAN)
    alone_model, _ = run(cut)
    unified_model, _ = run(overlay(cut, integration("loose", shared_diagnostics=False)))
    def primary_drug_share(model):
        charges = model.tally.charges[[VILLAGE, TOWNSHIP]].sum(0)
        return charges[1] / charges.sum()
    assert primary_drug_share(unified_model) < primary_drug_share(alone_model)
    base_model, _ = run()
    assert primary_drug_share(alone_model) == pytest.approx(primary_drug_share(base_model), abs=0.01)


def test_integration_level_is_checked():
    with pytest.raises(ScenarioError, match="integration.level"):
        load_scenario_text("policies: {integration: {level: merged}}")


def test_chest_pain_is_in_the_bundled_catalogue():
    assert "chest_pain" in load_catalogue("bundled").names
