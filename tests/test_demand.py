"""Demand that answers price: residents choose between going without, treating themselves and each facility by
expected out-of-pocket price (``sim.behaviour.care_seeking``), so visits follow the price of care through that
choice alone.

Two arms on common random numbers: every reimbursement rate at 100% with no deductible (care nearly free: only
items outside the insurance catalogue are paid), and every rate at 5% (residents pay about 95% of the bill).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import county, run

from sim.behaviour.care_seeking import CostBeliefs
from sim.core.conditions import BUNDLED, load_catalogue
from sim.core.episodes import FORGONE, SELF_CARE
from sim.core.levels import LEVELS, TOWNSHIP, VILLAGE
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay

RATES = ("reimbursement", "employee_reimbursement", "outpatient_reimbursement", "employee_outpatient_reimbursement")
SIZE, DAYS = 20_000, 180

# The sourced prior range of the arc elasticity of outpatient visits with respect to their out-of-pocket price
# (behaviour.resident.price_sensitivity): about -0.2 in the RAND Health Insurance Experiment (Manning et al. 1987,
# Am. Econ. Rev. 77: 251-277; restated by Aron-Dine, Einav & Finkelstein 2013, J. Econ. Perspect. 27: 197-222),
# -0.52 (95% CI -0.70 to -0.34) for the probability of an outpatient visit in rural China (Zhou et al. 2011,
# Health Policy 103: 255-265, National Health Services Surveys 2003 and 2008).
ELASTICITY_RANGE = (-0.70, -0.10)


def priced(share: float, deductible: float | None = None, **resident) -> dict:
    """Every level's reimbursement rates (both schemes, outpatient and inpatient) at ``share``; deductibles at
    ``deductible`` (None: as they are); ``resident``: behaviour.resident overrides."""
    insurance = {key: dict.fromkeys(LEVELS, share) for key in RATES}
    if deductible is not None:
        insurance["deductible"] = dict.fromkeys(LEVELS, deductible)
    return {"insurance": insurance, "behaviour": {"resident": resident}}


FREE, DEAR = priced(1.0, 0.0), priced(0.05)


def coinsurance(model) -> float:
    """The price residents paid per yuan of care: out-of-pocket / bills."""
    return float(model.tally.oop.sum() / model.tally.charges.sum())


def arc(a: float, b: float) -> float:
    """Arc (midpoint) change: (b - a) / (b + a)."""
    return (b - a) / (b + a)


def test_with_price_sensitivity_zero_reimbursement_changes_no_visit():
    """Residents' own response. Return visits are switched off: they are the provider's decision, which weighs
    the patient's copayment (next test), and through waits and outcomes they would move residents' choices too."""
    no_returns = {"behaviour": {"provider": {"followup_max_visits": 0}}}
    free_model, free = run(overlay(priced(1.0, 0.0, price_sensitivity=0.0), no_returns), size=SIZE, days=DAYS)
    dear_model, dear = run(overlay(priced(0.05, price_sensitivity=0.0), no_returns), size=SIZE, days=DAYS)
    assert coinsurance(dear_model) > coinsurance(free_model) + 0.5  # the price did change
    np.testing.assert_array_equal(free_model.tally.visits, dear_model.tally.visits)
    assert free["visits_per_capita"] == dear["visits_per_capita"]
    np.testing.assert_array_equal(free_model.tally.ended, dear_model.tally.ended)


def test_providers_ask_fewer_returns_of_patients_who_pay_more_for_them():
    """The provider weighs the patient's copayment on a return (sim.behaviour.provider): with price-insensitive
    residents, dearer care still means fewer returns asked per outpatient episode."""
    free_model, _ = run(priced(1.0, 0.0, price_sensitivity=0.0), size=SIZE, days=DAYS)
    dear_model, _ = run(priced(0.05, price_sensitivity=0.0), size=SIZE, days=DAYS)

    def per_episode(model):
        return model.tally.returns_asked.sum() / model.tally.outpatient_episodes.sum()

    assert per_episode(free_model) > per_episode(dear_model)


def test_visits_fall_with_price_by_an_arc_elasticity_in_the_sourced_range():
    free_model, free = run(FREE, size=SIZE, days=DAYS)
    dear_model, dear = run(DEAR, size=SIZE, days=DAYS)
    elasticity = (arc(free["visits_per_capita"], dear["visits_per_capita"])
                  / arc(coinsurance(free_model), coinsurance(dear_model)))
    assert ELASTICITY_RANGE[0] <= elasticity <= ELASTICITY_RANGE[1], elasticity


def test_self_care_and_forgone_care_rise_when_care_is_dearer():
    free_model, free = run(FREE, size=SIZE, days=DAYS)
    dear_model, dear = run(DEAR, size=SIZE, days=DAYS)
    assert dear["self_care_rate"] > free["self_care_rate"]
    assert dear_model.tally.ended[SELF_CARE] > free_model.tally.ended[SELF_CARE]
    assert dear_model.tally.ended[FORGONE] > free_model.tally.ended[FORGONE]
    assert dear["self_care_spending_per_capita"] > free["self_care_spending_per_capita"]


def test_self_care_of_an_illness_that_needed_a_doctor_costs_health():
    """Self-care's risk ratio acts on conditions that are not self-limiting; choices are the same in both arms
    until the first outcome differs, so more complications and deaths come from the ratio."""
    _, safe = run({"outcomes": {"self_care_risk_ratio": 1.0}}, size=SIZE, days=DAYS)
    _, risky = run({"outcomes": {"self_care_risk_ratio": 3.0}}, size=SIZE, days=DAYS)
    assert risky["complication_rate"] > safe["complication_rate"]
    assert risky["health_loss_per_1000"] > safe["health_loss_per_1000"]


def test_without_self_care_in_the_catalogue_no_episode_treats_itself(tmp_path):
    """A catalogue written before self-care (no self_care keys) still loads, and then no one treats themselves."""
    doc = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    for condition in doc["conditions"].values():
        for key in ("self_care", "self_care_cost_yuan", "self_limiting"):
            condition.pop(key, None)
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert not load_catalogue(path).self_care.any()
    model, values = run({"case_mix": {"catalogue": str(path)}}, size=5_000, days=60)
    assert model.tally.ended[SELF_CARE] == 0 and values["self_care_rate"] == 0.0


@pytest.mark.parametrize("condition", ["self_limiting_illness"])
def test_the_bundled_catalogue_has_minor_self_limiting_illness(condition):
    cat = load_catalogue()
    i = cat.index(condition)
    assert cat.self_limiting[i] and cat.self_care[i]
    assert (cat.death_risk[i] == 0).all()
    assert not cat.self_care[cat.time_critical].any()


def test_a_village_clinic_does_not_look_cheap_for_a_case_it_must_send_on():
    """Residents expect a case that needs a bed to be admitted at a township centre: at a village clinic (no beds)
    its expected out-of-pocket cost is the township's admission, not a village consultation."""
    model = HealthSystemModel(county(size=2_000, days=1))
    cat = model.cat
    beliefs = CostBeliefs(cat, model.level_price, learning_rate=0.05)
    oop = beliefs.expected_oop(model.fund)  # [c, s, level, scheme]
    birth = cat.index("childbirth")  # every birth needs a bed
    np.testing.assert_allclose(oop[birth, :, VILLAGE], oop[birth, :, TOWNSHIP])
    cold = cat.index("self_limiting_illness")  # a mild cold needs none: the clinic's own consultation
    assert oop[cold, 0, VILLAGE].max() < oop[cold, 0, TOWNSHIP].min()
