"""The seed facts as tests of the model: figures from the source reports, and the runs that should reproduce them.

``seeds/facts.yaml`` lists each figure the model can be asked to reproduce: its value and unit, place, period
and source report, the scenario and metric that reproduce it, how the metric is read (``measure``), and a
tolerance with its reasoning. ``triangle facts`` runs every scenario the facts name (replicates on common random
numbers), reads each fact's measure per replicate, and reports the mean with a 95% interval.

Measures (per replicate, then mean and interval over replicates):

============================  ===========================================================================
``level``                     the metric over the whole run
``after``                     the metric over the last timeline period (after the last reform date)
``change``                    last period minus first period (a timeline), or scenario minus ``against``
``relative_change``           the same difference divided by the first period's (or ``against``'s) value
============================  ===========================================================================

With ``against: other.yaml`` the fact's scenario and the other run on the same seeds and the difference is
paired replicate by replicate.

Verdicts. A fact is judged on enough replicates that its 95% interval is narrower than its band (observed +-
tolerance) where that is feasible: every scenario starts with a few replicates, and a scenario whose fact is still
undecided gets more, as many as its spread says it needs, up to a cap. Then:

- ``pass``: the interval is no wider than the band and the mean lies within tolerance;
- ``FAIL``: the mean lies outside tolerance, and the interval is no wider than the band or misses it entirely;
- ``undecided``: the interval is wider than the band and overlaps it (the cap was reached, or the spread
  would need more replicates than the cap): the runs cannot tell a pass from a miss. Not a failure.

A fact the model misses for an understood reason carries ``known_failure``: the reason, and the miss as
measured (|simulated mean - observed|, in the fact's unit) on the county it was measured on (``fast``: the
small county of ``--fast``; ``full``: the scenario's own), e.g. ``known_failure: {miss: {fast: 0.21}, reason:
...}``. The miss is a bound: a known failure that misses by more, or that passes (so the label must go), is
reported as unexpected, as a new failure is, and ``triangle facts`` exits 1. A county with no recorded miss is
judged as for any other fact. Nothing is ever loosened to pass: tolerances are set from the figure's own
uncertainty, before running.

Seeds. Facts run on each scenario's own seed (or ``--seed``); ``triangle calibrate`` draws its simulations'
seeds from ``CALIBRATION_SEEDS``, a range no scenario seed lies in, so a fact is never judged on the random
numbers the fit saw (``check_seeds`` refuses a seed in that range).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.params.scenario import Strict
from sim.results.metrics import METRICS

FACTS_FILE = Path(__file__).resolve().parents[2] / "seeds" / "facts.yaml"
SEEDS = ("000_dcc5878c5088a2d5.txt", "001_00219d8b1e4d9632.txt", "002_bc606a1ca6dd6345.txt",
         "003_6ef8c57cd3ce1f48.txt", "004_8d0773259c77e80d.txt")
OTHER_SOURCES = ("2023 national statistical bulletin",)
Measure = Literal["level", "after", "change", "relative_change"]
County = Literal["fast", "full"]
# What --fast changes in every scenario: a smaller county (two townships, so referral and choice between centres
# still happen). Each fact may add its own overrides (`fast`).
FAST_OVERRIDES = ("population.size=30000",)
# Replicates: every scenario starts with at least MIN_REPLICATES (a --fast run with exactly that many), and a
# scenario gets more while a fact on it is undecided and its spread says more would decide it, up to the cap.
MIN_REPLICATES = 3
MAX_REPLICATES = 8
# The scenario seeds `triangle calibrate` draws for its simulations: [low, high). No scenario seed and no
# --seed of `triangle facts` may lie here, so facts are judged on random numbers the fit never saw.
CALIBRATION_SEEDS = (10**12, 2 * 10**12)


class KnownFailure(Strict):
    reason: str = Field(min_length=1, description="Why the model misses this fact.")
    miss: dict[County, Annotated[float, Field(ge=0)]] = Field(
        min_length=1, description="|simulated mean - observed|, in the fact's unit, as `triangle facts` measured "
        "it on its default seeds: on the small county of --fast (`fast`) and/or the scenario's own (`full`). A "
        "bound: a larger miss, or a pass, is unexpected. A county not named is judged as for any fact.")

    @model_validator(mode="before")
    @classmethod
    def _not_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("give the reason and the miss as measured: {reason: ..., miss: {fast: 0.21, "
                             "full: 0.38}} (|simulated - observed| on each county that misses)")
        return value


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
    known_failure: KnownFailure | None = Field(None, description="Why the model does not reproduce this fact "
                                               "yet, and by how much it misses (a bound).")

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

    def recorded_miss(self, county: County) -> float | None:
        """The miss recorded for this county, or None if the fact is not a known failure there."""
        return None if self.known_failure is None else self.known_failure.miss.get(county)


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
    county: County = "full"  # which county the runs were on: fast (--fast) or full (the scenario's own)

    @property
    def miss(self) -> float | None:
        return None if self.simulated is None else abs(self.simulated - self.fact.observed)

    @property
    def within(self) -> bool:
        """The mean lies within tolerance (whatever the interval)."""
        return self.miss is not None and self.miss <= self.fact.tolerance

    @property
    def decided(self) -> bool:
        """The interval is no wider than the band (observed +- tolerance), or lies wholly outside it."""
        if self.ci95 is None:
            return False
        low, high = self.ci95
        band_low, band_high = self.fact.observed - self.fact.tolerance, self.fact.observed + self.fact.tolerance
        return high - low <= band_high - band_low or high < band_low or low > band_high

    @property
    def verdict(self) -> str:
        """pass, fail or undecided (see the module's docstring)."""
        if self.simulated is None or not math.isfinite(self.simulated):
            return "fail"
        if not self.decided:
            return "undecided"
        return "pass" if self.within else "fail"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def unexpected(self) -> str | None:
        """Why this result needs attention (a new failure, a known failure that drifted or now passes), or None."""
        bound = self.fact.recorded_miss(self.county)
        if bound is None:
            return "fails, and is not a known failure on this county" if self.verdict == "fail" else None
        where = f"known_failure.miss.{self.county}"
        if self.verdict == "pass":
            return f"passes: remove its {where} ({bound:g}) from the facts file"
        if self.miss is None or not math.isfinite(self.miss):
            return "has no simulated value"
        if self.miss > bound:
            return (f"misses by {self.miss:.4g}, more than its {where} of {bound:g}: the model moved away from "
                    "the fact; find why, or measure the miss again and record it")
        return None

    def as_json(self) -> dict:
        f = self.fact
        return {"id": f.id, "observed": f.observed, "simulated": self.simulated, "ci95": self.ci95,
                "replicates": len(self.values), "verdict": self.verdict, "pass": self.passed,
                "miss": self.miss, "unexpected": self.unexpected, "county": self.county, "unit": f.unit,
                "tolerance": f.tolerance, "metric": f.metric, "measure": f.measure, "scenario": f.scenario,
                "against": f.against, "source": f.source,
                "known_failure": None if f.known_failure is None else f.known_failure.model_dump()}


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


def check_seeds(facts: list[Fact], seed: int | None = None) -> None:
    """Refuse to judge facts on a seed the calibration may have used (``CALIBRATION_SEEDS``): ``seed`` (--seed)
    or, without it, a fact's scenario's own seed."""
    from sim.params.loading import ScenarioError, load_scenario

    low, high = CALIBRATION_SEEDS
    if seed is not None:
        if low <= seed < high:
            raise ScenarioError(f"--seed {seed}: lies in [{low}, {high}), the range `triangle calibrate` draws its "
                                "simulations' seeds from; facts are judged on other seeds (any seed outside it)")
        return
    for path in dict.fromkeys(p for f in facts for p in (f.scenario, f.against) if p):
        own = load_scenario(path).seed
        if low <= own < high:
            raise ScenarioError(f"{path}: seed = {own}: lies in [{low}, {high}), the range `triangle calibrate` "
                                "draws its simulations' seeds from; give the scenario another seed, or --seed")


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


def _keys(fact: Fact, fast: bool) -> list[tuple[str, tuple[str, ...]]]:
    """The runs (scenario, overrides) a fact reads: its scenario, and ``against`` if any."""
    return [(path, _extra(fact, fast)) for path in (fact.scenario, fact.against) if path]


def replicates_needed(values: Sequence[float], tolerance: float, limit: int = 10_000) -> int:
    """The fewest replicates whose 95% t-interval, at the spread ``values`` show, is no wider than the band
    (a half-width of at most ``tolerance``); ``limit + 1`` when even ``limit`` would not do."""
    from scipy import stats

    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n < 2:
        return max(n + 1, 2)
    mean = sum(finite) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
    if sd == 0:
        return n
    m = n
    while m <= limit:
        if stats.t.ppf(0.975, m - 1) * sd / math.sqrt(m) <= tolerance:
            return m
        m = m + 1 if m < 64 else int(m * 1.1) + 1
    return limit + 1


class _Runs:
    """Runs replicates of scenarios, in this process (one worker) or on a pool of spawned processes kept for
    the whole evaluation; results come back in submission order."""

    def __init__(self, workers: int):
        self.workers, self.pool = workers, None

    def __enter__(self) -> _Runs:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def map(self, tasks: list[tuple[Any, int]], bar) -> list:
        from sim.results.runner import run_once

        if self.workers == 1 or len(tasks) == 1:
            out = []
            for scenario, seed in tasks:
                out.append(run_once(scenario, seed))
                bar.update(1)
            return out
        if self.pool is None:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        futures = [self.pool.submit(run_once, scenario, seed) for scenario, seed in tasks]
        out = []
        for fut in futures:
            out.append(fut.result())
            bar.update(1)
        return out


def _read(facts: list[Fact], results: dict, fast: bool) -> list[Finding]:
    from sim.results.runner import interval

    findings = []
    for fact in facts:
        keys = _keys(fact, fast)
        runs = results[keys[0]]
        if fact.against:
            bases = results[keys[1]]
            n = min(len(runs), len(bases))
            runs, bases = runs[:n], bases[:n]
            if any(b.seed != r.seed for b, r in zip(bases, runs, strict=True)):
                raise ValueError(f"fact {fact.id}: {fact.scenario} and {fact.against} must have the same seed "
                                 "and replicates to be compared on common random numbers")
        else:
            bases = [None] * len(runs)
        values = [_measure(fact, r, b) for r, b in zip(runs, bases, strict=True)]
        summary = interval(values)
        findings.append(Finding(fact, values, summary["mean"], summary["ci95"], "fast" if fast else "full"))
    return findings


def evaluate(facts: list[Fact], *, fast: bool = False, workers: int | None = None, progress: bool = True,
             seed: int | None = None, overrides: Sequence[str] = (), replicates: int | None = None,
             max_replicates: int = MAX_REPLICATES) -> list[Finding]:
    """Run what the facts need and read each fact. Replicate i of a scenario has the seed ``triangle run`` gives
    it (``runner.replicate_seed``), so ``against`` arms are paired. With ``replicates`` every scenario runs
    exactly that many; otherwise each starts with at least MIN_REPLICATES (the scenario's own number, or
    MIN_REPLICATES with ``fast``) and gets more while one of its facts is undecided and its spread says at most
    ``max_replicates`` would decide it. ``overrides`` (``key=value``) apply to every scenario, after the fast
    ones."""
    from tqdm import tqdm

    from sim.params.loading import load_scenario
    from sim.results.runner import check_memory, replicate_seed

    keys = list(dict.fromkeys(k for fact in facts for k in _keys(fact, fast)))
    scenarios = {key: load_scenario(key[0], [*key[1], *overrides, *([f"seed={seed}"] if seed is not None else [])])
                 for key in keys}
    if replicates is not None:
        want = {key: replicates for key in keys}
        cap = replicates
    else:
        want = {key: MIN_REPLICATES if fast else max(MIN_REPLICATES, scenarios[key].replicates) for key in keys}
        cap = max([max_replicates, *want.values()])
    # a fact's arms run the same replicates
    for fact in facts:
        arms = _keys(fact, fast)
        most = max(want[k] for k in arms)
        for k in arms:
            want[k] = most
    workers = max(1, workers or os.cpu_count() or 1)
    largest = max(scenarios.values(), key=lambda s: s.population.size)
    check_memory(largest, min(workers, sum(want.values())))
    results: dict = {key: [] for key in keys}
    with tqdm(total=sum(want.values()), unit="run", desc="facts", disable=not progress) as bar, _Runs(workers) as runs:
        while True:
            tasks = [(key, i) for key in keys for i in range(len(results[key]), want[key])]
            if not tasks:
                break
            done = runs.map([(scenarios[k], replicate_seed(scenarios[k].seed, i)) for k, i in tasks], bar)
            for (key, _), result in zip(tasks, done, strict=True):
                results[key].append(result)
            if replicates is not None:
                break
            for finding in _read(facts, results, fast):
                if finding.decided or finding.simulated is None:
                    continue
                need = replicates_needed(finding.values, finding.fact.tolerance, limit=cap)
                if need <= cap:
                    for k in _keys(finding.fact, fast):
                        if need > want[k]:
                            bar.total += need - want[k]
                            want[k] = need
            bar.refresh()
    return _read(facts, results, fast)


SET_TITLES = {"in-sample": "In-sample: the calibration's targets (seeds/calibration.yaml `facts`; the fit saw "
                           "them, on other seeds)",
              "holdout": "Holdout: facts the fit never saw (seeds/calibration.yaml `holdout`)",
              None: "Not in the calibration"}


def table(findings: list[Finding], sets: dict[str, str] | None = None) -> str:
    """A plain-text report: one line per fact (grouped in-sample / holdout when ``sets`` maps ids to the two),
    a tally per group, then what needs attention and the known failures' reasons."""
    def num(x) -> str:
        return "n/a" if x is None or not math.isfinite(x) else f"{x:.4g}"

    sets = sets or {}
    head = f"{'fact':<34} {'observed':>9} {'simulated':>10} {'95% interval':>22} {'tol':>7} {'n':>3}  result"
    groups = [g for g in ("in-sample", "holdout", None) if any(sets.get(f.fact.id) == g for f in findings)]
    lines, tally = [], []
    for group in groups:
        members = [f for f in findings if sets.get(f.fact.id) == group]
        if sets:
            lines.append(SET_TITLES[group])
        lines += [head, "-" * len(head)]
        for f in members:
            ci = f"[{num(f.ci95[0])}, {num(f.ci95[1])}]" if f.ci95 else "n/a"
            verdict = {"pass": "pass", "fail": "FAIL", "undecided": "undecided"}[f.verdict]
            if f.fact.recorded_miss(f.county) is not None and f.verdict != "pass":
                verdict += f" (known, miss {num(f.miss)} <= {f.fact.recorded_miss(f.county):g})" \
                    if not f.unexpected else " (known)"
            if f.unexpected:
                verdict += "  <- unexpected"
            lines.append(f"{f.fact.id:<34} {num(f.fact.observed):>9} {num(f.simulated):>10} {ci:>22} "
                         f"{num(f.fact.tolerance):>7} {len(f.values):>3}  {verdict}")
        lines.append("")
        counts = {v: sum(f.verdict == v for f in members) for v in ("pass", "fail", "undecided")}
        name = {"in-sample": "in-sample", "holdout": "holdout", None: "facts" if not sets else "others"}[group]
        tally.append(f"{name}: {counts['pass']} of {len(members)} pass, {counts['fail']} fail, "
                     f"{counts['undecided']} undecided")
    lines.append("; ".join(tally) + ".")
    unexpected = [f for f in findings if f.unexpected]
    if unexpected:
        lines.append("\nNeeds attention:")
        lines += [f"  {f.fact.id}: {f.unexpected}" for f in unexpected]
    known = [f for f in findings if f.fact.known_failure and f.verdict != "pass"]
    if known:
        lines.append("\nKnown failures:")
        lines += [f"  {f.fact.id}: {f.fact.known_failure.reason}" for f in known]
    return "\n".join(lines) + "\n"
