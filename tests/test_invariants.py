"""Invariants that hold for every valid scenario: money is conserved, every episode ends exactly once, queues
and beds never go negative and match the episodes in them; runs are deterministic in (scenario, seed) and do
not depend on the number of worker processes.

Random small scenarios come from hypothesis; the assertions hold whatever the calibration.
"""

from __future__ import annotations

import math
from functools import partial

import conftest
import pandas as pd
import pytest
from conftest import check_episodes, check_money, check_queues, money_watched, same
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.core import episodes as E
from sim.core.levels import COUNTY, LEVELS, OUT_OF_COUNTY
from sim.engine.model import HealthSystemModel
from sim.params.scenario import CLAIM_MODELS, HISTORY_DAYS, PAYMENT_MODELS, Scenario
from sim.results import metrics
from sim.results.runner import run_replicates

REIMBURSEMENT_KEYS = ("reimbursement", "employee_reimbursement", "outpatient_reimbursement",
                      "employee_outpatient_reimbursement", "eligible_share")
MARGINS = ("services_margin", "drugs_margin", "consumables_margin", "bed_day_margin")
BEDDED_LEVELS = ("township", "county", "out_of_county")
INSTRUMENT_COSTS = [(key, getattr(Scenario().behaviour.community, key)) for key in (
    "posted_doctor_allowance_yuan", "platform_cost_yuan_per_resident_year",
    "capability_step_cost_yuan_per_resident_year")]
EXAMPLES_PER_MODEL = 9  # x 6 payment models: 54 random scenarios

county = partial(conftest.county, size=5_000, days=40, seed=7)


# --------------------------------------------------------------------------------------------- strategies
shares = st.floats(0.0, 1.0, allow_nan=False)
PRIMARY = ("village", "township")


@st.composite
def by_level(draw) -> dict:
    """A per-level mix of claim models (capitation only where it may pay: village clinics, township centres)."""
    mix = {}
    for level in LEVELS:
        options = CLAIM_MODELS if level in PRIMARY else tuple(m for m in CLAIM_MODELS if m != "capitation")
        chosen = draw(st.none() | st.sampled_from(options))
        if chosen is not None:
            mix[level] = chosen
    return mix


@st.composite
def payments(draw, model: str) -> dict:
    """The payment model ``model``, a mix by level, and each model's rules drawn around their defaults,
    settling within the short runs drawn (DIP point values, global budgets)."""
    return {
        "model": model,
        "by_level": draw(st.just({}) | by_level()),
        "fee_schedule": {m: draw(st.floats(-0.5, 1.0)) for m in MARGINS},
        "drg": {"audit_rate": draw(shares), "penalty_multiple": draw(st.floats(0.0, 5.0)),
                "admission_review_rate": draw(shares), "outlier_share": draw(shares)},
        "dip": {"settlement_days": draw(st.integers(1, 30)),
                "fund_budget_per_resident_year_yuan": draw(st.floats(100.0, 2_000.0))},
        "global_budget": {"budget_per_resident_year_yuan": draw(st.floats(200.0, 2_000.0)),
                          "savings_retained_share": draw(st.just(1.0) | shares),
                          "overspend_shared_share": draw(st.just(1.0) | shares),
                          "settlement_days": draw(st.integers(30, 45))},
        "capitation": {"yuan_per_enrolled_year": draw(st.floats(0.0, 400.0)), "enrolment_share": draw(shares),
                       "township_share": draw(shares)},
        "per_diem": {"yuan_per_bed_day": draw(st.none() | st.floats(300.0, 3_000.0))},
    }


