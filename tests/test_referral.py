"""Referral rules and deductible continuity (``sim.policies.referral``) on a small county.

Each test runs arms on the same seed (common random numbers) and asserts directions and exact invariants; each
effect is shown to vanish when its incentive or mechanism is switched off (a zero reimbursement cut, zero
deductibles, a platform booking every patient refuses, no transfer possible).
"""

from __future__ import annotations

from functools import partial

import conftest
import numpy as np
import pytest
from conftest import SEED, check_episodes, check_money, check_queues, same

from sim.core.episodes import INPATIENT
from sim.core.levels import COUNTY, OUT_OF_COUNTY, TOWNSHIP
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario

SIZE = 20_000
DAYS = 150
UPPER = [COUNTY, OUT_OF_COUNTY]

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def referral(**rules) -> dict:
    return {"policies": {"referral": rules}}


# A high township deductible makes the deductible a patient saves (and so continuity's effect on each decision)
# larger than the noise of a small county's few transfers: with it, continuity adds transfers on each of six seeds
# tried; with the default 200 yuan the run-level effect is within that noise (the decision-level test below holds
# for any deductible).
DEDUCTIBLES = {"village": 0, "township": 800, "county": 1200, "out_of_county": 2000}


def down(continuity: bool = False, deductible: dict = DEDUCTIBLES) -> dict:
    """Downward transfer of convalescence (rehabilitation, and the tails of stroke, fracture, trauma and
    surgery stays) under DRG, where the hospital gains nothing from a stay's last days and proposes."""
    return {"payment": {"model": "drg"},
            "insurance": {"deductible_continuity": continuity, "deductible": deductible},
            "policies": {"referral": {"down": {"enabled": True}}}}


# ----------------------------------------------------------------------------------------------- defaults
def test_every_referral_lever_is_off_by_default():
    d = Scenario()
    r = d.policies.referral
    assert (r.first_contact, r.platform, r.down.enabled, d.insurance.deductible_continuity) == (
        "none", False, False, False)


def test_inert_levers_change_nothing():
    """Levers whose incentive is zero leave every number of the run as it was."""
    _, base = run()
    _, soft_free = run(referral(first_contact="soft", unreferred_reimbursement_cut=0.0))
    assert same(base, soft_free)
    _, nobody_qualifies = run(referral(down={"enabled": True, "min_remaining_days": 60}))
    assert same(base, nobody_qualifies)
    # a booking worth far less than choosing for oneself is refused by everyone: offers are made, nothing else moves
    refused_model, everyone_refuses = run(referral(platform=True, platform_booking_utility=-50.0))
    assert refused_model.tally.platform_offers > 0 and refused_model.tally.platform_placed == 0
    assert everyone_refuses["platform_acceptance"] == 0
    assert same(base, everyone_refuses, skip={"platform_acceptance"})


# ----------------------------------------------------------------------------------------------- first contact
def test_soft_first_contact_lowers_unreferred_hospital_visits():
    none_model, none = run()
    soft_model, soft = run(referral(first_contact="soft"))
    assert soft_model.tally.unreferred_visits[UPPER].sum() < none_model.tally.unreferred_visits[UPPER].sum()
    assert soft["unreferred_upper_level_share"] < none["unreferred_upper_level_share"]
    # the fund pays less for the unreferred care that still goes to hospitals
    assert soft["fund_spending_per_capita"] < none["fund_spending_per_capita"]


def test_hard_first_contact_treats_no_unreferred_episode_at_a_hospital():
    none_model, none = run()
    hard_model, hard = run(referral(first_contact="hard"))
    assert none_model.tally.unreferred_visits[UPPER].sum() > 0
    assert hard_model.tally.unreferred_visits[UPPER].sum() == 0
    assert hard["unreferred_upper_level_share"] == 0.0
    # hospitals still see referred, time-critical and filed chronic cases, and primary doctors refer more
    assert hard_model.tally.visits[COUNTY] > 0 and hard_model.tally.referred_visits[COUNTY] > 0
    assert hard["referral_up_rate"] > none["referral_up_rate"]
    assert hard["primary_visit_share"] > none["primary_visit_share"]


# ----------------------------------------------------------------------------------------------- platform
def test_referral_platform_lowers_leakage_out_of_county():
    free_model, free = run()
    platform_model, platform = run(referral(platform=True))
    assert platform_model.tally.platform_placed > 0
    assert platform_model.tally.referred_leaks < free_model.tally.referred_leaks
    assert platform["referred_leakage_rate"] < free["referred_leakage_rate"]


def test_without_a_platform_no_booking_is_offered():
    model, m = run()
    assert model.tally.platform_offers == 0 and model.tally.platform_placed == 0
    assert np.isnan(m["platform_acceptance"])


