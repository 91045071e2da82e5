"""Experimental designs: where in parameter space a sweep puts its points.

A grid takes every combination of each parameter's levels. The sampled designs place ``n`` points in the unit
cube [0, 1)^d, one coordinate per parameter; each parameter then maps its coordinate to a value through its
own distribution (``sim.experiments.sweep.Parameter.value_at``), so a design never needs to know about units or bounds.

- ``latin_hypercube``: scipy.stats.qmc.LatinHypercube; every parameter's range is cut into ``n`` equal-
  probability strata and each stratum is sampled once.
- ``sobol``: SALib's Saltelli scheme on a scrambled Sobol' sequence, ``n * (d + 2)`` points (``n * (2d + 2)``
  with second-order indices), in the order SALib's Sobol analysis expects them.

The random scrambling of both is seeded from the sweep seed, so a sweep file always gives the same points.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

DESIGNS = ("grid", "latin_hypercube", "sobol")
_LHS_STREAM = 0x1A7  # keeps the design's random numbers apart from the runs' seeds
_SOBOL_STREAM = 0x50B


def grid(levels: Sequence[Sequence[Any]]) -> list[tuple]:
    """Every combination of the parameters' levels; the first parameter varies slowest."""
    return list(itertools.product(*levels))


def latin_hypercube(dimensions: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` x ``dimensions`` points in [0, 1), one per stratum of every dimension."""
    from scipy.stats import qmc

    rng = np.random.default_rng([seed, _LHS_STREAM])
    # scipy >= 1.15 names the generator ``rng``; older versions call it ``seed``.
    keyword = "rng" if "rng" in inspect.signature(qmc.LatinHypercube).parameters else "seed"
    return qmc.LatinHypercube(d=dimensions, **{keyword: rng}).random(samples)


def sobol_problem(names: Sequence[str]) -> dict:
    """The SALib problem of a design in the unit cube (values are mapped afterwards by each parameter)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def sobol_points(samples: int, dimensions: int, second_order: bool) -> int:
    """How many points a Sobol design of ``samples`` base samples has."""
    return samples * (2 * dimensions + 2 if second_order else dimensions + 2)


def sobol(names: Sequence[str], samples: int, seed: int, second_order: bool) -> np.ndarray:
    """Saltelli's sample for Sobol indices: ``sobol_points(...)`` x d points in [0, 1]."""
    from SALib.sample import sobol as saltelli

    rng_seed = int(np.random.SeedSequence([seed, _SOBOL_STREAM]).generate_state(1)[0])
    points = saltelli.sample(sobol_problem(names), samples, calc_second_order=second_order, scramble=True,
                             seed=rng_seed)
    return np.clip(points, 0.0, np.nextafter(1.0, 0.0))  # [0, 1): a value list's last item stays in reach
