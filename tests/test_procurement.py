"""Volume-based procurement, the providers' income effect, and an integrated medical community, on a small county.

Arms run on the same seed (common random numbers), so differences come from prices and decisions. Each effect
is shown with its mechanism on and shown to vanish with the mechanism off (cut 0, elasticity 0, profit weight
0, no shared diagnostics).
"""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
import pytest
from conftest import SEED, same

from sim.core.conditions import load_catalogue
from sim.core.levels import COUNTY, OUT_OF_COUNTY, TOWNSHIP, VILLAGE
from sim.engine.model import HealthSystemModel
from sim.params.loading import ScenarioError, load_scenario_text, overlay
from sim.params.scenario import Scenario
from sim.results.periods import period_metrics

SIZE = 20_000
DAYS = 150
CUT_DAY = 75
XIANGTAN = {"drug_price_cut": 0.53, "consumable_price_cut": 0.69}  # DOMAIN.md, seed 000

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def procurement(**cut) -> dict:
    return {"policies": {"procurement": cut}}


def provider(**values) -> dict:
    return {"behaviour": {"provider": values}}


def integration(level: str, **extra) -> dict:
    return {"policies": {"integration": {"level": level, **extra}}}


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


def test_coverage_scales_the_cut_and_zero_coverage_changes_nothing():
    """A cut on half the drugs is a smaller fall than on all of them; on none, nothing changes."""
    _, base = run()
    _, all_drugs = run(procurement(drug_price_cut=0.5))
    _, half = run(procurement(drug_price_cut=0.5, drug_coverage=0.5))
    _, none = run(procurement(drug_price_cut=0.5, drug_coverage=0.0, consumable_price_cut=0.5,
                              consumable_coverage=0.0))
    assert all_drugs["drug_share"] < half["drug_share"] < base["drug_share"]
    assert same(base, none)


def test_a_cut_of_zero_changes_nothing():
    _, base = run()
    _, zero = run(overlay(procurement(drug_price_cut=0.0, consumable_price_cut=0.0, primary_pass_through=1.0),
                          provider(income_reference_days=200, income_recent_days=20)))
    assert same(base, zero)


def test_drug_cut_alone_leaves_consumables_prices():
    """A drug cut lowers the drug share; the consumables share of the (smaller) bill rises."""
    _, base = run()
    _, drugs = run(procurement(drug_price_cut=0.5))
    assert drugs["drug_share"] < base["drug_share"]
    assert drugs["consumables_share"] > base["consumables_share"]


FIXED_DEMAND = {"behaviour": {"resident": {"price_sensitivity": 0.0}}}  # residents do not choose by price


def drugs_per_episode(model: HealthSystemModel) -> np.ndarray:
    """Drug charges per treated episode, by level."""
    t = model.tally
    return t.charges[:, 1] / t.treated


def test_providers_answer_the_cut_through_their_margin():
    """A drug cut lowers the price of a drug and its cost alike, so it thins the margin on every case that uses
    drugs: providers who weigh their margin treat less intensively and keep patients shorter, and hospital drug
    charges per episode fall by more than the price. Providers who weigh no margin pass the price on and change
    nothing else."""
    cut = 0.5
    ratio = {}
    for weight in (0.5, 0.0):
        arms = [overlay(FIXED_DEMAND, provider(profit_weight=weight)),
                overlay(overlay(FIXED_DEMAND, procurement(drug_price_cut=cut)), provider(profit_weight=weight))]
        (base_model, base), (cut_model, after) = (run(arm) for arm in arms)
        ratio[weight] = drugs_per_episode(cut_model)[COUNTY] / drugs_per_episode(base_model)[COUNTY]
        if weight:
            assert after["intensity_county"] < base["intensity_county"]
            assert after["stay_ratio_mean"] < base["stay_ratio_mean"]
        else:
            assert after["intensity_mean"] == base["intensity_mean"] == 1.0
            assert after["stay_ratio_mean"] == base["stay_ratio_mean"]
    assert ratio[0.5] < 1 - cut - 0.01                # the price, and fewer drugs
    assert ratio[0.0] == pytest.approx(1 - cut, abs=0.01)  # the price alone (case mix aside)


def test_the_cut_reaches_primary_facilities_through_pass_through_or_unified_procurement():
    """With the price the only thing that moves (providers weigh no margin, residents no price), the cut lowers
    hospital drug charges at once; at village clinics and township centres only as far as it is passed through,
    and wholly when an integrated community buys for them."""
    still = overlay(FIXED_DEMAND, provider(profit_weight=0.0))
    cut = procurement(drug_price_cut=0.5)
    base, alone, half, unified = (drugs_per_episode(run(overlay(still, extra))[0]) for extra in (
        {}, cut, overlay(cut, procurement(primary_pass_through=0.5)),
        overlay(cut, integration("loose", shared_diagnostics=False))))
    hospitals, primary = [COUNTY, OUT_OF_COUNTY], [VILLAGE, TOWNSHIP]
    for arm in (alone, half, unified):
        assert (arm[hospitals] < 0.55 * base[hospitals]).all()
    np.testing.assert_allclose(alone[primary], base[primary], rtol=0.01)
    assert (unified[primary] < half[primary]).all() and (half[primary] < 0.9 * base[primary]).all()


