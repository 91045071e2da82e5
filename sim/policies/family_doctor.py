"""Family-doctor contracts (家庭医生签约): who is contracted, managed chronic care, and continuity of care.

Contracts. Every resident has one enrolment draw U (its own stream, drawn once at build). With
``policies.family_doctor`` on, a resident of a key group (aged 65 and over, or with a chronic condition) is
contracted when U < ``key_group_share``, any other resident when U < the share that brings the whole
population to ``contract_share``:

    other_share = clip((contract_share - key_group_size / N x key_group_share) / (1 - key_group_size / N), 0, 1)

(if key groups alone exceed ``contract_share`` the others contract at 0 and the overall share is higher).
Contracts are the enrolment that capitation pays for. With the policy off, enrolment for capitation stays
U < ``payment.capitation.enrolment_share``.

Managed chronic care. A contracted resident with a chronic condition is followed up by the primary doctors of
their township (its centre and its village clinics), so their exacerbations (the catalogue's
``EXACERBATIONS``) are rarer by the relative risk ``exacerbation_relative_risk`` (RR). Management takes
doctors' time: with D primary doctors in a township and P contracted chronic patients living there, the share
of full management each patient receives is coverage = min(1, D x ``chronic_panel_per_doctor`` / P), and

    RR_effective = 1 - (1 - RR) x coverage

so that sinking doctors to, or siphoning them from, a township changes how well its patients are managed.
An exacerbation onset of a contracted resident is kept when its own uniform (stream ``management``) is below
RR_effective; with the policy off no number is drawn and every onset is kept.

Continuity. A contracted resident treated at their own village clinic or township centre is seen by a doctor
who knows them: the risks of death and complication of that treatment are multiplied by 1 -
``outcomes.continuity_risk_reduction``. Contracts add nothing to what residents expect of those facilities;
residents who fare better there come to trust them more (``sim.behaviour.learning``), and the facility's outcomes
shape what everyone believes it can treat (``sim.behaviour.perception``). So contracts draw first contact to
primary care only as far as their patients' outcomes do.
"""

from __future__ import annotations

import numpy as np

from sim.core.conditions import EXACERBATIONS
from sim.core.levels import TOWNSHIP, VILLAGE
from sim.params.scenario import Scenario
from sim.policies.base import Policy

KEY_GROUP_AGE = 65  # years: the elderly are a key group of family-doctor contracting


def other_share(contract_share: float, key_group_share: float, key_fraction: float) -> float:
    """Contracting rate of residents outside the key groups that brings everyone to ``contract_share``."""
    if key_fraction >= 1.0:
        return 0.0
    return float(np.clip((contract_share - key_fraction * key_group_share) / (1.0 - key_fraction), 0.0, 1.0))


class FamilyDoctors(Policy):
    """Contracts, management capacity by township and the exacerbations management prevents."""

    name = "family_doctor"
    stream = "management"  # one uniform per exacerbation onset while the policy is on

    def __init__(self, model) -> None:
        super().__init__(model)
        pop, geo, cat = model.pop, model.geo, model.cat
        self.pop, self.geo = pop, geo
        self.draw = model.enrolment_draw
        self.key_group = (pop.age >= KEY_GROUP_AGE) | pop.chronic.any(1)
        self.chronic = pop.chronic.any(1)
        self.exacerbation = np.isin(np.array(cat.names), EXACERBATIONS)
        self.enabled = False
        self.contracted = np.zeros(pop.size, bool)
        self.managed_per_township = np.zeros(len(geo.township_names))

    def configure(self, before) -> None:
        self.set_rules(self.model.spec)

    def set_rules(self, spec: Scenario) -> None:
        """Draw the contracts in force under ``spec`` (the same draw U for every scenario)."""
        p = spec.policies.family_doctor
        self.policy, self.reduction = p, spec.outcomes.continuity_risk_reduction
        self.enabled = p.enabled
        if not p.enabled:
            self.contracted = np.zeros(self.pop.size, bool)
            self.managed_per_township[:] = 0.0
            return
        share = np.where(self.key_group, p.key_group_share,
                         other_share(p.contract_share, p.key_group_share, float(self.key_group.mean())))
        self.contracted = self.draw < share
        managed = self.contracted & self.chronic & self.pop.alive
        township = self.geo.village_township[self.pop.village[managed]]
        self.managed_per_township = np.bincount(township, minlength=len(self.geo.township_names)).astype(float)

    # ----------------------------------------------------------------------------------------- management
    def coverage(self, facilities) -> np.ndarray:
        """[township] share of full management each contracted chronic patient receives, from the primary
        doctors working there today."""
        primary = (facilities.level == VILLAGE) | (facilities.level == TOWNSHIP)
        doctors = np.bincount(facilities.township[primary], weights=facilities.doctors[primary],
                              minlength=len(self.managed_per_township))
        capacity = doctors * self.policy.chronic_panel_per_doctor
        return np.minimum(1.0, capacity / np.maximum(self.managed_per_township, 1.0))

    def relative_risk(self, facilities) -> np.ndarray:
        """[township] relative risk of an exacerbation for a contracted chronic patient living there."""
        return 1.0 - (1.0 - self.policy.exacerbation_relative_risk) * self.coverage(facilities)

    def prevented(self, resident: np.ndarray, condition: np.ndarray, prevented: np.ndarray) -> np.ndarray:
        """Which of today's onsets managed care prevents, added to ``prevented`` (no draws with the policy off).

        One uniform is drawn per exacerbation onset, whoever it falls on, so the numbers each onset sees do
        not depend on contracts or capacity (common random numbers across scenarios)."""
        if not self.enabled:
            return prevented
        facilities, rng = self.model.facilities, self.model.streams[self.stream]
        out = prevented.copy()
        rows = np.flatnonzero(self.exacerbation[condition])
        u = rng.random(len(rows))
        res = resident[rows]
        rr = self.relative_risk(facilities)[self.geo.village_township[self.pop.village[res]]]
        out[rows] |= self.contracted[res] & (u >= rr)
        return out

    def enrolled(self, enrolled: np.ndarray) -> np.ndarray:
        """The contracted residents are the enrolment capitation pays for, while the policy is on."""
        return self.contracted if self.enabled else enrolled

    # ----------------------------------------------------------------------------------------- continuity
    def risk_factor(self, rows: np.ndarray, fac: np.ndarray, factor: np.ndarray) -> np.ndarray:
        """Contracted residents treated at their own village clinic or township centre (the first two options of
        their village) meet 1 - ``continuity_risk_reduction`` of their risks."""
        if not self.enabled or not self.reduction:
            return factor
        res = self.model.episodes.resident[rows]
        own = self.geo.options[self.pop.village[res], :2]
        known = self.contracted[res] & ((own[:, 0] == fac) | (own[:, 1] == fac))
        return np.where(known, factor * (1.0 - self.reduction), factor)
