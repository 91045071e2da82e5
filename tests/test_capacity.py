"""Capacity that binds: clinic minutes and beds are finite, queues form where they bind and nowhere else, obey
the laws of queueing, and congestion costs quality through the provider's choice of pace."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from conftest import run

from sim.behaviour.pace import choose_pace
from sim.core import episodes as E
from sim.kernels import clinic_wait_hours, erlang_c
from sim.params.loading import overlay

LEVELS = ("village", "township", "county", "out_of_county")


def facilities(**per_level) -> dict:
    """Overrides of facilities.<level>.<key> for every level."""
    return {"facilities": {level: dict(per_level) for level in LEVELS}}


AMPLE = {"facilities": {level: {"clinic_hours_per_doctor_day": 24.0, "beds": 5000} for level in LEVELS}}
AMPLE["facilities"]["village"]["beds"] = 0
NO_LEAVING = {"behaviour": {"resident": {"elective_patience_days": 100_000.0}}}


def beds(county: int, out_of_county: int, township: int = 30) -> dict:
    return {"facilities": {"county": {"beds": county}, "out_of_county": {"beds": out_of_county},
                           "township": {"beds": township}}}


def merged(*parts: dict) -> dict:
    """The nested overrides of every part, later parts winning key by key."""
    return reduce(overlay, parts, {})


# ------------------------------------------------------------------------------------------- the clinic queue
def test_erlang_c_matches_known_values():
    assert erlang_c(1, 0.5) == pytest.approx(0.5)          # M/M/1: the chance to wait is the utilisation
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)    # M/M/2 at a = 1
    assert erlang_c(3, 0.0) == 0.0 and erlang_c(3, 3.0) == 1.0


def test_clinic_waits_grow_without_bound_as_utilisation_nears_one():
    doctors = np.full(6, 10.0)
    clinic = doctors * 8 * 60.0
    rho = np.array([0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
    hours = clinic_wait_hours(doctors, rho * clinic, clinic, np.full(6, 10.0), 0.5, np.full(6, 1e6))
    assert np.all(np.diff(hours) > 0)
    assert hours[-1] > 50 * hours[2]        # the last steps toward 1 cost more than all before them
    idle = clinic_wait_hours(doctors[:1], np.zeros(1), clinic[:1], np.zeros(1), 0.5, np.full(1, 8.0))
    assert idle[0] == 0.0


# ------------------------------------------------------------------------------------------- spare capacity
def test_with_ample_doctors_and_beds_no_queue_forms():
    model, m = run(merged(AMPLE, NO_LEAVING), size=20_000, days=120)
    daily = model.tally.daily
    from sim.core.tally import DAILY_COLUMNS
    assert daily[:, :, DAILY_COLUMNS.index("queue_length")].sum() == 0
    assert daily[:, :, DAILY_COLUMNS.index("waiting_list")].sum() == 0
    assert m["corridor_bed_days_per_1000"] == 0
    assert m["elective_wait_days_mean"] == 0
    assert m["outpatient_wait_hours_mean"] < 0.01
    # nobody hurries where nobody waits: every consultation at the normal pace
    assert (model.episodes.consult_short == 0).all()


def test_scarce_beds_make_an_elective_waiting_list_and_corridor_beds():
    _, ample = run(merged(AMPLE, NO_LEAVING), size=20_000, days=200)
    _, scarce = run(merged(beds(county=300, out_of_county=150), NO_LEAVING), size=20_000, days=200)
    assert scarce["elective_wait_days_mean"] > 5.0 > ample["elective_wait_days_mean"]
    assert scarce["waiting_list_per_1000"] > 1.0
    assert scarce["corridor_bed_days_per_1000"] > 0


def test_littles_law_holds_for_the_elective_waiting_list():
    """Patients on the list summed over days (the mean list x days) = admissions x mean days on the list, within
    10% over a stable year where nobody leaves the list (beds a little above the default, so that the list
    does not grow); and exactly, once the days of those still on the list at the end are counted."""
    model, m = run(merged(beds(county=720, out_of_county=360), NO_LEAVING), size=20_000, days=365)
    t, ep = model.tally, model.episodes
    h = t.elective_wait_hist
    assert h.sum() > 1000 and m["elective_wait_days_mean"] > 1.0
    waited_days = float((np.arange(len(h)) * h).sum())
    assert t.waiting_list_days == pytest.approx(waited_days, rel=0.10)
    on_list = ep.state == E.BED_QUEUE
    so_far = float((model.day - ep.admit_day[on_list]).sum())
    assert t.waiting_list_days == waited_days + so_far


def test_elective_waits_grow_as_beds_near_the_load():
    """Fewer beds for the same county: longer elective waits at each step towards the load. Below it, providers
    also admit fewer as beds fill (sim.behaviour.provider), so the list stops growing: rationing, not queueing,
    and the wait levels off (measured at 20,000 residents: 2.9, 23.0, 28.9 and 28.6 days for 720, 480, 400 and
    330 county beds)."""
    waits = []
    for county in (720, 480, 400, 330):
        _, m = run(merged(beds(county=county, out_of_county=county // 2), NO_LEAVING), size=20_000, days=200)
        waits.append(m["elective_wait_days_mean"])
    assert waits[0] < waits[1] < waits[2], waits
    assert min(waits[2:]) > 3 * waits[0] + 1.0, waits


# ------------------------------------------------------------------------------------------- pace and quality
SCARCE_DOCTORS = facilities(clinic_hours_per_doctor_day=0.6)


def test_scarce_doctors_shorten_consultations_and_lengthen_waits():
    _, full = run(None, size=20_000, days=120)
    _, scarce = run(SCARCE_DOCTORS, size=20_000, days=120)
    assert scarce["minutes_per_consultation"] < 0.9 * full["minutes_per_consultation"]
    assert scarce["outpatient_wait_hours_mean"] > full["outpatient_wait_hours_mean"]
    assert scarce["wait_days_mean"] > full["wait_days_mean"]


def test_hurried_consultations_cost_quality_only_through_missed_diagnoses():
    """The same scarce county with the miss per shortening at 0: the provider may still hurry, but nobody is
    harmed by it, and more of its patients fare well."""
    missing = merged(SCARCE_DOCTORS, {"behaviour": {"provider": {"missed_diagnosis_per_shortening": 0.3}}})
    harmless = merged(SCARCE_DOCTORS, {"behaviour": {"provider": {"missed_diagnosis_per_shortening": 0.0}}})
    model, hurried = run(missing, size=20_000, days=120)
    _, free = run(harmless, size=20_000, days=120)
    assert (model.episodes.consult_short > 0).any()
    assert free["minutes_per_consultation"] <= hurried["minutes_per_consultation"]
    assert hurried["health_loss_per_1000"] > free["health_loss_per_1000"]
    assert hurried["complication_rate"] > free["complication_rate"]


def test_fees_of_patients_who_would_leave_make_providers_hurry():
    """The pace decision itself, on the same queue: a provider that weighs a positive margin per visit hurries
    more the more it weighs it; with a weight of 0 the margin does not matter, and a negative margin (a
    capitated patient who costs more than his copayment) slows it down."""
    queue = dict(queued=np.array([60]), normal_minutes=np.array([900.0]), clinic_minutes=np.array([600.0]),
                 normal_share=np.array([1.0]), stake=np.array([0.005]), delay=np.array([0.0005]),
                 forgo=np.array([0.004]))
    common = dict(benefit_weight=1.0, value_per_daly=90_000.0, leave=0.25, miss_per_shortening=0.3, floor=0.4)

    def pace(weight, margin):
        return choose_pace(margin_per_visit=np.array([margin]), profit_weight=weight, **queue, **common)[0]

    assert pace(0.0, 200.0) == pace(0.0, -200.0) == pace(0.0, 0.0) < 1.0  # the patients' own trade
    assert pace(2.0, 200.0) <= pace(0.5, 200.0) < pace(0.0, 200.0)
    assert pace(2.0, -200.0) > pace(0.0, 0.0)
    # a facility with the hours for its queue never hurries, whatever it earns
    spare = {**queue, "clinic_minutes": np.array([1000.0])}
    assert choose_pace(margin_per_visit=np.array([500.0]), profit_weight=5.0, **spare, **common)[0] == 1.0
