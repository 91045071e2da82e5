"""What policies add to a provider's margin on each case, apart from what the payment model pays.

A policy that rewards or penalises what a provider decides (``sim.policies.assessment``'s deductions,
``sim.policies.integration``'s one account) says so here, per case, as linear coefficients on the quantities the
provider chooses (``sim.behaviour.provider``): yuan per yuan of drug and of other charges, per yuan of an outpatient
bill, per outpatient case, per referral up, and the share of its margin a referral up keeps on its side. The
provider adds them to its margins; contributions of several policies add up (``MarginAdjustment.combine``).
A field left None adds nothing; with no item coefficient at all the provider prices drugs with the rest of the
bundle (one intensity), as it did before any policy priced them apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

ITEM_FIELDS = ("per_drug_yuan", "per_other_yuan", "per_outpatient_yuan", "per_outpatient_case")


@dataclass(frozen=True)
class MarginAdjustment:
    """Yuan added to a provider's margin on each case (one row per case; None adds nothing)."""

    per_drug_yuan: np.ndarray | None = None        # per yuan of drug charges (items and the daily bundle's drugs)
    per_other_yuan: np.ndarray | None = None       # per yuan of other charges (services, consumables, the rest)
    per_outpatient_yuan: np.ndarray | None = None  # per yuan of the bill of a case treated as an outpatient
    per_outpatient_case: np.ndarray | None = None  # per case treated as an outpatient, apart from its bill
    per_referral: np.ndarray | None = None         # per case referred up
    referral_margin_share: np.ndarray | None = None  # share of the case's (positive) margin that a referral up
    #                                                  keeps on the provider's side (one account of a community)

    @property
    def prices_items(self) -> bool:
        """Whether any contributor prices charges or outpatient cases (drugs are then chosen apart)."""
        return any(getattr(self, name) is not None for name in ITEM_FIELDS)

    def arrays(self, n: int) -> tuple[np.ndarray, ...]:
        """Every coefficient as an array of ``n`` cases (zeros where nothing is added), in field order."""
        zeros = np.zeros(n)
        return tuple(zeros if getattr(self, f.name) is None else getattr(self, f.name) for f in fields(self))

    @staticmethod
    def combine(*parts: MarginAdjustment | None) -> MarginAdjustment | None:
        """The sum of the policies' contributions (None when none contributes)."""
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        total = {}
        for f in fields(MarginAdjustment):
            values = [getattr(p, f.name) for p in parts if getattr(p, f.name) is not None]
            total[f.name] = None if not values else values[0] if len(values) == 1 else np.sum(values, axis=0)
        return MarginAdjustment(**total)
