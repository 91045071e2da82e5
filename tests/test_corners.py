"""The triangle's three corners (scenarios/corners/): each county pursues two corners by its levers alone, and
the third corner gives way through the agents' decisions; no corner wins all three."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.engine.model import HealthSystemModel
from sim.params.loading import load_scenario
from sim.results import metrics

CORNERS = Path(__file__).resolve().parents[1] / "scenarios" / "corners"
SIZE = "population.size=100000"


@pytest.fixture(scope="module")
def corners() -> dict[str, dict]:
    out = {}
    for name in ("cheap_fast", "cheap_good", "fast_good"):
        spec = load_scenario(CORNERS / f"{name}.yaml", [SIZE])
        out[name] = metrics.compute(HealthSystemModel(spec, seed=spec.seed).run())
    return out


def test_fast_and_good_costs_most(corners):
    fast_good, cheap_fast, cheap_good = corners["fast_good"], corners["cheap_fast"], corners["cheap_good"]
    assert fast_good["spending_per_capita"] > 1.3 * max(cheap_fast["spending_per_capita"],
                                                        cheap_good["spending_per_capita"])
    assert fast_good["health_loss_per_1000"] < cheap_fast["health_loss_per_1000"]
    assert fast_good["wait_days_mean"] < cheap_good["wait_days_mean"] / 3


def test_cheap_and_good_queues(corners):
    cheap_good = corners["cheap_good"]
    assert cheap_good["spending_per_capita"] < min(corners["fast_good"]["spending_per_capita"],
                                                   corners["cheap_fast"]["spending_per_capita"])
    assert cheap_good["elective_wait_days_p90"] >= 14  # weeks on the waiting list for some
    assert cheap_good["wait_days_mean"] > 3 * max(corners["fast_good"]["wait_days_mean"],
                                                  corners["cheap_fast"]["wait_days_mean"])


def test_cheap_and_fast_is_worse_care(corners):
    cheap_fast = corners["cheap_fast"]
    assert cheap_fast["wait_days_mean"] < corners["cheap_good"]["wait_days_mean"] / 3
    assert cheap_fast["spending_per_capita"] < corners["fast_good"]["spending_per_capita"]
    assert cheap_fast["health_loss_per_1000"] > corners["fast_good"]["health_loss_per_1000"] + 5
    assert cheap_fast["minutes_per_consultation"] < 0.5 * corners["fast_good"]["minutes_per_consultation"]


def test_no_corner_wins_all_three(corners):
    for name, m in corners.items():
        others = [o for n, o in corners.items() if n != name]
        best = [all(m[k] <= o[k] for o in others)
                for k in ("spending_per_capita", "wait_days_mean", "health_loss_per_1000")]
        assert not all(best), name
