"""Running a scenario: one run is a pure function of (scenario, seed); replicates map it over processes.

``run_replicates`` derives each replicate's seed from the scenario seed and the replicate number only,
so the same scenario gives the same numbers whatever the number of workers or the machine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # Student's t quantile (scipy.stats is slow to import)

from sim.core.levels import LEVELS
from sim.core.tally import DAILY_COLUMNS
from sim.params.keys import ScenarioError
from sim.params.scenario import Scenario
from sim.results import metrics as M
from sim.results import workers as pools

BYTES_PER_RESIDENT = 120  # benchmarks/scale.py: 1 M residents peak at ~240 MB in all, ~140 B/resident above start-up
BYTES_PER_RUN_OVERHEAD = 250e6  # interpreter, numpy, Mesa, catalogue


class InsufficientMemory(ScenarioError):
    """A county too large for the memory this machine has free: a scenario that cannot be used here."""


@dataclass
class RunResult:
    seed: int
    metrics: dict[str, float]
    daily: pd.DataFrame
    facilities: pd.DataFrame
    periods: list[dict] = field(default_factory=list)  # by timeline period; empty without a timeline


def replicate_seed(seed: int, replicate: int) -> int:
    """The seed of one replicate: a hash of (scenario seed, replicate number), stable across machines."""
    return int(np.random.SeedSequence([seed, replicate]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_once(scenario: Scenario, seed: int, progress: Callable[[int], None] | None = None) -> RunResult:
    from sim.engine.model import HealthSystemModel  # imported here so worker processes import lazily
    from sim.results.periods import period_metrics

    model = HealthSystemModel(scenario, seed=seed).run(progress)
    periods = period_metrics(model) if scenario.timeline else []
    return RunResult(seed, M.compute(model), daily_table(model), facility_table(model), periods)


def daily_table(model) -> pd.DataFrame:
    """One row per (day, level): flows, queues, waits, beds and money of that day."""
    t = model.tally
    days, levels = model.day, t.daily.shape[1]
    frame = pd.DataFrame(t.daily[:days].reshape(days * levels, -1), columns=list(DAILY_COLUMNS))
    frame.insert(0, "level", pd.Categorical(np.tile(LEVELS, days), categories=list(LEVELS)))
    frame.insert(0, "day", np.repeat(np.arange(days), levels))
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["wait_days_mean"] = frame["wait_days_sum"] / frame["treated"]
        frame["outpatient_wait_hours_mean"] = frame["outpatient_wait_hours_sum"] / frame["consultations"]
    return frame.drop(columns=["wait_days_sum", "outpatient_wait_hours_sum"])


def facility_table(model) -> pd.DataFrame:
    f = model.facilities
    agents = sorted(model.facility_agents, key=lambda a: a.index)
    frame = pd.DataFrame({
        "facility": np.arange(f.n), "name": [a.name for a in agents],
        "level": pd.Categorical([LEVELS[k] for k in f.level], categories=list(LEVELS)),
        "township": f.township, "doctors": f.doctors, "beds": f.beds, "capability": f.capability,
        **{k: v for k, v in f.books.items()},
    })
    frame["surplus"] = frame["revenue"] - frame["resource_cost"]
    return frame


def _run_job(job: tuple[Scenario, int]) -> RunResult:
    """``run_once`` of a (scenario, seed) pair: a replicate with parameters of its own."""
    return run_once(*job)


def estimate_memory_bytes(scenario: Scenario, workers: int) -> float:
    return workers * (BYTES_PER_RUN_OVERHEAD + BYTES_PER_RESIDENT * scenario.population.size)


def available_memory_bytes() -> float:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_memory(scenario: Scenario, workers: int) -> None:
    need, have = estimate_memory_bytes(scenario, workers), available_memory_bytes()
    if need > 0.9 * have:
        raise InsufficientMemory(
            f"population.size = {scenario.population.size:,} with {workers} worker(s) needs about "
            f"{need / 2**30:.1f} GiB, but only {have / 2**30:.1f} GiB is available; use fewer residents or "
            f"--workers 1")


def run_replicates(scenario: Scenario, replicates: int | None = None, workers: int | None = None,
                   progress: bool = True, scenarios: Sequence[Scenario] | None = None) -> list[RunResult]:
    """Run the scenario's replicates; results are in replicate order whatever the workers.

    ``scenarios``, when given, holds one scenario per replicate (the same county with parameters drawn for that
    replicate: ``sim.results.draws``); replicate i runs ``scenarios[i]`` on the same seed it would have run
    ``scenario`` on."""
    from tqdm import tqdm

    n = replicates or scenario.replicates
    if scenarios is not None and len(scenarios) != n:
        raise ValueError(f"{len(scenarios)} scenarios for {n} replicates")
    seeds = [replicate_seed(scenario.seed, i) for i in range(n)]
    jobs = list(zip(scenarios if scenarios is not None else [scenario] * n, seeds, strict=True))
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    check_memory(max((s for s, _ in jobs), key=lambda s: s.population.size), workers)
    if workers == 1:
        results = []
        with tqdm(total=n * scenario.days, unit="day", disable=not progress, desc=scenario.name,
                  leave=False) as bar:
            for this, seed in jobs:
                results.append(run_once(this, seed, bar.update))
        return results
    # Workers that die with this process and leave Ctrl-C to it (sim.results.workers).
    pool = pools.process_pool(workers, warm="sim.engine.model")
    try:
        with tqdm(total=n, unit="run", disable=not progress, desc=scenario.name, leave=False) as bar:
            futures = (pools.submit_all(pool, partial(run_once, scenario), seeds) if scenarios is None else
                       pools.submit_all(pool, _run_job, jobs))
            results = []
            for fut in futures:
                results.append(fut.result())
                bar.update(1)
    except BaseException:  # Ctrl-C, or a run that raised: the other runs are not waited for
        pools.stop(pool)
        raise
    pool.shutdown()
    return results


def interval(values, spread: bool = False) -> dict:
    """Mean and 95% t-interval of the mean of the finite values (interval null with fewer than two).

    With ``spread``, also ``ui95``: the 95% uncertainty interval, the 2.5th and 97.5th percentiles of the values
    themselves (linear interpolation between order statistics). When each value comes from its own draw of the
    parameters, the values' spread is parameter uncertainty and chance together, and ``ui95`` is the interval
    of probabilistic sensitivity analysis; ``ci95`` says only how precisely the replicates fix the mean."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    extra = {"ui95": None} if spread else {}
    if len(values) == 0:
        return {"mean": None, "ci95": None, **extra}
    mean = float(values.mean())
    if len(values) < 2:
        return {"mean": mean, "ci95": None, **extra}
    half = float(stdtrit(len(values) - 1, 0.975) * values.std(ddof=1) / math.sqrt(len(values)))
    if spread:
        extra = {"ui95": [float(q) for q in np.quantile(values, [0.025, 0.975])]}
    return {"mean": mean, "ci95": [mean - half, mean + half], **extra}


