"""Equations and small loops shared by the phases: treatment curvature, the capability and delay
factors, years of life lost, the first-contact gate, a case's guideline charges, and adding into columns."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.records import GuidelineCharges

JIT = {"cache": True, "nogil": True}
PRIORITIES = 6  # queue priority: severity 0-2, plus 3 for a time-critical case


@nb.njit(**JIT)
def curvature(ratio: float, over: float, under: float) -> float:
    """1 at the guideline (ratio 1), rising quadratically on either side with its own curvature
    (``sim.behaviour.outcomes``)."""
    gap = ratio - 1.0
    return 1.0 + (over if gap > 0 else under) * gap * gap


@nb.njit(**JIT)
def capability_factor(risk_ratio: float, shortfall: float) -> float:
    """``risk_ratio ** shortfall`` for a positive shortfall of capability below need, else 1
    (``sim.behaviour.outcomes``); most cases are met by a capable facility and skip the power."""
    return risk_ratio ** shortfall if shortfall > 0.0 else 1.0


@nb.njit(**JIT)
def years_of_life_lost(life_expectancy: float, age) -> float:
    """Years of life lost by a death at ``age``: the life expectancy left, at least one (``sim.behaviour.outcomes``)."""
    return max(life_expectancy - age, 1.0)


@nb.njit(**JIT)
def delay_factor(time_critical: bool, harm_per_hour: float, minutes, harm_per_day: float, days) -> float:
    """The harm of waiting (``sim.behaviour.outcomes``): minutes from onset for a time-critical case, else days
    waited."""
    return 1.0 + harm_per_hour * minutes / 60.0 if time_critical else 1.0 + harm_per_day * days


@nb.njit(**JIT)
def stay_margin(marginal, per_bed_day, bill, days, bed_day_margin, shadow_price, occupancy, pressure_start):
    """The provider's margin on ``days`` of stay billed ``bill`` (``sim.behaviour.provider``): the marginal rate
    on the bill and the per-bed-day payment, less the bill's cost (its price over ``1 + bed_day_margin``) and the
    shadow price of the beds, which is felt only above ``pressure_start`` occupancy and in full when every bed is
    taken. Scalars or arrays alike (the provider's stay, and the hospital's downward transfer in
    ``sim.policies.referral``)."""
    pressure = np.maximum((occupancy - pressure_start) / (1.0 - pressure_start), 0.0)
    return marginal * bill + per_bed_day * days - bill / (1.0 + bed_day_margin) - shadow_price * days * pressure


@nb.njit(**JIT)
def gated(r, gate) -> bool:
    """Whether the first-contact rule applies to episode ``r`` (``sim.policies.referral``; ``gate`` a ``Gate``):
    unreferred, not time-critical, and no filed chronic-disease referral for its condition and severity."""
    referred, condition, severity, time_critical, filed = gate
    c = condition[r]
    return not referred[r] and not time_critical[c] and not filed[c, severity[r]]


@nb.njit(**JIT)
def guideline_row(ci, si, price, factors, tariff, into):
    """Charges of one case at guideline intensity and clinical stay (``sim.behaviour.provider.guideline_charges``),
    at ``price`` (its facility's price level times its own resource use) and procurement's price ``factors`` by
    category (empty: none in force), from the catalogue's ``tariff`` (a ``Tariff``): fills ``into``, three arrays
    [3]: the split (yuan charged per listed yuan in services, drugs, consumables: the catalogue's split times the
    factors), the outpatient and the inpatient per-case items; returns the daily bundle (total over the clinical
    stay) and the sum of the split."""
    cost_split, outpatient_cost, inpatient_cost, per_day_share = tariff
    split, outpatient, per_case = into
    has_factors = len(factors) > 0
    total = 0.0
    for k in range(3):
        split[k] = cost_split[ci, k] * (factors[k] if has_factors else 1.0)
        total += split[k]
    bundle = inpatient_cost[ci, si] * price
    for k in range(3):
        outpatient[k] = outpatient_cost[ci, si] * price * split[k]
        per_case[k] = bundle * (1.0 - per_day_share[ci]) * split[k]
    return bundle * per_day_share[ci] * (total if has_factors else 1.0), total


@nb.njit(**JIT)
def guideline_charges(c, s, price, factors, tariff):
    """``guideline_row`` for every case (condition ``c``, severity ``s``, at ``price``, with procurement's
    ``factors`` [m, 3], or none in force when empty): outpatient [m, 3], inpatient per-case [m, 3] and daily [m]
    charges, and the whole outpatient and inpatient bills [m], as ``GuidelineCharges``."""
    m = len(c)
    outpatient = np.empty((m, 3))
    per_case = np.empty((m, 3))
    daily = np.empty(m)
    bill_out = np.empty(m)
    bill_in = np.empty(m)
    split = np.empty(3)
    no_factors = np.ones(0)
    has_factors = len(factors) > 0
    for i in range(m):
        daily[i], _ = guideline_row(c[i], s[i], price[i], factors[i] if has_factors else no_factors, tariff,
                                    (split, outpatient[i], per_case[i]))
        bill_out[i] = outpatient[i, 0] + outpatient[i, 1] + outpatient[i, 2]
        bill_in[i] = per_case[i, 0] + per_case[i, 1] + per_case[i, 2] + daily[i]
    return GuidelineCharges(outpatient, per_case, daily, bill_out, bill_in)


@nb.njit(**JIT)
def add_counts(into, index, sign):
    """``into[index] += sign`` with repeated indices counted each time (``sim.engine.model.count``)."""
    for i in range(len(index)):
        into[index[i]] += sign


@nb.njit(**JIT)
def add_weights(into, index, weights, sign):
    """``into += sign x`` the sums of ``weights`` by ``index`` (each bin summed first, as ``np.bincount``)."""
    sums = np.zeros(len(into))
    for i in range(len(index)):
        sums[index[i]] += weights[i]
    for k in range(len(into)):
        into[k] += sign * sums[k]
