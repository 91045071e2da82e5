"""Fee-for-service (按项目付费): a case earns its bill, item by item and bed-day by bed-day.

An extra yuan of charges earns a yuan, and every item and bed-day is priced above its resource cost
(``payment.fee_schedule``), so the provider's margin rises with intensity and stay: more tests, drugs and days
(DOMAIN.md: 多开药、多检查). These are the defaults of ``sim.payment.interface.PaymentModel``; the class only
names them.
"""

from __future__ import annotations

from sim.payment.interface import PaymentModel


class FeeForService(PaymentModel):
    name = "fee_for_service"