# ----------------------------------------------------------------------------------------------- income effect
INCOME_DAYS, INCOME_CUT_DAY = 240, 150  # the run fills up over ~100 days; facilities then know their revenue


def cut_on_day(cut: bool = True, **behaviour) -> dict:
    """Xiangtan's cuts (or a cut of 0) from INCOME_CUT_DAY on, so facilities have a revenue to compare with.
    Residents judge facilities by level (capability_memory_days 0), so the arms differ by the providers'
    response and not by the noise of what residents learn of each facility in 90 days. Hospitals have beds to
    spare, so that admissions answer the margin rather than the beds free that day."""
    behaviour_overlay = overlay(provider(**behaviour), {"behaviour": {"resident": {"capability_memory_days": 0}},
                                                        "facilities": {"county": {"beds": 900},
                                                                       "out_of_county": {"beds": 500}}})
    return overlay(behaviour_overlay,
                   {"timeline": [{"day": INCOME_CUT_DAY, "set": {f"policies.procurement.{k}": v if cut else 0.0
                                                                 for k, v in XIANGTAN.items()}}]})


def after_cut(overrides: dict) -> dict:
    model = HealthSystemModel(county(overrides, days=INCOME_DAYS), seed=SEED).run()
    periods = period_metrics(model)
    assert periods[-1]["start_day"] == INCOME_CUT_DAY
    return periods[-1]["metrics"]


def test_income_effect_makes_up_lost_revenue_with_volume_under_fee_for_service():
    """A cut thins the margin on drugs and consumables, so without an income effect hospitals treat less
    intensively and keep patients shorter; with target-income behaviour they make up part of the lost revenue
    with volume: each of these falls less, and they ask more patients back."""
    effect = {}
    for elasticity in (0.0, 1.0):
        before = after_cut(cut_on_day(False, income_effect_elasticity=elasticity))
        after = after_cut(cut_on_day(True, income_effect_elasticity=elasticity))
        effect[elasticity] = {k: after[k] - before[k] for k in ("intensity_county", "stay_ratio_mean",
                                                                "admissions_per_1000", "followup_visits_per_episode")}
    plain, target = effect[0.0], effect[1.0]
    assert plain["stay_ratio_mean"] < 0 and plain["admissions_per_1000"] <= 0
    # (the mean intensity at county hospitals is not asserted to fall: the cut makes care cheaper, and residents,
    # who weigh prices, bring milder cases, which moves the mean by case mix; both arms below share that mix)
    assert target["intensity_county"] > plain["intensity_county"] + 0.005
    assert target["stay_ratio_mean"] > plain["stay_ratio_mean"]
    assert target["followup_visits_per_episode"] > plain["followup_visits_per_episode"]
    # Admissions are not asserted: at 20,000 residents their change after the cut is within noise of the arms
    # (measured: -8.53 per 1,000 without the income effect, -8.72 with it), while return visits, where volume
    # is cheapest to add, carry the response (+0.0059 and +0.0070 per outpatient episode).


def test_income_effect_needs_a_weight_on_profit():
    _, plain = run(overlay(procurement(**XIANGTAN), provider(profit_weight=0.0, income_effect_elasticity=0.0)))
    _, target = run(overlay(procurement(**XIANGTAN), provider(profit_weight=0.0, income_effect_elasticity=2.0)))
    assert same(plain, target)


def test_income_windows_are_checked():
    with pytest.raises(ScenarioError, match="income_recent_days"):
        load_scenario_text("behaviour: {provider: {income_recent_days: 400}}")


# ----------------------------------------------------------------------------------------------- integration
def untied(level: str = "tight", **extra) -> dict:
    """Integration whose members' income and leaders' jobs do not depend on the community's result."""
    return overlay(integration(level, income_tie={level: 0.0}, **extra), provider(leader_tie_weight=0.0))


def diagnostics_only(**extra) -> dict:
    """Integration whose members put no weight on the community's result: shared diagnostics alone."""
    return untied("tight", **extra)


