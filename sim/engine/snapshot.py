"""A copy of a run's running totals and facility books at a day: where each period between timeline dates starts
(``sim.results.periods`` computes a period's metrics from two of them)."""

from __future__ import annotations

from dataclasses import dataclass

from sim.core.tally import Tally
from sim.params.scenario import Scenario


@dataclass
class Snapshot:
    day: int
    tally: Tally
    books: dict
    spec: Scenario


def snapshot(model) -> Snapshot:
    """The model's totals, books and scenario in force, now."""
    return Snapshot(model.day, model.tally.totals(), {k: v.copy() for k, v in model.facilities.books.items()},
                    model.spec)
