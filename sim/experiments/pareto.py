"""The Pareto front of the triangle: the points no other point beats on cost, access and quality at once.

Each corner of the triangle is one metric with a direction (``sim.experiments.sweep.Pareto``; by default
spending_per_capita, wait_days_mean and health_loss_per_1000, all lower-is-better). A point is dominated when
another point is at least as good on all three and strictly better on one; the front is every point that is
not dominated. Points are compared on their means over replicates; a point with an undefined mean (no finished
run, or a metric without cases) is left out.
"""

from __future__ import annotations

import numpy as np


def front(values: np.ndarray, lower_is_better: list[bool]) -> np.ndarray:
    """Indices (ascending) of the non-dominated rows of ``values`` (points x objectives); NaN rows excluded."""
    signs = np.where(np.asarray(lower_is_better), 1.0, -1.0)
    costs = np.asarray(values, dtype=float) * signs  # every objective as "lower is better"
    candidates = np.flatnonzero(np.isfinite(costs).all(axis=1))
    costs = costs[candidates]
    keep = np.ones(len(candidates), dtype=bool)
    for i in range(len(candidates)):
        no_worse = (costs <= costs[i]).all(axis=1)
        better = (costs < costs[i]).any(axis=1)
        if (no_worse & better).any():
            keep[i] = False
    return candidates[keep]