def summarise(results: list[RunResult], spread: bool = False) -> dict[str, dict]:
    """Mean and 95% t-interval over replicates for every metric (interval null with one replicate); with
    ``spread``, the 95% uncertainty interval too (:func:`interval`)."""
    return {name: interval([r.metrics[name] for r in results], spread) for name in M.METRICS}


def paired(a: list[dict], b: list[dict], spread: bool = False) -> dict[str, dict]:
    """Paired differences b - a, replicate by replicate (both arms on the same seeds and, when drawn, the same
    parameters), with intervals."""
    return {name: interval([y[name] - x[name] for x, y in zip(a, b, strict=True)], spread) for name in M.METRICS}


def summarise_periods(results: list[RunResult], spread: bool = False) -> list[dict]:
    """Per period: metrics over replicates and the paired change from the first period (``spread``: with their
    95% uncertainty intervals, :func:`interval`)."""
    if not results or not results[0].periods:
        return []
    first = [r.periods[0]["metrics"] for r in results]
    out = []
    for i, period in enumerate(results[0].periods):
        these = [r.periods[i]["metrics"] for r in results]
        entry = {"start_day": period["start_day"], "end_day": period["end_day"],
                 "metrics": {name: interval([m[name] for m in these], spread) for name in M.METRICS}}
        if i > 0:
            entry["change_from_first"] = paired(first, these, spread)
        out.append(entry)
    return out
