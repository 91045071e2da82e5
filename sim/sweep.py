"""Sweep files: which scenarios to run, and the plan of runs they expand to.

A sweep names a base scenario, the parameters to vary and a design; it expands to points (one resolved
scenario each) and runs (a point and a replicate, with its seed). A sweep file is read with the same safe YAML
loader as scenario files and its errors have the same form: file, line, dotted key path, bad value, what is
allowed. Every point's scenario is validated before anything runs, so a value out of a key's bounds is reported
against the parameter that produced it::

    sweeps/bad.yaml: 1 problem
      line 14: parameters.insurance.reimbursement.county: insurance.reimbursement.county = 1.2: Input should be
      less than or equal to 1

Seeds and common random numbers: a run's seed depends on the sweep seed and the replicate number only
(``sim.runner.replicate_seed``), never on the point, and every point's scenario keeps ``seed`` = the sweep
seed (which fixes the map). So replicate r of every point sees the same residents, who fall ill on the same
days with the same luck; points differ only where their parameters change decisions. Differences between
points are then far less noisy than between independent runs, and a lever's effect is visible with few
replicates.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import __version__, designs
from sim.loading import (
    Problem,
    ScenarioError,
    format_path,
    key_path,
    load_scenario,
    parse_mapping,
    read_text,
    set_value,
    validation_problems,
)
from sim.metrics import METRICS
from sim.runner import replicate_seed
from sim.scenario import Scenario

MetricName = Literal[tuple(METRICS)]  # type: ignore[valid-type]
RESERVED_KEYS = ("seed", "replicates", "name", "description")  # set by the sweep itself
PATH_KEYS = ("case_mix.catalogue",)  # values that name files: a relative one is read from the sweep's folder
_EXPECTED = "sweep keys (name, base, parameters, design, ...)"
_MAX_PROBLEMS = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """One thing a sweep varies: a list of values, or a range with a distribution."""

    values: list[Any] | None = Field(
        None, min_length=1, description="The values it takes, in the unit of its scenario key (numbers, or "
        "choices such as payment models). A grid runs each; a sampled design draws each with equal chance.")
    range: tuple[float, float] | None = Field(
        None, description="[low, high], in the unit of its scenario key. Sampled designs draw from "
        "`distribution` on it; a grid takes `levels` evenly spaced values (geometrically for log_uniform).")
    distribution: Literal["uniform", "log_uniform", "triangular"] = Field(
        "uniform", description="How a sampled design draws from `range`: uniform, log_uniform (uniform in "
        "the logarithm; low > 0), or triangular (peaking at `mode`).")
    mode: float | None = Field(None, description="Peak of a triangular distribution, within `range`.")
    levels: int | None = Field(None, ge=2, le=1000, description="Grid only: how many values of `range`.")
    integer: bool = Field(False, description="Round the value to a whole number (for count keys).")
    keys: list[str] | None = Field(
        None, min_length=1, description="Scenario keys (dotted) that all take this value; then the "
        "parameter's name is a free label. Default: the name is the one key.")
    linked: dict[str, list[Any]] | None = Field(
        None, description="With `values`: other scenario keys (dotted) and their value for each of "
        "`values`, position by position (e.g. a payment model and its fee schedule).")

    def levels_list(self) -> list[Any]:
        """The values a grid runs."""
        if self.values is not None:
            return list(self.values)
        low, high = self.range
        if self.distribution == "log_uniform":
            points = np.geomspace(low, high, self.levels)
        else:
            points = np.linspace(low, high, self.levels)
        out = [_tidy(float(v), self.integer) for v in points]
        return list(dict.fromkeys(out)) if self.integer else out

    def value_at(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1) of the parameter's distribution."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        low, high = self.range
        if self.integer and self.distribution == "uniform":
            span = round(high) - round(low)
            return round(low) + min(int(u * (span + 1)), span)
        if self.distribution == "log_uniform":
            value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
        elif self.distribution == "triangular":
            width, left = high - low, self.mode - low
            if u * width < left:
                value = low + math.sqrt(u * width * left)
            else:
                value = high - math.sqrt((1 - u) * width * (high - self.mode))
        else:
            value = low + u * (high - low)
        return round(value) if self.integer else float(value)

    def settings(self, name: str, value: Any) -> dict[str, Any]:
        """The scenario keys this parameter sets when it takes ``value``."""
        out = {key: value for key in (self.keys or [name])}
        if self.linked:
            position = next(i for i, v in enumerate(self.values) if _same(v, value))
            out.update({key: values[position] for key, values in self.linked.items()})
        return out


class Pareto(_Strict):
    """The metric standing for each corner of the triangle in the Pareto front (each must have a direction)."""

    cost: MetricName = Field("spending_per_capita", description="Cost: all spending (fund and out-of-pocket) "
                             "per resident-year, yuan; lower is better.")
    access: MetricName = Field("wait_days_mean", description="Access: mean wait from seeking care to "
                               "treatment, days; lower is better.")
    quality: MetricName = Field("health_loss_per_1000", description="Quality: health lost (deaths, "
                                "complications, readmissions, untreated illness), DALY per 1,000 resident-years; "
                                "lower is better.")

    def corners(self) -> dict[str, str]:
        return {"cost": self.cost, "access": self.access, "quality": self.quality}


class Sweep(_Strict):
    """A sweep file."""

    name: str = Field(description="Name of the sweep, shown in reports and given to every run's scenario.")
    description: str = Field("", description="What the sweep asks.")
    base: str = Field(description="The base scenario file; a relative path is read from the sweep file's "
                      "folder.")
    set: dict[str, Any] = Field(
        {}, description="Dotted scenario keys and values applied to every run (like `triangle run --set`), "
        "e.g. population.size: 50000.")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="The sweep seed; replicate r of every "
                             "point runs on seed replicate_seed(seed, r). Default: the base scenario's seed.")
    replicates: int = Field(1, ge=1, le=10_000, description="Runs per point, on different seeds.")
    design: Literal[designs.DESIGNS] = Field(  # type: ignore[valid-type]
        "grid", description="grid (every combination of levels), latin_hypercube (`samples` points), or "
        "sobol (Saltelli's scheme: samples x (parameters + 2) points, for Sobol indices).")
    samples: int | None = Field(None, ge=1, le=1_000_000, description="Points of a latin_hypercube; base "
                                "samples of a sobol design (a power of 2).")
    second_order: bool = Field(False, description="sobol only: also estimate second-order indices (samples x "
                               "(2 parameters + 2) points).")
    parameters: dict[str, Parameter] = Field(
        min_length=1, description="What varies: a dotted scenario key (or a label with `keys`) and its "
        "values or range.")
    metrics: list[MetricName] | None = Field(  # type: ignore[valid-type]
        None, min_length=1, description="Metrics to keep from each run (`triangle metrics` lists them). "
        "Default: all. The Pareto metrics are always kept.")
    pareto: Pareto = Field(Pareto(), description="The metric for each corner of the triangle.")

    def kept_metrics(self) -> list[str]:
        wanted = set(self.metrics or METRICS) | set(self.pareto.corners().values())
        return [name for name in METRICS if name in wanted]


# --------------------------------------------------------------------------------------------- the plan
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
        return Scenario.model_validate(_apply(self.base, point.settings))

    def unique_runs(self) -> list[Run]:
        """Runs with distinct keys, first occurrence first: two points that resolve to the same scenario run once."""
        return list({run.key: run for run in reversed(self.runs)}.values())[::-1]

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


def _tidy(value: float, integer: bool) -> float | int:
    return round(value) if integer else float(f"{value:.12g}")  # 0.6 rather than 0.6000000000000001


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _resolve_paths(settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    out = dict(settings)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value and value != "bundled" and not Path(value).expanduser().is_absolute():
            out[key] = str((folder / value).resolve())
    return out


def _apply(base: dict, settings: dict[str, Any]) -> dict:
    data = dict(base)
    for key, value in settings.items():
        set_value(data, key_path(key), value, f"{key}={value!r}", "sweep")
    return data


# --------------------------------------------------------------------------------------------- loading
def load_sweep(path: str | Path) -> Plan:
    """Read and validate a sweep file and expand it to its plan; every problem raises one ScenarioError."""
    name, file = str(path), Path(path)
    data, lines = parse_mapping(read_text(file, "sweep file"), name, _EXPECTED)
    try:
        sweep = Sweep.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, validation_problems(err, data, lines, Sweep)) from None
    problems = _check(sweep, lines)
    if problems:
        raise ScenarioError.from_problems(name, problems)
    base = _base(sweep, file.parent.absolute(), name, lines)
    points = _points(sweep, base["seed"])
    return _plan(sweep, base, points, name, lines, file.parent.absolute())


def _line(lines: dict, *path: Any) -> int | None:
    for depth in range(len(path), 0, -1):
        if path[:depth] in lines:
            return lines[path[:depth]]
    return None


def _check(sweep: Sweep, lines: dict) -> list[Problem]:
    """What the schema alone cannot say: combinations of keys."""
    problems: list[Problem] = []

    def problem(path: tuple, text: str) -> None:
        joined = f"{format_path(path)} {text}" if text.startswith("= ") else f"{format_path(path)}: {text}"
        problems.append(Problem(joined, format_path(path), _line(lines, *path)))

    if sweep.design == "grid" and sweep.samples is not None:
        problem(("samples",), f"= {sweep.samples}: a grid runs every combination of levels; samples is for "
                "latin_hypercube and sobol designs")
    if sweep.design != "grid" and sweep.samples is None:
        problem(("samples",), f"required key is missing: a {sweep.design} design needs the number of samples")
    if sweep.design == "sobol" and sweep.samples is not None and sweep.samples & (sweep.samples - 1):
        problem(("samples",), f"= {sweep.samples}: a sobol design needs a power of 2 (e.g. "
                f"{1 << (sweep.samples.bit_length() - 1)} or {1 << sweep.samples.bit_length()})")
    if sweep.second_order and sweep.design != "sobol":
        problem(("second_order",), "= True: second-order indices need a sobol design")
    for corner, metric in sweep.pareto.corners().items():
        if METRICS[metric].lower_is_better is None:
            problem(("pareto", corner), f"= {metric!r}: this metric has no better direction (neither lower nor "
                    "higher is better); choose one that has")

    owner: dict[str, tuple] = {}  # scenario key -> where it is set
    for key in sweep.set:
        owner[key] = ("set", key)
    for name, p in sweep.parameters.items():
        where = ("parameters", name)
        if (p.values is None) == (p.range is None):
            problem(where, "give either values (a list) or range ([low, high]), not both or neither")
            continue
        if p.range is not None:
            low, high = p.range
            if not low < high:
                problem(where + ("range",), f"= [{low}, {high}]: low must be below high")
            elif p.distribution == "log_uniform" and low <= 0:
                problem(where + ("range",), f"= [{low}, {high}]: a log_uniform range must be above 0")
            if p.distribution == "triangular" and (p.mode is None or not low <= p.mode <= high):
                problem(where + ("mode",), f"= {p.mode}: a triangular distribution needs a mode within the "
                        f"range [{low}, {high}]")
            if sweep.design == "grid" and p.levels is None:
                problem(where + ("levels",), "required key is missing: a range in a grid needs the number of "
                        "levels (or give values)")
            if p.integer and p.distribution == "uniform" and (low != round(low) or high != round(high)):
                problem(where + ("range",), f"= [{low}, {high}]: an integer range needs whole-number ends")
            if p.linked:
                problem(where + ("linked",), "linked values need a list of values, position by position")
        else:
            for key in ("levels", "mode"):
                if getattr(p, key) is not None:
                    problem(where + (key,), f"= {getattr(p, key)}: only for a range")
            for key, values in (p.linked or {}).items():
                if len(values) != len(p.values):
                    problem(where + ("linked", key), f"has {len(values)} values; values has {len(p.values)} "
                            "(one linked value per value, position by position)")
        for key in [*(p.keys or [name]), *(p.linked or {})]:
            if key.split(".")[0].split("[")[0] in RESERVED_KEYS:
                problem(where, f"{key}: cannot vary; seed, replicates, name and description are set by the "
                        "sweep (use the sweep's seed and replicates)")
            elif key in owner:
                problem(where, f"{key} is already set by {format_path(owner[key])}; a key may be set once")
            else:
                owner[key] = where
    for key in sweep.set:
        if key.split(".")[0].split("[")[0] in RESERVED_KEYS:
            problem(("set", key), "cannot be set here; use the sweep's own seed and replicates keys")
    return problems


def _base(sweep: Sweep, folder: Path, name: str, lines: dict) -> dict:
    """The base scenario resolved, with `set` applied and the sweep's name and seed, as a plain mapping."""
    base_path = Path(sweep.base).expanduser()
    base_path = base_path if base_path.is_absolute() else folder / base_path
    where = f"{name}: line {_line(lines, 'base')}: base = {sweep.base!r}"
    try:
        scenario = load_scenario(base_path)
    except ScenarioError as err:
        raise ScenarioError(f"{where}: the base scenario cannot be used:\n{err}", source=name) from None
    data = scenario.model_dump(mode="json")
    data.update(name=sweep.name, seed=scenario.seed if sweep.seed is None else sweep.seed, replicates=1)
    labels = {}
    for key, value in _resolve_paths(sweep.set, folder).items():
        try:
            path = key_path(key, "set")
        except ScenarioError as err:
            raise ScenarioError.from_problems(name, [Problem(str(err), f"set.{key}", _line(lines, "set", key))]) \
                from None
        set_value(data, path, value, key, "set")
        labels[path] = ("set", key)
    try:
        Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, _located(err, data, labels, lines)) from None
    return data


