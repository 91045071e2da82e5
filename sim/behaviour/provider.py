"""The provider's decisions for the cases it sees: refer up, admit, how much to do, how long to keep.

Each decision maximises the provider's objective (Ellis & McGuire):

    profit_weight x margin  +  benefit_weight x patient benefit (DALY averted x value_per_daly_yuan)

where margin = what the payment model pays - resource cost. With the quadratic risk curvature of
``sim.behaviour.outcomes`` the optimal intensity q and stay s (ratios to guideline and clinical stay) are closed-form:

    q* = 1 + profit_weight x m_q / (2 x benefit_weight x value_per_daly x H_q x h)

with m_q the margin of one more unit of intensity, H_q the health stakes (DALY) that intensity moves and h
the over- or under-treatment curvature on the side the margin pushes toward; likewise s* with the daily
margin less a bed shadow price that rises as beds fill. The payment model (``sim.payment.models``) enters only
through the revenue terms ``fixed + marginal x bill + per_bed_day x bed-days``: under fee-for-service every extra
item and bed-day earns more than it costs, so q* and s* exceed 1 and rise with profit_weight; under DRG and DIP the
marginal item and bed-day earn nothing, so they fall below 1; under per diem the bed-day earns the rate and the
item nothing, so s* rises and q* falls; a member of a medical community under a global budget sees the fund's
part of every yuan cost its community, so it rations too. With profit_weight 0, q* = s* = 1 under every
payment model. Policies that price what the provider decides (assessment deductions, a community's one account)
add to the margins through one per-case record, ``Cases.margin`` (``sim.behaviour.margin``).

Admission: admit when the episode's admission benefit (valued) plus the weighted difference between the
margins of the case admitted and treated as an outpatient, each at its chosen q and s, is positive: a DRG
payment that exceeds the cost of a short stay makes marginal admissions pay. Referral: refer up when the
health gain of a capable facility, valued in yuan, beats the margin lost by letting the case go (a costly
case under DRG has a negative margin, so it goes more easily), plus the friction of referring. Coding: see
``sim.payment.grouper``.

Return visits: a case treated as an outpatient is asked back while the next return's value is positive,

    benefit_weight x (value_per_daly x risk it averts - the patient's copayment and burden) + profit_weight x m_r

with m_r the margin of a return in the payment model's terms (a share ``case_mix.followup_visit_share`` of the
visit's items): under fee-for-service it earns its items' margin; an enrolled resident's return under capitation
earns only the copayment, less than it costs. With profit_weight 0, every claim model asks the same returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import kernels
from sim.behaviour.margin import MarginAdjustment
from sim.core.conditions import Catalogue
from sim.params.scenario import Outcomes, ProviderBehaviour

NO_FACTORS = np.ones((0, 3))  # no procurement price factors
NO_ADJUSTMENT = MarginAdjustment()


@dataclass
class Cases:
    """What the provider knows about the cases in front of it (one row each)."""

    condition: np.ndarray
    severity: np.ndarray
    age: np.ndarray
    level: np.ndarray             # of the facility seeing the case
    capability: np.ndarray        # of the facility seeing the case
    price_level: np.ndarray       # of the facility (its level coefficient under DRG and DIP)
    cost_factor: np.ndarray       # the case's own resource use relative to its group (seen by the provider)
    has_beds: np.ndarray
    can_refer: np.ndarray         # a facility of a higher level exists to refer to
    occupancy: np.ndarray
    delay: np.ndarray             # delay factor already incurred
    admission_benefit: np.ndarray  # DALY gained by admitting rather than treating as an outpatient
    fund_rate_out: np.ndarray     # share of one more yuan of an outpatient bill the fund pays
    fund_rate_in: np.ndarray      # ... of an inpatient bill
    fund_rate_up_out: np.ndarray  # the same shares at the level a referral would go to
    fund_rate_up_in: np.ndarray
    price_ratio_up: np.ndarray    # that level's prices relative to this facility's
    capitated: np.ndarray         # enrolled resident at their own primary facility
    scruple: np.ndarray           # the provider's cost of coding this case up (yuan)
    category_price: np.ndarray | None = None  # [m, 3] procurement's price factors (sim.policies.procurement); None = 1
    profit_weight_factor: np.ndarray | None = None  # pay (sim.core.pay) x income effect on profit_weight; None = 1
    margin: MarginAdjustment | None = None  # what policies add to the margin (``sim.behaviour.margin``); None: nothing


@dataclass
class Decisions:
    refer: np.ndarray
    admit: np.ndarray
    intensity: np.ndarray
    stay_ratio: np.ndarray
    code_up: np.ndarray
    drug_ratio: np.ndarray | None = None  # drugs prescribed relative to the rest of the bundle (None: 1)
    returns: np.ndarray | None = None     # return visits asked of a case treated as an outpatient (None: none)


def guideline_charges(cat: Catalogue, c, s, price_level, category_price=None, bills: bool = False):
    """Charges at guideline intensity and clinical stay: outpatient [m,3], inpatient per-case [m,3] and the
    inpatient daily bundle [m] (total over the clinical stay): the catalogue's costs of (c, s) times the price
    level, split into services, drugs and consumables. ``category_price`` ([m,3], optional) is procurement's
    factor on each category's prices (``sim.policies.procurement``); the daily bundle's drugs and consumables fall with
    it too. With ``bills``, also the whole outpatient and inpatient bills [m]. One loop
    (``sim.kernels.guideline_row``) serves this and the bills of finished treatments."""
    price = price_level if isinstance(price_level, np.ndarray) and price_level.dtype == float \
        else np.broadcast_to(np.asarray(price_level, float), (len(c),))
    charges = kernels.guideline_charges(np.asarray(c, np.int64), np.asarray(s, np.int64), price,
                                        NO_FACTORS if category_price is None else category_price, cat.tariff)
    return charges if bills else charges[:3]


class Provider:
    """Decision rules shared by every facility; the facility's own numbers come in through ``Cases``."""

    def __init__(self, behaviour: ProviderBehaviour, outcomes: Outcomes, catalogue: Catalogue, payment,
                 profit_weight: float | None = None, followup_share: float = 0.5):
        self.b = behaviour
        self.followup_share = followup_share  # a return visit's items and minutes relative to the first visit's
        # The weight on margin at the default pay; each facility's pay scales it (Cases.profit_weight_factor).
        self.profit_weight = behaviour.profit_weight if profit_weight is None else profit_weight
        self.outcomes = outcomes
        self.cat = catalogue
        self.payment = payment
        self.readmission_daly = outcomes.readmission_daly
        # the catalogue's tables the compiled decision reads (``sim.kernels.decide_cases``)
        self.tables = tuple(kernels.CaseTables(
            cost_split=catalogue.cost_split, clinical_los=catalogue.clinical_los, need_level=catalogue.need_level,
            death_risk=catalogue.death_risk, complication_risk=catalogue.complication_risk,
            readmission_risk=catalogue.readmission_risk, admission_need=catalogue.admission_need))

        # the provider is made again when the scenario or the payment model changes
        self.rules = self._rules()
        self.item_cost_share = 1.0 / (1.0 + payment.item_margin)

    def _rules(self) -> tuple:
        """The numbers the provider decides by, as the compiled decision takes them (``sim.kernels.ProviderRules``)."""
        b, out = self.b, self.outcomes
        return tuple(kernels.ProviderRules(
            bed_shadow_price_yuan=b.bed_shadow_price_yuan, occupancy_pressure_start=b.bed_pressure_start_occupancy,
            life_expectancy_years=out.life_expectancy_years, complication_daly=out.complication_daly,
            readmission_daly=self.readmission_daly, capability_risk_ratio=out.capability_risk_ratio,
            benefit_weight=b.benefit_weight, value_per_daly_yuan=b.value_per_daly_yuan,
            overtreatment_harm=b.overtreatment_harm, undertreatment_harm=b.undertreatment_harm,
            overstay_harm=b.overstay_harm, understay_harm=b.understay_harm, min_intensity=b.min_intensity,
            max_intensity=b.max_intensity, min_stay=b.min_stay, max_stay=b.max_stay,
            referral_friction_yuan=b.referral_friction_yuan, followup_visit_share=self.followup_share,
            followup_max_visits=b.followup_max_visits, followup_burden_yuan=b.followup_burden_yuan,
            followup_risk_reduction=out.followup_risk_reduction, followup_benefit_decay=out.followup_benefit_decay))

    def decide(self, cases: Cases) -> Decisions:
        cat, pay = self.cat, self.payment
        pw = self.profit_weight
        if cases.profit_weight_factor is not None:  # target income (sim.policies.procurement)
            pw = pw * cases.profit_weight_factor
        c, s = cases.condition, cases.severity
        charges = guideline_charges(cat, c, s, cases.price_level * cases.cost_factor, cases.category_price,
                                    bills=True)
        t = pay.terms(cases, charges.bill_out, charges.bill_in, pw)
        m = len(c)
        margin = cases.margin if cases.margin is not None else NO_ADJUSTMENT
        cases_seen = kernels.DecisionCases(
            condition=c, severity=s, age=cases.age, capability=cases.capability, has_beds=cases.has_beds,
            can_refer=cases.can_refer, occupancy=cases.occupancy, delay=cases.delay,
            admission_benefit=cases.admission_benefit,
            fund_rate_out=np.asarray(cases.fund_rate_out, float) * np.ones(m),
            profit_weight=pw if isinstance(pw, np.ndarray) else np.full(m, float(pw)))
        terms = kernels.CaseTerms(
            fixed_out=t.fixed_out, marginal_out=t.marginal_out, fixed_in=t.fixed_in, marginal_in=t.marginal_in,
            per_bed_day_in=t.per_bed_day_in, referral_cost_out=t.referral_cost_out,
            referral_cost_in=t.referral_cost_in, code_up=t.code_up, item_cost_share=self.item_cost_share,
            bed_day_margin=pay.bed_day_margin)
        d = kernels.decide_cases(tuple(cases_seen), tuple(charges), tuple(terms),
                                 (margin.prices_items, *margin.arrays(m)), self.tables, self.rules)
        return Decisions(refer=d.refer, admit=d.admit, intensity=d.intensity, stay_ratio=d.stay_ratio,
                         code_up=d.code_up, drug_ratio=d.drug_ratio if margin.prices_items else None,
                         returns=d.returns)
