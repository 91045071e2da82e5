"""Township emergency units (胸痛、卒中、创伤救治单元): early identification and fast, pre-notified transfer.

For a time-critical case the clock (``critical_minutes``, sim.behaviour.outcomes) runs from departure to treatment at
the facility that treats it: travel, plus the facility's identification minutes, plus, when the facility cannot
treat the case, the transfer to the nearest capable facility and that facility's identification minutes
(sim.engine.model: ``_seek_care``, ``_refer``). A township centre with a unit for the case's condition

- identifies it in min(own identification_minutes, ``identification_minutes`` of the policy): a remote ECG
  reading, a stroke scale, a trauma protocol;
- gives a first treatment (thrombolysis for chest pain or stroke, stabilisation for trauma), after which
  further delay harms less: the minutes of the transfer count (1 - ``first_treatment_effect``) on the clock;
- notifies the hospital it transfers the case to, which then acts within
  min(its own identification_minutes, ``transfer_handover_minutes``) instead of starting over.

So for a case that arrives at a unit after T minutes of travel and is transferred d minutes to a hospital:

    clock = T + min(id_township, identification_minutes)
            + (1 - first_treatment_effect) x (d + min(id_hospital, transfer_handover_minutes))

Whether the case is treated at the township or transferred is still the provider's decision (sim.behaviour.provider),
and outcomes follow from the minutes through the delay factor; nothing else is changed. Units are by
condition (``chest_pain`` -> chest_pain, ``stroke`` -> stroke, ``trauma`` -> major_trauma) at every
township centre or at the ``townships`` most populous ones. The unit table is [facility, condition]
booleans, so minutes are looked up per episode in one vectorised expression.
"""

from __future__ import annotations

import numpy as np

from sim.core.geography import Geography
from sim.core.levels import TOWNSHIP
from sim.params.scenario import Scenario
from sim.policies.base import Policy

UNIT_CONDITIONS = {"chest_pain": "chest_pain", "stroke": "stroke", "trauma": "major_trauma"}


def unit_townships(geo: Geography, townships: int | str) -> np.ndarray:
    """[township] whether the township's centre runs units: all, or the ``townships`` most populous ones."""
    n = len(geo.township_names)
    if townships == "all" or townships >= n:
        return np.ones(n, bool)
    people = np.bincount(geo.village_township, weights=geo.village_weight, minlength=n)
    chosen = np.zeros(n, bool)
    chosen[np.argsort(-people, kind="stable")[:townships]] = True
    return chosen


class EmergencyUnits(Policy):
    """Which facility has a unit for which condition, and the minutes the units save."""

    name = "emergency_units"

    def __init__(self, model) -> None:
        super().__init__(model)
        self.cat, self.geo = model.cat, model.geo
        self.enabled = False
        self.unit = np.zeros((self.geo.n_facilities, self.cat.n), bool)

    def configure(self, before) -> None:
        self.set_rules(self.model.spec)

    def set_rules(self, spec: Scenario) -> None:
        p = spec.policies.emergency_units
        self.policy = p
        self.unit = np.zeros((self.geo.n_facilities, self.cat.n), bool)
        self.enabled = p.enabled
        if not p.enabled:
            return
        conditions = [self.cat.index(name) for key, name in UNIT_CONDITIONS.items()
                      if getattr(p, key) and name in self.cat.names]
        centre = self.geo.facility_level == TOWNSHIP
        township = self.geo.facility_township
        centre &= unit_townships(self.geo, p.townships)[np.where(centre, township, 0)]
        self.unit[np.ix_(centre, conditions)] = True
        self.enabled = bool(self.unit.any())

    def identification_minutes(self, fac: np.ndarray, condition: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Minutes from arrival to acting, per episode arriving at ``fac`` with ``condition``; ``own`` is what
        the facility needs without a unit (its identification minutes, or less where other policies help)."""
        if not self.enabled:
            return own
        return np.where(self.unit[fac, condition], np.minimum(own, self.policy.identification_minutes), own)

    def transfer_clock(self, src: np.ndarray, condition: np.ndarray, own: np.ndarray, transfer_minutes: np.ndarray,
                       minutes: np.ndarray) -> np.ndarray:
        """Minutes a transfer adds to a time-critical case's clock: the trip plus the receiving hospital's
        identification minutes ``own`` (cut short when a unit notified it), counted at (1 -
        first_treatment_effect) when a unit treated the case first; ``minutes`` (trip + own) without units."""
        if not self.enabled:
            return minutes
        unit = self.unit[src, condition]
        p = self.policy
        minutes = transfer_minutes + np.where(unit, np.minimum(own, p.transfer_handover_minutes), own)
        return np.where(unit, (1.0 - p.first_treatment_effect) * minutes, minutes)
