"""Reading a sweep's store: a tidy table of runs, summaries per point, Sobol indices and the triangle's front.

``analyse(store)`` returns the analysis as a JSON-ready document that depends only on the stored plan and
results: no timestamps, paths, run times or order of completion. Two stores of the same sweep, run on any
executors in any order and with any interruptions, give the same document. ``write(store, analysis)``
writes the folder ``analysis/`` of the store:

| file | contents |
| --- | --- |
| runs.parquet, runs.csv | one row per planned run: point, replicate, seed, key, status, error, parameters, metrics |
| points.csv | one row per point: its parameters, runs done, and per metric the mean and 95% t-interval |
| pareto.csv | the points on the Pareto front with their three corner metrics |
| sobol.csv | (sobol designs) first-order and total indices with intervals, per metric and parameter |
| summary.json | the same document as ``triangle analyze --json`` |
| pareto.png, effects.png | the front, and each parameter's effect on the three corners (sim/results/plots.py) |
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments import pareto, sensitivity
from sim.experiments.plan import Plan
from sim.experiments.store import Store
from sim.results.metrics import METRICS
from sim.results.report import json_safe


def runs_table(plan: Plan, records: dict[str, dict]) -> pd.DataFrame:
    """One row per planned run, in plan order (point, then replicate)."""
    rows = []
    for run in plan.runs:
        record = records.get(run.key, {})
        status = record.get("status", "pending")
        metrics = record.get("metrics") or {}
        row = {"point": run.point, "replicate": run.replicate, "seed": run.seed, "key": run.key,
               "status": status, "error": record.get("error", "") if status == "failed" else ""}
        row.update({f"param:{name}": value for name, value in plan.points[run.point].values.items()})
        row.update({name: _number(metrics.get(name)) for name in plan.metrics})
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column.startswith("param:"):
            frame[column] = _plain_column(frame[column])
    return frame.rename(columns=lambda c: c.removeprefix("param:"))


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _plain_column(column: pd.Series) -> pd.Series:
    """Numbers stay numbers; anything else (choices, mixed lists, mappings) becomes text, for Parquet."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in column):
        return column.astype(float)
    return column.map(lambda v: v if isinstance(v, str) else json.dumps(v, sort_keys=True))


