"""The plan of a sweep: its points (one resolved scenario each) and its runs (a point, a replicate, a seed).

A plan is what a sweep file expands to (``sim.experiments.sweep.load_sweep``) and what a store keeps (``plan.json``), so
that a sweep can be resumed and analysed without its file. A run's key is a hash of its resolved scenario, its
seed and the package version: the name of its file in the store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sim import __version__
from sim.experiments.sweep_schema import Sweep
from sim.params.loading import key_path, set_value
from sim.params.scenario import Scenario


@dataclass(frozen=True)
class Point:
    index: int
    values: dict[str, Any]  # parameter name -> value
    settings: dict[str, Any]  # dotted scenario key -> value


@dataclass(frozen=True)
class Run:
    key: str  # hash of the resolved scenario, the seed and the package version
    point: int
    replicate: int
    seed: int


@dataclass
class Plan:
    """A sweep expanded: the base scenario (resolved, with `set` applied), its points and its runs."""

    sweep: Sweep
    base: dict
    points: list[Point]
    runs: list[Run]

    @property
    def metrics(self) -> list[str]:
        return self.sweep.kept_metrics()

    @property
    def seed(self) -> int:
        return self.base["seed"]

    def scenario(self, point: Point) -> Scenario:
        return Scenario.model_validate(apply_settings(self.base, point.settings))

    def unique_runs(self) -> list[Run]:
        """Runs with distinct keys, first occurrence first: two points that resolve to the same scenario run once."""
        first: dict[str, Run] = {}
        for run in self.runs:
            first.setdefault(run.key, run)
        return list(first.values())

    def to_json(self) -> dict:
        return {
            "sweep": self.sweep.model_dump(mode="json"),
            "base": self.base,
            "points": [{"values": p.values, "settings": p.settings} for p in self.points],
            "runs": [[r.key, r.point, r.replicate, r.seed] for r in self.runs],
        }

    @classmethod
    def from_json(cls, doc: dict) -> Plan:
        points = [Point(i, p["values"], p["settings"]) for i, p in enumerate(doc["points"])]
        runs = [Run(key, point, replicate, seed) for key, point, replicate, seed in doc["runs"]]
        return cls(Sweep.model_validate(doc["sweep"]), doc["base"], points, runs)

    @property
    def identity(self) -> str:
        """What makes two plans the same sweep: the same runs (scenarios, seeds, version), points and metrics."""
        doc = {"runs": self.to_json()["runs"], "points": self.to_json()["points"], "metrics": self.metrics}
        return _digest(doc)


def run_key(scenario: Scenario, seed: int) -> str:
    return _digest({"scenario": scenario.model_dump(mode="json"), "seed": seed, "version": __version__})


def _digest(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def apply_settings(base: dict, settings: dict[str, Any]) -> dict:
    """A copy of the scenario mapping ``base`` with each dotted key of ``settings`` set to its value."""
    data = dict(base)
    for key, value in settings.items():
        set_value(data, key_path(key), value, f"{key}={value!r}", "sweep")
    return data
