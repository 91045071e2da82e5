"""Pictures of results: the triangle, time series with reform dates, before/after bars, sweep views, the map.

Every function reads results, never a model: summaries (``{metric: {"mean", "ci95"}}`` from
``sim.results.runner.summarise``), daily tables (``sim.results.runner.daily_table``, optionally with a
``replicate`` column), run tables (one row per run, parameter and metric columns) and facility tables. Each
returns a matplotlib ``Figure`` drawn with the Agg canvas, without pyplot, so it is safe in servers and threads
and shows in notebooks. :func:`write_report` puts the pictures of one or more scenarios into a folder of PNGs
and one self-contained HTML page.
"""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.special import stdtrit  # Student's t quantile (scipy.stats is slow to import)

from sim.core.levels import LEVELS
from sim.results.metrics import GROUPS, METRICS

Summary = Mapping[str, Mapping]  # {metric: {"mean": float | None, "ci95": [lo, hi] | None}}

# The three corners drawn: (label, metric). Each is "lower is better", so a smaller triangle is better everywhere.
TRIANGLE = (("cost", "spending_per_capita"), ("wait", "wait_days_mean"), ("quality", "health_loss_per_1000"))
CORNER_NOTES = {"cost": "spending per resident-year", "wait": "days from seeking care to treatment",
                "quality": "health loss, DALY per 1,000 resident-years (lower is better)"}
LEVEL_COLOURS = {"village": "#4c9a2a", "township": "#1f77b4", "county": "#d62728", "out_of_county": "#7f3fbf"}
# Daily columns that are means (weighted by another column when levels or replicates are pooled).
WEIGHTED_COLUMNS = {"wait_days_mean": "treated"}
BEFORE_AFTER_METRICS = ("spending_per_capita", "oop_share", "wait_days_mean", "los_mean",
                        "health_loss_per_1000", "deaths_per_1000_episodes")