def mean_interval(values: np.ndarray) -> dict:
    """Mean and 95% t-interval of the finite values (interval null with fewer than two)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"mean": None, "ci95": None, "n": 0}
    mean = float(values.mean())
    if len(values) < 2:
        return {"mean": mean, "ci95": None, "n": 1}
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return {"mean": mean, "ci95": [mean - half, mean + half], "n": int(len(values))}


def analyse(store: Store) -> dict:
    """The analysis document of a store (see the module docstring)."""
    plan = store.plan()
    runs = runs_table(plan, store.records())
    done = runs[runs["status"] == "done"]
    grouped = {point: frame for point, frame in done.groupby("point", sort=True)}
    points = []
    for point in plan.points:
        frame = grouped.get(point.index)
        summary = {name: mean_interval(frame[name].to_numpy(float) if frame is not None else np.array([]))
                   for name in plan.metrics}
        points.append({"point": point.index, "parameters": point.values,
                       "runs_done": 0 if frame is None else len(frame),
                       "metrics": {name: {"mean": s["mean"], "ci95": s["ci95"]} for name, s in summary.items()}})
    counts = runs["status"].value_counts()
    failures = runs[runs["status"] == "failed"]
    return json_safe({
        "sweep": plan.sweep.name,
        "design": plan.sweep.design,
        "seed": plan.seed,
        "replicates": plan.sweep.replicates,
        "parameters": list(plan.sweep.parameters),
        "metrics": plan.metrics,
        "runs": {s: int(counts.get(s, 0)) for s in ("done", "failed", "pending")} | {"planned": len(runs)},
        "failures": [{"point": int(r.point), "replicate": int(r.replicate), "error": r.error}
                     for r in failures.itertuples()],
        "points": points,
        "pareto": _pareto(plan, points),
        "sobol": _sobol(plan, points) if plan.sweep.design == "sobol" else None,
    })


def _means(points: list[dict], metric: str) -> np.ndarray:
    return np.array([np.nan if p["metrics"][metric]["mean"] is None else p["metrics"][metric]["mean"]
                     for p in points], dtype=float)


def _pareto(plan: Plan, points: list[dict]) -> dict:
    corners = plan.sweep.pareto.corners()
    directions = [bool(METRICS[m].lower_is_better) for m in corners.values()]
    values = np.column_stack([_means(points, m) for m in corners.values()])
    front = pareto.front(values, directions)
    return {
        "corners": {corner: {"metric": m, "unit": METRICS[m].unit,
                             "better": "lower" if METRICS[m].lower_is_better else "higher"}
                    for corner, m in corners.items()},
        "front": [int(i) for i in front],
        "compared": int(np.isfinite(values).all(axis=1).sum()),
    }


def _sobol(plan: Plan, points: list[dict]) -> dict:
    names = list(plan.sweep.parameters)
    out = {}
    for metric in plan.metrics:
        response = _means(points, metric)
        missing = int((~np.isfinite(response)).sum())
        if missing:
            out[metric] = {"unavailable": f"{missing} of {len(response)} points have no value (failed, pending "
                           "or undefined runs); Sobol indices need every point"}
        elif np.ptp(response) == 0:
            out[metric] = {"unavailable": "the metric does not vary across points"}
        else:
            out[metric] = sensitivity.sobol_indices(names, response, plan.sweep.second_order, plan.seed)
    return out


def as_json(analysis: dict) -> str:
    return json.dumps(analysis, indent=2, sort_keys=False, allow_nan=False) + "\n"


def report(analysis: dict) -> str:
    """The analysis for people: run counts, the Pareto front, and Sobol indices if any."""
    runs = analysis["runs"]
    lines = [f"{analysis['sweep']}: {analysis['design']} design, {len(analysis['points'])} points x "
             f"{analysis['replicates']} replicate(s); runs: {runs['done']} done, {runs['failed']} failed, "
             f"{runs['pending']} pending", ""]
    corners = analysis["pareto"]["corners"]
    lines.append(f"Pareto front: {len(analysis['pareto']['front'])} of {analysis['pareto']['compared']} points "
                 "that no other point beats on all of")
    lines += [f"  {corner}: {c['metric']} [{c['unit']}], {c['better']} is better" for corner, c in corners.items()]
    front = points_table(analysis)
    front = front[front["point"].isin(analysis["pareto"]["front"])]
    columns = ["point", *analysis["parameters"], *[c["metric"] for c in corners.values()]]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 60):
        lines += ["", front[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"), ""]
        sobol = sobol_table(analysis)
        if sobol is not None and len(sobol):
            lines.append("Sobol indices (total; first order in the second table), 95% intervals in sobol.csv:")
            for order in ("total", "first_order"):
                wide = sobol[sobol["order"] == order].pivot(index="metric", columns="parameter", values="index")
                lines += ["", wide.to_string(float_format=lambda v: f"{v:.3f}")]
            lines.append("")
        unavailable = {m: r["unavailable"] for m, r in (analysis["sobol"] or {}).items() if "unavailable" in r}
        lines += [f"Sobol indices of {m}: not available: {why}" for m, why in unavailable.items()]
    if analysis["failures"]:
        lines.append(f"{len(analysis['failures'])} failed run(s), e.g. point {analysis['failures'][0]['point']}: "
                     f"{analysis['failures'][0]['error']}")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------- writing
def points_table(analysis: dict) -> pd.DataFrame:
    rows = []
    for p in analysis["points"]:
        row = {"point": p["point"], **p["parameters"], "runs_done": p["runs_done"]}
        for name, s in p["metrics"].items():
            low, high = s["ci95"] or (None, None)
            row.update({name: s["mean"], f"{name}_ci_low": low, f"{name}_ci_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def sobol_table(analysis: dict) -> pd.DataFrame | None:
    if not analysis["sobol"]:
        return None
    rows = []
    for metric, result in analysis["sobol"].items():
        for order in ("first_order", "total"):
            for name, s in (result.get(order) or {}).items():
                rows.append({"metric": metric, "order": order, "parameter": name, **s})
    return pd.DataFrame(rows, columns=["metric", "order", "parameter", "index", "conf95"])


def _plots(analysis: dict, points: pd.DataFrame, runs: pd.DataFrame, folder: Path) -> None:
    """pareto.png: the points on each pair of corners, the front in red. effects.png: each parameter's effect
    on the three corners, mean and 95% interval over the runs at each value (or quantile bin)."""
    from sim.results import plots

    corners = {corner: c["metric"] for corner, c in analysis["pareto"]["corners"].items()}
    higher = [c["metric"] for c in analysis["pareto"]["corners"].values() if c["better"] == "higher"]
    figure = plots.triangle_front(points, corners, analysis["pareto"]["front"], higher_is_better=higher,
                                  title=f"{analysis['sweep']}: points no other point beats on all three corners")
    figure.savefig(folder / "pareto.png", dpi=110)
    if len(runs):
        figure = plots.lever_effects(runs, analysis["parameters"], list(corners.values()),
                                     title=f"{analysis['sweep']}: each parameter's effect, mean and 95% interval")
        figure.savefig(folder / "effects.png", dpi=100)


def write(store: Store, analysis: dict) -> Path:
    """Write ``analysis/`` in the store; it is built in a temporary folder and swapped in whole."""
    plan = store.plan()
    target = store.root / "analysis"
    tmp = Path(tempfile.mkdtemp(prefix=".analysis.", dir=store.root))
    try:
        runs = runs_table(plan, store.records())
        runs.to_parquet(tmp / "runs.parquet", index=False)
        runs.to_csv(tmp / "runs.csv", index=False)
        points = points_table(analysis)
        points.to_csv(tmp / "points.csv", index=False)
        corners = list(analysis["pareto"]["corners"].values())
        columns = ["point", *plan.sweep.parameters, *[c["metric"] for c in corners]]
        points[points["point"].isin(analysis["pareto"]["front"])][columns].to_csv(tmp / "pareto.csv", index=False)
        sobol = sobol_table(analysis)
        if sobol is not None:
            sobol.to_csv(tmp / "sobol.csv", index=False)
        (tmp / "summary.json").write_text(as_json(analysis))
        _plots(analysis, points, runs[runs["status"] == "done"], tmp)
        old = store.root / ".analysis.old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target