def test_fewer_accept_a_booking_worth_less():
    """Over a run, acceptance answers the platform's advantage; with none, a booking is taken only by those who
    would have chosen that facility anyway. (Over a run, distrust of the county hospitals also changes who is
    referred, and from where; the decision itself is tested on fixed patients below.)"""
    _, default = run(referral(platform=True))
    _, plain = run(referral(platform=True, platform_booking_utility=0.0))
    _, keen = run(referral(platform=True, platform_booking_utility=1.5))
    assert 0 < plain["platform_acceptance"] < default["platform_acceptance"] < keen["platform_acceptance"] < 1
    assert keen["referred_leakage_rate"] < plain["referred_leakage_rate"]


def _referred_from_townships(model: HealthSystemModel) -> np.ndarray:
    """Episodes at township centres today (waiting or in a bed), made referred up as ``_refer`` makes them
    (non-critical only; the model is not stepped again): every booking the platform offers them is at a county
    hospital."""
    ep, fac_t = model.episodes, model.facilities
    rows = np.flatnonzero(ep.facility[:len(ep)] >= 0)
    rows = rows[(fac_t.level[ep.facility[rows]] == TOWNSHIP) & ~model.cat.time_critical[ep.condition[rows]]]
    ep.min_level[rows] = TOWNSHIP + 1
    ep.rechoices[rows] = 0
    ep.referred[rows] = True
    return rows


def test_a_patient_refuses_a_far_or_distrusted_booking_more_often():
    """The same referred patients, the same day, answer the same offers: more refuse when the county hospitals are
    an hour farther from every village, or trusted less; each offer is at a county hospital, the alternatives
    (the city, self-care, going without) unchanged."""
    model = HealthSystemModel(county(referral(platform=True)), seed=SEED)
    for _ in range(40):
        model.step()
    rows = _referred_from_townships(model)
    policy = model.policies["referral"]
    offered, option, accept = policy.offer(rows)
    assert len(offered) > 100 and (model.facilities.level[model.geo.options[
        model.pop.village[model.episodes.resident[offered]], option]] == COUNTY).all()
    share = accept.mean()
    assert 0 < share < 1
    at_county = model.option_level == COUNTY
    minutes = model.geo.option_minutes.copy()
    model.geo.option_minutes[:, at_county] += 60.0
    _, _, far = policy.offer(rows)
    model.geo.option_minutes[:] = minutes
    assert far.mean() < share and not (far & ~accept).any()  # nobody takes a farther booking they refused
    model.pop.trust[:, COUNTY] -= 1.0
    _, _, distrusted = policy.offer(rows)
    assert distrusted.mean() < share and not (distrusted & ~accept).any()


# ----------------------------------------------------------------------------------------------- downward transfer
def test_deductible_continuity_means_more_downward_transfers_for_rehabilitation():
    # twice the usual county: a few dozen transfers a run, so that the difference is not one patient's luck
    without_model, without = run(down(False), size=2 * SIZE)
    with_model, with_ = run(down(True), size=2 * SIZE)
    # continuity waives the township deductible of a transfer from a county hospital (not from out of county)
    assert without_model.tally.referrals_down[COUNTY] > 0
    assert with_model.tally.referrals_down[COUNTY] > without_model.tally.referrals_down[COUNTY]
    # (the acceptance *rate* over a run also moves with who is offered a transfer as the two runs drift apart;
    # the decision itself is compared patient by patient in the next test)
    # with no deductible to waive, continuity changes nothing
    free = dict.fromkeys(DEDUCTIBLES, 0)
    _, free_without = run(down(False, free))
    _, free_with = run(down(True, free))
    assert same(free_without, free_with)


def test_a_township_takes_convalescent_patients_only_as_far_as_its_capability_reaches():
    """A township centre takes a transferred patient when its capability reaches the lesser of the case's need and
    what convalescence needs (convalescent_need): asking more of it leaves fewer cases it may take."""
    base_model, _ = run(down(False), size=2 * SIZE)
    strict = overlay(down(False), {"policies": {"referral": {"down": {"convalescent_need": 3.0}}}})
    strict_model, _ = run(strict, size=2 * SIZE)
    assert base_model.tally.referrals_down.sum() > 0
    assert strict_model.tally.referrals_down.sum() < base_model.tally.referrals_down.sum()


def test_each_patient_offered_a_transfer_accepts_more_readily_with_continuity():
    """The acceptance decision itself, on the same patients on the same day: continuity only adds the waived
    deductible to the utility of moving, so everyone who accepts without it accepts with it."""
    model = HealthSystemModel(county(down(False)), seed=SEED)
    accepted = {False: 0, True: 0}
    for _ in range(DAYS):
        model.step()
        rules = model.policies["referral"]
        rows = np.flatnonzero((model.episodes.state == INPATIENT)
                              & (model.facilities.level[model.episodes.facility] == COUNTY))
        if len(rows) == 0:
            continue
        plans = {}
        for continuity in (False, True):
            rules.continuity = continuity
            plans[continuity] = rules._accept(rows).accept
        rules.continuity = False
        assert (plans[True] >= plans[False]).all()
        for k in accepted:
            accepted[k] += int(plans[k].sum())
    assert accepted[True] > accepted[False] > 0


