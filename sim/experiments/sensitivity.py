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
