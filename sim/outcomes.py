"""Outcomes of an episode: death, complication, 30-day readmission and health loss.

Risk = base risk of (condition, severity)
       x capability_risk_ratio ** (need level - facility capability, if positive)
       x delay factor: 1 + delay_harm_per_day x days waited, or, for time-critical cases,
                       1 + critical_harm_per_hour x minutes from onset to treatment / 60
       x treatment factor: 1 + h_over (q - 1)^2 above guideline intensity q, 1 + h_under (1 - q)^2 below
Complication and readmission risks are also multiplied by the stay factor, built the same way from the stay
ratio s (days stayed / clinical stay). Health loss (DALY) = years of life lost at death + complication_daly
per complication + readmission_daly per readmission + the health cost of a wrong admission decision.
The provider's decision (``sim.provider``) uses these same functions: it knows the clinical model.
"""

from __future__ import annotations

import numpy as np

from sim.scenario import Outcomes, ProviderBehaviour


def capability_factor(need: np.ndarray, capability: np.ndarray, outcomes: Outcomes) -> np.ndarray:
    return outcomes.capability_risk_ratio ** np.maximum(need - capability, 0.0)


def delay_factor(wait_days, critical_minutes, harm_per_day, harm_per_hour, time_critical) -> np.ndarray:
    return np.where(time_critical, 1.0 + harm_per_hour * critical_minutes / 60.0, 1.0 + harm_per_day * wait_days)


def curvature_factor(ratio: np.ndarray, over: float, under: float) -> np.ndarray:
    """1 at the guideline (ratio 1), rising quadratically on either side with its own curvature."""
    gap = ratio - 1.0
    return 1.0 + np.where(gap > 0, over, under) * gap * gap


def years_of_life_lost(age: np.ndarray, outcomes: Outcomes) -> np.ndarray:
    return np.maximum(outcomes.life_expectancy_years - age, 1.0)


def risks(base_death, base_complication, base_readmission, cap, delay, intensity, stay,
          provider: ProviderBehaviour) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of death, complication and readmission for treated episodes."""
    treat = curvature_factor(intensity, provider.overtreatment_harm, provider.undertreatment_harm)
    stay_f = curvature_factor(stay, provider.overstay_harm, provider.understay_harm)
    p_death = np.minimum(base_death * cap * delay * treat, 1.0)
    p_comp = np.minimum(base_complication * cap * delay * treat * stay_f, 1.0)
    p_readmit = np.minimum(base_readmission * stay_f * treat, 1.0)
    return p_death, p_comp, p_readmit


def realise(p_death, p_comp, p_readmit, u_death, u_comp, u_readmit):
    """Draw outcomes from the episode's own uniforms (common random numbers across scenarios)."""
    died = u_death < p_death
    complication = ~died & (u_comp < p_comp)
    readmitted = ~died & (u_readmit < p_readmit)
    return died, complication, readmitted
