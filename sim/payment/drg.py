"""DRG (按病种/疾病诊断相关分组付费): one payment per inpatient case by its diagnosis group.

An admitted case earns ``base_rate_yuan x group weight x level coefficient`` (its facility's price_level), plus
``outlier_share`` of the bill above ``outlier_threshold`` payments for a high-cost outlier (``sim.payment.grouper``
for the groups and weights). An extra item or bed-day earns nothing, so the provider's margin falls with intensity
and stay; outpatient care stays fee-for-service.

Coding is a decision (``sim.payment.grouper.upcode``): a case is coded one severity up when the provider's weight on
profit times the expected gain beats its scruple; an audited upcoded claim (``audit_rate``) repays the overpayment
and a fine of ``penalty_multiple`` times it. Admission review (``admission_review_rate``): a reviewed admission
that was not needed (admission benefit < 0) earns only its copayment, and providers expect it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.payment.grouper import TOP_SEVERITY, upcode
from sim.payment.interface import Claims, Context, Finished, PaymentModel, Quote, Terms, period_budget


def base_rate(ctx: Context) -> float:
    """Payment for a case of relative weight 1 at county prices: the rules', or budget neutral at guideline care."""
    return ctx.spec.payment.drg.base_rate_yuan or ctx.grouper.base_bill


@dataclass
class RateBooks:
    """The base rate in force when it is re-based (``payment.drg.rebase_days``), and the period's DRG cases: their
    coded weights at their level coefficients and their patients' payments."""

    base_rate: float
    weights: float = 0.0
    oop: float = 0.0
    days: int = 0
    history: list = field(default_factory=list)  # (day, base rate set)
    pooled_rate: float | None = None  # the rate a city's fund set over every county's cases (sim.engine.city)


class DiagnosisRelatedGroups(PaymentModel):
    name = "drg"

    def __init__(self, ctx: Context, levels: np.ndarray) -> None:
        super().__init__(ctx, levels)
        self.rules = ctx.spec.payment.drg
        self.grouper = ctx.grouper
        self.base_rate = base_rate(ctx)
        self.books: RateBooks | None = None
        if self.rules.rebase_days is not None:  # the rate of the last re-basing stays in force across changes
            self.books = ctx.books.setdefault(self.name, RateBooks(self.base_rate))
            self.base_rate = self.books.base_rate

    def case_payment(self, c, coded_s, cc, price_level) -> np.ndarray:
        """What a case earns by its coded group (before outliers and audits)."""
        return self.grouper.case_weight(c, coded_s, cc) * price_level * self.base_rate

    def terms(self, quote: Quote, t: Terms, mine: np.ndarray) -> None:
        cases, rules = quote.cases, self.rules
        c, s = cases.condition, cases.severity
        no_cc = np.zeros(len(c), bool)
        t.fixed_in = np.where(mine, self.case_payment(c, s, no_cc, cases.price_level), t.fixed_in)
        t.marginal_in = np.where(mine, 0.0, t.marginal_in)
        # Coding up: the heavier group's payment, less what audits recover and fine.
        can_code_up = mine & (s < TOP_SEVERITY)
        if can_code_up.any():
            up = np.minimum(s + 1, TOP_SEVERITY)
            gain = np.where(can_code_up, self.case_payment(c, up, no_cc, cases.price_level) - t.fixed_in, 0.0)
            code_up, expected = upcode(gain, rules.audit_rate, rules.penalty_multiple, quote.profit_weight,
                                       cases.scruple, kept_share=quote.kept_share)
            t.code_up = t.code_up | code_up
            t.fixed_in = t.fixed_in + expected
        # Admission review: an admission that was not needed loses the fund's part of its payment.
        if rules.admission_review_rate > 0:
            refused = mine & (cases.admission_benefit < 0)
            fund_part = np.maximum(t.fixed_in - (1.0 - cases.fund_rate_in) * quote.bill_in, 0.0)
            t.fixed_in = t.fixed_in - np.where(refused, rules.admission_review_rate * fund_part, 0.0)

    def settle(self, done: Finished, claims: Claims, mine: np.ndarray) -> None:
        drg = done.inpatient & mine
        if not drg.any():
            return
        rules, d = self.rules, done
        pay = self.case_payment(d.c, d.coded_s, d.cc, d.price)
        threshold = rules.outlier_threshold * pay
        pay = pay + rules.outlier_share * np.maximum(d.bill - threshold, 0.0)
        audited = claims.upcoded & (d.u_review < rules.audit_rate)
        overpaid = (self.grouper.case_weight(d.c, d.coded_s, d.cc) - self.grouper.case_weight(d.c, d.s, d.cc)) \
            * d.price * self.base_rate
        recovered = np.where(drg & audited, (1.0 + rules.penalty_multiple) * overpaid, 0.0)
        refused = drg & (d.admission_benefit < 0) & (d.u_review < rules.admission_review_rate)
        # The fund pays the case payment less the patient's copayment (from the itemised bill), never less than
        # nothing (支付标准 - 个人负担, floored at 0): a case whose copayment exceeds its payment leaves the provider
        # the copayment. Audit recoveries come off after the floor. The provider's view (``terms``) does not foresee
        # the floor: it binds on about one case in 10,000 (scenarios/xiangtan_drg.yaml at 20,000 residents: 21 of
        # 208,418 settled cases).
        claims.revenue = np.where(drg, np.where(refused, d.oop, np.maximum(pay, d.oop) - recovered), claims.revenue)
        claims.recovered, claims.refused = recovered, refused
        if self.books is not None:
            self.books.weights += float((self.grouper.case_weight(d.c, d.coded_s, d.cc) * d.price)[drg].sum())
            self.books.oop += float(d.oop[drg].sum())

    def end_of_day(self, model, paid: np.ndarray) -> None:
        """Re-basing (``payment.drg.rebase_days``): every period the base rate becomes (the fund's budget for the
        period + DRG patients' payments) / the coded weights of the period's DRG cases at their level
        coefficients, for the cases of the next period (or the city's rate, over every county's cases)."""
        b = self.books
        if b is None:
            return
        b.days += 1
        if b.days < self.rules.rebase_days:
            return
        rate = b.pooled_rate
        if rate is None and b.weights > 0:
            rate = (period_budget(self.rules, model.alive_count, b.days) + b.oop) / b.weights
        if rate is not None:
            b.base_rate = self.base_rate = rate
            b.history.append((model.day, rate))
        b.weights, b.oop, b.days, b.pooled_rate = 0.0, 0.0, 0, None