def test_hospitals_propose_transfers_only_when_their_objective_prefers_it():
    ample = {"facilities": {"county": {"beds": 2000}, "out_of_county": {"beds": 2000}}}
    ffs = {"policies": {"referral": {"down": {"enabled": True}}}}
    # fee-for-service, beds to spare: the remaining days earn a margin, so hospitals keep their patients
    ffs_model, _ = run(overlay(ffs, ample))
    assert ffs_model.tally.down_proposals == 0
    # beds scarce: the bed shadow price makes the last days cost more than they earn
    scarce_model, _ = run(overlay(ffs, {"facilities": {"county": {"beds": 300}}}))
    assert scarce_model.tally.referrals_down.sum() > 0
    # a tight medical community saves the fund's money on the cheaper township bed, beds to spare or not
    community = {"payment": {"model": "global_budget"}, "policies": {"integration": {"income_tie": {"none": 1.0}}}}
    community_model, _ = run(overlay(overlay(ffs, ample), community))
    assert community_model.tally.referrals_down.sum() > 0
    # ... unless providers weigh no money at all (the transfer's friction is then never worth it)
    indifferent_model, _ = run(overlay(overlay(overlay(ffs, ample), community),
                                       {"behaviour": {"provider": {"profit_weight": 0.0}}}))
    assert indifferent_model.tally.down_proposals == 0


def test_split_stays_keep_the_books_balanced():
    model, m = run(down(False))
    t, books = model.tally, model.facilities.books
    assert t.referrals_down.sum() > 0
    np.testing.assert_allclose(t.provider_revenue.sum(), t.fund.sum() + t.oop.sum(), rtol=1e-9)
    np.testing.assert_allclose(books["revenue"].sum(), books["fund_income"].sum() + books["oop_income"].sum(),
                               rtol=1e-9)
    np.testing.assert_allclose(books["bed_days"].sum(), t.bed_days.sum(), rtol=1e-9)
    assert (model.facilities.occupied >= 0).all()
    assert 0 < m["township_convalescent_bed_day_share"] < 1


def test_invariants_hold_with_every_referral_lever_on():
    """Queues and beds match the episodes in them every day, every bill is paid once by the fund or the patient,
    every episode ends once, admissions - discharges = inpatients (a transfer is both), with all levers on."""
    spec = county({"facilities": {"county": {"beds": 300}}, "insurance": {"deductible_continuity": True},
                   "policies": {"referral": {"first_contact": "soft", "platform": True, "down": {"enabled": True}}}})
    model = HealthSystemModel(spec, seed=SEED)
    for _ in range(spec.days):
        model.step()
        check_queues(model)
    check_money(model)
    check_episodes(model)
    t = model.tally
    assert t.referrals_down.sum() > 0 and t.platform_placed > 0


def test_a_condition_missing_from_the_catalogue_is_named():
    from sim.core.conditions import CatalogueError

    with pytest.raises(CatalogueError, match=r"policies\.referral\.down\.tail_conditions.*'strok'"):
        HealthSystemModel(county(referral(down={"enabled": True, "tail_conditions": ["strok"]})))


def test_a_transferred_stays_hospital_part_is_billed_at_procurements_prices():
    """The hospital's bill for the days before a downward transfer is priced as any stay's: a cut on drug and
    consumable prices lowers those categories' share of it, as it does of finished stays; with no cut the share is
    the catalogue's."""

    def first_parts(overrides: dict) -> np.ndarray:
        """Charges by category [3] of the hospital parts of every transferred stay."""
        model = HealthSystemModel(county(overrides), seed=SEED)
        policy = model.policies["referral"]
        booked = np.zeros(3)
        bill_first_part = policy._bill_first_part

        def counted(*args):
            before = model.tally.charges.sum(0).copy()
            bill_first_part(*args)
            booked[:] += model.tally.charges.sum(0) - before

        policy._bill_first_part = counted
        model.run()
        assert model.tally.referrals_down.sum() > 0
        return booked

    base = first_parts(down(False))
    cut = first_parts(overlay(down(False), {"policies": {"procurement": {"drug_price_cut": 0.53,
                                                                         "consumable_price_cut": 0.69}}}))
    base_share, cut_share = base / base.sum(), cut / cut.sum()
    assert cut_share[1] < 0.8 * base_share[1]  # drugs
    assert cut_share[2] < 0.6 * base_share[2]  # consumables
    assert cut_share[0] > base_share[0]  # services
