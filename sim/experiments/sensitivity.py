"""Sobol sensitivity indices of a sobol-design sweep, by SALib.

For each metric, the first-order index S1 of a parameter is the share of the metric's variance explained by
that parameter alone; the total index ST adds every interaction it takes part in. ST - S1 large means the
parameter matters through interactions; ST near 0 means it can be fixed anywhere in its range. Confidence
intervals (95%) come from SALib's bootstrap, seeded from the sweep seed so that they are reproducible.
The response at each point is the mean over its replicates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from sim.experiments import designs

_BOOTSTRAP_STREAM = 0x5A1


def sobol_indices(names: Sequence[str], response: np.ndarray, second_order: bool, seed: int) -> dict:
    """S1, ST (and S2) with their 95% intervals, per parameter, for ``response`` in Saltelli order."""
    from SALib.analyze import sobol

    boot_seed = int(np.random.SeedSequence([seed, _BOOTSTRAP_STREAM]).generate_state(1)[0])
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        result = sobol.analyze(designs.sobol_problem(names), np.asarray(response, dtype=float),
                               calc_second_order=second_order, num_resamples=200, conf_level=0.95,
                               print_to_console=False, seed=boot_seed)
    out: dict = {"first_order": {}, "total": {}}
    for i, name in enumerate(names):
        out["first_order"][name] = {"index": float(result["S1"][i]), "conf95": float(result["S1_conf"][i])}
        out["total"][name] = {"index": float(result["ST"][i]), "conf95": float(result["ST_conf"][i])}
    if second_order:
        out["second_order"] = {
            f"{a} x {b}": {"index": float(result["S2"][i, j]), "conf95": float(result["S2_conf"][i, j])}
            for i, a in enumerate(names) for j, b in enumerate(names) if j > i}
    return out


# --------------------------------------------------------------------------------------------- tornado
# Behavioural keys: what residents, providers and outcomes do (as a calibration may fit), not policy or county.
BEHAVIOURAL = ("behaviour.", "outcomes.")


def tornado_parameters(register: Sequence, keys: Sequence[str] | None = None, assumed: bool = False) -> list:
    """The register entries a tornado varies: ``keys`` if given (each a scalar with a range), else every
    calibrated entry with a range and, with ``assumed``, every assumed behavioural one. Raises ValueError naming
    a key that has no range or is not a number."""
    ranged = [e for e in register if e.range is not None and _scalar(e.default)]
    if keys is None:
        return [e for e in ranged if e.kind == "calibrated" or (assumed and e.kind == "assumed"
                                                                  and e.key.startswith(BEHAVIOURAL))]
    by_key = {e.key: e for e in register}
    chosen = []
    for key in (k.strip() for k in keys):
        if key not in by_key:
            raise ValueError(f"{key}: no such parameter (triangle params lists them)")
        entry = by_key[key]
        if entry.range is None or not _scalar(entry.default):
            raise ValueError(f"{key}: has no range to vary over (a tornado varies numbers the register gives a "
                             "range: triangle params --kind calibrated, --kind assumed)")
        if entry not in chosen:
            chosen.append(entry)
    if assumed:
        chosen += [e for e in ranged if e.kind == "assumed" and e.key.startswith(BEHAVIOURAL) and e not in chosen]
    return chosen


def _scalar(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _end(entry, value: float):
    """A range's end in the parameter's own type (whole numbers stay whole)."""
    return int(round(value)) if isinstance(entry.default, int) else float(value)


def tornado(arms: Sequence, labels: Sequence[str], metric: str, entries: Sequence, *, workers: int | None = None,
            progress: bool = True) -> dict:
    """Which parameters drive each arm's paired effect on ``metric`` (one-at-a-time sensitivity, a tornado).

    ``arms``: the scenarios, the first the reference, all on the same seed and ``replicates`` (each arm's
    ``replicates`` replicates, on the seeds of ``sim.results.runner.replicate_seed``). For each entry (a register
    entry with ``range`` = [low, high]) and each end v, every arm runs with the parameter at v, others at the
    arm's values; the effect of arm k at v is the mean over replicates r of the paired difference
    metric(arm k, r) - metric(arm 0, r), with its 95% t-interval, and the entry's swing is
    |effect(high) - effect(low)|. ``base`` is the effect at the arms' own values. Runs go through the sweep's
    executor (``sim.experiments.executors``); runs that resolve to the same scenario and seed (an end equal to
    the value in force) run once. Parameters: ``labels[k - 1]`` names the difference arm k - arm 0."""
    from tqdm import tqdm

    from sim.experiments import executors
    from sim.experiments.plan import run_key
    from sim.params import register
    from sim.params.keys import ScenarioError
    from sim.results.runner import interval, replicate_seed

    first = arms[0]
    in_force = {e.key: e.value for e in register.entries(first)}
    seeds = [replicate_seed(first.seed, r) for r in range(first.replicates)]
    settings: list[tuple[str | None, float | None]] = [(None, None)]
    settings += [(e.key, _end(e, v)) for e in entries for v in e.range]
    tasks: dict[str, executors.Task] = {}
    keys: dict[tuple, str] = {}  # (setting index, arm, replicate) -> run key
    for i, (key, value) in enumerate(settings):
        for a, arm in enumerate(arms):
            if key is None:
                scenario = arm
            else:
                scenario = _set(arm, key, value, labels[a - 1] if a else "the first arm")
            for r, seed in enumerate(seeds):
                k = run_key(scenario, seed)
                keys[(i, a, r)] = k
                tasks.setdefault(k, executors.Task(k, scenario, seed, (metric,)))
    values: dict[str, float] = {}
    executor = executors.LocalProcesses(workers)
    with tqdm(total=len(tasks), unit="run", desc=f"tornado of {metric}", disable=not progress,
              dynamic_ncols=True, leave=False) as bar:
        for record in executor.results(list(tasks.values())):
            if record["status"] != "done":
                raise ScenarioError(f"tornado: a run failed (seed {record['seed']}): {record.get('error')}")
            values[record["key"]] = record["metrics"][metric]
            bar.update(1)

    def effect(i: int, a: int) -> dict:
        return interval([values[keys[(i, a, r)]] - values[keys[(i, 0, r)]] for r in range(len(seeds))])

    return _swings(metric, seeds, len(tasks), entries, in_force, labels, effect)


def of_compare(request: dict | None, paths: Sequence, overrides: list[str], labels: Sequence[str], load, *,
               city: bool = False, workers: int | None = None, progress: bool = True) -> dict | None:
    """The tornado ``triangle compare --tornado`` asks for (``request``: its metric, entries, replicates; None:
    none asked): the files ``paths`` loaded by ``load`` with ``overrides`` (which fix the seed) at the request's
    replicates, explained by :func:`tornado`, or :func:`city_tornado` for cities."""
    if request is None:
        return None
    arms = [load(path, [*overrides, f"replicates={request['replicates']}"]) for path in paths]
    explain = city_tornado if city else tornado
    return explain(arms, labels, request["metric"], request["entries"], workers=workers, progress=progress)


def city_tornado(arms: Sequence, labels: Sequence[str], metric: str, entries: Sequence, *,
                 workers: int | None = None, progress: bool = True) -> dict:
    """:func:`tornado` of cities (``sim.params.city.CityScenario``): each end of each entry is set in every county
    of every arm (the counties are one behavioural world), each arm runs its replicates as ``triangle run`` of a
    city does (county k of replicate r on the replicate seed of its own seed), and the effect is the mean paired
    difference of the city's ``metric``. ``seeds`` are the first county's replicate seeds."""
    import dataclasses

    from tqdm import tqdm

    from sim.params import register
    from sim.results import city as C
    from sim.results.runner import interval, replicate_seed

    first = arms[0]
    n = first.replicates
    in_force = {e.key: e.value for e in register.entries(first.base)}
    settings: list[tuple[str | None, float | None]] = [(None, None)]
    settings += [(e.key, _end(e, v)) for e in entries for v in e.range]
    values: dict[tuple[int, int], list[float]] = {}
    with tqdm(total=len(settings) * len(arms), unit="city", desc=f"tornado of {metric}", disable=not progress,
              dynamic_ncols=True, leave=False) as bar:
        for i, (key, value) in enumerate(settings):
            for a, arm in enumerate(arms):
                if key is not None:
                    where = labels[a - 1] if a else "the first arm"
                    arm = dataclasses.replace(
                        arm, base=_set(arm.base, key, value, where),
                        counties={c: _set(s, key, value, f"{where}, county {c}") for c, s in arm.counties.items()})
                values[(i, a)] = [r.metrics[metric] for r in C.run_city_replicates(arm, workers=workers,
                                                                                   progress=False)]
                bar.update(1)

    def effect(i: int, a: int) -> dict:
        return interval([values[(i, a)][r] - values[(i, 0)][r] for r in range(n)])

    seeds = [replicate_seed(first.seed, r) for r in range(n)]
    return _swings(metric, seeds, len(settings) * len(arms) * n, entries, in_force, labels, effect)


def _set(scenario, key: str, value, where: str):
    """``scenario`` with the register key ``key`` at ``value``; a value the scenario refuses is named."""
    from pydantic import ValidationError

    from sim.experiments.plan import apply_settings
    from sim.params.keys import ScenarioError
    from sim.params.scenario import Scenario

    try:
        return Scenario.model_validate(apply_settings(scenario.model_dump(mode="json"), {key: value}))
    except (ValidationError, ScenarioError) as err:
        raise ScenarioError(f"tornado: {key} = {value} in {where}: {' '.join(str(err).split())[:300]}") from None


def _swings(metric: str, seeds: list, runs: int, entries: Sequence, in_force: dict, labels: Sequence[str],
            effect) -> dict:
    """The tornado's result: for each difference (arm k - arm 0) its effect at the arms' own values (``base``) and
    at each end of each entry, ``effect(setting, arm)`` (setting 0 the arms' own values, then each entry's low and
    high ends), the entries sorted by swing."""
    from sim.results.metrics import METRICS

    out = {"metric": metric, "unit": METRICS[metric].unit, "replicates": len(seeds), "seeds": seeds,
           "runs": runs, "differences": {}}
    for a in range(1, len(labels) + 1):
        rows = []
        for n, e in enumerate(entries):
            low, high = effect(1 + 2 * n, a), effect(2 + 2 * n, a)
            swing = (abs(high["mean"] - low["mean"]) if low["mean"] is not None and high["mean"] is not None
                     else None)
            rows.append({"key": e.key, "kind": e.kind, "unit": e.unit, "value": _plain(in_force.get(e.key)),
                         "low": _end(e, e.range[0]), "high": _end(e, e.range[1]),
                         "effect_low": low, "effect_high": high, "swing": swing})
        rows.sort(key=lambda row: -1.0 if row["swing"] is None else row["swing"], reverse=True)
        out["differences"][labels[a - 1]] = {"base": effect(0, a), "parameters": rows}
    return out


def _plain(value):
    return float(value) if isinstance(value, float) else value
