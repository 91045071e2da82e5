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
(``sim.results.runner.replicate_seed``), never on the point, and every point's scenario keeps ``seed`` = the sweep
seed (which fixes the map). So replicate r of every point sees the same residents, who fall ill on the same
days with the same luck; points differ only where their parameters change decisions. Differences between
points are then far less noisy than between independent runs, and a lever's effect is visible with few
replicates.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.experiments import designs
from sim.experiments.plan import Plan, Point, Run, apply_settings, run_key
from sim.experiments.sweep_schema import (  # noqa: F401 (re-exported)
    MAX_SWEEP_POINTS,
    MAX_SWEEP_RUNS,
    MetricName,
    Parameter,
    Pareto,
    Sweep,
)
from sim.params import boundary
from sim.params.loading import (
    MAP_KEYS,
    Problem,
    ScenarioError,
    finite_problems,
    format_path,
    key_path,
    load_scenario,
    map_problem,
    parse_mapping,
    read_text,
    set_value,
    validation_problems,
)
from sim.params.scenario import Scenario
from sim.results.metrics import METRICS
from sim.results.runner import replicate_seed

RESERVED_KEYS = ("seed", "replicates", "name", "description")  # set by the sweep itself
PATH_KEYS = ("case_mix.catalogue",)  # values that name files: a relative one is read from the sweep's folder
_EXPECTED = "sweep keys (name, base, parameters, design, ...)"
_MAX_PROBLEMS = 12


def _resolve_paths(settings: dict[str, Any], folder: Path, name: str = "", line: int | None = None,
                   owner: str = "") -> dict[str, Any]:
    """``settings`` with the values that name files made absolute (read from the sweep's folder); one that
    leaves that folder (and is not bundled) is refused, at ``line`` of the sweep key ``owner`` that set it,
    unless --allow-outside."""
    out = dict(settings)
    for key in PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value and value != "bundled":
            resolved = boundary.resolve_path(value, folder)
            if resolved is None:  # kept as given, for the file's reader to refuse
                continue
            if boundary.leaves(resolved, folder.resolve()):
                at = f"line {line}: " if line is not None else ""
                raise ScenarioError(f"{name}: {at}{owner or key}: {key} = {boundary.excerpt(value, 120)}: "
                                    f"{boundary.leaving(folder.resolve())}", source=name)
            out[key] = str(resolved)
    return out


# --------------------------------------------------------------------------------------------- loading
def load_sweep(path: str | Path, *, check_only: bool = False) -> Plan:
    """Read and validate a sweep file and expand it to its plan; every problem raises one ScenarioError.

    ``check_only`` (``triangle check``): a design of more than CHECK_POINTS points is validated by its
    definition instead of point by point: each parameter's every value and both ends of its range, each with
    the others at a point of the design, and CHECK_POINTS points drawn over the whole design; the plan then
    holds those points only (``design_size`` says how many the sweep has)."""
    name, file = str(path), Path(path)
    data, lines = parse_mapping(read_text(file, "sweep file"), name, _EXPECTED)
    try:
        sweep = Sweep.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, validation_problems(err, data, lines, Sweep)) from None
    problems = finite_problems(sweep, lines) or _check(sweep, lines)
    if problems:
        raise ScenarioError.from_problems(name, problems)
    base = _base(sweep, file.parent.absolute(), name, lines)
    if check_only and design_size(sweep) > CHECK_POINTS:
        points = _definition_points(sweep, base["seed"], CHECK_POINTS)
    else:
        points = _points(sweep, base["seed"])
    return _plan(sweep, base, points, name, lines, file.parent.absolute())


CHECK_POINTS = 1_000  # a larger design is checked by its definition (load_sweep(check_only=True))
MAX_POINTS = MAX_SWEEP_POINTS  # points of a design (the most samples a latin_hypercube may have)
MAX_RUNS = MAX_SWEEP_RUNS  # points x replicates


def design_size(sweep: Sweep) -> int:
    """How many points the sweep's design has, computed without drawing them."""
    if sweep.design == "grid":
        return math.prod(len(p.levels_list()) for p in sweep.parameters.values())
    if sweep.design == "latin_hypercube":
        return sweep.samples
    return designs.sobol_points(sweep.samples, len(sweep.parameters), sweep.second_order)


def _edges(p: Parameter, limit: int = CHECK_POINTS) -> list[Any]:
    """The values of a parameter that bound what it can take: its listed values (at most ``limit`` of them,
    evenly spaced, the first and last included), or the two ends of its range (as a grid or a distribution
    reaches them)."""
    if p.values is not None:
        if len(p.values) <= limit:
            return list(p.values)
        return [p.values[round(i * (len(p.values) - 1) / (limit - 1))] for i in range(limit)]
    if p.levels is not None:
        levels = p.levels_list()
        return [levels[0], levels[-1]]
    return [p.value_at(0.0), p.value_at(math.nextafter(1.0, 0.0))]


