"""The seed facts as tests of the model: figures from the source reports, and the runs that should reproduce them.

``seeds/facts.yaml`` lists each figure the model can be asked to reproduce: its value and unit, place, period
and source report, the scenario and metric that reproduce it, how the metric is read (``measure``), and a
tolerance with its reasoning. ``triangle facts`` runs every scenario the facts name once (replicates on common
random numbers), reads each fact's measure per replicate, and reports the mean with a 95% interval and whether
it falls within the tolerance of the observed value.

Measures (per replicate, then mean and interval over replicates):

============================  ===========================================================================
``level``                     the metric over the whole run
``after``                     the metric over the last timeline period (after the last reform date)
``change``                    last period minus first period (a timeline), or scenario minus ``against``
``relative_change``           the same difference divided by the first period's (or ``against``'s) value
============================  ===========================================================================

With ``against: other.yaml`` the fact's scenario and the other run on the same seeds and the difference is
paired replicate by replicate. A fact the model does not reproduce is reported as failing; one whose
failure is understood carries ``known_failure`` (why), so the test suite can tell a new failure from a known one.
Nothing is ever loosened to pass: tolerances are set from the figure's own uncertainty, before running.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.params.scenario import Strict
from sim.results.metrics import METRICS

FACTS_FILE = Path(__file__).resolve().parents[2] / "seeds" / "facts.yaml"
SEEDS = ("000_dcc5878c5088a2d5.txt", "001_00219d8b1e4d9632.txt", "002_bc606a1ca6dd6345.txt",
         "003_6ef8c57cd3ce1f48.txt", "004_8d0773259c77e80d.txt")
OTHER_SOURCES = ("2023 national statistical bulletin",)
Measure = Literal["level", "after", "change", "relative_change"]
# What --fast changes in every scenario: a smaller county (two townships, so referral and choice between centres
# still happen) and two replicates (each fact may add its own).
FAST_OVERRIDES = ("population.size=30000", "replicates=2")


class Fact(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Short name, unique in the file.")
    claim: str = Field(min_length=1, description="What the figure says, in the project's words.")
    observed: float = Field(description="The reported value, in `unit` (a change as a share: -0.133 = -13.3%).")
    unit: str = Field(min_length=1)
    place: str = Field(min_length=1)
    period: str = Field(min_length=1)
    source: str = Field(description=f"A seed report file name ({', '.join(SEEDS)}) or one of {OTHER_SOURCES}.")
    scenario: str = Field(description="Scenario file, relative to the facts file's folder.")
    against: str | None = Field(None, description="A second scenario: differences are scenario minus this one.")
    metric: str
    measure: Measure = "level"
    tolerance: float = Field(gt=0, description="Largest |simulated - observed| that passes, in `unit`.")
    reasoning: str = Field(min_length=1, description="Why this tolerance: the figure's own uncertainty, and "
                           "what the scenario approximates.")
    fast: list[str] = Field([], description="Extra --set overrides for --fast runs (after the global ones).")
    known_failure: str | None = Field(None, description="Why the model does not reproduce this fact yet.")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in SEEDS and value not in OTHER_SOURCES:
            raise ValueError(f"unknown source {value!r}; allowed: {', '.join(SEEDS + OTHER_SOURCES)}")
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; `triangle metrics` lists them")
        return value


class FactsFile(Strict):
    facts: list[Fact] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> FactsFile:
        seen: set[str] = set()
        for fact in self.facts:
            if fact.id in seen:
                raise ValueError(f"fact id {fact.id!r} appears twice")
            seen.add(fact.id)
        return self


@dataclass
class Finding:
    fact: Fact
    values: list[float]      # the measure, one per replicate
    simulated: float | None  # mean over replicates
    ci95: list[float] | None

    @property
    def passed(self) -> bool:
        return self.simulated is not None and abs(self.simulated - self.fact.observed) <= self.fact.tolerance

    def as_json(self) -> dict:
        f = self.fact
        return {"id": f.id, "observed": f.observed, "simulated": self.simulated, "ci95": self.ci95,
                "pass": self.passed, "unit": f.unit, "tolerance": f.tolerance, "metric": f.metric,
                "measure": f.measure, "scenario": f.scenario, "against": f.against, "source": f.source,
                "known_failure": f.known_failure}


def load_facts(path: str | Path = FACTS_FILE) -> list[Fact]:
    """Read and validate a facts file; problems raise a located ScenarioError. Scenario paths become absolute."""
    from sim.params.boundary import display, excerpt, folder_of, leaves, leaving, resolve_path
    from sim.params.loading import (
        ScenarioError,
        finite_problems,
        load_scenario,
        parse_mapping,
        read_text,
        validation_problems,
    )

    name, file = str(path), Path(path)
    data, lines = parse_mapping(read_text(file, "facts file"), name, "facts keys (facts: a list of facts)")
    try:
        doc = FactsFile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError.from_problems(name, validation_problems(err, data, lines, FactsFile)) from None
    if problems := finite_problems(doc, lines):  # text such as "inf" passes a float key
        raise ScenarioError.from_problems(name, problems)
    folder = file.resolve().parent
    root = folder_of(file)
    facts = []
    for i, fact in enumerate(doc.facts):
        paths = {}
        for key in ("scenario", "against"):
            value = getattr(fact, key)
            if value is None:
                continue
            resolved = resolve_path(value, folder)
            line = lines.get(("facts", i, key))
            where = f"line {line}: " if line else ""
            if resolved is not None and leaves(resolved, root):  # refused before it is read
                raise ScenarioError(f"{name}: {where}facts[{i}].{key} = {excerpt(value, 120)}: {leaving(root)}",
                                    source=name)
            if resolved is None or not resolved.is_file():
                raise ScenarioError(f"{name}: {where}facts[{i}].{key} = {excerpt(value, 120)}: no such file"
                                    + (f" ({display(resolved)})" if resolved is not None else ""), source=name)
            paths[key] = str(resolved)
        if fact.measure != "level" and fact.against is None and not load_scenario(paths["scenario"]).timeline:
            line = lines.get(("facts", i, "measure"))
            where = f"line {line}: " if line else ""
            raise ScenarioError(f"{name}: {where}facts[{i}].measure = {fact.measure!r}: compares the periods of a "
                                f"timeline, and {fact.scenario} has none; give `against: other.yaml` or use "
                                "measure: level", source=name)
        facts.append(fact.model_copy(update=paths))
    return facts


def _measure(fact: Fact, run, base) -> float:
    """One replicate's value of the fact's measure (``base``: the replicate of ``against``, if any)."""
    if fact.measure == "level":
        return run.metrics[fact.metric]
    if fact.against is not None:
        first, last = base.metrics[fact.metric], run.metrics[fact.metric]
    else:
        if len(run.periods) < 2:
            raise ValueError(f"fact {fact.id}: measure {fact.measure!r} needs a scenario with a timeline "
                             f"({fact.scenario} has none) or `against`")
        first, last = run.periods[0]["metrics"][fact.metric], run.periods[-1]["metrics"][fact.metric]
    if fact.measure == "after":
        return last
    if fact.measure == "change":
        return last - first
    return (last - first) / first if first else math.nan


def _extra(fact: Fact, fast: bool) -> tuple[str, ...]:
    """The overrides a fact's runs take: none, or --fast's and the fact's own."""
    return (*FAST_OVERRIDES, *fact.fast) if fast else ()


