"""Residents learn what each facility can treat from outcomes (``sim.behaviour.perception``), on a small county.

Arms share a seed (common random numbers). Each effect is shown with learning on and shown to vanish with
``behaviour.resident.capability_memory_days = 0`` (no memory: the level's capability in the scenario rules).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from unittest import mock

import conftest
import numpy as np
import pytest
from conftest import same

from sim.behaviour.perception import CapabilityPerception
from sim.core.levels import COUNTY, OUT_OF_COUNTY, TOWNSHIP, VILLAGE
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SIZE = 30_000
DAYS = 365
OFF = {"behaviour": {"resident": {"capability_memory_days": 0}}}
SINKING = {"policies": {"sinking": {"doctors": 8, "start_day": 0}}}

county = partial(conftest.county, size=SIZE, days=DAYS)
run = partial(conftest.run, size=SIZE, days=DAYS)


def township_visits(model: HealthSystemModel) -> float:
    return float(model.tally.visits[TOWNSHIP])


@pytest.fixture(scope="module")
def runs():
    """A year with and without posted doctors, with learning on and off."""
    out = {}
    nogain = overlay(SINKING, {"behaviour": {"resident": {"capability_gain_preference": 0.0}}})
    for name, extra in (("base", {}), ("sink", SINKING), ("base_off", OFF), ("sink_off", {**SINKING, **OFF}),
                        ("sink_nogain", nogain)):
        out[name] = run(extra)[0]
    return out


def test_learning_off_leaves_perception_inert():
    """No memory: residents judge by the level table, so the perception's own parameters change nothing."""
    def inert(**resident):
        return run(overlay(OFF, {"behaviour": {"resident": resident}}), size=20_000, days=120)[1]

    plain = inert()
    other = inert(capability_prior_outcomes=1, capability_gain_preference=5)
    assert same(plain, other)


def test_a_better_centre_draws_mild_cases_only_with_a_preference_for_it(runs):
    """capability_gain_preference: a centre whose standing rose draws every kind of case, not only those that
    need its new capability; with the preference at 0 the draw is smaller."""
    with_preference = township_visits(runs["sink"]) / township_visits(runs["base"]) - 1
    without = township_visits(runs["sink_nogain"]) / township_visits(runs["base"]) - 1
    assert with_preference > without + 0.01


def test_sinking_is_learned_and_draws_patients_only_with_learning(runs):
    sink, base = runs["sink"], runs["base"]
    t = sink.facilities.level == TOWNSHIP
    assert (sink.perception.perceived[t] > base.perception.perceived[t] + 0.2).all()
    learned = township_visits(sink) / township_visits(base) - 1
    unlearned = township_visits(runs["sink_off"]) / township_visits(runs["base_off"]) - 1
    assert learned > unlearned + 0.008
    # without learning, capability alone draws nobody: what is left (under 2%; 0.2% with price_sensitivity 0) is the
    # posted doctors' extra outpatient slots, which shorten the waits residents expect, and what residents learn
    # the centres' care now costs (cost beliefs, sim.behaviour.care_seeking)
    assert unlearned < 0.02
    assert (runs["sink_off"].perception.perceived[t] == Scenario().facilities.township.capability).all()


def test_baseline_stays_near_the_reputation(runs):
    """Facilities as capable as reputed: perceived capability stays near the prior (a little below on
    average: routine cases can show a centre falling behind, never one moving ahead)."""
    p = runs["base"].perception
    assert np.abs(p.perceived - p.prior).max() < 0.3
    t = runs["base"].facilities.level == TOWNSHIP
    assert abs(p.perceived[t].mean() - p.prior[t].mean()) < 0.15


