"""Warming the compiled loops (``sim.kernels``) before timed work: a few days of a tiny county pass each loop the
argument types the model passes, so a timed run or a worker's first task does not pay for compilation."""

from __future__ import annotations

import numpy as np

from sim import kernels


def load() -> None:
    """Compile (first use on a machine) or load (from the cache) the loops now rather than at first use, so a
    timed run or a worker's first task does not pay for it: three days of a tiny county with every default
    pass each loop the argument types the model passes; the loops of rarer events are called with theirs."""
    from sim.engine.model import HealthSystemModel
    from sim.params.scenario import Scenario

    HealthSystemModel(Scenario.model_validate({"population": {"size": 2000}, "days": 3})).run()
    # a time-critical transfer: facility ids int32, need and capability float64, levels int64, minutes float32
    kernels.transfer_destinations(np.zeros(1, np.int32), np.zeros(1), np.zeros(1), np.zeros(1, np.int64),
                          np.zeros((1, 1), np.float32))
    # first-contact rules: rows int64, referred bool, condition int16, severity int8, tables bool
    kernels.gated_rows(np.zeros(1, np.int64), tuple(kernels.Gate(
        referred=np.zeros(1, np.bool_), condition=np.zeros(1, np.int16), severity=np.zeros(1, np.int8),
        time_critical=np.zeros(1, np.bool_), filed=np.zeros((1, 1), np.bool_))))
