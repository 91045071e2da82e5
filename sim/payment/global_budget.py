"""The global budget to a medical community (总额预付, 结余留用、合理超支分担): a purse around its members' claims.

Claims stay valued by the claim models beneath (fee-for-service unless ``payment.by_level`` says otherwise); the
in-county facilities form a medical community (``sim.payment.community``) that receives the budget, pays every fund
claim of its residents from it (its members' and the out-of-county hospitals'), and keeps or bears a share ``k`` of
the difference. A member weighs the community's margin, so of what the claim models say a case earns it sees
``revenue - k x (fund part of the claim)``: with revenue = fixed + marginal x bill + per_bed_day x bed-days and the
copayment (1 - f) x bill,

    fixed -> (1 - k) fixed     marginal -> (1 - k) marginal + k (1 - f)     per_bed_day -> (1 - k) per_bed_day

and a case referred up costs the community the fund's part of its bill there. That single change is what makes
members ration, admit less and keep patients in the county; and a member keeps only 1 - k of an extra payment it
codes for (``sim.payment.drg``).
"""

from __future__ import annotations

import numpy as np

from sim.payment.community import build_community
from sim.payment.interface import Claims, Context, Finished, PaymentModel, Quote, Terms


class GlobalBudget(PaymentModel):
    name = "global_budget"
    wraps_claims = True

    def __init__(self, ctx: Context, levels: np.ndarray) -> None:
        model = ctx.model
        if model is None:
            raise ValueError("payment.model = 'global_budget' needs the simulation its medical community belongs to")
        community = model.community
        if community is None:
            community = build_community(model, ctx.spec, start_day=model.day)
        community.set_rules(ctx.spec.payment.global_budget)
        self.community = community
        super().__init__(ctx, community.is_member_level)

    def _weight(self, level: np.ndarray) -> np.ndarray:
        """k of each case's facility: what a yuan of fund money spent costs a member (0 for everyone else)."""
        return np.where(self.levels[level], self.community.margin_weight(level), 0.0)

    def kept_share(self, cases) -> np.ndarray:
        return 1.0 - self._weight(cases.level)

    def terms(self, quote: Quote, t: Terms, mine: np.ndarray) -> None:
        cases = quote.cases
        k = self._weight(cases.level)
        fund_rate_in, fund_rate_out = cases.fund_rate_in, cases.fund_rate_out
        # revenue - k x (revenue - copayment): the fund's part costs the community k per yuan.
        t.fixed_in = (1.0 - k) * t.fixed_in
        t.marginal_in = (1.0 - k) * t.marginal_in + k * (1.0 - fund_rate_in)
        t.per_bed_day_in = (1.0 - k) * t.per_bed_day_in
        t.fixed_out = (1.0 - k) * t.fixed_out
        t.marginal_out = (1.0 - k) * t.marginal_out + k * (1.0 - fund_rate_out)
        # A case referred up is paid for elsewhere, and the community pays the fund's part of that bill too
        # (a member's, or the out-of-county hospital's).
        away = k * cases.price_ratio_up
        t.referral_cost_out = away * cases.fund_rate_up_out * quote.bill_out
        t.referral_cost_in = away * cases.fund_rate_up_in * quote.bill_in

    def settle(self, done: Finished, claims: Claims, mine: np.ndarray) -> None:
        self.community.pay_claims(float(claims.fund.sum()))

    def end_of_day(self, model, paid: np.ndarray) -> None:
        if paid.any():
            self.community.pay_claims(float(paid.sum()))
        self.community.manage_instruments(model)  # posted doctors, platform (sim.payment.instruments)
        model.fund.to_community += self.community.settle_if_due(model.day)
