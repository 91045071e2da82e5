"""A city's figures: the city's metrics, each county's, and a difference-in-differences of a reform.

The city's metrics are the ordinary metrics (``sim.results.metrics``) computed on the counties' running totals
summed, so a rate is the city's (sum over counties / sum over counties), not a mean of the counties' rates. A few
figures are not sums: means over facilities or days (township capability) and incomes per doctor-year under each
county's own pay rules; for these the city's value is the counties' values weighted by person-years.

Difference-in-differences (DiD): with reformed counties R and comparator counties C (``sim.params.city``) and a
reform date d, for each replicate and metric

    DiD = (Y_R[d, end) - Y_R[0, d)) - (Y_C[d, end) - Y_C[0, d))

where Y_G[a, b) is the metric of group G (its counties' totals summed) over days a to b. All counties share the
replicate's fund and beds and years, so what moves both groups (a city-wide shock, the season, the shared pool)
cancels; what remains is the reform's effect on the reformed counties if, without it, they would have moved as
the comparators did (parallel trends). Its mean and 95% interval are taken over replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from sim.core.tally import Tally
from sim.engine.snapshot import snapshot
from sim.results import metrics as M
from sim.results.periods import PeriodView, period_view
from sim.results.runner import interval, paired

# metrics that are not ratios of sums over counties: the city's is the counties' weighted by person-years
NOT_SUMS = ("staff_income_primary", "staff_income_county", "township_capability_mean",
            "township_capability_lasting")


def sum_tallies(tallies: list[Tally]) -> Tally:
    """The counties' running totals added up (stocks too: residents alive, episodes waiting)."""
    out = tallies[0].totals()
    for f in fields(Tally):
        if f.name in ("days", "daily"):
            continue
        setattr(out, f.name, sum((getattr(t, f.name) for t in tallies[1:]), getattr(tallies[0], f.name)))
    return out


def combined(views: list) -> dict[str, float]:
    """The metrics of several counties' views (models, or period views) taken together."""
    if len(views) == 1:
        return M.compute(views[0])
    merged = PeriodView(sum_tallies([v.tally for v in views]), views[0].facilities, views[0].day, views[0].spec)
    out = M.compute(merged)
    weights = np.array([v.tally.person_days for v in views], dtype=float)
    own = [M.compute(v) for v in views]
    for name in NOT_SUMS:
        values = np.array([o[name] for o in own])
        ok = np.isfinite(values) & (weights > 0)
        out[name] = float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")
    return out


@dataclass
class CityRunResult:
    seed: int                                  # the first county's seed (the run's)
    metrics: dict[str, float]                  # the city's
    counties: dict[str, dict[str, float]]      # each county's
    did: dict[str, float] | None = None        # DiD of every metric, None without a reform date and two groups
    groups: dict = field(default_factory=dict)  # the groups' metrics before and after (for the report)
    fund: dict = field(default_factory=dict)   # the city fund's outlays by county
    seeds: dict[str, int] = field(default_factory=dict)  # each county's seed in this replicate
    daily: pd.DataFrame | None = None          # every county's daily table (runner.daily_table), a county column
    facilities: pd.DataFrame | None = None     # every county's facility table, a county column


def did_of(city, reformed: tuple[str, ...], comparators: tuple[str, ...], day: int | None):
    """(DiD by metric, the groups' metrics by period) of a finished City, or (None, {})."""
    if day is None or not reformed or not comparators or day not in city.marks or 0 not in city.marks:
        return None, {}
    end = {n: snapshot(m) for n, m in city.models.items()}
    start, mid = city.marks[0], city.marks[day]
    groups = {}
    for label, names in (("reformed", reformed), ("comparators", comparators)):
        groups[label] = {
            "before": combined([period_view(city.models[n], start[n], mid[n]) for n in names]),
            "after": combined([period_view(city.models[n], mid[n], end[n]) for n in names])}
    r, c = groups["reformed"], groups["comparators"]
    did = {name: (r["after"][name] - r["before"][name]) - (c["after"][name] - c["before"][name])
           for name in M.METRICS}
    return did, groups


def city_result(city, seed: int) -> CityRunResult:
    """The figures of a finished City; ``seed``: the run's (its first county's)."""
    from sim.results.runner import daily_table, facility_table

    spec = city.spec
    models = list(city.models.values())
    did, groups = did_of(city, spec.reformed, spec.comparators, spec.reform_day)

    def table(of) -> pd.DataFrame:
        frames = [of(m) for m in models]
        for name, frame in zip(city.models, frames, strict=True):
            frame.insert(0, "county", name)
        return pd.concat(frames, ignore_index=True)

    return CityRunResult(seed, combined(models), {n: M.compute(m) for n, m in city.models.items()}, did, groups,
                         city.fund_outlays(), {n: m.streams.seed for n, m in city.models.items()},
                         table(daily_table), table(facility_table))


