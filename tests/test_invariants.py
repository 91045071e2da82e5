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
from conftest import check_episodes, check_money, check_queues, same
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core import episodes as E
from sim.core.levels import LEVELS, OUT_OF_COUNTY
from sim.engine.model import HealthSystemModel
from sim.params.scenario import Scenario
from sim.results import metrics
from sim.results.runner import run_replicates

REIMBURSEMENT_KEYS = ("reimbursement", "employee_reimbursement", "outpatient_reimbursement",
                      "employee_outpatient_reimbursement", "eligible_share")
MARGINS = ("services_margin", "drugs_margin", "consumables_margin", "bed_day_margin")
BEDDED_LEVELS = ("township", "county", "out_of_county")

county = partial(conftest.county, size=5_000, days=40, seed=7)


# --------------------------------------------------------------------------------------------- strategies
shares = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def scenarios(draw) -> Scenario:
    d = Scenario()
    facilities = {}
    for level in LEVELS:
        default = getattr(d.facilities, level)
        facilities[level] = {"doctors": default.doctors * draw(st.floats(0.05, 3.0))}
        if level in BEDDED_LEVELS:
            facilities[level]["beds"] = draw(st.integers(0, 3 * default.beds))
    over = {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "days": draw(st.integers(20, 60)),
        "population": {"size": draw(st.integers(2_000, 8_000)), "employee_share": draw(shares)},
        "facilities": facilities,
        "insurance": {
            **{key: {level: draw(shares) for level in LEVELS} for key in REIMBURSEMENT_KEYS},
            "deductible": {level: draw(st.floats(0.0, 3_000.0)) for level in LEVELS},
        },
        "payment": {"fee_schedule": {m: draw(st.floats(-0.5, 1.0)) for m in MARGINS}},
        "behaviour": {
            "provider": {"profit_weight": draw(st.floats(0.0, 2.0))},
            "resident": {"max_rechoices": draw(st.integers(0, 3)),
                         "patience_days": draw(st.floats(0.5, 10.0))},
        },
        "case_mix": {"incidence_scale": draw(st.floats(0.5, 3.0))},
    }
    return county(over, size=over["population"]["size"], days=over["days"], seed=over["seed"])


# --------------------------------------------------------------------------------------------- properties
@settings(max_examples=8, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_every_day_of_random_scenarios(scenario):
    model = HealthSystemModel(scenario)
    for _ in range(scenario.days):
        model.step()
        check_queues(model)
    assert model.day == scenario.days
    check_money(model)
    check_episodes(model)
    values = metrics.compute(model)
    assert set(values) == set(metrics.METRICS)
    for name in ("oop_share", "forgone_care_rate", "self_care_rate", "in_county_rate", "appropriate_level_rate",
                 "out_of_county_fund_share", "primary_fund_share", "drug_share", "consumables_share"):
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


# --------------------------------------------------------------------------------------------- referral at the top
@pytest.mark.parametrize("overrides", [
    {"facilities": {"out_of_county": {"beds": 0}}},
    {"facilities": {"out_of_county": {"capability": 2.5}}},
    {"behaviour": {"provider": {"profit_weight": 1.0}}, "payment": {"fee_schedule": {"bed_day_margin": -0.5}}},
], ids=["top_level_without_beds", "top_level_capability_2.5", "loss_making_bed_days"])
def test_the_top_level_refers_nobody_and_keeps_no_time_critical_case_waiting(overrides):
    scenario = county(overrides, size=30_000, days=40, seed=1)
    model = HealthSystemModel(scenario)
    for _ in range(scenario.days):
        model.step()
        ep = model.episodes
        stuck = (model.cat.time_critical[ep.condition] & (ep.state == E.WAITING)
                 & (model.day - ep.seek_day > 2))
        assert not stuck.any(), f"day {model.day}: {stuck.sum()} time-critical cases waiting for days"
    assert model.tally.referrals_up[OUT_OF_COUNTY] == 0, "the top level has no level above to refer to"


def test_the_top_level_refers_nobody_in_the_default_county():
    """The control for the test above: with the defaults nothing is referred up from the top level."""
    model = HealthSystemModel(county(size=30_000, days=40, seed=1)).run()
    assert model.tally.referrals_up[OUT_OF_COUNTY] == 0
    ep = model.episodes
    assert not (model.cat.time_critical[ep.condition] & (ep.state == E.WAITING)).any()


def test_a_model_can_be_stepped_past_its_scenario_days():
    """The web view and notebooks step by hand; tables grow and metrics use the days actually run."""
    from sim.results.runner import daily_table

    model = HealthSystemModel(county(size=3_000, days=10))
    for _ in range(25):
        model.step()
    assert len(daily_table(model)) == 25 * 4
    assert math.isfinite(metrics.compute(model)["staff_income_county"])
