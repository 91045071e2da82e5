"""What the tests share: small counties, the comparison of two runs, and the invariants every run keeps.

A small county is the schema's defaults at a chosen size and length on one seed, with nested overrides laid
over. Runs are cached by their overrides, so every arm of a comparison shares its random numbers (common random
numbers) and each arm runs once per test session, whichever test file asks for it. A test file binds its
county's size and length once::

    county = partial(conftest.county, size=SIZE, days=DAYS)   # the Scenario
    run = partial(conftest.run, size=SIZE, days=DAYS)         # the finished model and its metrics

and may still change ``days`` (or ``seed``) of one call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from functools import cache

import numpy as np

from sim.core import episodes as E
from sim.core.levels import N_LEVELS
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.results import metrics

SEED = 20240101


# --------------------------------------------------------------------------------------------- small counties
def county(overrides: dict | None = None, *, size: int = 20_000, days: int = 150, seed: int = SEED) -> Scenario:
    """The default county of ``size`` residents for ``days`` on ``seed``, with ``overrides`` (a nested mapping)
    merged in key by key, so that a partial facility level (``{"facilities": {"county": {"doctors": 5}}}``)
    keeps the level's other default values."""
    data = overlay(Scenario().model_dump(mode="json"),
                   {"name": "small county", "seed": seed, "days": days, "replicates": 1,
                    "population": {"size": size}})
    return Scenario.model_validate(overlay(data, overrides or {}))


@cache
def _run(key: str, size: int, days: int, seed: int) -> tuple[HealthSystemModel, dict]:
    model = HealthSystemModel(county(json.loads(key), size=size, days=days, seed=seed), seed=seed).run()
    return model, metrics.compute(model)


def run(overrides: dict | None = None, *, size: int = 20_000, days: int = 150,
        seed: int = SEED) -> tuple[HealthSystemModel, dict]:
    """The finished model of ``county(overrides, ...)`` and its metrics, cached: the same arm is never run twice,
    so the models returned are shared and must not be changed."""
    return _run(json.dumps(overrides or {}, sort_keys=True), size, days, seed)


# --------------------------------------------------------------------------------------------- comparison
def same(a: dict, b: dict, *, skip: Collection[str] = ()) -> bool:
    """Two runs' metrics name for name and number for number (NaN equal to NaN), except the names in ``skip``."""
    return a.keys() == b.keys() and all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k]))
                                        for k in a if k not in skip)


# --------------------------------------------------------------------------------------------- invariants
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
    """Under fee-for-service every bill is paid once, by the fund or the patient, and every set of books agrees."""
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
    """Every episode ends exactly once, every one not forgone is treated once, and beds hold the admitted."""
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
