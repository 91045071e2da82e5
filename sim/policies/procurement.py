"""Volume-based procurement (带量采购) and whether providers make up the revenue it costs them.

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

Income effect (target income; Evans 1974, Rice 1983, McGuire & Pauly 1991). A facility compares its recent
revenue with the revenue it is used to, both moving averages of its daily revenue (time scales
``income_recent_days`` and ``income_reference_days``), and puts the weight

    profit_weight_f = profit_weight x min(max(reference_f / recent_f, 1) ^ income_effect_elasticity, M)

on its margin (M = ``income_effect_max``). A facility whose revenue fell below its reference (a price cut,
lost patients) then prescribes, tests, admits and keeps more: supplier-induced volume that makes up part of the
loss. The response is to shortfalls only, as physicians' reference-income behaviour is loss-averse (Rizzo &
Zeckhauser 2003); a facility earning more than it is used to (as every facility does while a run that starts
empty fills up) keeps its weight. With the elasticity at 0 (the default) the factor is exactly 1 and lower drug
prices only weaken the incentive to prescribe. Both averages are computed by the same formula from the same
series, so a county in a steady state has a factor near 1; the reference drifts toward the new revenue, so the
effect fades as targets adjust.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import COUNTY
from sim.params.scenario import ProviderBehaviour, Scenario
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


class TargetIncome:
    """Each facility's reference and recent revenue, and the multiplier they put on its profit weight."""

    def __init__(self, n_facilities: int) -> None:
        self.reference = np.zeros(n_facilities)   # moving averages of daily revenue (yuan/day), not bias-corrected
        self.recent = np.zeros(n_facilities)
        self.booked = np.zeros(n_facilities)      # revenue books at the end of the day before
        self.days = 0
        self.factor: np.ndarray | None = None     # today's multiplier; None = exactly 1 (no income effect)

    def end_of_day(self, revenue_books: np.ndarray, behaviour: ProviderBehaviour) -> None:
        """Add the day's revenue to both averages and set tomorrow's multiplier."""
        today = revenue_books - self.booked
        self.booked = revenue_books.copy()
        a_ref, a_rec = 1.0 / behaviour.income_reference_days, 1.0 / behaviour.income_recent_days
        self.reference += a_ref * (today - self.reference)
        self.recent += a_rec * (today - self.recent)
        self.days += 1
        self.factor = self._factor(behaviour, a_ref, a_rec)

    def _factor(self, b: ProviderBehaviour, a_ref: float, a_rec: float) -> np.ndarray | None:
        if b.income_effect_elasticity == 0.0:
            return None
        # Averages started at zero, corrected for the days not yet seen (each is a weighted mean of the days
        # seen so far).
        reference = self.reference / (1.0 - (1.0 - a_ref) ** self.days)
        recent = self.recent / (1.0 - (1.0 - a_rec) ** self.days)
        known = (reference > 0) & (recent > 0)
        ratio = np.divide(reference, recent, out=np.ones_like(reference), where=known)
        return np.minimum(np.maximum(ratio, 1.0) ** b.income_effect_elasticity, b.income_effect_max)
