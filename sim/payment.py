"""How the fund pays providers, and so what an extra item, bed-day or admission earns them.

A payment model answers two questions for the provider's decision (``sim.provider``):
how much revenue an extra yuan of charges brings (``marginal_revenue_per_charge``: 1 under fee-for-service,
where every item and bed-day is paid), and what a finished case earns (``case_revenue``). The provider's
margin is revenue minus resource cost; the payment model never touches lengths of stay or intensities.

This version implements fee-for-service; the schema already names ``drg``, ``dip``, ``global_budget`` and
``capitation``.
"""

from __future__ import annotations

import numpy as np

from sim.scenario import IMPLEMENTED_PAYMENT_MODELS, FeeSchedule, Payment


class PaymentNotImplemented(ValueError):
    pass


class FeeForService:
    """按项目付费: the provider bills each item and bed-day at the fee schedule and is paid the bill."""

    name = "fee_for_service"
    marginal_revenue_per_charge = 1.0

    def __init__(self, schedule: FeeSchedule) -> None:
        self.schedule = schedule
        # Margin over resource cost of services, drugs, consumables, and of the daily (bed-day) bundle.
        self.item_margin = np.array([schedule.services_margin, schedule.drugs_margin,
                                     schedule.consumables_margin])
        self.bed_day_margin = schedule.bed_day_margin

    def case_revenue(self, charges: np.ndarray) -> np.ndarray:
        """What the provider receives for finished cases with these total charges (fund + patient)."""
        return charges


def make_payment(payment: Payment):
    if payment.model not in IMPLEMENTED_PAYMENT_MODELS:
        raise PaymentNotImplemented(
            f"payment.model = {payment.model!r} is part of the schema but not implemented in this version; "
            f"implemented: {', '.join(IMPLEMENTED_PAYMENT_MODELS)}")
    return FeeForService(payment.fee_schedule)
