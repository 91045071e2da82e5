"""Behaviour of the model on a small county: does each lever move the triangle the way it should?

Every test runs two arms on the same seed (common random numbers: each episode gets the same luck in both
arms, so differences come from decisions) and asserts only directions and exact invariants, never calibrated
values, so the tests survive re-calibration of the defaults.
"""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
import pytest
from conftest import every_case, provider_cases, same

from sim.behaviour.provider import Provider, guideline_charges
from sim.core.conditions import load_catalogue
from sim.core.episodes import FORGONE
from sim.core.levels import COUNTY, LEVELS, TOWNSHIP
from sim.core.tally import DAILY_COLUMNS
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import FeeSchedule, Payment, Scenario
from sim.payment.models import make_payment

SIZE = 30_000   # residents: two townships, two county hospitals, one city hospital
DAYS = 150

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def defaults():
    return Scenario()


def stay_ratio(model: HealthSystemModel) -> float:
    """Bed-days stayed / clinical bed-days of the same discharged inpatients (case-mix adjusted LOS)."""
    t = model.tally
    return float(t.bed_days.sum() / t.clinical_bed_days)


def profit_weight(w: float) -> dict:
    return {"behaviour": {"provider": {"profit_weight": w}}}


def margins(m: float) -> dict:
    return {"payment": {"fee_schedule": {k: m for k in ("services_margin", "drugs_margin", "consumables_margin",
                                                        "bed_day_margin")}}}


REIMBURSEMENT_KEYS = ("reimbursement", "employee_reimbursement", "outpatient_reimbursement",
                      "employee_outpatient_reimbursement")


def reimbursement(share: float) -> dict:
    return {"insurance": {key: dict.fromkeys(LEVELS, share) for key in REIMBURSEMENT_KEYS}}


# --------------------------------------------------------------------------------------------- access
def test_fewer_doctors_means_longer_waits():
    d = defaults().facilities
    cut = {"facilities": {"county": {"doctors": d.county.doctors * 0.1},
                          "township": {"doctors": d.township.doctors * 0.1}}}
    base_model, base = run()
    cut_model, short = run(cut)
    assert short["wait_days_mean"] > base["wait_days_mean"]
    assert short["wait_days_p90"] >= base["wait_days_p90"]

    # the outpatient queues at the understaffed levels are longer on average
    def mean_queue(model):
        daily = model.tally.daily[:, :, DAILY_COLUMNS.index("queue_length")]
        return daily[:, [TOWNSHIP, COUNTY]].sum(1).mean()

    assert mean_queue(cut_model) > mean_queue(base_model)


def test_higher_reimbursement_means_less_forgone_care_and_more_fund_spending():
    low_model, low = run(reimbursement(0.3))
    high_model, high = run(reimbursement(0.95))
    # cheaper care: fewer episodes forgo care, whether counted as a rate or as episodes
    assert high["forgone_care_rate"] < low["forgone_care_rate"]
    assert high_model.tally.ended[FORGONE] < low_model.tally.ended[FORGONE]
    # the fund pays more, per resident, and residents pay a smaller share
    assert high["fund_spending_per_capita"] > low["fund_spending_per_capita"]
    assert high["oop_share"] < low["oop_share"]


def test_weaker_county_hospital_sends_more_care_out_of_county():
    strong_model, strong = run({"facilities": {"county": {"capability": 2.0}}})
    weak_model, weak = run({"facilities": {"county": {"capability": 1.2}}})
    assert weak["out_of_county_fund_share"] > strong["out_of_county_fund_share"]
    assert weak["in_county_rate"] < strong["in_county_rate"]
    assert weak_model.tally.referrals_up[COUNTY] > strong_model.tally.referrals_up[COUNTY]


# --------------------------------------------------------------------------------------------- incentives
def test_higher_profit_weight_under_fee_for_service_means_more_treatment_and_longer_stays():
    assert defaults().payment.model == "fee_for_service"
    low_model, low = run(profit_weight(0.25))
    high_model, high = run(profit_weight(1.5))
    assert high["intensity_mean"] > low["intensity_mean"]
    assert high["cost_per_visit"] > low["cost_per_visit"]
    assert high["los_mean"] > low["los_mean"]
    # the same comparison, adjusted for case mix: days stayed per clinical bed-day
    assert stay_ratio(high_model) > stay_ratio(low_model)
    # Not asserted: the county-wide cost_per_admission. A higher profit weight also admits milder cases, and
    # when county beds fill the extra admissions go to cheaper township centres, so the mix of admissions
    # shifts toward cheap ones; the bill of the same case rises (next test).


