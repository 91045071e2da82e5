"""Metrics by period: the stretches of a run between timeline dates (before / after a reform).

At the start of each period the model keeps a copy of its running totals and facility books; a period's
metrics are the ordinary metrics (``sim.results.metrics``) computed on what accumulated between its start and the
next period's start. Stocks (residents alive, episodes waiting) take their value at the period's end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sim.core.tally import Tally
from sim.engine.snapshot import snapshot
from sim.params.scenario import Scenario
from sim.results import metrics as M


@dataclass
class PeriodView:
    """What a metric reads, for one period."""

    tally: Tally
    facilities: object
    day: int            # days in the period
    spec: Scenario      # the scenario in force during the period


def period_view(model, start, end) -> PeriodView:
    """What ``model`` accumulated between two of its snapshots (``sim.engine.snapshot``)."""
    books = {k: end.books[k] - start.books[k] for k in end.books}
    return PeriodView(end.tally.since(start.tally), replace(model.facilities, books=books), end.day - start.day,
                      start.spec)


def period_metrics(model) -> list[dict]:
    """``[{"start_day", "end_day", "metrics"}]`` for every period of a finished run."""
    marks = list(model.period_starts) + [snapshot(model)]
    out = []
    for start, end in zip(marks[:-1], marks[1:], strict=True):
        if end.day <= start.day:
            continue
        out.append({"start_day": start.day, "end_day": end.day, "metrics": M.compute(period_view(model, start, end))})
    return out
