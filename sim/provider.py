"""The provider's decisions for the cases it sees: refer up, admit, how much to do, how long to keep.

Each decision maximises the provider's objective (Ellis & McGuire):

    profit_weight x margin  +  benefit_weight x patient benefit (DALY averted x value_per_daly_yuan)

where margin = what the payment model pays - resource cost. With the quadratic risk curvature of
``sim.outcomes`` the optimal intensity q and stay s (ratios to guideline and clinical stay) are closed-form:

    q* = 1 + profit_weight x m_q / (2 x benefit_weight x value_per_daly x H_q x h)

with m_q the margin of one more unit of intensity, H_q the health stakes (DALY) that intensity moves and h
the over- or under-treatment curvature on the side the margin pushes toward; likewise s* with the daily
margin less a bed shadow price that rises as beds fill. The payment model (``sim.payment``) enters only
through the revenue terms ``fixed + marginal x bill``: under fee-for-service every extra item and bed-day
earns more than it costs, so q* and s* exceed 1 and rise with profit_weight; under DRG and DIP the marginal
item earns nothing, so they fall below 1; a member of a medical community under a global budget sees the fund's
part of every yuan cost its community, so it rations too. With profit_weight 0, q* = s* = 1 under every
payment model.

Admission: admit when the episode's admission benefit (valued) plus the weighted difference between the
margins of the case admitted and treated as an outpatient, each at its chosen q and s, is positive: a DRG
payment that exceeds the cost of a short stay makes marginal admissions pay. Referral: refer up when the
health gain of a capable facility, valued in yuan, beats the margin lost by letting the case go (a costly
case under DRG has a negative margin, so it goes more easily), plus the friction of referring. Coding: see
``sim.drg``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.conditions import Catalogue
from sim.outcomes import capability_factor, years_of_life_lost
from sim.scenario import Outcomes, ProviderBehaviour

OCCUPANCY_PRESSURE_START = 0.85  # beds start to feel scarce above this occupancy (assumption)


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
    category_price: np.ndarray | None = None  # [m, 3] procurement's price factors (sim.procurement); None = 1
    profit_weight_factor: np.ndarray | None = None  # the facility's income effect on profit_weight; None = 1
    referral_credit: np.ndarray | None = None  # share of the margin a referral up keeps in an integrated
    #                                            community (sim.integration); None = nothing kept
    assessment: object = None     # expected assessment deductions (``sim.assessment.Penalties``) or None


@dataclass
class Decisions:
    refer: np.ndarray
    admit: np.ndarray
    intensity: np.ndarray
    stay_ratio: np.ndarray
    code_up: np.ndarray
    drug_ratio: np.ndarray | None = None  # drugs prescribed relative to the rest of the bundle (None: 1)


def item_split(cat: Catalogue, c, category_price=None):
    """[m,3] yuan charged in each category (services, drugs, consumables) per listed yuan of the case's bill:
    the catalogue's cost split, times procurement's price factors when given (then summing below 1)."""
    split = cat.cost_split[c]
    return split if category_price is None else split * category_price


def guideline_charges(cat: Catalogue, c, s, price_level, category_price=None):
    """Charges at guideline intensity and clinical stay: outpatient [m,3], inpatient per-case [m,3] and
    the inpatient daily bundle [m] (total over the clinical stay). ``category_price`` ([m,3], optional) is
    procurement's factor on each category's prices (``sim.procurement``); the daily bundle's drugs and
    consumables fall with it too."""
    split = item_split(cat, c, category_price)
    outpatient = (cat.outpatient_cost[c, s] * price_level)[:, None] * split
    inpatient = cat.inpatient_cost[c, s] * price_level
    per_day = cat.per_day_share[c]
    per_case = (inpatient * (1.0 - per_day))[:, None] * split
    daily = inpatient * per_day
    if category_price is not None:
        daily = daily * split.sum(1)
    return outpatient, per_case, daily


class Provider:
    """Decision rules shared by every facility; the facility's own numbers come in through ``Cases``."""

    def __init__(self, behaviour: ProviderBehaviour, outcomes: Outcomes, catalogue: Catalogue, payment,
                 profit_weight: float | None = None):
        self.b = behaviour
        # The weight on margin in force: behaviour.profit_weight, lowered under salary reform.
        self.profit_weight = behaviour.profit_weight if profit_weight is None else profit_weight
        self.outcomes = outcomes
        self.cat = catalogue
        self.payment = payment
        self.readmission_daly = outcomes.readmission_daly

    def decide(self, cases: Cases) -> Decisions:
        b, cat, pay = self.b, self.cat, self.payment
        pw = self.profit_weight
        if cases.profit_weight_factor is not None:  # target income (sim.procurement)
            pw = pw * cases.profit_weight_factor
        c, s = cases.condition, cases.severity
        outpatient, per_case, daily = guideline_charges(cat, c, s, cases.price_level * cases.cost_factor,
                                                        cases.category_price)
        bill_out, items_in = outpatient.sum(1), per_case.sum(1)
        t = pay.terms(cases, bill_out, items_in + daily, pw)
        cost_share = 1.0 / (1.0 + pay.item_margin)
        # Margin of one more unit of intensity (q) and of stay (s): revenue = fixed + marginal x bill.
        cost_out, cost_in = outpatient @ cost_share, per_case @ cost_share
        day_cost = daily / (1.0 + pay.bed_day_margin)
        m_q_out = t.marginal_out * bill_out - cost_out
        m_q_in = t.marginal_in * items_in - cost_in
        pressure = np.maximum((cases.occupancy - OCCUPANCY_PRESSURE_START) / (1 - OCCUPANCY_PRESSURE_START), 0.0)
        m_s = t.marginal_in * daily - day_cost - b.bed_shadow_price_yuan * cat.clinical_los[c, s] * pressure
        a = t.assessment
        if a is not None:  # expected assessment deductions (sim.assessment): drugs and the rest of the bundle
            drug_part = cat.cost_split[c, 1]
            m_drug_out = m_q_out - (a.visit + a.drug) * bill_out
            m_drug_in = m_q_in - a.drug * items_in
            m_q_out = m_q_out - (a.visit + a.other) * bill_out
            m_q_in = m_q_in - a.other * items_in
            m_s = m_s - daily * (a.drug * drug_part + a.other * (1 - drug_part))

        # Health stakes in DALY at guideline treatment, here and at a capable facility.
        yll = years_of_life_lost(cases.age, self.outcomes)
        cap = capability_factor(cat.need_level[c, s], cases.capability, self.outcomes)
        clinical = (cat.death_risk[c, s] * yll + cat.complication_risk[c, s] * self.outcomes.complication_daly)
        stakes_q = clinical * cap * cases.delay
        stakes_s = (cat.complication_risk[c, s] * self.outcomes.complication_daly * cap * cases.delay
                    + cat.readmission_risk[c, s] * self.readmission_daly)
        value = b.benefit_weight * b.value_per_daly_yuan

        q_out = self._optimum(pw, m_q_out, stakes_q, b.overtreatment_harm, b.undertreatment_harm,
                              b.min_intensity, b.max_intensity)
        q_in = self._optimum(pw, m_q_in, stakes_q, b.overtreatment_harm, b.undertreatment_harm,
                             b.min_intensity, b.max_intensity)
        stay = self._optimum(pw, m_s, stakes_s, b.overstay_harm, b.understay_harm, b.min_stay, b.max_stay)
        # Margins of the whole case as the provider would treat it, as an outpatient or admitted.
        out_margin = t.fixed_out + m_q_out * q_out
        in_margin = t.fixed_in + m_q_in * q_in + m_s * stay
        drug_ratio = None
        if a is not None:
            # Drugs at their own intensity: the bundle's margin less the deduction a drug yuan costs.
            q_drug_out = self._optimum(pw, m_drug_out, stakes_q, b.overtreatment_harm, b.undertreatment_harm,
                                       b.min_intensity, b.max_intensity)
            q_drug_in = self._optimum(pw, m_drug_in, stakes_q, b.overtreatment_harm, b.undertreatment_harm,
                                      b.min_intensity, b.max_intensity)
            out_margin = (t.fixed_out - a.visit_case + (1 - drug_part) * m_q_out * q_out
                          + drug_part * m_drug_out * q_drug_out)
            in_margin = (t.fixed_in + (1 - drug_part) * m_q_in * q_in + drug_part * m_drug_in * q_drug_in
                         + m_s * stay)

        # Admission: benefit of admitting (DALY, valued) plus the weighted extra margin of an inpatient case.
        admit = cases.has_beds & (value * cases.admission_benefit + pw * (in_margin - out_margin) > 0)
        admit |= cases.has_beds & (cat.admission_need[c, s] >= 1.0)
        admit &= cat.admission_need[c, s] > 0.0

        # Referral up: health gained at a capable facility vs margin lost (and, for a community member, the
        # fund money its community pays elsewhere) plus friction.
        gain = value * clinical * cases.delay * (cap - 1.0)
        margin_kept = np.where(admit, in_margin + t.referral_cost_in, out_margin + t.referral_cost_out)
        if cases.referral_credit is not None:  # one account: a referral to a member keeps its margin
            margin_kept = margin_kept - cases.referral_credit * np.maximum(np.where(admit, in_margin, out_margin), 0)
        if a is not None:
            margin_kept = margin_kept + a.referral  # a referral lowers the catchment's in-county fund use
        needs_bed = ~cases.has_beds & (cases.admission_benefit > 0) & (cat.admission_need[c, s] > 0)
        refer = ((gain > pw * margin_kept + b.referral_friction_yuan) | needs_bed) & cases.can_refer

        intensity = np.where(admit, q_in, q_out)
        if a is not None:
            drug_ratio = np.where(admit, q_drug_in / q_in, q_drug_out / q_out)
        admit &= ~refer
        return Decisions(refer=refer, admit=admit, intensity=intensity, stay_ratio=stay,
                         code_up=admit & t.code_up, drug_ratio=drug_ratio)

    def _optimum(self, profit_weight, margin, stakes, over, under, lo, hi):
        """argmax of profit_weight x margin x (r - 1) - value x stakes x h x (r - 1)^2 over r in [lo, hi]."""
        b = self.b
        curvature = np.where(margin > 0, over, under)
        denom = 2.0 * b.benefit_weight * b.value_per_daly_yuan * stakes * curvature
        push = profit_weight * margin
        # Where the stakes are zero, any push goes to the bound; no push leaves the guideline.
        unbounded = np.where(push > 0, np.inf, np.where(push < 0, -np.inf, 0.0))
        ratio = 1.0 + np.divide(push, denom, out=unbounded, where=denom > 0)
        return np.minimum(np.maximum(ratio, lo), hi)