def _located(err: ValidationError, data: dict, labels: dict[tuple, tuple], lines: dict) -> list[Problem]:
    """Scenario problems of one point, placed at the line of the sweep key that set the bad value."""
    found = validation_problems(err, data, {}, Scenario, [(p, format_path(w)) for p, w in labels.items()],
                                source="sweep")
    out = []
    for p in found:
        owner = next((w for path, w in labels.items() if p.origin and p.origin == f"sweep {format_path(w)}"), None)
        message = p.message.replace(f" (from sweep {format_path(owner)})", "") if owner else p.message
        prefix = f"{format_path(owner)}: " if owner else ""
        out.append(Problem(prefix + message, p.path, _line(lines, *owner) if owner else None))
    return out


def _points(sweep: Sweep, seed: int) -> list[dict[str, Any]]:
    """Each point's parameter values, in design order."""
    names = list(sweep.parameters)
    params = [sweep.parameters[n] for n in names]
    if sweep.design == "grid":
        combos = designs.grid([p.levels_list() for p in params])
    else:
        if sweep.design == "latin_hypercube":
            unit = designs.latin_hypercube(len(names), sweep.samples, seed)
        else:
            unit = designs.sobol(names, sweep.samples, seed, sweep.second_order)
        combos = [tuple(p.value_at(float(u)) for p, u in zip(params, row, strict=True)) for row in unit]
    return [dict(zip(names, combo, strict=True)) for combo in combos]


