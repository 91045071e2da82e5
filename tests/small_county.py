"""Small counties for behaviour tests: the schema's defaults at a chosen size and length on one seed, and runs
cached by their overrides, so every arm of a comparison shares its random numbers (common random numbers) and
each arm runs once per test session."""

from __future__ import annotations

import json
from functools import cache

from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.results import metrics

SEED = 20240101


def county(overrides: dict | None = None, *, size: int = 20_000, days: int = 150, seed: int = SEED) -> Scenario:
    """The default county of ``size`` residents for ``days``, with ``overrides`` (a nested mapping) laid over."""
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
    """The finished model and its metrics (cached: the same arm is never run twice)."""
    return _run(json.dumps(overrides or {}, sort_keys=True), size, days, seed)
