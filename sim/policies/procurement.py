"""Volume-based procurement (带量采购): lower prices of drugs and consumables, by facility.

Prices. Procurement lowers what a facility pays for drugs and consumables, and under the zero mark-up policy
what it charges for them, by the same share. Each facility has a price factor per bill category
(services, drugs, consumables), ``f = 1 - cut x reach``: every charge of a category (items and the part of
the inpatient daily bundle that falls in it) is multiplied by its factor, and so is its resource cost, since a
charge's resource cost is a fixed share ``1 / (1 + margin)`` of it (``sim.behaviour.provider.guideline_charges``,
billing in ``sim.engine.model``). The cut therefore lowers bills, fund spending, out-of-pocket payments and, in
proportion, the margin a provider earns on a drug or a consumable; residents see it through the bills they learn from
(``sim.behaviour.care_seeking.CostBeliefs``), not at once. ``reach`` is 1 at county and out-of-county hospitals (public
hospitals must use the procured products) and, at village clinics and township centres,
``primary_pass_through`` unless an integrated medical community buys for them (``sim.policies.integration``).

DRG and DIP. Relative weights and the base rate do not follow the cut: the payment per case stays as it was
until the fund re-bases it (a timeline can set ``payment.drg.base_rate_yuan``), so under DRG a cut widens the
hospital's margin per case, as in practice in the first years of procurement.

Whether providers make up the revenue a cut costs them is their behaviour, not the policy's:
``sim.behaviour.target_income``.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import COUNTY
from sim.params.scenario import Scenario
from sim.policies.base import Policy
from sim.policies.integration import unified_procurement

CATEGORIES = ("services", "drugs", "consumables")
DRUGS, CONSUMABLES = 1, 2


def price_factors(spec: Scenario, level: np.ndarray) -> np.ndarray | None:
    """[facility, category] multiplier on listed prices (and costs) of services, drugs and consumables, or None
    when no cut is in force (prices as listed, and the code path of a run without procurement)."""
    cut = spec.policies.procurement
    if cut.drug_price_cut == 0.0 and cut.consumable_price_cut == 0.0:
        return None
    primary = 1.0 if unified_procurement(spec) else cut.primary_pass_through
    reach = np.where(level >= COUNTY, 1.0, primary)
    factors = np.ones((len(level), len(CATEGORIES)))
    factors[:, DRUGS] -= cut.drug_price_cut * cut.drug_coverage * reach
    factors[:, CONSUMABLES] -= cut.consumable_price_cut * cut.consumable_coverage * reach
    return factors


class Procurement(Policy):
    """The procurement cut in force: every charge of a category at a facility is multiplied by its factor."""

    name = "procurement"

    def configure(self, before) -> None:
        self.factors = price_factors(self.model.spec, self.model.facilities.level)

    def price_factors(self, factors):
        return factors if self.factors is None else self.factors
