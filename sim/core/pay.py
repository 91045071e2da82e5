"""What a doctor earns: the pay that the siphon compares between levels and the staff-income metrics report.

Income per doctor-year over a stretch of ``days`` at the facilities of the chosen levels:

    (base salary x doctors x years + surplus_bonus_share x positive surplus) / doctor-years

(surplus = revenue - resource cost over the stretch). Under salary reform (``policies.salary_reform``) the
doctors draw an annual salary, ``base salary x (1 + salary_uplift)``, plus their share, by good outcomes, of
``bonus_pool_share`` x the medical community's retained savings.
"""

from __future__ import annotations

import numpy as np

from sim.core.levels import IN_COUNTY, OUT_OF_COUNTY
from sim.params.scenario import Scenario


def staff_income(facilities, books: dict[str, np.ndarray], days: float, spec: Scenario, community_net: float,
                 levels) -> float:
    """Income per doctor-year (yuan) at the facilities of ``levels``, from the ``books`` of a stretch of ``days``
    (NaN when there are no doctor-years)."""
    years = days / 365.0
    sel = np.isin(facilities.level, levels)
    doctor_years = facilities.doctors[sel].sum() * years
    if not doctor_years:
        return float("nan")
    reform = spec.policies.salary_reform
    if reform.enabled:
        in_county = np.isin(facilities.level, IN_COUNTY)
        good = books["good_outcomes"]
        pool = reform.bonus_pool_share * max(community_net, 0.0)
        bonus = pool * (float(good[sel].sum()) / float(good[in_county].sum())) if good[in_county].sum() else 0.0
        pay = facilities.base_salary[sel] * (1 + reform.salary_uplift) * facilities.doctors[sel] * years
        return float(pay.sum() + bonus) / float(doctor_years)
    surplus = books["revenue"][sel] - books["resource_cost"][sel]
    pay = (facilities.base_salary[sel] * facilities.doctors[sel] * years
           + facilities.surplus_bonus_share[sel] * np.maximum(surplus, 0))
    return float(pay.sum()) / float(doctor_years)


def margin_weight_factor(facilities, spec: Scenario) -> np.ndarray:
    """[facility] how much of ``behaviour.provider.profit_weight`` each facility's decisions carry, from how its
    doctors are paid: ``1 - d + d x tie / reference``, with d = ``doctor_margin_share`` (the doctors' part of the
    weight), tie the share of the facility's surplus paid to its doctors (``surplus_bonus_share``; 0 for the
    county's own facilities under an annual salary, ``policies.salary_reform``) and reference
    ``pay_reference_bonus_share``. At the default pay every factor is 1."""
    provider = spec.behaviour.provider
    tie = facilities.surplus_bonus_share.astype(float)
    if spec.policies.salary_reform.enabled:
        tie = np.where(np.isin(facilities.level, IN_COUNTY), 0.0, tie)
    d = provider.doctor_margin_share
    return 1.0 - d + d * tie / provider.pay_reference_bonus_share


def community_weight(level, spec: Scenario) -> np.ndarray:
    """[facility, or any array of levels] the weight a facility of ``level`` puts on its medical community's
    result beside its own books, from how its pay and its leaders' jobs depend on that result:

        w = min(1, income_tie + leader_tie_weight x leaders tied)

    income_tie the share of a member's income tied to the community's result under the integration level's rules
    (``policies.integration.income_tie``: the level's, ``none`` for a community formed only by a global budget),
    leaders tied 1 when the lead hospital appoints and assesses the members' directors (tight integration, 人财物
    统一管理) and 0 otherwise, and ``behaviour.provider.leader_tie_weight`` what a director's job weighs. Facilities
    outside the county are no members: 0. Capped at 1, one purse in all but name. With no tie (income_tie 0,
    leader_tie_weight 0) members mind only their own books."""
    integration = spec.policies.integration
    tied_leaders = 1.0 if integration.level == "tight" else 0.0
    w = min(1.0, getattr(integration.income_tie, integration.level)
            + spec.behaviour.provider.leader_tie_weight * tied_leaders)
    return np.where(np.isin(level, IN_COUNTY), w, 0.0)


def capacity_cost_per_day(facilities, spec: Scenario) -> float:
    """What the county's own capacity costs per day apart from bills (yuan): the base pay of its doctors (raised by
    ``salary_uplift`` under an annual salary, ``policies.salary_reform``) and the capital cost of its beds
    (``facilities.bed_capital_yuan_per_year``); paid from public budgets, whether the capacity is used or not."""
    own = facilities.level != OUT_OF_COUNTY  # IN_COUNTY, without np.isin's cost on a path taken every day
    reform = spec.policies.salary_reform
    pay = facilities.base_salary[own] * (1.0 + (reform.salary_uplift if reform.enabled else 0.0))
    yearly = float((pay * facilities.doctors[own]).sum()
                   + spec.facilities.bed_capital_yuan_per_year * facilities.beds[own].sum())
    return yearly / 365.0