def test_shared_diagnostics_keep_cases_at_township_centres():
    none_model, none = run(integration("none"))
    shared_model, _ = run(diagnostics_only())
    # a township centre that diagnoses like the county refers fewer cases up and treats more itself
    assert shared_model.tally.referrals_up[TOWNSHIP] < none_model.tally.referrals_up[TOWNSHIP]
    assert shared_model.tally.treated[TOWNSHIP] > none_model.tally.treated[TOWNSHIP]
    # without shared diagnostics (and no weight on the community) nothing changes
    _, off = run(diagnostics_only(shared_diagnostics=False))
    assert same(none, off)


def test_a_read_ecg_shortens_chest_pain_time_to_treatment():
    # residents who trust their township centre as much as the county hospitals take chest pain there first, where
    # an ECG can be read (with the default trust nearly every chest pain goes straight to a county hospital)
    near = {"behaviour": {"resident": {"trust_initial": {"township": 3.0}}}}
    none_model, none = run(overlay(near, integration("none")))
    ecg_model, _ = run(overlay(near, diagnostics_only(diagnostic_capability_gain=0.0)))
    assert ecg_model.tally.critical_minutes_sum < none_model.tally.critical_minutes_sum
    # an ECG read no faster than the centre recognises chest pain alone changes nothing
    own = Scenario().facilities.township.identification_minutes
    _, slow = run(overlay(near, diagnostics_only(diagnostic_capability_gain=0.0, ecg_identification_minutes=own)))
    assert same(none, slow)


def test_one_account_under_fee_for_service_pulls_patients_up_inside_the_community():
    """With one account a referral to a member keeps the case's margin in the community, and the county
    hospital earns more on a case than a township centre: primary facilities refer more (the community's own
    siphon). With no weight on profit, or none on the community, nothing changes."""
    one_account = integration("tight", shared_diagnostics=False)
    none_model, none = run(integration("none"))
    tight_model, _ = run(one_account)
    primary = [VILLAGE, TOWNSHIP]
    assert tight_model.tally.referrals_up[primary].sum() > none_model.tally.referrals_up[primary].sum()
    _, none0 = run(overlay(integration("none"), provider(profit_weight=0.0)))
    _, tight0 = run(overlay(one_account, provider(profit_weight=0.0)))
    assert same(none0, tight0)
    _, weightless = run(untied("tight", shared_diagnostics=False))
    assert same(none, weightless)


def test_a_tight_community_under_a_global_budget_rations_more_than_a_loose_one():
    gb = {"payment": {"model": "global_budget"}}
    _, loose = run(overlay(gb, integration("loose", shared_diagnostics=False)))
    _, tight = run(overlay(gb, integration("tight", shared_diagnostics=False)))
    assert tight["intensity_mean"] < loose["intensity_mean"]
    assert tight["admissions_per_1000"] < loose["admissions_per_1000"]
    # through the leaders' ties alone: with directors' jobs weighing nothing, tight is loose, number for number
    _, tight_untied_leaders = run(overlay(overlay(gb, integration("tight", shared_diagnostics=False)),
                                          provider(leader_tie_weight=0.0)))
    assert same(loose, tight_untied_leaders)
    # and leaders are tied only under tight integration
    _, plain = run(gb)
    _, unused = run(overlay(gb, provider(leader_tie_weight=0.1)))
    assert same(plain, unused)


def test_with_no_ties_a_global_budget_community_changes_no_decision():
    """A tight community under a global budget whose members' income does not move with its result and whose
    leaders' jobs weigh nothing decides as fee-for-service members do (shared diagnostics off)."""
    _, ffs = run(integration("none"))
    _, untied_budget = run(overlay({"payment": {"model": "global_budget"}}, untied("tight", shared_diagnostics=False,
                                                                                    unified_procurement=False)))
    for name in ("intensity_mean", "los_mean", "admissions_per_1000", "referral_up_rate"):
        assert untied_budget[name] == ffs[name], name


def test_unified_procurement_passes_the_cut_to_township_centres():
    # residents weigh no price, so cheaper hospital drugs do not move primary care's case mix (and drug share)
    fixed_demand = {"behaviour": {"resident": {"price_sensitivity": 0.0}}}
    cut = overlay(fixed_demand, procurement(**XIANGTAN))
    alone_model, _ = run(cut)
    unified_model, _ = run(overlay(cut, integration("loose", shared_diagnostics=False)))
    def primary_drug_share(model):
        charges = model.tally.charges[[VILLAGE, TOWNSHIP]].sum(0)
        return charges[1] / charges.sum()
    assert primary_drug_share(unified_model) < primary_drug_share(alone_model)
    base_model, _ = run(fixed_demand)
    assert primary_drug_share(alone_model) == pytest.approx(primary_drug_share(base_model), abs=0.01)


def test_integration_level_is_checked():
    with pytest.raises(ScenarioError, match="integration.level"):
        load_scenario_text("policies: {integration: {level: merged}}")


def test_chest_pain_is_in_the_bundled_catalogue():
    assert "chest_pain" in load_catalogue("bundled").names