def _definition_points(sweep: Sweep, seed: int, n: int) -> list[dict[str, Any]]:
    """What `check` validates of a large design: ``n`` points drawn over the whole design (a Latin hypercube of
    the parameters' distributions, or of the grid's levels), then each parameter at each of its edges with the
    others at the first of those points."""
    names = list(sweep.parameters)
    params = [sweep.parameters[name] for name in names]
    unit = designs.latin_hypercube(len(names), n, seed)
    if sweep.design == "grid":
        levels = [p.levels_list() for p in params]
        rows = [tuple(lv[min(int(u * len(lv)), len(lv) - 1)] for lv, u in zip(levels, row, strict=True))
                for row in unit]
    else:
        rows = [tuple(p.value_at(float(u)) for p, u in zip(params, row, strict=True)) for row in unit]
    anchor = rows[0]
    edges = [anchor[:i] + (value,) + anchor[i + 1:] for i, p in enumerate(params) for value in _edges(p)]
    return [dict(zip(names, row, strict=True)) for row in edges + rows]


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
    if not problems:  # the size of the plan, counted before anything is drawn
        size = design_size(sweep)
        where = ("parameters",) if sweep.design == "grid" else ("samples",)
        if size > MAX_POINTS:
            problem(where, f"the {sweep.design} design has {size:,} points; a sweep may have at most "
                    f"{MAX_POINTS:,} (use fewer levels, values or samples)")
        elif size * sweep.replicates > MAX_RUNS:
            problem(("replicates",), f"= {sweep.replicates}: {size:,} points x {sweep.replicates:,} replicates "
                    f"= {size * sweep.replicates:,} runs; a sweep may plan at most {MAX_RUNS:,} runs")
    return problems


def _base(sweep: Sweep, folder: Path, name: str, lines: dict) -> dict:
    """The base scenario resolved, with `set` applied and the sweep's name and seed, as a plain mapping."""
    base_path = boundary.resolve_path(sweep.base, folder)
    where = f"{name}: line {_line(lines, 'base')}: base = {boundary.excerpt(sweep.base, 120)}"
    if base_path is None:
        raise ScenarioError(f"{where}: not a usable file name", source=name)
    root = folder.resolve()
    if boundary.leaves(base_path, root):  # refused before it is read
        raise ScenarioError(f"{where}: {boundary.leaving(root)}", source=name)
    try:
        scenario = load_scenario(base_path, root=root)
    except ScenarioError as err:
        raise ScenarioError(f"{where}: the base scenario cannot be used:\n{err}", source=name) from None
    data = scenario.model_dump(mode="json")
    data.update(name=sweep.name, seed=scenario.seed if sweep.seed is None else sweep.seed, replicates=1)
    labels = {}
    for key, value in _resolve_paths(sweep.set, folder, name, _line(lines, "set"), "set").items():
        try:
            path = key_path(key, "set")
        except ScenarioError as err:
            raise ScenarioError.from_problems(name, [Problem(str(err), f"set.{key}", _line(lines, "set", key))]) \
                from None
        set_value(data, path, value, key, "set")
        labels[path] = ("set", key)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, _located(err, data, labels, lines)) from None
    problems = _non_finite(scenario, labels, lines) or _map(scenario, labels, lines)
    if problems:
        raise ScenarioError.from_problems(name, problems)
    return data


def _map(scenario: Scenario, labels: dict[tuple, tuple], lines: dict) -> list[Problem]:
    """The county's map too large to build (``sim.params.loading.map_problem``), at the sweep key that set a map
    key (or at base)."""
    problem = map_problem(scenario)
    if problem is None:
        return []
    owner = next((w for path, w in labels.items() if path in MAP_KEYS), ("base",))
    return [Problem(f"{format_path(owner)}: {problem.message}", problem.path, _line(lines, *owner))]


def _non_finite(scenario: Scenario, labels: dict[tuple, tuple], lines: dict) -> list[Problem]:
    """Numbers the sweep made infinite or NaN (text such as "inf" passes a float key), at the sweep key that set
    them; only the keys the sweep sets are looked at."""
    problems = []
    for path, owner in labels.items():
        try:
            value = boundary.value_at(scenario, path)
        except (AttributeError, LookupError, TypeError):
            continue
        for inner in boundary.non_finite(value):
            full = path + inner
            number = boundary.number_text(boundary.value_at(value, inner))
            problems.append(Problem(f"{format_path(owner)}: {format_path(full)} = {number}: expected a finite "
                                    "number", format_path(full), _line(lines, *owner)))
    return problems


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
        owner = labels.get(("case_mix", "catalogue"), ("parameters",))
        settings = _resolve_paths(settings, folder, name, _line(lines, *owner), format_path(owner))
        try:
            data = apply_settings(base, settings)
        except ScenarioError as err:
            pname = next(iter(point_values))
            raise ScenarioError.from_problems(name, [Problem(
                str(err).removeprefix("sweep "), "", _line(lines, "parameters", pname))]) from None
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as err:
            found = _located(err, data, labels, lines)
        else:
            found = _non_finite(scenario, labels, lines) or _map(scenario, labels, lines)
        if found:
            for p in found:
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

