"""One interface for policies: the hooks through which a policy takes part in the daily step.

The engine (``sim.engine.model``) builds every policy of ``REGISTRY`` (``sim.policies``) once, and calls each
hook of every policy, in registry order, at its place in the step; it never names a policy. Every hook does
nothing by default, so a policy writes only the hooks it needs, and a policy that is switched off in the
scenario in force returns what it was given.

Lifecycle:
    configure(before)      at the start and on each timeline day: read ``model.spec``
    start_of_day()         before onsets (staff postings, the siphon)
    after_discharges()     beds freed, before service (downward transfers)
    end_of_day()           after today's treatments are finished and billed (assessment, target income)

How policies act (each receives the value so far and returns it, changed or not; the engine folds them):
    prevented(resident, condition, prevented)                  onsets that managed care prevents
    enrolled(enrolled)                                         residents enrolled with a primary provider
    steer(rows, scheme, closed_above)                          pricing class and levels closed to each chooser
    pricing_classes(beliefs, fund, oop)                        expected out-of-pocket by pricing class
    capability(fac, need, capability)                          capability that treats each case
    risk_factor(rows, fac, factor)                             a factor on the risks of today's finished treatments
    identification_minutes(fac, condition, minutes)            minutes to recognise a time-critical case
    transfer_clock(src, condition, own, trip, minutes)         minutes a critical transfer adds to its clock
    rate_cut(rows, level, cut), deductible(rows, level, due)   departures from the listed insurance rules
    price_factors(factors)                                     charge factors by facility and bill category
    profit_weight_factor(fac, factor)                          a facility's weight on margin, relative
    margin_adjustment(fac, level, adjustment)                  terms the provider's margin adds per case
                                                               (``sim.behaviour.margin.MarginAdjustment``)
    split_stays(rows, stays)                                   stays split between two facilities

Notifications (no value returned):
    served(rows, level)        cases a provider sees today       referred_up(rows)     cases referred up to choose
    completed(done)            treatments finished and billed today (``Completed``)

State. A policy declares the shared state it owns, as the engine and the payment models declare theirs: ``columns``
of the episode table (``sim.core.episodes.COLUMNS``), ``counters`` of the tally (``sim.core.tally.COUNTERS``) and
``facility_columns`` (``sim.core.facilities.COLUMNS``), each owned by exactly one module of the model; and in
``writes`` what it changes of state others own ("episodes.<column>", "tally.<counter>", "facilities.<column>").
tests/test_architecture.py checks both: every column and counter has one owner, and a module writes only what
it owns or declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass
class Completed:
    """Treatments finished today, as the engine billed them (one entry per case)."""

    rows: np.ndarray          # episode rows
    fac: np.ndarray           # treating facility
    level: np.ndarray         # its level
    resident: np.ndarray
    charges: np.ndarray       # [n, 3] services, drugs, consumables (yuan)
    inpatient: np.ndarray
    fund: np.ndarray          # the fund's payment (yuan)
    referred: np.ndarray      # referred up by a lower level


class Policy:
    """A policy's part in the daily step; every hook does nothing unless a policy overrides it."""

    name: ClassVar[str] = ""
    columns: ClassVar[tuple[str, ...]] = ()           # episode columns it owns
    counters: ClassVar[tuple[str, ...]] = ()          # tally counters it owns
    facility_columns: ClassVar[tuple[str, ...]] = ()  # facility columns it owns
    writes: ClassVar[tuple[str, ...]] = ()            # state others own that it changes

    def __init__(self, model) -> None:
        self.model = model

    # ------------------------------------------------------------------------------------------- lifecycle
    def configure(self, before) -> None:
        """Put the rules of ``self.model.spec`` in force (``before``: the scenario in force until now; at the
        start, the same scenario)."""

    def start_of_day(self) -> None:
        pass

    def after_discharges(self) -> None:
        pass

    def end_of_day(self) -> None:
        pass

    # ------------------------------------------------------------------------------------------- values
    def prevented(self, resident: np.ndarray, condition: np.ndarray, prevented: np.ndarray) -> np.ndarray:
        return prevented

    def enrolled(self, enrolled: np.ndarray) -> np.ndarray:
        return enrolled

    def steer(self, rows: np.ndarray, scheme: np.ndarray, closed_above):
        return scheme, closed_above

    def pricing_classes(self, beliefs, fund, oop: np.ndarray) -> np.ndarray:
        return oop

    def risk_factor(self, rows: np.ndarray, fac: np.ndarray, factor: np.ndarray) -> np.ndarray:
        return factor

    def capability(self, fac: np.ndarray, need: np.ndarray, capability: np.ndarray) -> np.ndarray:
        return capability

    def identification_minutes(self, fac: np.ndarray, condition: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        return minutes

    def transfer_clock(self, src: np.ndarray, condition: np.ndarray, own: np.ndarray, trip: np.ndarray,
                       minutes: np.ndarray) -> np.ndarray:
        return minutes

    def rate_cut(self, rows: np.ndarray, level: np.ndarray, cut):
        return cut

    def deductible(self, rows: np.ndarray, level: np.ndarray, due):
        return due

    def price_factors(self, factors):
        return factors

    def profit_weight_factor(self, fac: np.ndarray, factor):
        return factor

    def margin_adjustment(self, fac: np.ndarray, level: np.ndarray, adjustment):
        return adjustment

    def split_stays(self, rows: np.ndarray, stays):
        return stays

    # ------------------------------------------------------------------------------------------- notices
    def served(self, rows: np.ndarray, level: np.ndarray) -> None:
        pass

    def referred_up(self, rows: np.ndarray) -> None:
        pass

    def completed(self, done: Completed) -> None:
        pass