def _runs_needed(facts: list[Fact], fast: bool) -> list[tuple[str, tuple[str, ...]]]:
    """Every (scenario, overrides) the facts need, each once, in the facts' order."""
    needed = [(path, _extra(fact, fast)) for fact in facts for path in (fact.scenario, fact.against) if path]
    return list(dict.fromkeys(needed))


def evaluate(facts: list[Fact], *, fast: bool = False, workers: int | None = None, progress: bool = True,
             seed: int | None = None, overrides: Sequence[str] = ()) -> list[Finding]:
    """Run what the facts need and read each fact. ``against`` arms run on their fact's seed and replicates;
    ``overrides`` (``key=value``) apply to every scenario, after the fast ones."""
    from tqdm import tqdm

    from sim.params.loading import load_scenario
    from sim.results import runner
    from sim.results.runner import interval

    results = {}
    keys = _runs_needed(facts, fast)
    with tqdm(total=len(keys), unit="scenario", desc="facts", disable=not progress) as bar:
        for key in keys:
            path, extra = key
            scenario = load_scenario(path, [*extra, *overrides, *([f"seed={seed}"] if seed is not None else [])])
            results[key] = runner.run_replicates(scenario, workers=workers, progress=False)
            bar.update(1)
    findings = []
    for fact in facts:
        extra = _extra(fact, fast)
        runs = results[(fact.scenario, extra)]
        bases = results[(fact.against, extra)] if fact.against else [None] * len(runs)
        if len(bases) != len(runs) or any(b is not None and b.seed != r.seed for b, r in zip(bases, runs, strict=True)):
            raise ValueError(f"fact {fact.id}: {fact.scenario} and {fact.against} must have the same seed and "
                             "replicates to be compared on common random numbers")
        values = [_measure(fact, r, b) for r, b in zip(runs, bases, strict=True)]
        summary = interval(values)
        findings.append(Finding(fact, values, summary["mean"], summary["ci95"]))
    return findings


def table(findings: list[Finding]) -> str:
    """A plain-text report: one line per fact, then the failures explained."""
    def num(x) -> str:
        return "n/a" if x is None or not math.isfinite(x) else f"{x:.4g}"

    head = f"{'fact':<34} {'observed':>10} {'simulated':>10} {'95% interval':>22} {'tol':>8}  result"
    lines = [head, "-" * len(head)]
    for f in findings:
        ci = f"[{num(f.ci95[0])}, {num(f.ci95[1])}]" if f.ci95 else "n/a"
        verdict = "pass" if f.passed else ("FAIL (known)" if f.fact.known_failure else "FAIL")
        lines.append(f"{f.fact.id:<34} {num(f.fact.observed):>10} {num(f.simulated):>10} {ci:>22} "
                     f"{num(f.fact.tolerance):>8}  {verdict}")
    passed = sum(f.passed for f in findings)
    lines.append(f"\n{passed} of {len(findings)} facts reproduced within tolerance.")
    for f in findings:
        if not f.passed and f.fact.known_failure:
            lines.append(f"  {f.fact.id}: {f.fact.known_failure}")
    return "\n".join(lines) + "\n"