def _plan(sweep: Sweep, base: dict, values: list[dict[str, Any]], name: str, lines: dict, folder: Path) -> Plan:
    seeds = [replicate_seed(base["seed"], r) for r in range(sweep.replicates)]
    points, runs, problems, seen = [], [], [], set()
    for index, point_values in enumerate(values):
        settings, labels = {}, {}
        for pname, value in point_values.items():
            for key, v in sweep.parameters[pname].settings(pname, value).items():
                settings[key] = v
                labels[key_path(key, "parameters")] = ("parameters", pname)
        settings = _resolve_paths(settings, folder)
        try:
            data = _apply(base, settings)
        except ScenarioError as err:
            pname = next(iter(point_values))
            raise ScenarioError.from_problems(name, [Problem(
                str(err).removeprefix("sweep "), "", _line(lines, "parameters", pname))]) from None
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as err:
            for p in _located(err, data, labels, lines):
                if (p.line, p.path) not in seen and len(problems) < _MAX_PROBLEMS:
                    seen.add((p.line, p.path))
                    problems.append(p)
            continue
        points.append(Point(index, point_values, settings))
        runs.extend(Run(run_key(scenario, s), index, r, s) for r, s in enumerate(seeds))
    if problems:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ScenarioError.from_problems(name, problems)
    return Plan(sweep, base, points, runs)


def sweep_schema() -> dict:
    """The JSON Schema of sweep files."""
    schema = Sweep.model_json_schema()
    schema["title"] = "triangle sweep"
    return schema

