"""Target income: whether providers make up revenue they lost, to a price cut or to lost patients (income
effect; Evans 1974, Rice 1983, McGuire & Pauly 1991). A facility compares its recent revenue with the
revenue it is used to, both moving averages of its daily revenue (time scales ``income_recent_days`` and
``income_reference_days``), and puts the weight

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

from sim.params.scenario import ProviderBehaviour


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