def test_facility_without_cases_keeps_its_prior():
    """Bad outcomes at one township centre move its standing and no other facility's."""
    spec = county()
    level = np.array([VILLAGE, TOWNSHIP, TOWNSHIP, COUNTY, OUT_OF_COUNTY], dtype=np.int8)
    p = CapabilityPerception(spec, level, np.array([0.0, 1.0, 2.0, 3.0]))
    n = 50
    fac, need = np.full(n, 1), np.full(n, 2.0)
    risk = np.full(n, 0.05)
    bad = np.arange(n) < 25  # half die: far worse than the 5 % a capable-as-reputed centre would show
    p.observe(fac, need, risk, risk, np.full(n, 2.5), bad, np.zeros(n, bool))
    p.end_of_day()
    assert p.perceived[1] < p.prior[1] - 0.3
    others = np.arange(5) != 1
    assert (p.perceived[others] == p.prior[others]).all()


def test_a_centre_that_falls_behind_loses_standing_and_patients():
    """Township capability lowered from 1 to 0.6 on day 60, residents not told: with learning their perceived capability
    falls below the reputation and the centres lose patients; residents who need endless evidence before
    they change their minds (a huge prior) keep coming."""
    worse = {"timeline": [{"day": 60, "set": {"facilities.township.capability": 0.6}}],
             "behaviour": {"resident": {"capability_gain_preference": 0.0}}}  # the shortfall channel alone
    stubborn = {"behaviour": {"resident": {"capability_prior_outcomes": 1e12}}}
    fell = HealthSystemModel(county(worse, days=300)).run()
    kept = HealthSystemModel(county(overlay(worse, stubborn), days=300)).run()
    t = fell.facilities.level == TOWNSHIP
    # the provider refers most cases it can no longer treat, so evidence is thin: the busier centre shows it
    assert fell.perception.perceived[t].min() <= 1.0 - 0.1 + 1e-9
    assert kept.perception.perceived[t] == pytest.approx(kept.perception.prior[t], abs=1e-6)
    assert township_visits(fell) < township_visits(kept)


def test_residents_expect_the_risks_of_what_they_have_learned():
    """Residents expect a facility's risks from the capability they believe it has: as its reputation
    promised at the prior; lower for the cases it has shown it can treat, higher where it has shown it cannot;
    for cases within both, as before. With learning off they expect the base risks (no factor)."""
    spec = county()
    level = np.array([TOWNSHIP, TOWNSHIP, TOWNSHIP], dtype=np.int8)
    p = CapabilityPerception(spec, level, np.array([0.0, 1.0, 2.0, 3.0]))
    fac = np.arange(3)
    need = np.full(3, 2.0)
    assert p.expected_risk_factor(fac, need) == pytest.approx(1.0)
    p.perceived = np.array([1.6, 1.0, 0.6])  # better, as reputed, worse
    better, reputed, worse = p.expected_risk_factor(fac, need)
    assert better < reputed == 1.0 < worse
    assert p.expected_risk_factor(fac, np.full(3, 0.5))[:2] == pytest.approx(1.0)  # within both
    off = CapabilityPerception(county(OFF), level, np.array([0.0, 1.0, 2.0, 3.0]))
    assert off.expected_risk_factor(fac, need) is None


def test_a_learned_gain_is_counted_once(runs):
    """A centre whose gain residents have learned draws them through the capability term; its better outcomes
    no longer surprise them, so their opinion of it does not rise again on top. With expectations held at the
    reputation (the expected-risk factor knocked out) the village opinion of the township centres rises further
    where posted doctors raised their capability, and not where nothing changed."""
    def opinion(model: HealthSystemModel) -> float:
        return float(model.pop.village_opinion[:, TOWNSHIP].mean())

    held = {}
    with mock.patch.object(CapabilityPerception, "expected_risk_factor", lambda self, fac, need: None):
        for name, extra in (("base", {}), ("sink", SINKING)):
            held[name] = HealthSystemModel(county(extra), seed=conftest.SEED).run()
    counted_twice = {name: opinion(held[name]) - opinion(runs[name]) for name in held}
    assert counted_twice["sink"] > 0.005
    assert counted_twice["base"] < counted_twice["sink"] / 2