class Picture(Figure):
    """A matplotlib Figure that shows itself as a PNG in notebooks, whatever the notebook's backend."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def _figure(width: float, height: float) -> Figure:
    fig = Picture(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finite(x) -> bool:
    return isinstance(x, numbers.Real) and math.isfinite(x)


def _ratio(value, reference) -> float:
    return value / reference if _finite(value) and _finite(reference) and reference != 0 else float("nan")


def summary_mean(summary: Summary, metric: str):
    return (summary.get(metric) or {}).get("mean")


def _fmt(x) -> str:
    if not _finite(x):
        return "n/a"
    a = abs(x)
    return f"{x:,.0f}" if a >= 1000 else f"{x:.1f}" if a >= 100 else f"{x:.2f}" if a >= 1 else f"{x:.3f}"


def _unit(metric: str) -> str:
    return METRICS[metric].unit if metric in METRICS else ""


# ------------------------------------------------------------------------------------------------ the triangle
def triangle_points(summaries: Mapping[str, Summary], reference: str | None = None,
                    corners: Sequence[tuple[str, str]] = TRIANGLE) -> pd.DataFrame:
    """Each scenario's corners as ratios to the reference scenario (default: the first): one row per
    (scenario, corner) with ``mean``, ``lo``, ``hi`` (NaN where undefined) and the raw ``value``."""
    if not summaries:
        raise ValueError("no scenarios to draw")
    reference = reference if reference is not None else next(iter(summaries))
    if reference not in summaries:
        raise ValueError(f"reference {reference!r} is not one of the scenarios {list(summaries)}")
    rows = []
    for name, summary in summaries.items():
        for corner, metric in corners:
            ref = summary_mean(summaries[reference], metric)
            s = summary.get(metric) or {}
            mean, ci = s.get("mean"), s.get("ci95") or (None, None)
            rows.append({"scenario": name, "corner": corner, "metric": metric, "value": mean,
                         "mean": _ratio(mean, ref), "lo": _ratio(ci[0], ref), "hi": _ratio(ci[1], ref)})
    return pd.DataFrame(rows)


def triangle(summaries: Mapping[str, Summary], reference: str | None = None, *, title: str | None = None,
             corners: Sequence[tuple[str, str]] = TRIANGLE, size: tuple[float, float] = (6.4, 6.0)) -> Figure:
    """The impossible triangle: each scenario a triangle on cost / wait / quality axes, each axis the ratio to
    the reference scenario (1 = reference, drawn dashed), with the 95% interval as a bar along the axis.
    Every corner is "lower is better", so a scenario whose triangle lies inside another's is better on all."""
    points = triangle_points(summaries, reference, corners)
    reference = reference if reference is not None else next(iter(summaries))
    angles = np.deg2rad(90 + 120 * np.arange(len(corners)))
    direction = np.column_stack([np.cos(angles), np.sin(angles)])
    extent = np.nanmax(np.r_[points[["mean", "hi"]].to_numpy(dtype=float).ravel(), 1.0])
    extent = max(1.25, 1.12 * extent)
    fig = _figure(*size)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.axis("off")
    for ring in np.arange(0.5 if extent <= 2.5 else 1.0, extent, 0.5 if extent <= 2.5 else 1.0):
        xy = direction * ring
        ax.fill(xy[:, 0], xy[:, 1], fill=False, ls="--" if ring == 1.0 else ":", lw=1.2 if ring == 1.0 else 0.6,
                color="0.45" if ring == 1.0 else "0.75", zorder=1)
        ax.annotate(f"{ring:g}\u00d7", direction[0] * ring, xytext=(4, 0), textcoords="offset points",
                    fontsize=7, color="0.5", va="center")
    for k, (corner, metric) in enumerate(corners):
        ax.plot([0, direction[k, 0] * extent], [0, direction[k, 1] * extent], color="0.8", lw=0.8, zorder=0)
        ref = points[(points.scenario == reference) & (points.corner == corner)]["value"].iloc[0]
        ax.annotate(f"{corner.upper()} ({metric})\n{reference}: {_fmt(ref)} {_unit(metric)}",
                    direction[k] * extent, ha="center", va="bottom" if k == 0 else "top", fontsize=7.5,
                    xytext=(0, 4 if k == 0 else -4), textcoords="offset points")
    colours = [f"C{i}" for i in range(len(summaries))]
    for colour, (name, rows) in zip(colours, points.groupby("scenario", sort=False), strict=False):
        r = rows["mean"].to_numpy(dtype=float)
        xy = direction * r[:, None]
        ok = np.isfinite(r)
        if ok.all():
            ax.fill(xy[:, 0], xy[:, 1], color=colour, alpha=0.12, zorder=2)
            ax.fill(xy[:, 0], xy[:, 1], fill=False, color=colour, lw=2, zorder=3)
        ax.scatter(xy[ok, 0], xy[ok, 1], color=colour, s=22, zorder=4,
                   label=f"{name}: " + ", ".join(f"{c} {_fmt(v)}" for c, v in zip(rows.corner, rows.value,
                                                                                     strict=True)))
        for k, (lo, hi) in enumerate(zip(rows["lo"], rows["hi"], strict=True)):
            if np.isfinite(lo) and np.isfinite(hi):
                seg = direction[k] * np.array([[lo], [hi]])
                ax.plot(seg[:, 0], seg[:, 1], color=colour, lw=4, alpha=0.45, solid_capstyle="butt", zorder=3)
    ax.set_xlim(-extent * 1.3, extent * 1.3)
    ax.set_ylim(-extent * 0.82, extent * 1.22)
    fig.legend(loc="outside lower center", fontsize=7.5, frameon=False)
    fig.suptitle(title or f"cost / wait / quality as a ratio to {reference} (smaller is better; bars: 95% "
                 "interval)", fontsize=9)
    return fig


# ------------------------------------------------------------------------------------------------ time series
def _pool(daily: pd.DataFrame, column: str, keys: list[str]) -> pd.Series:
    """The column summed (or, for mean columns, weighted-averaged) over everything but ``keys``."""
    if column in WEIGHTED_COLUMNS:
        weight = daily[WEIGHTED_COLUMNS[column]]
        frame = daily.assign(_w=weight, _wx=daily[column].fillna(0) * weight)
        grouped = frame.groupby(keys, observed=True)[["_w", "_wx"]].sum()
        return grouped["_wx"] / grouped["_w"].replace(0, np.nan)
    return daily.groupby(keys, observed=True)[column].sum()