def summarise(results: list[CityRunResult], spread: bool = False) -> dict:
    """The city's metrics, each county's and the DiD, each with its mean and 95% interval over replicates (with
    ``spread``, replicates on drawn parameters: the 95% uncertainty interval too, ``runner.interval``)."""
    names = list(results[0].counties)

    def over(values: list[dict]) -> dict:
        return {k: interval([v[k] for v in values], spread) for k in M.METRICS}

    doc = {"metrics": over([r.metrics for r in results]),
           "counties": {n: {"metrics": over([r.counties[n] for r in results])} for n in names}}
    if results[0].did is not None:
        doc["did"] = {"metrics": over([r.did for r in results]),
                      "groups": {g: {p: over([r.groups[g][p] for r in results]) for p in ("before", "after")}
                                 for g in ("reformed", "comparators")}}
    else:
        doc["did"] = None
    doc["fund"] = {n: {k: interval([r.fund[n][k] for r in results]) for k in ("claims", "to_community")}
                   for n in names}
    return doc


def differences(a: list[CityRunResult], b: list[CityRunResult], spread: bool = False) -> dict:
    """Paired differences b - a replicate by replicate (both cities on the same seeds and draws): the city's
    metrics, each county whose name both cities have, and the DiD when both have one."""
    common = [n for n in a[0].counties if n in b[0].counties]
    doc = {"metrics": paired([r.metrics for r in a], [r.metrics for r in b], spread),
           "counties": {n: paired([r.counties[n] for r in a], [r.counties[n] for r in b], spread) for n in common},
           "did": None}
    if a[0].did is not None and b[0].did is not None:
        doc["did"] = paired([r.did for r in a], [r.did for r in b], spread)
    return doc


def tables(results: list[CityRunResult], draws: list[dict] | None = None) -> dict[str, pd.DataFrame]:
    """The output folder's tables: daily and facilities of every county and replicate, and runs (one row per
    replicate and county: its seed, ``draws``' values of the replicate and the county's metrics)."""
    from sim.results.report import stacked

    runs = pd.DataFrame([{"replicate": i, "county": n, "seed": r.seeds[n], **(draws[i] if draws else {}), **m}
                         for i, r in enumerate(results) for n, m in r.counties.items()])
    return {"daily": stacked(results, "daily"), "facilities": stacked(results, "facilities"), "runs": runs}


def drawn_cities(path, overrides: list[str], draws, replicates: int, scenario) -> list | None:
    """Replicate by replicate, the city file with ``overrides`` and the replicate's draw (``sim.results.draws``)
    applied to the base county, and so to every county alike (one behavioural world); None when the parameters
    are fixed. A county whose own ``set:`` gives a drawn key would escape the draw: refused, naming it."""
    from sim.params.boundary import display
    from sim.params.city import load_city
    from sim.params.keys import ScenarioError

    if draws.fixed:
        return None
    for i, county in enumerate(scenario.city.counties):
        own = [k for k in county.set if k in draws.keys]
        if own:
            raise ScenarioError(
                f"{display(path)}: city.counties[{i}].set ({county.name}) sets {', '.join(own)}, which the draws "
                "give every county alike; remove it from the county's set:, or hold it for the whole city with "
                "--set KEY=VALUE (then the county keeps its own)")
    return [load_city(path, [*overrides, *draws.overrides(r)]) for r in range(replicates)]


def run_city_once(scenario, replicate: int, progress=None) -> CityRunResult:
    """Replicate ``replicate`` of a city: county k runs on the replicate seed of its own scenario seed, so a city
    of one county gives the numbers of its county's replicate."""
    from sim.engine.city import City
    from sim.results.runner import replicate_seed

    seeds = [replicate_seed(s.seed, replicate) for s in scenario.counties.values()]
    city = City(scenario, seeds).run(progress)
    return city_result(city, seeds[0])


def _run_job(job) -> CityRunResult:
    """``run_city_once`` of a (city, replicate) pair: a replicate with parameters of its own."""
    return run_city_once(*job)


def run_city_replicates(scenario, replicates: int | None = None, workers: int | None = None,
                        progress: bool = True, scenarios=None) -> list[CityRunResult]:
    """Every replicate of the city, in replicate order whatever the number of workers (each replicate's numbers
    depend only on the scenario and the replicate number). ``scenarios``, when given, holds one city per
    replicate (the city with that replicate's drawn parameters, :func:`drawn_cities`)."""
    import os

    from tqdm import tqdm

    from sim.results import workers as pools
    from sim.results.runner import check_memory

    n = replicates or scenario.replicates
    if scenarios is not None and len(scenarios) != n:
        raise ValueError(f"{len(scenarios)} cities for {n} replicates")
    jobs = list(zip(scenarios if scenarios is not None else [scenario] * n, range(n), strict=True))
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    largest = max(scenario.counties.values(), key=lambda s: s.population.size)
    check_memory(largest.model_copy(update={"population": largest.population.model_copy(
        update={"size": scenario.residents})}), workers)
    if workers == 1:
        with tqdm(total=n * scenario.days, unit="day", disable=not progress, desc=scenario.name,
                  leave=False) as bar:
            return [run_city_once(city, r, bar.update) for city, r in jobs]
    pool = pools.process_pool(workers, warm="sim.engine.model")
    try:
        with tqdm(total=n, unit="run", disable=not progress, desc=scenario.name, leave=False) as bar:
            results = []
            for fut in pools.submit_all(pool, _run_job, jobs):
                results.append(fut.result())
                bar.update(1)
    except BaseException:
        pools.stop(pool)
        raise
    pool.shutdown()
    return results
