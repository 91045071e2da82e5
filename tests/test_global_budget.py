"""A medical community under a global budget keeps patients in the county and draws them to primary care by its
own decisions (``sim.payment.instruments``: posted doctors, a referral platform, investment in its county
hospitals' capability), and only because its budget pays for it.

One small county (30,000 residents, a year, one seed) under fee-for-service and under a global budget, with the
community's stake and its decision switched off in turn; every arm shares its random numbers."""

from __future__ import annotations

from functools import partial

import conftest
import pytest

SIZE, DAYS = 30_000, 365
BUDGET = {"payment": {"model": "global_budget"}}
NO_STAKE = {"payment": {"model": "global_budget",
                        "global_budget": {"savings_retained_share": 0.0, "overspend_shared_share": 0.0}}}
NO_DECISION = {"payment": {"model": "global_budget"}, "behaviour": {"community": {"manages_instruments": False}}}
NO_INVESTMENT = {"payment": {"model": "global_budget"}, "behaviour": {"community": {"max_capability_steps": 0}}}

arm = partial(conftest.run, size=SIZE, days=DAYS)


def test_global_budget_draws_patients_to_primary_care_and_spends_less():
    """Against fee-for-service, on common random numbers: a higher primary visit share and lower spending (both
    hold on every seed tried); for the out-of-county share see the next test."""
    _, ffs = arm()
    model, gb = arm(BUDGET)
    instruments = model.community.instruments
    assert instruments.posted > 0, "the community posts doctors of its own accord"
    assert instruments.invested > 0, "and invests in its county hospitals' capability"
    assert gb["primary_visit_share"] > ffs["primary_visit_share"]
    assert gb["spending_per_capita"] < ffs["spending_per_capita"]
    assert gb["sinking_doctor_days"] > 0 and ffs["sinking_doctor_days"] == 0


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known gap: on four seeds the out-of-county share of fund money is 0.129 "
                   "under fee-for-service and 0.131 under the global budget (means; per seed the sign changes), so "
                   "the community's instruments do not yet keep patients in the county against fee-for-service")
def test_global_budget_lowers_the_out_of_county_share_across_seeds():
    seeds = (20240101, 1, 2, 3)
    ffs = [arm(None, seed=s)[1]["out_of_county_fund_share"] for s in seeds]
    gb = [arm(BUDGET, seed=s)[1]["out_of_county_fund_share"] for s in seeds]
    assert sum(gb) / len(gb) < sum(ffs) / len(ffs) - 0.01


def test_the_investment_is_what_brings_the_out_of_county_share_below_fee_for_service():
    """The same budget with the investment ruled out (max_capability_steps 0): members' rationing lowers
    in-county claims while residents' own out-of-county choices go on, and the share stays above
    fee-for-service's; the county hospitals' raised capability (learned by residents from outcomes) keeps
    residents' own choices in the county."""
    _, ffs = arm()
    model, gb = arm(BUDGET)
    without, no_investment = arm(NO_INVESTMENT)
    assert without.community.instruments.invested == 0
    assert without.facilities.capability[without.policies["staffing"].county].max() == 2.0
    assert model.facilities.capability[model.policies["staffing"].county].min() > 2.0
    assert no_investment["out_of_county_fund_share"] > ffs["out_of_county_fund_share"]
    assert gb["out_of_county_fund_share"] < no_investment["out_of_county_fund_share"] - 0.03


def test_the_communitys_decision_keeps_patients_in_the_county():
    """The same budget without the decision: members ration in-county care while out-of-county care goes on, so
    the out-of-county share rises; the community's posted doctors draw patients back from out of the county."""
    _, deciding = arm(BUDGET)
    _, passive = arm(NO_DECISION)
    assert deciding["out_of_county_fund_share"] < passive["out_of_county_fund_share"]
    # The primary visit share is not asserted: with clinic hours that bind and demand that answers price, the
    # posted doctors' pull on primary visits is within this county's noise (0.6073 deciding, 0.6077 passive on
    # the default seed); the community also invests in its county hospitals, whose capability draws patients up.
    assert deciding["fund_claims_per_capita"] < passive["fund_claims_per_capita"]
    assert passive["community_instruments_per_capita"] == 0


def test_without_a_stake_the_community_does_nothing_and_the_effects_vanish():
    """Savings retained 0 and overspend borne 0: the community keeps nothing of what it would save, posts no
    doctor, runs no platform, and its residents' care is fee-for-service's, number for number."""
    _, ffs = arm()
    model, idle = arm(NO_STAKE)
    history = model.community.instruments.history
    assert history and all(h["chosen_posted"] == 0 and not h["chosen_platform"] and h["chosen_invested"] == 0
                           for h in history)
    assert model.community.instruments_paid == 0
    for name in ("out_of_county_fund_share", "primary_visit_share", "admissions_per_1000", "fund_claims_per_capita",
                 "wait_days_mean"):
        assert idle[name] == ffs[name], name


def test_the_decision_weighs_what_instruments_cost():
    """Instruments dearer than anything they could save are not taken: the effects vanish."""
    dear = {**BUDGET, "behaviour": {"community": {"posted_doctor_allowance_yuan": 1e9,
                                                  "platform_cost_yuan_per_resident_year": 1e6,
                                                  "capability_step_cost_yuan_per_resident_year": 1e6}}}
    model, gb = arm(dear)
    _, passive = arm(NO_DECISION)
    assert model.community.instruments.posted == 0 and model.community.instruments_paid == 0
    assert model.community.instruments.invested == 0
    for name in ("primary_visit_share", "out_of_county_fund_share"):
        assert gb[name] == passive[name], name


def test_instruments_are_paid_from_the_budget_and_money_is_conserved():
    model, gb = arm(BUDGET)
    community, fund = model.community, model.fund
    assert community.instruments_paid > 0
    assert fund.to_community == pytest.approx(
        community.claims_paid + community.instruments_paid + community.net_position, rel=1e-12)
    years = model.tally.person_days / 365
    assert gb["community_instruments_per_capita"] == pytest.approx(community.instruments_paid / years)


def test_the_investment_ends_with_the_budget_that_pays_for_it():
    """A budget replaced by fee-for-service on the timeline: nobody pays for the specialists and equipment, and
    the county hospitals are back at their scenario's capability."""
    switch = {**BUDGET, "timeline": [{"day": 200, "set": {"payment.model": "fee_for_service"}}]}
    model, _ = arm(switch, days=240)
    assert model.community.instruments.invested > 0
    assert model.policies["staffing"].county_gain > 0 and model.policies["staffing"].county_gain_applied == 0
    assert (model.facilities.capability[model.policies["staffing"].county] == 2.0).all()
