"""Plots of a sweep's analysis: the triangle's Pareto front, and each parameter's effect on its corners.

Drawn with matplotlib's Agg canvas directly (no pyplot, no display), from the analysis document and the
points table only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_PAIRS = (("cost", "access"), ("cost", "quality"), ("access", "quality"))
_MAX_CATEGORIES = 12  # a parameter with at most this many distinct values is drawn as levels


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _label(corner: dict) -> str:
    return f"{corner['metric']} [{corner['unit']}] ({corner['better']} is better)"


def front(analysis: dict, points: pd.DataFrame, path: Path) -> None:
    """Three panels, one per pair of corners: every point in grey, the front in red."""
    corners = analysis["pareto"]["corners"]
    on_front = points["point"].isin(analysis["pareto"]["front"]).to_numpy()
    fig = _figure(15, 4.8)
    for ax, (x, y) in zip(fig.subplots(1, 3), _PAIRS, strict=True):
        xs, ys = points[corners[x]["metric"]], points[corners[y]["metric"]]
        ax.scatter(xs[~on_front], ys[~on_front], s=14, color="0.65", label="dominated")
        ax.scatter(xs[on_front], ys[on_front], s=22, color="tab:red", label="Pareto front")
        ax.set_xlabel(_label(corners[x]), fontsize=8)
        ax.set_ylabel(_label(corners[y]), fontsize=8)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"{analysis['sweep']}: points no other point beats on all three corners (means over replicates)")
    fig.savefig(path, dpi=110)


def effects(analysis: dict, points: pd.DataFrame, path: Path) -> None:
    """One row per parameter, one column per corner: each point's mean, and the mean over the other parameters
    at each level (or in each decile of a continuous parameter)."""
    corners = analysis["pareto"]["corners"]
    names = analysis["parameters"]
    fig = _figure(13, 3.2 * len(names) + 0.6)
    axes = np.atleast_2d(fig.subplots(len(names), 3, squeeze=False))
    for row, name in enumerate(names):
        column = points[name]
        numeric = pd.api.types.is_numeric_dtype(column)
        levels = column.nunique()
        if not numeric or levels <= _MAX_CATEGORIES:
            order = sorted(column.unique(), key=lambda v: (not numeric, v if numeric else str(v)))
            x = column.map({v: i for i, v in enumerate(order)}).to_numpy(float)
            groups = x
            ticks = (np.arange(len(order)), [str(v) for v in order])
        else:
            x = column.to_numpy(float)
            groups = pd.qcut(column, 10, labels=False, duplicates="drop").to_numpy(float)
            ticks = None
        for col, corner in enumerate(("cost", "access", "quality")):
            ax = axes[row, col]
            y = points[corners[corner]["metric"]].to_numpy(float)
            ax.scatter(x, y, s=8, color="0.6", alpha=0.6)
            frame = pd.DataFrame({"g": groups, "x": x, "y": y}).dropna().groupby("g").mean()
            ax.plot(frame["x"], frame["y"], color="tab:blue", marker="o", lw=1.5)
            if ticks is not None:
                ax.set_xticks(*ticks, fontsize=7, rotation=20)
            ax.set_xlabel(name, fontsize=8)
            ax.set_ylabel(_label(corners[corner]), fontsize=7)
    fig.suptitle(f"{analysis['sweep']}: effect of each parameter (grey: points; blue: mean at each level)")
    fig.savefig(path, dpi=100)