@st.composite
def policies(draw) -> dict:
    """Each policy switched on or off, with its options."""
    on = st.booleans()
    return {
        "sinking": {"doctors": draw(st.just(0) | st.integers(1, 12)),
                    "hosts": draw(st.sampled_from(["all", "weakest"])),
                    "days_per_week": draw(st.integers(1, 7)), "start_day": draw(st.integers(0, 20)),
                    "capability_gain_per_doctor": draw(st.floats(0.0, 0.5)),
                    "training_gain_per_doctor_year": draw(st.floats(0.0, 0.5)),
                    "adds_outpatient_slots": draw(on)},
        "referral": {"first_contact": draw(st.sampled_from(["none", "soft", "hard"])),
                     "unreferred_reimbursement_cut": draw(shares), "filed_chronic_referral": draw(on),
                     "platform": draw(on), "down": {"enabled": draw(on), "acute_share": draw(shares),
                                                    "min_remaining_days": draw(st.integers(1, 5))}},
        "family_doctor": {"enabled": draw(on), "contract_share": draw(shares), "key_group_share": draw(shares)},
        "emergency_units": {"enabled": draw(on), "townships": draw(st.just("all") | st.integers(0, 3)),
                            "first_treatment_effect": draw(shares)},
        "procurement": {"drug_price_cut": draw(st.floats(0.0, 0.8)), "consumable_price_cut": draw(st.floats(0.0, 0.8)),
                        "primary_pass_through": draw(shares)},
        "integration": {"level": draw(st.sampled_from(["none", "loose", "tight"])),
                        "income_tie": {level: draw(st.just(0.5) | shares) for level in ("none", "loose", "tight")},
                        "shared_diagnostics": draw(on), "unified_procurement": draw(on)},
        "assessment": {"enabled": draw(on), "period_days": draw(st.integers(7, 30)),
                       "deduction_yuan_per_point": draw(st.floats(0.0, 5_000.0)),
                       "replace_after_periods": draw(st.integers(0, 2)),
                       "merge_after_periods": draw(st.integers(0, 2))},
        "salary_reform": {"enabled": draw(on), "salary_uplift": draw(st.floats(0.0, 1.0)),
                          "bonus_pool_share": draw(shares)},
    }


@st.composite
def switches(draw, days: int) -> list[dict]:
    """Up to two changes of the payment model mid-run (and of one level's claim model)."""
    entries = []
    for day in sorted(draw(st.lists(st.integers(1, days - 1), max_size=2, unique=True))):
        change = {"payment.model": draw(st.sampled_from(PAYMENT_MODELS))}
        if draw(st.booleans()):
            level = draw(st.sampled_from(PRIMARY + ("county",)))
            change[f"payment.by_level.{level}"] = draw(st.none() | st.sampled_from(
                [m for m in CLAIM_MODELS if m != "capitation" or level in PRIMARY]))
        if change["payment.model"] == "global_budget" and day >= HISTORY_DAYS and draw(st.booleans()):
            change["payment.global_budget.budget_per_resident_year_yuan"] = None  # from the claims so far
        entries.append({"day": day, "set": change})
    return entries


@st.composite
def scenarios(draw, model: str) -> Scenario:
    d = Scenario()
    facilities = {}
    for level in LEVELS:
        default = getattr(d.facilities, level)
        facilities[level] = {"doctors": default.doctors * draw(st.floats(0.05, 3.0))}
        if level in BEDDED_LEVELS:
            facilities[level]["beds"] = draw(st.integers(0, 3 * default.beds))
    days = draw(st.integers(20, 70))
    pay = draw(payments(model))
    over = {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "days": days,
        "population": {"size": draw(st.integers(2_000, 8_000)), "employee_share": draw(shares)},
        "facilities": facilities,
        "insurance": {
            **{key: {level: draw(shares) for level in LEVELS} for key in REIMBURSEMENT_KEYS},
            "deductible": {level: draw(st.floats(0.0, 3_000.0)) for level in LEVELS},
            "deductible_continuity": draw(st.booleans()),
        },
        "payment": pay,
        "behaviour": {
            "provider": {"profit_weight": draw(st.floats(0.0, 2.0)),
                         "leader_tie_weight": draw(st.just(d.behaviour.provider.leader_tie_weight) | shares),
                         "income_effect_elasticity": draw(st.floats(0.0, 2.0))},
            "resident": {"max_rechoices": draw(st.integers(0, 3)),
                         "patience_days": draw(st.floats(0.5, 10.0))},
            "staff": {"mobility_rate": draw(st.just(0.0) | st.floats(0.0, 0.2))},
            "community": {"manages_instruments": draw(st.just(True) | st.booleans()),
                          "review_days": draw(st.integers(7, 30)),
                          "posting_term_days": draw(st.integers(0, 60)),
                          "capability_term_days": draw(st.integers(0, 60)),
                          **{cost: draw(st.sampled_from([0.0, default])) for cost, default in INSTRUMENT_COSTS}},
        },
        "case_mix": {"incidence_scale": draw(st.floats(0.5, 3.0))},
        "policies": draw(policies()),
        "timeline": draw(st.just([]) | switches(days)),
    }
    return county(over, size=over["population"]["size"], days=days, seed=over["seed"])


