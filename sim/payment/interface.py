"""What every payment model answers, and the records it answers with.

A payment model (one module each: ``fee_for_service``, ``drg``, ``dip``, ``capitation``, ``per_diem``,
``global_budget``; registered by name in ``sim.payment.registry``) is a class with three methods, each with a
do-nothing default here, so a model overrides only what it changes:

- ``terms``: what each case it pays would earn its facility, in the facility's own view, as the provider's
  objective (``sim.behaviour.provider``) reads it: ``revenue = fixed + marginal x bill + per_bed_day x bed-days``
  for the case treated as an outpatient and as an inpatient. The default, the bill item by item
  (fee-for-service), is already in ``Terms`` when a model is asked;
- ``settle``: what each finished case it pays earns (the default: the bill);
- ``end_of_day``: what it pays each facility at the end of a day, apart from cases (DIP's point-value settlement,
  capitation's instalments; the default: nothing).

A claim model values the claims of the levels given to it (``payment.model``, or ``payment.by_level``). A budget
model (``wraps_claims``: the global budget) is a purse around the claims of its members, valued by the claim
models beneath it: it is asked after them, and turns their terms into its members' view, pays their claims from
its purse, and settles its budget. The facade ``sim.payment.models.PaymentSystem`` asks each model in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sim.core.conditions import Catalogue
from sim.params.scenario import Scenario
from sim.payment.grouper import Grouper


@dataclass
class Context:
    """What every payment model in force shares: the scenario, the catalogue and its DRG grouper, the books a
    model keeps across changes of the rules (by model name), and the simulation (None outside one)."""

    spec: Scenario
    cat: Catalogue
    grouper: Grouper
    books: dict = field(default_factory=dict)
    model: object = None


@dataclass
class Quote:
    """What the payment models are asked to price: the provider's cases (``sim.behaviour.provider.Cases``),
    their guideline bills as an outpatient and as an inpatient (yuan), the provider's weight on profit, and
    the share of a yuan of payment the provider counts as its own (1; 1 - k for a member of a medical community,
    whose extra payment is fund money its community pays)."""

    cases: object
    bill_out: np.ndarray
    bill_in: np.ndarray
    profit_weight: np.ndarray | float
    kept_share: np.ndarray | float = 1.0


@dataclass
class Terms:
    """What each case would earn its facility (in the facility's own view), as outpatient or inpatient:
    revenue = fixed + marginal x bill (+ per_bed_day_in x bed-days for an inpatient)."""

    fixed_out: np.ndarray
    marginal_out: np.ndarray
    fixed_in: np.ndarray
    marginal_in: np.ndarray
    per_bed_day_in: np.ndarray     # yuan per bed-day apart from the bill (per diem)
    code_up: np.ndarray            # admitted, the case would be coded one severity up
    referral_cost_out: np.ndarray  # what sending the case out of the county costs the community (outpatient)
    referral_cost_in: np.ndarray   # ... (a case that needs admission)

    @classmethod
    def fee_for_service(cls, n: int) -> Terms:
        """The bill, item by item: no fixed part, every yuan of charges earned."""
        return cls(fixed_out=np.zeros(n), marginal_out=np.ones(n), fixed_in=np.zeros(n), marginal_in=np.ones(n),
                   per_bed_day_in=np.zeros(n), code_up=np.zeros(n, bool), referral_cost_out=np.zeros(n),
                   referral_cost_in=np.zeros(n))


@dataclass
class Finished:
    """The cases finished today, one row each, as billing sees them."""

    fac: np.ndarray
    level: np.ndarray
    c: np.ndarray
    s: np.ndarray
    coded_s: np.ndarray
    cc: np.ndarray
    inpatient: np.ndarray
    bill: np.ndarray
    oop: np.ndarray               # the copayment, from the itemised bill (``sim.payment.fund``)
    price: np.ndarray             # the facility's price level (its level coefficient)
    bed_days: np.ndarray          # days billed here (inpatients)
    capitated: np.ndarray
    admission_benefit: np.ndarray
    u_review: np.ndarray
    n_facilities: int


@dataclass
class Claims:
    revenue: np.ndarray
    fund: np.ndarray | None
    oop: np.ndarray
    coded_weight: np.ndarray      # relative weight of the coded group (inpatients; 0 for outpatients)
    upcoded: np.ndarray
    recovered: np.ndarray         # overpayment recovered plus fine, by audit (yuan)
    refused: np.ndarray           # admissions the fund refused to pay after review


class PaymentModel:
    """One way the fund pays. The defaults pay the bill, item by item, and nothing periodic."""

    name: ClassVar[str]
    wraps_claims: ClassVar[bool] = False  # a purse around the claims of the models beneath it (global budget)
    # the shared state it owns and what of others' it changes, as a policy declares them (sim.policies.base)
    columns: ClassVar[tuple[str, ...]] = ()
    counters: ClassVar[tuple[str, ...]] = ()
    facility_columns: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: Context, levels: np.ndarray) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.levels = levels  # by level: whether it pays that level's claims (a purse: its members')

    def kept_share(self, cases) -> np.ndarray | float:
        """Share of a yuan of payment each case's facility counts as its own (a purse's members keep less)."""
        return 1.0

    def terms(self, quote: Quote, t: Terms, mine: np.ndarray) -> None:
        """Set in ``t`` the revenue terms of the cases ``mine`` (those it pays; fee-for-service's are there)."""

    def settle(self, done: Finished, claims: Claims, mine: np.ndarray) -> None:
        """Set in ``claims`` what the finished cases ``mine`` earn (the bill is there)."""

    def end_of_day(self, model, paid: np.ndarray) -> None:
        """Add to ``paid`` (fund money by facility) what it pays at the end of the day. A purse is asked last,
        with what the claim models paid (booked already)."""


def period_budget(rules, residents: float, days: int) -> float:
    """The fund's budget for a period of ``days`` (yuan): ``rules.fund_budget_per_resident_year_yuan`` x residents
    x days / 365, as DIP values its points and DRG re-bases its rate (``sim.payment.dip``, ``sim.payment.drg``,
    and over a whole city, ``sim.engine.city``)."""
    return rules.fund_budget_per_resident_year_yuan * residents * days / 365.0