def daily_series(daily: pd.DataFrame, column: str, by: str | None = "level") -> pd.DataFrame:
    """A wide table day x (level, or nothing) of one daily column, averaged over replicates."""
    keys = ["day"] + ([by] if by else []) + (["replicate"] if "replicate" in daily else [])
    per_run = _pool(daily, column, keys)
    if "replicate" in daily:
        per_run = per_run.groupby(level=[k for k in keys if k != "replicate"], observed=True).mean()
    return per_run.unstack(by) if by else per_run.to_frame(column)


def time_series(daily: pd.DataFrame | Mapping[str, pd.DataFrame], columns: Sequence[str] = ("wait_days_mean",),
                *, reform_days: Sequence[int] = (), smooth_days: int = 7, title: str | None = None,
                size: tuple[float, float] | None = None) -> Figure:
    """Daily columns over time, one panel per column: lines per level for one daily table, or per scenario
    (levels pooled) for a mapping of them; a ``smooth_days`` rolling mean; each reform day a dotted line."""
    fig = _figure(*(size or (8.0, 2.4 * len(columns) + 0.4)))
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]
    for ax, column in zip(axes, columns, strict=True):
        if isinstance(daily, Mapping):
            lines = {name: daily_series(frame, column, by=None)[column] for name, frame in daily.items()}
            colours = {name: f"C{i}" for i, name in enumerate(lines)}
        else:
            wide = daily_series(daily, column)
            lines = {str(level): wide[level] for level in wide.columns}
            colours = {level: LEVEL_COLOURS.get(level, None) for level in lines}
        for name, series in lines.items():
            smooth = series.rolling(smooth_days, min_periods=1).mean() if smooth_days > 1 else series
            ax.plot(smooth.index, smooth.to_numpy(dtype=float), label=name, color=colours[name], lw=1.4)
        for day in reform_days:
            ax.axvline(day, color="0.3", ls=":", lw=1.2)
            ax.annotate(f"reform, day {day}", (day, 0), xycoords=("data", "axes fraction"), xytext=(3, 3),
                        textcoords="offset points", fontsize=7, color="0.3")
        ax.set_ylabel(column.replace("_", " "), fontsize=8)
        ax.legend(fontsize=7, ncol=4, loc="upper left", frameon=False)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("day")
    smoothing = f" ({smooth_days}-day rolling mean)" if smooth_days > 1 else ""
    fig.suptitle((title or "daily series") + smoothing, fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------------ bars
def bars(summaries: Mapping[str, Summary], metrics: Sequence[str] = BEFORE_AFTER_METRICS, *,
         title: str | None = None) -> Figure:
    """One panel per metric, one bar per label (scenario or period) with its 95% interval."""
    n = len(metrics)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = _figure(3.2 * cols, 2.6 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    labels = list(summaries)
    for ax, metric in zip(axes, metrics, strict=False):
        means = [summary_mean(summaries[k], metric) for k in labels]
        heights = [m if _finite(m) else 0.0 for m in means]
        err = np.zeros((2, len(labels)))
        for i, k in enumerate(labels):
            ci = (summaries[k].get(metric) or {}).get("ci95")
            if ci and _finite(means[i]):
                err[:, i] = [means[i] - ci[0], ci[1] - means[i]]
        x = np.arange(len(labels))
        ax.bar(x, heights, color=[f"C{i}" for i in range(len(labels))], yerr=err, capsize=4, alpha=0.85)
        for i, m in enumerate(means):
            ax.annotate(_fmt(m), (x[i], heights[i] + err[1, i]), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(x, labels, fontsize=7, rotation=15 if len(labels) > 2 else 0)
        ax.set_title(f"{metric}\n[{_unit(metric)}]", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[n:]:
        ax.axis("off")
    fig.suptitle(title or "mean and 95% interval", fontsize=10)
    return fig


def did_bars(did: Summary, metrics: Sequence[str] = BEFORE_AFTER_METRICS, *, title: str | None = None) -> Figure:
    """A difference-in-differences (metric -> {"mean", "ci95"}) as one bar per metric with its 95% interval,
    against a line at 0 (no effect)."""
    fig = bars({"DiD": did}, metrics, title=title or "difference-in-differences: mean and 95% interval")
    for ax in fig.axes:
        if ax.has_data():
            ax.axhline(0, color="0.3", lw=0.8)
    return fig


def period_label(period: Mapping) -> str:
    return f"days {period['start_day']}-{period['end_day'] - 1}"


def before_after(periods: Sequence[Mapping], metrics: Sequence[str] = BEFORE_AFTER_METRICS, *,
                 title: str | None = None) -> Figure:
    """Bars of each timeline period (``sim.results.runner.summarise_periods``): before and after each reform."""
    return bars({period_label(p): p["metrics"] for p in periods}, metrics,
                title=title or "before and after: mean and 95% interval over replicates")


def spending_by_payer(summaries: Mapping[str, Summary], *, title: str | None = None,
                      size: tuple[float, float] | None = None) -> Figure:
    """Spending per resident-year split into what the insurance fund paid and what patients paid out of
    pocket, one stacked bar per scenario, each part with its 95% interval."""
    labels = list(summaries)
    x = np.arange(len(labels))
    fig = _figure(*(size or (max(3.5, 1.3 * len(labels) + 2), 3.4)))
    ax = fig.add_subplot()
    bottom = np.zeros(len(labels))
    for metric, label, colour in (("fund_spending_per_capita", "insurance fund", "#1f77b4"),
                                  ("oop_per_capita", "out of pocket", "#ff7f0e")):
        means = np.array([summary_mean(summaries[k], metric) for k in labels], dtype=float)
        heights = np.nan_to_num(means)
        err = np.zeros((2, len(labels)))
        for i, k in enumerate(labels):
            ci = (summaries[k].get(metric) or {}).get("ci95")
            if ci and np.isfinite(means[i]):
                err[:, i] = [means[i] - ci[0], ci[1] - means[i]]
        ax.bar(x, heights, bottom=bottom, color=colour, label=label, width=0.6)
        ax.errorbar(x, bottom + heights, yerr=err, fmt="none", ecolor="0.2", capsize=3, lw=1)
        for i in range(len(labels)):
            ax.annotate(_fmt(means[i]), (x[i], bottom[i] + heights[i] / 2), ha="center", va="center", fontsize=7,
                        color="white")
        bottom = bottom + heights
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("yuan per resident-year", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "spending by payer", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------------ sweeps
def _lower_is_better(metric: str, higher_is_better: Sequence[str]) -> bool:
    if metric in higher_is_better:
        return False
    spec = METRICS.get(metric)
    return spec is None or spec.lower_is_better is not False


def pareto_mask(runs: pd.DataFrame, x: str, y: str, higher_is_better: Sequence[str] = ()) -> np.ndarray:
    """True for runs that no other run beats on both ``x`` and ``y``, each in its better direction: lower,
    unless named in ``higher_is_better`` or registered as higher-is-better in ``sim.results.metrics``."""
    a, b = (runs[m].to_numpy(dtype=float) * (1.0 if _lower_is_better(m, higher_is_better) else -1.0)
            for m in (x, y))
    ok = np.isfinite(a) & np.isfinite(b)
    no_worse = (a[None, :] <= a[:, None]) & (b[None, :] <= b[:, None])
    better = (a[None, :] < a[:, None]) | (b[None, :] < b[:, None])
    dominated = (no_worse & better & ok[None, :]).any(axis=1)
    return ok & ~dominated


def pareto_front(runs: pd.DataFrame, x: str = "spending_per_capita", y: str = "health_loss_per_1000", *,
                 colour_by: str | None = None, higher_is_better: Sequence[str] = (),
                 title: str | None = None) -> Figure:
    """Every run as a point on two metrics; the Pareto front (runs no other run beats on both) joined."""
    front = pareto_mask(runs, x, y, higher_is_better)
    fig = _figure(6.0, 4.6)
    ax = fig.add_subplot()
    if colour_by is not None and pd.api.types.is_numeric_dtype(runs[colour_by]):
        points = ax.scatter(runs[x], runs[y], c=runs[colour_by], cmap="viridis", s=18, alpha=0.8)
        fig.colorbar(points, ax=ax, label=colour_by)
    elif colour_by is not None:
        for i, (value, rows) in enumerate(runs.groupby(colour_by, sort=True)):
            ax.scatter(rows[x], rows[y], s=18, alpha=0.8, color=f"C{i}", label=f"{colour_by} = {value}")
        ax.legend(fontsize=7, frameon=False)
    else:
        ax.scatter(runs[x], runs[y], s=18, alpha=0.6, color="0.5")
    best = runs[front].sort_values(x)
    ax.plot(best[x], best[y], color="black", lw=1.5, marker="o", mfc="none", ms=9, label="Pareto front")
    ax.set_xlabel(f"{x} [{_unit(x)}]", fontsize=8)
    ax.set_ylabel(f"{y} [{_unit(y)}]", fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title or f"Pareto front: {front.sum()} of {len(runs)} runs not beaten on both", fontsize=10)
    return fig


def triangle_front(points: pd.DataFrame, corners: Mapping[str, str], front: Sequence[int], *,
                   higher_is_better: Sequence[str] = (), title: str | None = None) -> Figure:
    """A sweep's points (one row each, with a ``point`` column) on each pair of the three corners (``{"cost":
    metric, "access": metric, "quality": metric}``), those on the three-corner Pareto front ``front`` (point
    numbers, as ``triangle analyze`` finds them) in red: a red point may look beaten in one panel, never in all."""
    on_front = points["point"].isin(list(front)).to_numpy()
    names = list(corners)
    fig = _figure(15, 4.8)
    for ax, (x, y) in zip(fig.subplots(1, 3), ((names[0], names[1]), (names[0], names[2]), (names[1], names[2])),
                          strict=True):
        xs, ys = points[corners[x]], points[corners[y]]
        ax.scatter(xs[~on_front], ys[~on_front], s=14, color="0.65", label="beaten on all three")
        ax.scatter(xs[on_front], ys[on_front], s=22, color="tab:red", label="Pareto front")
        for axis, corner in ((ax.set_xlabel, x), (ax.set_ylabel, y)):
            better = "higher" if not _lower_is_better(corners[corner], higher_is_better) else "lower"
            axis(f"{corner}: {corners[corner]} [{_unit(corners[corner])}] ({better} is better)", fontsize=8)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=8, frameon=False)
    fig.suptitle(title or f"Pareto front: {int(on_front.sum())} of {len(points)} points that no other point beats "
                 "on all three corners (means over replicates)", fontsize=10)
    return fig


def lever_table(runs: pd.DataFrame, parameter: str, metric: str, max_bins: int = 6) -> pd.DataFrame:
    """Mean and 95% interval of a metric at each value of a parameter (numeric parameters with more than
    ``max_bins`` values are cut into quantile bins, labelled by their mean)."""
    values = runs[parameter]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > max_bins:
        bins = pd.qcut(values, max_bins, duplicates="drop")
        key = values.groupby(bins, observed=True).transform("mean")
    else:
        key = values
    rows = []
    for value, group in runs[metric].groupby(key, sort=True):
        v = group.to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        mean = float(v.mean()) if len(v) else float("nan")
        half = float(stdtrit(len(v) - 1, 0.975) * v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
        rows.append({parameter: value, "mean": mean, "lo": mean - half, "hi": mean + half, "runs": len(v)})
    return pd.DataFrame(rows)


def lever_effects(runs: pd.DataFrame, parameters: Sequence[str],
                  metrics: Sequence[str] = tuple(m for _, m in TRIANGLE), *, title: str | None = None) -> Figure:
    """A grid: each metric (row) against each parameter (column), mean and 95% interval at each value."""
    fig = _figure(3.0 * len(parameters) + 0.5, 2.4 * len(metrics) + 0.5)
    axes = fig.subplots(len(metrics), len(parameters), squeeze=False, sharey="row")
    for i, metric in enumerate(metrics):
        for j, parameter in enumerate(parameters):
            ax = axes[i, j]
            table = lever_table(runs, parameter, metric)
            numeric = pd.api.types.is_numeric_dtype(table[parameter])
            x = table[parameter].to_numpy(dtype=float) if numeric else np.arange(len(table))
            ax.errorbar(x, table["mean"], yerr=[table["mean"] - table["lo"], table["hi"] - table["mean"]],
                        marker="o", ms=4, capsize=3, lw=1.2)
            if not numeric:
                ax.set_xticks(x, [str(v) for v in table[parameter]], fontsize=7)
            if i == len(metrics) - 1:
                ax.set_xlabel(parameter, fontsize=8)
            if j == 0:
                ax.set_ylabel(f"{metric}\n[{_unit(metric)}]", fontsize=7)
            ax.grid(alpha=0.3)
    fig.suptitle(title or "lever effects: mean and 95% interval over runs", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------------ the map
def county_map(facilities: pd.DataFrame, *, load_max: float = 1.5, title: str | None = None,
               size: tuple[float, float] = (6.4, 4.8)) -> Figure:
    """Facilities at their sites (columns ``x_km``, ``y_km``, ``level``, ``load``), coloured by load: 0 idle,
    1 full (queue as large as a day's outpatient slots, or every bed taken), above 1 overloaded."""
    from matplotlib.colors import Normalize

    style = {"village": ("o", 14), "township": ("s", 70), "county": ("^", 160), "out_of_county": ("*", 260)}
    fig = _figure(*size)
    ax = fig.add_subplot()
    norm = Normalize(0, load_max)
    points = None
    for level in LEVELS:
        rows = facilities[facilities["level"] == level]
        if rows.empty:
            continue
        marker, size = style[level]
        points = ax.scatter(rows["x_km"], rows["y_km"], c=rows["load"].clip(0, load_max), cmap="RdYlGn_r",
                            norm=norm, marker=marker, s=size, edgecolors="0.2", linewidths=0.5,
                            label=level.replace("_", " "), zorder=3 if level != "village" else 2)
    if points is not None:
        fig.colorbar(points, ax=ax, label="load (1 = full)", shrink=0.8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("km east of the county seat", fontsize=8)
    ax.set_ylabel("km north", fontsize=8)
    legend = ax.legend(fontsize=7, loc="lower left", frameon=False, markerscale=0.7)
    for handle in legend.legend_handles:
        handle.set_color("0.6")
    ax.grid(alpha=0.2)
    ax.set_title(title or "the county: facilities coloured by load", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------------------ report
# ------------------------------------------------------------------------------------------------ tornado
def tornado_chart(result: Mapping, label: str | None = None, top: int | None = None, *,
            title: str | None = None) -> Figure:
    """A tornado chart of one difference of ``result`` (``sim.experiments.sensitivity.tornado``): for each
    parameter (largest swing at the top), a bar from the paired effect at the arms' own values to the effect
    with the parameter at the low end of its range (blue, upper) and at the high end (red, lower), each with the
    95% interval of its mean over replicates."""
    label = label or next(iter(result["differences"]))
    d = result["differences"][label]
    rows = d["parameters"][:top] if top else d["parameters"]
    base = d["base"]["mean"]
    fig = _figure(9, 1.2 + 0.38 * max(len(rows), 1))
    ax = fig.add_subplot()
    centre = base if _finite(base) else 0.0
    for y, row in enumerate(reversed(rows)):
        for end, colour, dy in (("low", "#1f77b4", 0.17), ("high", "#d62728", -0.17)):
            s = row[f"effect_{end}"]
            if not _finite(s["mean"]):
                continue
            ax.barh(y + dy, s["mean"] - centre, left=centre, height=0.32, color=colour, alpha=0.8,
                    label=f"{end} end of range" if y == 0 else None)
            if s.get("ci95"):
                ax.plot(s["ci95"], [y + dy, y + dy], color=colour, lw=0.9)
    ax.axvline(centre, color="#333", lw=1, label="at the scenario's values")
    ax.set_yticks(range(len(rows)), [f"{r['key']} [{r['low']:g}, {r['high']:g}]" for r in reversed(rows)],
                  fontsize=8)
    ax.set_xlabel(f"{label}: paired effect on {result['metric']} ({result['unit']})")
    ax.set_title(title or f"What drives {label} on {result['metric']}: each parameter at each end of its range",
                 fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


def tornado_frame(result: Mapping) -> pd.DataFrame:
    """The tornado as a table, one row per difference and parameter (tornado.csv)."""
    rows = []
    for label, d in result["differences"].items():
        for row in d["parameters"]:
            lo, hi = row["effect_low"], row["effect_high"]
            rows.append({"difference": label, "metric": result["metric"], "parameter": row["key"],
                         "kind": row["kind"], "value": row["value"], "low": row["low"], "high": row["high"],
                         "effect_at_values": d["base"]["mean"], "effect_low": lo["mean"],
                         "effect_low_ci_low": (lo["ci95"] or [None, None])[0],
                         "effect_low_ci_high": (lo["ci95"] or [None, None])[1], "effect_high": hi["mean"],
                         "effect_high_ci_low": (hi["ci95"] or [None, None])[0],
                         "effect_high_ci_high": (hi["ci95"] or [None, None])[1], "swing": row["swing"]})
    return pd.DataFrame(rows)


def _tornado_table(result: Mapping, label: str, top: int | None) -> str:
    d = result["differences"][label]
    rows = d["parameters"][:top] if top else d["parameters"]
    out = ["<tr><th>parameter</th><th>kind</th><th>value</th><th>range</th><th>effect at low</th>"
           "<th>effect at high</th><th>swing</th></tr>"]
    for row in rows:
        cells = [html.escape(row["key"]), row["kind"], _fmt(row["value"]), f"[{row['low']:g}, {row['high']:g}]",
                 _fmt(row["effect_low"]["mean"]), _fmt(row["effect_high"]["mean"]), _fmt(row["swing"])]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "<table>" + "\n".join(out) + "</table>"


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _metric_table(summaries: Mapping[str, Summary], differences: Mapping[str, Summary] | None) -> str:
    def cell(s) -> str:
        s = s or {}
        ci = s.get("ui95") or s.get("ci95")  # replicates on drawn parameters: their uncertainty interval
        interval = f" <small>[{_fmt(ci[0])}, {_fmt(ci[1])}]</small>" if ci else ""
        return f"<td>{_fmt(s.get('mean'))}{interval}</td>"

    head = "".join(f"<th>{html.escape(n)}</th>" for n in [*summaries, *(differences or {})])
    rows = [f"<tr><th>metric</th><th>unit</th>{head}</tr>"]
    for group in GROUPS:
        rows.append(f"<tr class='group'><td colspan='99'>{group.upper()}</td></tr>")
        for m in (m for m in METRICS.values() if m.group == group):
            cells = "".join(cell(s.get(m.name)) for s in [*summaries.values(), *(differences or {}).values()])
            rows.append(f"<tr><td title='{html.escape(m.formula, quote=True)}'>{m.name}</td>"
                        f"<td>{html.escape(m.unit)}</td>{cells}</tr>")
    return "<table>" + "\n".join(rows) + "</table>"


def write_report(directory: str | Path, summaries: Mapping[str, Summary], *,
                 daily: Mapping[str, pd.DataFrame] | None = None,
                 periods: Mapping[str, Sequence[Mapping]] | None = None,
                 differences: Mapping[str, Summary] | None = None,
                 reform_days: Sequence[int] = (), title: str = "triangle report", note: str = "",
                 tornado: Mapping | None = None, tornado_top: int | None = None,
                 columns: Mapping[str, Summary] | None = None,
                 figures: Sequence[tuple[str, str, Figure]] = ()) -> Path:
    """Write PNGs and ``report.html`` (the same pictures embedded, and every metric in a table) into
    ``directory``, created if missing; files of the same names are replaced. Returns the HTML path.

    summaries: scenario name -> summary, the first being the reference of the triangle.
    daily: scenario name -> daily table (all replicates, with a ``replicate`` column) for the time series.
    periods: scenario name -> ``sim.results.runner.summarise_periods`` output, for before/after bars.
    differences: label -> paired differences (``sim.results.runner.paired``), shown as extra table columns.
    tornado: ``sim.experiments.sensitivity.tornado`` output: a chart and a table per difference (the ``tornado_top``
    largest swings), and every row in tornado.csv.
    columns: label -> summary, more columns of the table after the scenarios' (a city's counties).
    figures: more pictures, (file stem, caption, figure), after the others.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    drawn_figures: list[tuple[str, str, Figure]] = [
        ("triangle", "The triangle", triangle(summaries)),
        ("spending_by_payer", "Spending by payer", spending_by_payer(summaries)),
    ]
    if daily:
        many = len(daily) > 1
        source = dict(daily) if many else next(iter(daily.values()))
        for column, caption in (("wait_days_mean", "Waits"), ("queue_length", "Queues"),
                                ("spending", "Daily spending")):
            drawn_figures.append((f"daily_{column}", f"{caption}{' by scenario' if many else ' by level'}",
                            time_series(source, [column], reform_days=reform_days, title=caption)))
    for name, these in (periods or {}).items():
        if len(these) > 1:
            slug = "".join(ch if ch.isalnum() else "_" for ch in name)
            drawn_figures.append((f"before_after_{slug}", f"Before and after: {name}", before_after(these)))
    tables: dict[str, str] = {}
    if tornado:
        for i, label in enumerate(tornado["differences"]):
            stem = "tornado" if i == 0 else f"tornado_{i + 1}"
            caption = f"What drives {label}: {tornado['metric']}"
            drawn_figures.append((stem, caption, tornado_chart(tornado, label, tornado_top)))
            tables[stem] = (f"<p>Paired effect on {html.escape(tornado['metric'])} ({html.escape(tornado['unit'])})"
                            f" with each parameter at each end of its range, the others at the scenario's values; "
                            f"{tornado['replicates']} replicate(s) each. At the scenario's values: "
                            f"{_fmt(tornado['differences'][label]['base']['mean'])}. Every row in tornado.csv.</p>"
                            + _tornado_table(tornado, label, tornado_top))
        tornado_frame(tornado).to_csv(out / "tornado.csv", index=False)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    for stem, caption, fig in [*drawn_figures, *figures]:
        data = png_bytes(fig)
        (out / f"{stem}.png").write_bytes(data)
        parts.append(f"<h2>{html.escape(caption)}</h2><img alt='{html.escape(caption, quote=True)}' "
                     f"src='data:image/png;base64,{base64.b64encode(data).decode()}'>" + tables.get(stem, ""))
    drawn = any("ui95" in entry for summary in summaries.values() for entry in summary.values())
    what = "95% uncertainty interval over replicates on drawn parameters" if drawn else "95% interval"
    parts.append(f"<h2>Every metric: mean [{what}]</h2>"
                 + _metric_table(summaries, {**(columns or {}), **(differences or {})}))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}img{max-width:100%}"
             "table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:2px 8px;"
             "text-align:right}td:first-child{text-align:left}tr.group td{font-weight:bold;text-align:left;"
             "padding-top:10px}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def report_of_runs(directory: str | Path, results: Mapping[str, Sequence], summaries: Mapping[str, Summary],
                   **extra) -> Path:
    """:func:`write_report` of finished runs: ``results`` maps each scenario's name to its replicates (each with a
    ``daily`` table), whose daily tables are drawn as time series. Returns the HTML path."""
    from sim.results.report import stacked

    extra.setdefault("title", f"triangle: {', '.join(summaries)}")
    return write_report(directory, summaries, daily={name: stacked(runs, "daily") for name, runs in results.items()},
                        **extra)
