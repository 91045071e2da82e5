"""Fitting behavioural parameters to the seed facts (``triangle calibrate``).

A calibration file (``seeds/calibration.yaml``) names the facts to fit (ids in ``seeds/facts.yaml``) and the
behavioural parameters to move: a list of keys, each searched over the prior range the parameter register declares
for it (``sim.params.register``, where the schema declares it: one source of truth), or a mapping of keys to
bounds of the file's own. Only behavioural parameters may be fitted (``behaviour.*`` and
``outcomes.*``): policy levers (payment, insurance, policies, facilities, population) are what scenarios choose,
never what a fit adjusts.

The loss of a parameter vector is the sum over facts of ((simulated - observed) / tolerance)^2, each fact read as
``triangle facts`` reads it, on small counties with fixed seeds (the scenarios' own, or one given), so every
evaluation sees the same residents and illnesses (common random numbers) and the loss is a deterministic function
of the parameters. The search: a Latin hypercube of ``start_samples`` points over the bounds (plus the values in
force), then Nelder-Mead from the best point in the unit cube for the rest of the budget (scipy.optimize). The
result is written as a scenario overlay, ``seeds/calibrated.yaml``, with the fit's quality in its header; the
bundled baseline extends it.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.params.scenario import Strict

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "seeds" / "calibration.yaml"
CALIBRATED_FILE = CALIBRATION_FILE.with_name("calibrated.yaml")
FITTABLE = ("behaviour.", "outcomes.")


class Calibration(Strict):
    name: str = Field("calibration", description="Name shown in reports.")
    facts_file: str = Field("facts.yaml", description="Facts file, relative to this file's folder.")
    facts: list[str] = Field(min_length=1, description="Ids of the facts to fit.")
    parameters: dict[str, tuple[float, float]] = Field(
        min_length=1, description="Dotted behavioural keys to fit: a list (each searched over the prior range the "
        "parameter register declares for it; `triangle params --kind calibrated`) or a mapping of keys to bounds "
        "[low, high].")
    evaluations: int = Field(40, ge=2, le=100_000, description="Loss evaluations in all (each runs every "
                             "scenario the facts need).")
    start_samples: int = Field(10, ge=1, le=10_000, description="Latin hypercube points before local search.")
    population: int = Field(30_000, ge=1_000, le=1_000_000, description="Residents of every scenario run.")
    replicates: int = Field(2, ge=1, le=100, description="Replicates per scenario run.")
    seed: int | None = Field(None, ge=0, description="Seed of every run; null = each scenario's own seed (what "
                             "`triangle facts` uses). The start design's seed is this or 0.")

    @field_validator("parameters", mode="before")
    @classmethod
    def _ranges_from_register(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        from sim.params.register import ranges

        known, bounds = ranges(), {}
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"{key!r}: expected a dotted key")
            if key not in known:
                raise ValueError(f"{key}: the parameter register declares no range for it (`triangle params --key "
                                 f"{key}`); give its bounds as a mapping, {key}: [low, high]")
            bounds[key] = known[key]
        return bounds

    @model_validator(mode="after")
    def _check(self) -> Calibration:
        for key, (low, high) in self.parameters.items():
            if not key.startswith(FITTABLE):
                raise ValueError(f"parameters.{key}: is a policy lever or an input of the county; calibration "
                                 f"fits behavioural parameters only ({', '.join(k + '*' for k in FITTABLE)})")
            if not low < high:
                raise ValueError(f"parameters.{key} = [{low}, {high}]: low must be below high")
        if self.start_samples >= self.evaluations:
            raise ValueError(f"start_samples = {self.start_samples}: must be below evaluations = "
                             f"{self.evaluations}, to leave a budget for the local search")
        return self


@dataclass
class Fit:
    calibration: Calibration
    best: dict[str, float]
    loss: float
    start_loss: float
    findings: list = field(default_factory=list)  # sim.experiments.facts.Finding at the best point
    evaluations: int = 0


def load_calibration(path: str | Path = CALIBRATION_FILE):
    """Read a calibration file; returns (Calibration, facts to fit). Problems raise a located ScenarioError."""
    from sim.experiments import facts as F
    from sim.params.boundary import excerpt, folder_of, leaves, leaving, resolve_path
    from sim.params.loading import (
        ScenarioError,
        finite_problems,
        load_scenario,
        parse_mapping,
        read_text,
        validation_problems,
    )

    name, file = str(path), Path(path)
    data, lines = parse_mapping(read_text(file, "calibration file"), name,
                                "calibration keys (facts, parameters, evaluations, ...)")
    try:
        cal = Calibration.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, validation_problems(err, data, lines, Calibration)) from None
    if problems := finite_problems(cal, lines):  # text such as "inf" passes a float key
        raise ScenarioError.from_problems(name, problems)
    facts_file = resolve_path(cal.facts_file, file.resolve().parent)
    if facts_file is None or leaves(facts_file, folder_of(file)):  # refused before it is read
        line = lines.get(("facts_file",))
        why = "not a usable file name" if facts_file is None else leaving(folder_of(file))
        raise ScenarioError(f"{name}: {f'line {line}: ' if line else ''}facts_file = {excerpt(cal.facts_file, 120)}: "
                            f"{why}", source=name)
    facts = {f.id: f for f in F.load_facts(facts_file)}
    unknown = [i for i in cal.facts if i not in facts]
    if unknown:
        raise ScenarioError(f"{name}: facts: no such fact {', '.join(map(repr, unknown))}; known: "
                            f"{', '.join(facts)}", source=name)
    chosen = [facts[i] for i in cal.facts]
    # Every key must exist and accept both bounds: check on the first fact's scenario.
    for key, bounds in cal.parameters.items():
        for value in bounds:
            load_scenario(chosen[0].scenario, [f"{key}={value}"])
    return cal, chosen


def current_values(cal: Calibration, facts) -> dict[str, float]:
    """The values in force in the first fact's scenario (the calibrated overlay, or the schema's defaults)."""
    from sim.params.loading import load_scenario

    scenario = load_scenario(facts[0].scenario).model_dump()
    out = {}
    for key in cal.parameters:
        node = scenario
        for part in key.split("."):
            node = node[part]
        out[key] = float(node)
    return out


def loss_of(findings) -> float:
    total = 0.0
    for f in findings:
        if f.simulated is None or not math.isfinite(f.simulated):
            return math.inf
        total += ((f.simulated - f.fact.observed) / f.fact.tolerance) ** 2
    return total


def fit(cal: Calibration, facts, *, workers: int | None = None, progress: bool = True) -> Fit:
    """Search the bounds for the parameters that bring the facts closest to what was observed."""
    from scipy.optimize import minimize
    from scipy.stats import qmc
    from tqdm import tqdm

    from sim.experiments import facts as F

    keys = list(cal.parameters)
    low = np.array([cal.parameters[k][0] for k in keys])
    high = np.array([cal.parameters[k][1] for k in keys])
    cache: dict[tuple, tuple[float, list]] = {}
    bar = tqdm(total=cal.evaluations, unit="evaluation", desc=cal.name, disable=not progress)
    best = {"loss": math.inf, "u": None}

    def values_at(u) -> dict[str, float]:
        return {k: float(f"{v:.6g}") for k, v in zip(keys, low + np.clip(u, 0, 1) * (high - low), strict=True)}

    def loss(u) -> float:
        values = values_at(u)
        key = tuple(values.values())
        if key not in cache:
            overrides = [f"population.size={cal.population}", f"replicates={cal.replicates}",
                         *(f"{k}={v}" for k, v in values.items())]
            findings = F.evaluate(facts, workers=workers, progress=False, seed=cal.seed, overrides=overrides)
            cache[key] = (loss_of(findings), findings)
            bar.update(1)
            if cache[key][0] < best["loss"]:
                best.update(loss=cache[key][0], u=np.clip(u, 0, 1))
                bar.set_postfix(loss=f"{best['loss']:.3g}")
        return cache[key][0]

    start = current_values(cal, facts)
    u0 = np.clip((np.array([start[k] for k in keys]) - low) / (high - low), 0, 1)
    start_loss = loss(u0)
    design = qmc.LatinHypercube(d=len(keys), seed=cal.seed or 0).random(cal.start_samples - 1) \
        if cal.start_samples > 1 else np.zeros((0, len(keys)))
    for u in design:
        loss(u)
    simplex_step = 0.15
    initial = np.vstack([best["u"]] + [np.clip(best["u"] + simplex_step * np.eye(len(keys))[i]
                                               * (1 if best["u"][i] < 0.5 else -1), 0, 1)
                                       for i in range(len(keys))])
    budget = cal.evaluations - len(cache)
    if budget > len(keys):
        minimize(loss, best["u"], method="Nelder-Mead", bounds=[(0, 1)] * len(keys),
                 options={"initial_simplex": initial, "maxfev": budget, "xatol": 1e-3, "fatol": 1e-3})
    bar.close()
    values = values_at(best["u"])
    return Fit(cal, values, best["loss"], start_loss, cache[tuple(values.values())][1], len(cache))


def nested(values: dict[str, float]) -> dict:
    out: dict = {}
    for key, value in values.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def write_calibrated(result: Fit, path: str | Path = CALIBRATED_FILE, command: str = "") -> Path:
    """Write the fitted values as a scenario overlay (``extends`` it), with the fit's quality in the header.
    Written to a temporary file and renamed, so a reader never sees half a file."""
    import yaml

    from sim import __version__

    lines = [
        "# Behavioural parameters fitted to the seed facts by `triangle calibrate` (sim/experiments/calibrate.py).",
        f"# Command: {command or 'triangle calibrate'}  (triangle {__version__})",
        f"# Fit: {result.calibration.name}; {result.evaluations} evaluations on counties of "
        f"{result.calibration.population:,} residents x {result.calibration.replicates} replicates, "
        f"{'the scenarios own seeds' if result.calibration.seed is None else f'seed {result.calibration.seed}'}.",
        f"# Loss, sum of ((simulated - observed) / tolerance)^2: {result.loss:.4g} (at the values before the fit: "
        f"{result.start_loss:.4g}).",
        "#",
        f"# {'fact':<34} {'observed':>10} {'simulated':>10} {'tolerance':>10}  z",
    ]
    for f in result.findings:
        z = (f.simulated - f.fact.observed) / f.fact.tolerance
        lines.append(f"# {f.fact.id:<34} {f.fact.observed:>10.4g} {f.simulated:>10.4g} {f.fact.tolerance:>10.4g}"
                     f"  {z:+.2f}")
    lines.append("#\n# Bounds searched:")
    for key, (low, high) in result.calibration.parameters.items():
        lines.append(f"#   {key}: [{low}, {high}]")
    body = yaml.safe_dump(nested(result.best), sort_keys=True, default_flow_style=False)
    text = "\n".join(lines) + "\n" + body
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # an ordinary file's mode, not mkstemp's private 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
