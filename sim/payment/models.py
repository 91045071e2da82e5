"""How the fund pays providers, and so what an extra item, bed-day or admission earns them: the payment
models in force, behind one facade.

Every facility level values its claims by one claim model (``payment.model``, overridden per level by
``payment.by_level``); each is a module of this package, registered by name in ``sim.payment.registry``:

==================  ===================================================  =========================
claim model         what a finished case earns the facility               an extra yuan of charges
==================  ===================================================  =========================
fee_for_service     the bill                                             1 yuan
drg (inpatient)     base rate x group weight x level coefficient          0
dip (inpatient)     points x the point value of the settlement           0
capitation          the patient's copayment (the fund paid per head)      the copayment share
per_diem (inpat.)   rate x bed-days x level coefficient                  0 (a bed-day earns the rate)
==================  ===================================================  =========================

so a case's revenue is linear in its charges and days: ``revenue = fixed + marginal x bill + per_bed_day x
bed-days``. Outpatient care under drg, dip and per_diem stays fee-for-service; capitation covers only enrolled
residents' outpatient care at their own village clinic and township centre (the rest is fee-for-service).

Under a global budget (``sim.payment.global_budget``) the in-county facilities form a medical community that pays
every claim of its residents out of its budget and keeps (or bears) a share ``k`` of the difference; the budget
wraps the claim models' terms in its members' view. Nothing else in the model knows the payment model.

``PaymentSystem`` asks each model in force (``sim.payment.interface``): the provider's objective
(``sim.behaviour.provider``) reads ``terms``; billing (``settle``) pays each finished case and books fund,
out-of-pocket and revenue; ``end_of_day`` pays and books the periodic payments (DIP point value, capitation
instalments) and settles the community's budget.
"""

from __future__ import annotations

import numpy as np

from sim.core.conditions import Catalogue
from sim.core.levels import LEVELS, N_LEVELS
from sim.params.scenario import Scenario
from sim.payment.grouper import Grouper
from sim.payment.interface import Claims, Context, Finished, Quote, Terms
from sim.payment.registry import REGISTRY


class PaymentSystem:
    """The payment rules in force: a claim model for each level, and the purse around them (if any)."""

    # periodic payments (``book_periodic``) are the facilities' income and the fund's spending (sim.policies.base)
    writes = ("facilities.books.revenue", "facilities.books.fund_income", "tally.fund", "tally.provider_revenue",
              "tally.daily.fund", "tally.daily.spending")

    def __init__(self, spec: Scenario, cat: Catalogue, model=None, previous: PaymentSystem | None = None) -> None:
        pay = spec.payment
        self.spec = spec
        fs = pay.fee_schedule
        self.item_margin = np.array([fs.services_margin, fs.drugs_margin, fs.consumables_margin])
        self.bed_day_margin = fs.bed_day_margin
        self.grouper = Grouper(cat, spec.outcomes.complication_cost_share)
        # books a model keeps across changes of the rules (DIP's period), by model name
        books = previous.ctx.books if previous is not None else {}
        self.ctx = Context(spec, cat, self.grouper, books, model)
        by_level = [pay.claim_model(name) for name in LEVELS]
        # the claim models in force, in the registry's order, each with the levels whose claims it values
        self.claim_models = [cls(self.ctx, np.array([chosen == name for chosen in by_level]))
                             for name, cls in REGISTRY.items() if name in by_level]
        wrapper = REGISTRY[pay.model]
        self.purse = wrapper(self.ctx, np.ones(N_LEVELS, bool)) if wrapper.wraps_claims else None
        self.community = getattr(self.purse, "community", None)
        self.uses_capitation = "capitation" in by_level

    # ----------------------------------------------------------------------------------- the provider's view
    def terms(self, cases, bill_out: np.ndarray, bill_in: np.ndarray, profit_weight) -> Terms:
        """Revenue terms of each case for the provider's objective (``sim.behaviour.provider``)."""
        level = cases.level
        quote = Quote(cases, bill_out, bill_in, profit_weight,
                      self.purse.kept_share(cases) if self.purse is not None else 1.0)
        t = Terms.fee_for_service(len(level))
        for model in self.claim_models:
            model.terms(quote, t, model.levels[level])
        if self.purse is not None:
            self.purse.terms(quote, t, self.purse.levels[level])
        return t

    # ----------------------------------------------------------------------------------- billing
    def settle(self, fund_agent, facilities, *, fac, level, c, s, coded_s, cc, inpatient, bill, employee,
               capitated, admission_benefit, u_review, bed_days, rate_cut=None, deductible=None) -> Claims:
        """Pay every case finished today: returns revenue, fund and out-of-pocket per case, books the fund
        (and the community's purse under a global budget). ``bed_days``: days billed here (inpatients).
        ``rate_cut`` and ``deductible``: per-case departures from the listed insurance rules
        (``sim.policies.referral``), None for none."""
        oop = bill - fund_agent.fund_share(bill, level, employee, inpatient, rate_cut, deductible)
        n = len(bill)
        coded_weight = np.zeros(n)
        coded_weight[inpatient] = self.grouper.case_weight(c[inpatient], coded_s[inpatient], cc[inpatient])
        claims = Claims(revenue=bill.copy(), fund=None, oop=oop, coded_weight=coded_weight,
                        upcoded=inpatient & (coded_s > s), recovered=np.zeros(n), refused=np.zeros(n, bool))
        done = Finished(fac=fac, level=level, c=c, s=s, coded_s=coded_s, cc=cc, inpatient=inpatient, bill=bill,
                        oop=oop, price=facilities.price_level[fac], bed_days=bed_days, capitated=capitated,
                        admission_benefit=admission_benefit, u_review=u_review, n_facilities=facilities.n)
        for model in self.claim_models:
            model.settle(done, claims, model.levels[level])
        claims.fund = claims.revenue - oop
        fund_agent.book(claims.fund, oop, level)
        if self.purse is not None:
            self.purse.settle(done, claims, self.purse.levels[level])
        return claims

    # ----------------------------------------------------------------------------------- settlements
    def end_of_day(self, model) -> None:
        """Periodic payments due at the end of this day, paid and booked (fund money to providers); then the
        purse's business (the community pays them and settles its budget when due)."""
        paid = np.zeros(model.facilities.n)
        for claim_model in self.claim_models:
            claim_model.end_of_day(model, paid)
        if paid.any():
            book_periodic(model, paid)
        if self.purse is not None:
            self.purse.end_of_day(model, paid)


def book_periodic(model, paid: np.ndarray) -> None:
    """Book fund money paid to facilities apart from cases: their revenue and fund income, the fund's spending,
    and the tally's, by level."""
    fac_t, t = model.facilities, model.tally
    fac_t.books["revenue"] += paid
    fac_t.books["fund_income"] += paid
    by_level = np.bincount(fac_t.level, paid, minlength=N_LEVELS)
    model.fund.spending += by_level
    t.fund += by_level
    t.provider_revenue += by_level
    t.day_row(model.day, "fund")[:] += by_level
    t.day_row(model.day, "spending")[:] += by_level


def make_payment(spec: Scenario, cat: Catalogue, model=None, previous: PaymentSystem | None = None) -> PaymentSystem:
    """The payment system in force under ``spec``: ``model`` is the simulation (a global budget's community belongs
    to it), ``previous`` the system it replaces (whose books carry over)."""
    return PaymentSystem(spec, cat, model, previous)
