"""Capitation (按人头付费): a sum per enrolled resident for their primary outpatient care.

Every ``INSTALMENT_DAYS`` the fund pays ``yuan_per_enrolled_year`` x days / 365 for each enrolled resident alive,
to their own village clinic and township centre (``township_share`` to the centre), at the levels whose claims
capitation values (village and township only: ``sim.params.scenario.Payment``). An enrolled resident's outpatient
care there then earns the facility only the copayment: an extra yuan of charges earns the copayment share, less
than it costs. Inpatient care, and everyone else's care, stays fee-for-service. Residents are enrolled through
family doctors (``sim.engine.model.HealthSystemModel.enrolled``).
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import TOWNSHIP, VILLAGE
from sim.payment.interface import Claims, Finished, PaymentModel, Quote, Terms

INSTALMENT_DAYS = 30


class Capitation(PaymentModel):
    name = "capitation"

    def terms(self, quote: Quote, t: Terms, mine: np.ndarray) -> None:
        cases = quote.cases
        t.marginal_out = np.where(mine & cases.capitated, 1.0 - cases.fund_rate_out, t.marginal_out)

    def settle(self, done: Finished, claims: Claims, mine: np.ndarray) -> None:
        claims.revenue = np.where(~done.inpatient & mine & done.capitated, done.oop, claims.revenue)

    def end_of_day(self, model, paid: np.ndarray) -> None:
        if (model.day + 1) % INSTALMENT_DAYS != 0:
            return
        cap = self.spec.payment.capitation
        pop, geo = model.pop, model.geo
        enrolled = pop.alive & model.enrolled
        per_head = cap.yuan_per_enrolled_year * INSTALMENT_DAYS / 365.0
        heads = np.bincount(pop.village[enrolled], minlength=geo.n_villages).astype(float)
        shares = {VILLAGE: 1.0 - cap.township_share, TOWNSHIP: cap.township_share}
        for column, level in ((0, VILLAGE), (1, TOWNSHIP)):
            if self.levels[level]:
                paid += np.bincount(geo.options[:, column], heads * per_head * shares[level],
                                    minlength=model.facilities.n)
