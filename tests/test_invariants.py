"""Invariants that hold for every valid scenario: money is conserved, every episode ends exactly once, queues
and beds never go negative and match the episodes in them; runs are deterministic in (scenario, seed) and do
not depend on the number of worker processes.

Random small scenarios come from hypothesis; the assertions hold whatever the calibration.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core import episodes as E
from sim.core.levels import LEVELS, N_LEVELS, OUT_OF_COUNTY
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.results import metrics
from sim.results.runner import run_replicates

REIMBURSEMENT_KEYS = ("reimbursement", "employee_reimbursement", "outpatient_reimbursement",
                      "employee_outpatient_reimbursement", "eligible_share")
MARGINS = ("services_margin", "drugs_margin", "consumables_margin", "bed_day_margin")
BEDDED_LEVELS = ("township", "county", "out_of_county")


def small_county(overrides: dict | None = None, *, size: int = 5_000, days: int = 40, seed: int = 7) -> Scenario:
    """A small county: every schema default, then ``overrides`` (a nested dict) merged in key by key."""
    data = overlay(Scenario().model_dump(mode="json"),
                  {"name": "small county", "seed": seed, "days": days, "replicates": 1,
                   "population": {"size": size}})
    return Scenario.model_validate(overlay(data, overrides or {}))


def comparable(result: dict[str, float]) -> dict[str, float | None]:
    """Metrics with NaN as None, so two dicts compare equal with ==."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}


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
    return small_county(over, size=over["population"]["size"], days=over["days"], seed=over["seed"])


def check_queues(model: HealthSystemModel) -> None:
    """Queues and beds are non-negative and equal the episodes in them, per facility."""
    fac, ep = model.facilities, model.episodes
    n = fac.n
    assert (fac.queue >= 0).all(), f"day {model.day}: negative outpatient queue {fac.queue.min()}"
    assert (fac.bed_queue >= 0).all(), f"day {model.day}: negative bed queue {fac.bed_queue.min()}"
    assert (fac.occupied >= 0).all(), f"day {model.day}: negative occupancy {fac.occupied.min()}"
    for state, column in ((E.WAITING, fac.queue), (E.BED_QUEUE, fac.bed_queue), (E.INPATIENT, fac.occupied)):
        in_state = np.bincount(ep.facility[ep.state == state], minlength=n)
        np.testing.assert_array_equal(column, in_state, err_msg=f"day {model.day}, state {state}")


def check_money(model: HealthSystemModel) -> None:
    t, books = model.tally, model.facilities.books
    total = t.charges.sum()
    atol = 1e-6 * max(total, 1.0)
    # every bill is paid by the fund or the patient, at every level
    np.testing.assert_allclose(t.fund + t.oop, t.charges.sum(1), rtol=1e-6, atol=atol)
    np.testing.assert_allclose(t.inpatient_charges + t.outpatient_charges, t.charges.sum(1), rtol=1e-6, atol=atol)
    assert (t.fund >= -atol).all() and (t.oop >= -atol).all()
    # the fund's own books and the tally agree
    np.testing.assert_allclose(model.fund.spending, t.fund, rtol=1e-6, atol=atol)
    np.testing.assert_allclose(model.fund.out_of_pocket, t.oop, rtol=1e-6, atol=atol)
    # facility books: under fee-for-service each facility's revenue is what the fund and patients paid it
    assert model.spec.payment.model == "fee_for_service"
    np.testing.assert_allclose(books["fund_income"] + books["oop_income"], books["revenue"], rtol=1e-6, atol=atol)
    assert math.isclose((books["fund_income"] + books["oop_income"]).sum(), books["revenue"].sum(),
                        rel_tol=1e-6, abs_tol=atol)
    assert math.isclose(books["revenue"].sum(), t.provider_revenue.sum(), rel_tol=1e-6, abs_tol=atol)
    assert math.isclose(books["revenue"].sum(), total, rel_tol=1e-6, abs_tol=atol)


def check_episodes(model: HealthSystemModel) -> None:
    t, ep = model.tally, model.episodes
    active = int((ep.state != E.ENDED).sum())
    assert len(ep) - active == ep.n_ended, "ended rows and their count disagree"
    assert not np.isin(ep.state, E.FINISHED_TODAY).any(), "an episode finished but not ended"
    assert t.episodes_started == t.ended.sum() + active
    # every episode that went to a facility was treated once: one completed treatment, one wait recorded
    assert t.treated.sum() == t.ended.sum() - t.ended[E.FORGONE] - t.ended[E.SELF_CARE]
    assert t.wait_hist.sum() == t.treated.sum()
    # beds: admitted = discharged + still in a bed, by level
    inpatients = np.bincount(model.facilities.level[ep.facility[ep.state == E.INPATIENT]], minlength=N_LEVELS)
    np.testing.assert_array_equal(t.admissions - t.discharges, inpatients)
    assert (t.bed_days >= t.discharges).all(), "every stay lasts at least one day"


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
    scenario = small_county()
    first = comparable(metrics.compute(HealthSystemModel(scenario, seed=11).run()))
    second = comparable(metrics.compute(HealthSystemModel(scenario, seed=11).run()))
    assert first == second
    other = comparable(metrics.compute(HealthSystemModel(scenario, seed=12).run()))
    assert other != first


def test_replicates_do_not_depend_on_the_number_of_workers():
    scenario = small_county(size=3_000, days=30)
    serial = run_replicates(scenario, replicates=2, workers=1, progress=False)
    parallel = run_replicates(scenario, replicates=2, workers=2, progress=False)
    assert [r.seed for r in serial] == [r.seed for r in parallel]
    assert len({r.seed for r in serial}) == 2
    assert [comparable(r.metrics) for r in serial] == [comparable(r.metrics) for r in parallel]
    for a, b in zip(serial, parallel, strict=True):
        pd.testing.assert_frame_equal(a.daily, b.daily)
        pd.testing.assert_frame_equal(a.facilities, b.facilities)


# --------------------------------------------------------------------------------------------- referral at the top
@pytest.mark.parametrize("overrides", [
    {"facilities": {"out_of_county": {"beds": 0}}},
    {"facilities": {"out_of_county": {"capability": 2.5}}},
    {"behaviour": {"provider": {"profit_weight": 1.0}}, "payment": {"fee_schedule": {"bed_day_margin": -0.5}}},
], ids=["top_level_without_beds", "top_level_capability_2.5", "loss_making_bed_days"])
def test_the_top_level_refers_nobody_and_keeps_no_time_critical_case_waiting(overrides):
    scenario = small_county(overrides, size=30_000, days=40, seed=1)
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
    model = HealthSystemModel(small_county(size=30_000, days=40, seed=1)).run()
    assert model.tally.referrals_up[OUT_OF_COUNTY] == 0
    ep = model.episodes
    assert not (model.cat.time_critical[ep.condition] & (ep.state == E.WAITING)).any()


def test_a_model_can_be_stepped_past_its_scenario_days():
    """The web view and notebooks step by hand; tables grow and metrics use the days actually run."""
    from sim.results.runner import daily_table

    model = HealthSystemModel(small_county(size=3_000, days=10))
    for _ in range(25):
        model.step()
    assert len(daily_table(model)) == 25 * 4
    assert math.isfinite(metrics.compute(model)["staff_income_county"])