def describe(model: HealthSystemModel, money) -> None:
    """What an example exercised (``pytest --hypothesis-show-statistics``)."""
    for start in model.period_starts:
        pay = start.spec.payment
        event(f"payment: {pay.model}" + (" mixed by level" if pay.by_level.model_dump(exclude_none=True) else ""))
    if len(model.period_starts) > 1:
        event("payment switched mid-run")
    t, community = model.tally, model.community
    for name, happened in (("DIP settled", t.dip_settled_points > 0),
                           ("capitation paid", "capitation" in money.periodic_by),
                           ("budget settled", community is not None and community.settlements),
                           ("community held instruments", community is not None and community.instruments is not None
                            and any(h["chosen_posted"] or h["chosen_platform"] or h["chosen_invested"]
                                    for h in community.instruments.history)),
                           ("assessment deducted", t.assessment_deductions > 0),
                           ("stays split by downward transfer", t.referrals_down.sum() > 0),
                           ("doctors posted", t.sinking_doctor_days > 0)):
        if happened:
            event(name)


# --------------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("model_name", PAYMENT_MODELS)
@settings(max_examples=EXAMPLES_PER_MODEL, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_invariants_hold_every_day_of_random_scenarios(model_name, data):
    """Whatever the payment model (each starts some runs, mixed by level and switched mid-run) and the policies
    in force: money is conserved to the yuan in every set of books and every payment (conftest.check_money),
    every episode ends exactly once, and queues and beds never go negative and always hold the episodes in
    them."""
    scenario = data.draw(scenarios(model_name), label="scenario")
    with money_watched() as money:
        model = HealthSystemModel(scenario)
        for _ in range(scenario.days):
            model.step()
            check_queues(model)
    assert model.day == scenario.days
    describe(model, money)
    check_money(model, money)
    assert money.claims == model.tally.treated.sum() + model.tally.referrals_down.sum(), \
        "a treatment was settled other than once (a split stay: twice)"
    check_episodes(model)
    values = metrics.compute(model)
    assert set(values) == set(metrics.METRICS)
    shares = ["forgone_care_rate", "self_care_rate", "in_county_rate", "appropriate_level_rate", "drug_share",
              "consumables_share"]
    # A case payment (DRG, DIP, per diem) below the copayment from the itemised bill leaves the fund a negative
    # part of the claim: with little insurance the fund's outlays can fall below 0, and its shares leave [0, 1].
    t = model.tally
    if (t.fund >= 0).all() and t.fund.sum() + t.community_net + t.community_instruments >= 0:
        shares += ["oop_share", "out_of_county_fund_share", "primary_fund_share"]
    for name in shares:
        assert math.isnan(values[name]) or 0.0 <= values[name] <= 1.0 + 1e-12, (name, values[name])


def test_same_scenario_and_seed_give_identical_metrics():
    scenario = county()
    first = metrics.compute(HealthSystemModel(scenario, seed=11).run())
    second = metrics.compute(HealthSystemModel(scenario, seed=11).run())
    assert same(first, second)
    other = metrics.compute(HealthSystemModel(scenario, seed=12).run())
    assert not same(other, first)


def test_replicates_do_not_depend_on_the_number_of_workers():
    scenario = county(size=3_000, days=30)
    serial = run_replicates(scenario, replicates=2, workers=1, progress=False)
    parallel = run_replicates(scenario, replicates=2, workers=2, progress=False)
    assert [r.seed for r in serial] == [r.seed for r in parallel]
    assert len({r.seed for r in serial}) == 2
    for a, b in zip(serial, parallel, strict=True):
        assert same(a.metrics, b.metrics)
        pd.testing.assert_frame_equal(a.daily, b.daily)
        pd.testing.assert_frame_equal(a.facilities, b.facilities)


# --------------------------------------------------------------------------------------------- the top level
# The out-of-county hospitals are the top level: a provider refers a case only where a higher level exists
# (``can_refer``), so that they refer nobody holds by construction and is not tested. What could fail is what
# they do instead with the cases a lower level would have sent on.
TOP = {
    "defaults": {},
    "top_level_without_beds": {"facilities": {"out_of_county": {"beds": 0}}},
    "top_level_capability_2.5": {"facilities": {"out_of_county": {"capability": 2.5}}},
    "loss_making_bed_days": {"behaviour": {"provider": {"profit_weight": 1.0}},
                             "payment": {"fee_schedule": {"bed_day_margin": -0.5}}},
}


@pytest.mark.parametrize("overrides", TOP.values(), ids=TOP.keys())
def test_the_top_level_keeps_no_time_critical_case_waiting(overrides):
    """Without a level above, a time-critical case is treated where it is, whatever the top level lacks."""
    scenario = county(overrides, size=30_000, days=40, seed=1)
    model = HealthSystemModel(scenario)
    for _ in range(scenario.days):
        model.step()
        ep = model.episodes
        stuck = (model.cat.time_critical[ep.condition] & (ep.state == E.WAITING)
                 & (model.day - ep.seek_day > 2))
        assert not stuck.any(), f"day {model.day}: {stuck.sum()} time-critical cases waiting for days"
    assert model.tally.treated[OUT_OF_COUNTY] > 0


def test_the_top_level_treats_what_it_cannot_refer():
    """The top level keeps what it cannot send on: cases beyond its capability are treated there (at their risk),
    none at the schema's capability 3, which meets every need, some at 2.5; without beds it treats every case
    in its clinic; and when bed days lose money the county hospitals refer their inpatients up, and the top
    level admits them."""
    def top(name: str):
        return conftest.run(TOP[name], size=30_000, days=40, seed=1)[0].tally

    capable, short, bedless, losing = (top(name) for name in ("defaults", "top_level_capability_2.5",
                                                               "top_level_without_beds", "loss_making_bed_days"))
    assert capable.appropriate[OUT_OF_COUNTY] == capable.treated[OUT_OF_COUNTY]
    assert short.appropriate[OUT_OF_COUNTY] < short.treated[OUT_OF_COUNTY]
    assert bedless.admissions[OUT_OF_COUNTY] == 0
    assert bedless.outpatient_episodes[OUT_OF_COUNTY] == bedless.treated[OUT_OF_COUNTY] > 0
    assert losing.referrals_up[COUNTY] > 2 * capable.referrals_up[COUNTY]
    assert losing.admissions[OUT_OF_COUNTY] > capable.admissions[OUT_OF_COUNTY]


def test_a_model_can_be_stepped_past_its_scenario_days():
    """The web view and notebooks step by hand; tables grow and metrics use the days actually run."""
    from sim.results.runner import daily_table

    model = HealthSystemModel(county(size=3_000, days=10))
    for _ in range(25):
        model.step()
    assert len(daily_table(model)) == 25 * 4
    assert math.isfinite(metrics.compute(model)["staff_income_county"])
