"""DIP (按病种分值付费): inpatient cases earn points; a point's money value floats so that the regional budget is met.

A case earns ``100 x group weight x level coefficient`` points (``sim.payment.grouper``), paid at discharge at the
point value of the last settlement (before the first: ``initial_point_value_yuan``, or the DRG base rate / 100).
Every ``settlement_days`` the point value becomes (budget + patients' payments for DIP cases) / points of the
period, budget = ``fund_budget_per_resident_year_yuan`` x residents x days / 365, and each hospital is paid the
difference between its points at that value and what it was paid: one hospital's extra volume lowers every
hospital's price (the volume race). An extra item or bed-day earns nothing; outpatient care stays
fee-for-service. The books of the period outlive changes of the rules (they are the ``Context``'s).

In a city of several counties under one fund (``sim.engine.city``) the point value is the city's: (the counties'
budgets + their patients' payments) / every county's points, set by the city before each county settles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.payment.drg import base_rate
from sim.payment.grouper import POINTS_PER_WEIGHT
from sim.payment.interface import Claims, Context, Finished, PaymentModel, Quote, Terms, period_budget


@dataclass
class PointBooks:
    """The period's points and provisional payments by facility, and the settled point values."""

    point_value: float
    points: np.ndarray = field(default_factory=lambda: np.zeros(0))
    provisional: np.ndarray = field(default_factory=lambda: np.zeros(0))
    oop: float = 0.0
    days: int = 0
    history: list = field(default_factory=list)  # (day, point value, points settled)
    # the point value a city's fund set over every county's points for this settlement (``sim.engine.city``);
    # None: the county's own
    pooled_value: float | None = None


class DiagnosisInterventionPacket(PaymentModel):
    name = "dip"
    counters = ("dip_settled_points", "dip_settled_value")

    def __init__(self, ctx: Context, levels: np.ndarray) -> None:
        super().__init__(ctx, levels)
        self.rules = ctx.spec.payment.dip
        self.grouper = ctx.grouper
        if self.name not in ctx.books:
            initial = self.rules.initial_point_value_yuan or base_rate(ctx) / POINTS_PER_WEIGHT
            ctx.books[self.name] = PointBooks(point_value=initial)
        self.books: PointBooks = ctx.books[self.name]

    def terms(self, quote: Quote, t: Terms, mine: np.ndarray) -> None:
        cases = quote.cases
        no_cc = np.zeros(len(cases.condition), bool)
        w = self.grouper.case_weight(cases.condition, cases.severity, no_cc) * cases.price_level
        t.fixed_in = np.where(mine, w * POINTS_PER_WEIGHT * self.books.point_value, t.fixed_in)
        t.marginal_in = np.where(mine, 0.0, t.marginal_in)

    def settle(self, done: Finished, claims: Claims, mine: np.ndarray) -> None:
        dip = done.inpatient & mine
        if not dip.any():
            return
        d = done
        points = self.grouper.case_weight(d.c, d.s, d.cc) * d.price * POINTS_PER_WEIGHT * dip
        claims.revenue = np.where(dip, points * self.books.point_value, claims.revenue)
        self._accrue(d.fac, points, np.where(dip, d.oop, 0.0), d.n_facilities)

    def _accrue(self, fac, points, oop, n_facilities) -> None:
        b = self.books
        if len(b.points) != n_facilities:
            b.points, b.provisional = np.zeros(n_facilities), np.zeros(n_facilities)
        b.points += np.bincount(fac, points, minlength=n_facilities)
        b.provisional += np.bincount(fac, points * b.point_value, minlength=n_facilities)
        b.oop += float(oop.sum())

    def end_of_day(self, model, paid: np.ndarray) -> None:
        self.books.days += 1
        if self.books.days >= self.rules.settlement_days:
            paid += self._settle_point_value(model)

    def _settle_point_value(self, model) -> np.ndarray:
        """The point value = (budget + patients' payments) / points; each hospital is paid the difference
        between points x that value and what it was paid provisionally."""
        b, n = self.books, model.facilities.n
        budget = period_budget(self.rules, model.alive_count, b.days)
        total = float(b.points.sum()) if len(b.points) else 0.0
        adjustment = np.zeros(n)
        if b.pooled_value is not None:  # the city's one point value, over every county's points
            value, b.pooled_value = b.pooled_value, None
            b.point_value = value
        elif total > 0:
            value = (budget + b.oop) / total
        if total > 0:
            adjustment = b.points * value - b.provisional
            b.point_value = value
            b.history.append((model.day, value, total))
            model.tally.dip_settled_points += total
            model.tally.dip_settled_value += value * total
        b.points, b.provisional = np.zeros(n), np.zeros(n)
        b.oop, b.days = 0.0, 0
        return adjustment
