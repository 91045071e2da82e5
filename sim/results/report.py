"""Turning summaries into a table for people, JSON for programs, and an output folder for both."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sim import __version__
from sim.results.metrics import GROUPS, METRICS, NOT_A_NUMBER, na_reason


def _name_width() -> int:
    """The metric column's width: the longest metric name and two spaces, at least 32."""
    return max(32, max(len(name) for name in METRICS) + 2)


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return NOT_A_NUMBER
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.4f}"


UNCERTAINTY_NOTE = "95% uncertainty interval (2.5th-97.5th percentile over replicates, each on its own parameters)"


def table(name: str, replicates: int, summary: dict[str, dict], *, uncertainty: bool = False) -> str:
    """The summary grouped as cost / access / quality / providers / payment, one metric a line; each metric
    that is n/a is explained below the table. ``uncertainty``: show the 95% uncertainty interval (``ui95``) of
    replicates on drawn parameters instead of the interval of the mean."""
    what = f"mean and {UNCERTAINTY_NOTE}" if uncertainty else "mean and 95% interval over replicates"
    key = "ui95" if uncertainty else "ci95"
    lines = [f"{name}: {replicates} replicate(s); {what}", ""]
    for group in GROUPS:
        lines.append(group.upper())
        for metric in (m for m in METRICS.values() if m.group == group):
            s = summary[metric.name]
            lines.append(f"  {metric.name:<{_name_width()}}{_fmt(s['mean']):>12}  {_interval(s, key):<26}{metric.unit}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n" + na_notes([summary])


def _undefined(value) -> bool:
    return value is None or (isinstance(value, float | np.floating) and not math.isfinite(value))


def na_notes(summaries: list[dict[str, dict]]) -> str:
    """"n/a: metric: why" lines for the metrics that have no mean in some summary ("" when there is none)."""
    names = [name for name in METRICS if any(_undefined(s[name]["mean"]) for s in summaries if name in s)]
    if not names:
        return ""
    return "\n" + "".join(f"{NOT_A_NUMBER}: {name}: {na_reason(name)}\n" for name in names)


def explained(summary: dict[str, dict]) -> dict[str, dict]:
    """A summary (metric -> {"mean", "ci95", ...}) where a metric with no mean says why: ``"n/a": reason``."""
    return {name: ({**entry, NOT_A_NUMBER: na_reason(name)} if name in METRICS and _undefined(entry.get("mean"))
                   else entry) for name, entry in summary.items()}


def _interval(s: dict, key: str = "ci95") -> str:
    ci = s.get(key)
    return f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""


def period_table(periods: list[dict]) -> str:
    """Before / after / change (paired, with interval) for each timeline period after the first."""
    if len(periods) < 2:
        return ""
    lines = []
    first = periods[0]
    for p in periods[1:]:
        lines.append(f"PERIODS: days {first['start_day']}-{first['end_day'] - 1} (before) vs days "
                     f"{p['start_day']}-{p['end_day'] - 1} (after); change is paired over replicates")
        lines.append(f"  {'metric':<{_name_width()}}{'before':>12}{'after':>12}{'change':>12}  "
                     f"{'95% interval of change':<26}")
        for group in GROUPS:
            for metric in (m for m in METRICS.values() if m.group == group):
                b, a = first["metrics"][metric.name], p["metrics"][metric.name]
                ch = p["change_from_first"][metric.name]
                lines.append(f"  {metric.name:<{_name_width()}}{_fmt(b['mean']):>12}{_fmt(a['mean']):>12}"
                             f"{_fmt(ch['mean']):>12}  {_interval(ch):<26}")
        lines.append("")
    return "\n".join(lines)


def compare_table(names: list[str], replicates: int, summaries: list[dict], differences: list[dict], *,
                  uncertainty: bool = False) -> str:
    """Each arm's mean and each later arm's paired difference from the first, with its interval (``uncertainty``:
    the 95% uncertainty interval of replicates on drawn parameters)."""
    what = f"mean and {UNCERTAINTY_NOTE}" if uncertainty else "mean and 95% interval"
    key = "ui95" if uncertainty else "ci95"
    lines = [f"{len(names)} scenarios on common random numbers, {replicates} replicate(s) each; differences are "
             f"paired (arm - {names[0]}), {what}", ""]
    head = f"  {'metric':<{_name_width()}}" + "".join(f"{n[:14]:>15}" for n in names)
    head += "".join(f"  {'diff ' + n[:20]:<40}" for n in names[1:])
    for group in GROUPS:
        lines.append(group.upper())
        lines.append(head)
        for metric in (m for m in METRICS.values() if m.group == group):
            row = f"  {metric.name:<{_name_width()}}" + "".join(f"{_fmt(s[metric.name]['mean']):>15}"
                                                                for s in summaries)
            for d in differences:
                cell = f"{_fmt(d[metric.name]['mean'])} {_interval(d[metric.name], key)}"
                row += f"  {cell:<40}"
            lines.append(row)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n" + na_notes([*summaries, *differences])


def json_safe(obj):
    """A copy fit for strict JSON: non-finite numbers become null, numpy scalars plain numbers."""
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def summary_json(name: str, replicates: int, summary: dict[str, dict], periods: list[dict] | None = None,
                 parameters: dict | None = None) -> dict:
    """The JSON of a run: every metric's mean and interval; a metric with no mean (null) says why ("n/a").
    ``parameters``: where the behavioural parameters came from (``sim.results.draws.Draws.as_json``)."""
    doc = {"scenario": name, "replicates": replicates, "metrics": explained(summary)}
    if parameters is not None:
        doc["parameters"] = parameters
    if periods:
        doc["periods"] = [{**p, "metrics": explained(p["metrics"]),
                           **({"change_from_first": explained(p["change_from_first"])}
                              if "change_from_first" in p else {})} for p in periods]
    return json_safe(doc)


def stacked(results, attr: str) -> pd.DataFrame:
    """One table of every replicate's ``attr`` table (daily, facilities), with a ``replicate`` column."""
    return pd.concat([getattr(r, attr).assign(replicate=i) for i, r in enumerate(results)], ignore_index=True)


def write_outputs(out: Path, *, scenario_yaml: str, summary: dict, results, seed_info: dict,
                  force: bool = False, draws: list[dict] | None = None) -> Path:
    """Write a run's output folder (:func:`write_folder`): summary.json, scenario.yaml, daily.parquet,
    facilities.parquet, runs.parquet and provenance.json. ``draws``: each replicate's drawn parameter values
    (key -> value), added to runs.parquet as columns of their own."""
    runs = pd.DataFrame([{"replicate": i, "seed": r.seed, **(draws[i] if draws else {}), **r.metrics}
                         for i, r in enumerate(results)])
    return write_folder(out, scenario_yaml=scenario_yaml, summary=summary, seed_info=seed_info, force=force,
                        tables={"daily": stacked(results, "daily"), "facilities": stacked(results, "facilities"),
                                "runs": runs})


def write_folder(out: Path, *, scenario_yaml: str, summary: dict, tables: dict[str, pd.DataFrame],
                 seed_info: dict, force: bool = False) -> Path:
    """Write an output folder atomically: everything goes to a temporary sibling, renamed at the end, so a
    failure leaves no partial folder. ``tables``: name -> table, written as NAME.parquet."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} exists and is not empty; choose another --out or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "scenario.yaml").write_text(scenario_yaml)
        for name, frame in tables.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        provenance = {
            "package": "triangle-sim", "version": __version__, **seed_info,
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "python": platform.python_version(), "platform": platform.platform(),
        }
        (tmp / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# --------------------------------------------------------------------------------------------- tornado
def tornado_table(result: dict, top: int | None = None) -> str:
    """The tornado as text: per difference, the effect at the arms' values, then one line per parameter (largest
    swing first): its range, the effect at each end and the swing."""
    lines = []
    for label, d in result["differences"].items():
        rows = d["parameters"][:top] if top else d["parameters"]
        base = d["base"]["mean"]
        lines.append(f"TORNADO: what drives {label} on {result['metric']} ({result['unit']}): paired effect at each "
                     f"end of a parameter's range, the others at the scenario's values; {result['replicates']} "
                     f"replicate(s) each, {result['runs']} runs")
        lines.append(f"  effect at the scenario's values: {_fmt(base)}")
        lines.append(f"  {'parameter':<48}{'range':>20}{'at low':>12}{'at high':>12}{'swing':>12}")
        for row in rows:
            span = f"[{row['low']:g}, {row['high']:g}]"
            lines.append(f"  {row['key']:<48}{span:>20}{_fmt(row['effect_low']['mean']):>12}"
                         f"{_fmt(row['effect_high']['mean']):>12}{_fmt(row['swing']):>12}")
        if top and len(d["parameters"]) > top:
            lines.append(f"  ({len(d['parameters']) - top} more with smaller swings)")
        lines.append("")
    return "\n".join(lines)


def tornado_frame(result: dict):
    """The tornado as a table (pandas), one row per difference and parameter, for tornado.csv."""
    rows = []
    for label, d in result["differences"].items():
        for row in d["parameters"]:
            lo, hi = row["effect_low"], row["effect_high"]
            rows.append({"difference": label, "metric": result["metric"], "parameter": row["key"],
                         "kind": row["kind"], "low": row["low"], "high": row["high"],
                         "effect_at_values": d["base"]["mean"], "effect_low": lo["mean"],
                         "effect_low_ci_low": (lo["ci95"] or [None, None])[0],
                         "effect_low_ci_high": (lo["ci95"] or [None, None])[1], "effect_high": hi["mean"],
                         "effect_high_ci_low": (hi["ci95"] or [None, None])[0],
                         "effect_high_ci_high": (hi["ci95"] or [None, None])[1], "swing": row["swing"]})
    return pd.DataFrame(rows)
