"""Demand that answers payment: providers ask patients back (``sim.behaviour.provider``), and the payment model
changes how often only through the margin of a return visit.

A return visit is asked while its value to the provider is positive: profit_weight x its margin + benefit_weight x
(the risk it averts valued in yuan - what it costs the patient). Under fee-for-service a return earns its items'
margin; under capitation an enrolled resident's return at their own clinic earns only the copayment, less than it
costs. Returns take the doctor's minutes on their day, are billed, count as visits and lower the episode's risks.
"""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
from conftest import every_case, provider_cases

from sim.behaviour.provider import Provider
from sim.core.conditions import load_catalogue
from sim.core.levels import TOWNSHIP, VILLAGE
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.payment.models import make_payment

SIZE = 20_000
DAYS = 150
run = partial(conftest.run, size=SIZE, days=DAYS)

# The claim models. A global budget is left out: its community also decides where doctors and equipment go
# (sim.payment.community), which changes who is seen where even when no provider minds its margin.
MODELS = ("fee_for_service", "drg", "dip", "capitation", "per_diem")


def pay(model: str, profit_weight: float = 0.5, **extra) -> dict:
    return overlay({"payment": {"model": model, "capitation": {"enrolment_share": 0.6}},
                    "behaviour": {"provider": {"profit_weight": profit_weight}}}, extra)


def primary_returns(model) -> float:
    """Return visits asked per outpatient episode treated at village clinics and township centres."""
    t = model.tally
    return t.returns_asked[[VILLAGE, TOWNSHIP]].sum() / t.outpatient_episodes[[VILLAGE, TOWNSHIP]].sum()


# --------------------------------------------------------------------------------------------- the decision
def decide(profit_weight: float, capitated: bool, *, model: str = "capitation", level: str = "township",
           **overrides):
    """The provider's decisions on every (condition, severity) at ``level``, the same cases capitated or not, in
    the default county with ``overrides`` (nested) laid over."""
    spec = Scenario.model_validate(overlay(Scenario().model_dump(mode="json"),
                                           overlay({"payment": {"model": model}}, overrides)))
    cat = load_catalogue(spec.case_mix.catalogue)
    cases = provider_cases(spec, level, *every_case(cat), has_beds=False, admission_benefit=-1.0,
                           capitated=capitated)
    behaviour = spec.behaviour.provider.model_copy(update={"profit_weight": profit_weight})
    return Provider(behaviour, spec.outcomes, cat, make_payment(spec, cat),
                    followup_share=spec.case_mix.followup_visit_share).decide(cases)


def test_a_capitated_provider_does_less_asks_back_less_and_refers_more_for_the_same_cases():
    """Under capitation an enrolled resident's care earns the copayment only: every item and return visit costs
    its clinic more than it earns, and a referral up costs it nothing. The same cases, enrolled or not."""
    paid, capitated = decide(0.5, capitated=False), decide(0.5, capitated=True)
    treated = ~paid.refer & ~capitated.refer
    assert (capitated.intensity[treated] <= paid.intensity[treated]).all()
    assert (capitated.intensity[treated] < paid.intensity[treated]).any()
    assert (capitated.returns[treated] <= paid.returns[treated]).all()
    assert capitated.returns.sum() < paid.returns.sum()
    # the margin lost by letting a case go is smaller, so referral comes more easily, never less
    assert (capitated.refer >= paid.refer).all()


def test_a_stronger_pull_of_the_capitation_margin_refers_strictly_more():
    """With a heavier weight on margin the saving of referring a capitated case up outweighs the friction of
    referring for some cases: referral rises strictly, through the margin alone."""
    paid, capitated = decide(5.0, capitated=False), decide(5.0, capitated=True)
    assert capitated.refer.sum() > paid.refer.sum()


def test_without_a_weight_on_margin_capitation_changes_no_decision():
    paid, capitated = decide(0.0, capitated=False), decide(0.0, capitated=True)
    for name in ("refer", "intensity", "returns"):
        np.testing.assert_array_equal(getattr(paid, name), getattr(capitated, name), err_msg=name)


def test_returns_are_asked_only_where_they_avert_risk_when_margin_does_not_count():
    """At profit weight 0 a return is asked only for its medical benefit: with no risk averted, none."""
    assert decide(0.0, False, model="fee_for_service").returns.sum() > 0
    assert decide(0.0, False, model="fee_for_service",
                  outcomes={"followup_risk_reduction": 0.0}).returns.sum() == 0


def test_the_margin_of_a_return_adds_returns_that_the_risk_alone_would_not_justify():
    """Under fee-for-service a return's margin tips some returns: at a heavy weight on margin, more are asked,
    and they are asked even when they avert nothing, if their margin outweighs the patient's burden."""
    heavy = decide(5.0, False, model="fee_for_service").returns.sum()
    assert heavy > decide(0.0, False, model="fee_for_service").returns.sum()
    assert decide(5.0, False, model="fee_for_service", outcomes={"followup_risk_reduction": 0.0},
                  behaviour={"provider": {"followup_burden_yuan": 0.0}}).returns.sum() > 0


# --------------------------------------------------------------------------------------------- whole runs
def test_fee_for_service_asks_patients_back_more_than_capitation_salaries_or_indifference():
    ffs_model, ffs = run(pay("fee_for_service"))
    cap_model, _ = run(pay("capitation"))
    _, salary = run(pay("fee_for_service", policies={"salary_reform": {"enabled": True}}))
    _, indifferent = run(pay("fee_for_service", 0.0))
    assert primary_returns(cap_model) < primary_returns(ffs_model)
    assert salary["followup_visits_per_episode"] < ffs["followup_visits_per_episode"]
    assert indifferent["followup_visits_per_episode"] < ffs["followup_visits_per_episode"]


def test_with_profit_weight_zero_every_payment_model_asks_the_same_returns():
    runs = [run(pay(name, 0.0)) for name in MODELS]
    first_model, first = runs[0]
    assert first_model.tally.returns_asked.sum() > 0, "the test needs return visits"
    for (model, metrics), name in zip(runs[1:], MODELS[1:], strict=True):
        np.testing.assert_array_equal(model.tally.returns_asked, first_model.tally.returns_asked, err_msg=name)
        assert metrics["visits_per_capita"] == first["visits_per_capita"], name


def test_return_visits_are_visits_that_take_the_doctors_minutes():
    """Returns are booked with the doctor who asked: they add visits and, in a clinic short of doctors, lengthen
    the wait of everyone else. With no returns allowed, none are made."""
    scarce = {"facilities": {"township": {"doctors": 4}, "village": {"doctors": 1}}}
    none_model, none = run(overlay(scarce, {"behaviour": {"provider": {"followup_max_visits": 0}}}))
    some_model, some = run(overlay(scarce, {"behaviour": {"provider": {"followup_max_visits": 6}},
                                            "outcomes": {"followup_risk_reduction": 0.3}}))
    assert none_model.tally.return_visits.sum() == 0 and none["followup_visits_per_episode"] == 0
    made = some_model.tally.return_visits.sum()
    assert made > 0
    assert some_model.tally.returns_asked.sum() >= made  # returns falling due after the last day are not made
    assert some["outpatient_wait_hours_mean"] > none["outpatient_wait_hours_mean"]