def test_the_same_case_is_billed_more_at_higher_profit_weight():
    """Provider decisions for every (condition, severity) at every level with beds, beds not scarce."""
    d = defaults()
    cat = load_catalogue(d.case_mix.catalogue)
    spec = d.model_copy(update={"payment": Payment(fee_schedule=FeeSchedule(
        services_margin=0.2, drugs_margin=0.2, consumables_margin=0.2, bed_day_margin=0.2))})
    payment = make_payment(spec, cat)
    c, sev = every_case(cat)
    for level in ("township", "county", "out_of_county"):
        cases = provider_cases(d, level, c, sev, has_beds=True)
        price = cases.price_level
        bills = {}
        for w in (0.25, 1.5):
            behaviour = d.behaviour.provider.model_copy(update={"profit_weight": w})
            decision = Provider(behaviour, d.outcomes, cat, payment).decide(cases)
            _, per_case, daily = guideline_charges(cat, c, sev, price)
            bills[w] = (decision, per_case.sum(1) * decision.intensity + daily * decision.stay_ratio)
        (low, low_bill), (high, high_bill) = bills[0.25], bills[1.5]
        assert (high.intensity >= low.intensity).all() and (high.intensity > low.intensity).any(), level
        assert (high.stay_ratio >= low.stay_ratio).all() and (high.stay_ratio > low.stay_ratio).any(), level
        assert (high_bill >= low_bill - 1e-9).all() and high_bill.sum() > low_bill.sum(), level


def test_profit_weight_zero_treats_exactly_to_the_guideline():
    model, m = run(profit_weight(0.0))
    t = model.tally
    assert t.treated.sum() > 0 and t.discharges.sum() > 0, "the test needs treated and discharged cases"
    # every treated case's intensity is exactly 1
    np.testing.assert_allclose(t.intensity_sum, t.treated, rtol=1e-9, atol=0)
    assert m["intensity_mean"] == pytest.approx(1.0, rel=1e-9)
    # every stay equals the clinical stay: floor(1 x clinical + u) = clinical for integer clinical stays
    assert t.bed_days.sum() == pytest.approx(t.clinical_bed_days, rel=1e-6)
    assert m["los_mean"] == pytest.approx(t.clinical_bed_days / t.discharges.sum(), rel=1e-6)


def test_fee_schedule_margins_do_not_matter_when_providers_ignore_profit():
    _, thin = run(overlay(profit_weight(0.0), margins(0.05)))
    _, fat = run(overlay(profit_weight(0.0), margins(0.6)))
    assert fat["los_mean"] == thin["los_mean"]
    assert fat["intensity_mean"] == thin["intensity_mean"]
    # Margins change what care costs the providers, so their books, and nothing else: same seed, same decisions.
    assert fat["provider_surplus_per_capita"] > thin["provider_surplus_per_capita"]
    books = {"provider_surplus_per_capita", "staff_income_primary", "staff_income_county"}
    assert same(thin, fat, skip=books)


def test_fee_schedule_margins_raise_stays_and_intensity_when_providers_weigh_profit():
    thin_model, thin = run(overlay(profit_weight(0.5), margins(0.05)))
    fat_model, fat = run(overlay(profit_weight(0.5), margins(0.6)))
    assert fat["los_mean"] > thin["los_mean"]
    assert fat["intensity_mean"] > thin["intensity_mean"]
    assert stay_ratio(fat_model) > stay_ratio(thin_model)


def test_bed_queues_stay_bounded_because_patients_leave_them():
    """Elective patients waiting for a bed beyond their patience choose again or give up, so an overfull county
    does not accumulate a waiting list that grows for ever; with infinite patience it does."""
    from sim.core.episodes import BED_QUEUE

    def bed_queue_after(days_list, patience):
        model = HealthSystemModel(county({"behaviour": {"resident": {"elective_patience_days": patience}},
                                                "facilities": {"county": {"beds": 300}}}), seed=3)
        out = []
        for day in range(max(days_list) + 1):
            model.step()
            if day in days_list:
                out.append(int((model.episodes.state == BED_QUEUE).sum()))
        return out

    early, late = bed_queue_after([60, 140], patience=10.0)
    assert late <= 1.5 * early + 20
    early_inf, late_inf = bed_queue_after([60, 140], patience=1e9)
    assert late_inf > 1.5 * early_inf + 20


def test_a_hospital_keeps_patients_shorter_only_once_its_beds_are_scarce():
    """The bed's shadow price: above bed_pressure_start_occupancy a fuller hospital discharges sooner; below it, or
    with no shadow price, occupancy changes no decision."""
    d = defaults()
    cat = load_catalogue(d.case_mix.catalogue)
    c, sev = every_case(cat)

    def stays(occupancy, **behaviour):
        b = d.behaviour.provider.model_copy(update={"profit_weight": 1.0, **behaviour})
        cases = provider_cases(d, "county", c, sev, has_beds=True, occupancy=occupancy)
        return Provider(b, d.outcomes, cat, make_payment(d, cat)).decide(cases).stay_ratio

    calm, full = stays(0.5), stays(0.97)
    assert (full <= calm + 1e-12).all() and (full < calm).any()
    # below the threshold occupancy is not felt
    np.testing.assert_array_equal(stays(0.8), calm)
    np.testing.assert_array_equal(stays(0.97, bed_pressure_start_occupancy=0.98), calm)
    # with no shadow price beds are never scarce to the provider
    np.testing.assert_array_equal(stays(0.97, bed_shadow_price_yuan=0.0), stays(0.5, bed_shadow_price_yuan=0.0))
