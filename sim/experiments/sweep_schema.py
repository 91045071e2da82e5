"""The schema of a sweep file: what it may say (a base scenario, parameters to vary, a design, metrics) and
each key's meaning. ``sim.experiments.sweep`` reads a file against it and expands it to a plan."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.experiments import designs
from sim.results.metrics import METRICS

MetricName = Literal[tuple(METRICS)]  # type: ignore[valid-type]
MAX_SWEEP_POINTS = 1_000_000  # points of a design
MAX_SWEEP_RUNS = 1_000_000  # points x replicates


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
    replicates: int = Field(1, ge=1, le=10_000, description="Runs per point, on different seeds. A sweep plans at "
                            f"most {MAX_SWEEP_RUNS:,} runs (points x replicates).")
    design: Literal[designs.DESIGNS] = Field(  # type: ignore[valid-type]
        "grid", description="grid (every combination of levels), latin_hypercube (`samples` points), or "
        f"sobol (Saltelli's scheme: samples x (parameters + 2) points, for Sobol indices); at most "
        f"{MAX_SWEEP_POINTS:,} points. `triangle check` validates a design of more than 1,000 points by its "
        "definition: every parameter's values and range ends, and 1,000 points drawn over the design.")
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


def _tidy(value: float, integer: bool) -> float | int:
    return round(value) if integer else float(f"{value:.12g}")  # 0.6 rather than 0.6000000000000001


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
