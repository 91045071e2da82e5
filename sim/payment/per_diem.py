"""Per diem (按床日付费): inpatient care paid by the bed-day, as insurers pay long-stay psychiatric and
rehabilitation care.

An inpatient case earns ``yuan_per_bed_day x bed-days x level coefficient`` (its facility's price_level), whatever
its items; null = budget neutral, the mean guideline inpatient bill of the catalogue's admissions per guideline
bed-day at county prices. Outpatient care stays fee-for-service. In the provider's objective the marginal bed-day
earns the rate while an extra item earns nothing, so a provider that weighs profit keeps patients longer than under
DRG (whose marginal bed-day earns nothing), does fewer items than under fee-for-service, and admits more readily;
with profit_weight 0 nothing changes. No coding, audits or review: the payment does not depend on the diagnosis.
"""

from __future__ import annotations

import numpy as np

from sim.core.conditions import Catalogue
from sim.payment.interface import Claims, Context, Finished, PaymentModel, Quote, Terms


def neutral_rate(cat: Catalogue, admissions: np.ndarray) -> float:
    """Mean guideline inpatient bill per guideline bed-day over the catalogue's expected admissions
    (``admissions[c, s]``), at county prices (yuan)."""
    return float((admissions * cat.inpatient_cost).sum() / (admissions * cat.clinical_los).sum())


class PerDiem(PaymentModel):
    name = "per_diem"

    def __init__(self, ctx: Context, levels: np.ndarray) -> None:
        super().__init__(ctx, levels)
        self.rate = ctx.spec.payment.per_diem.yuan_per_bed_day or neutral_rate(ctx.cat, ctx.grouper.admissions)

    def terms(self, quote: Quote, t: Terms, mine: np.ndarray) -> None:
        t.marginal_in = np.where(mine, 0.0, t.marginal_in)
        t.per_bed_day_in = np.where(mine, self.rate * quote.cases.price_level, t.per_bed_day_in)

    def settle(self, done: Finished, claims: Claims, mine: np.ndarray) -> None:
        stays = done.inpatient & mine
        claims.revenue = np.where(stays, self.rate * done.price * done.bed_days, claims.revenue)
