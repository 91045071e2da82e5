"""Outcomes of an episode: death, complication, 30-day readmission and health loss.

Risk = base risk of (condition, severity)
       x capability_risk_ratio ** (need level - facility capability, if positive)
       x delay factor: 1 + delay_harm_per_day x days waited, or, for time-critical cases,
                       1 + critical_harm_per_hour x minutes from onset to treatment / 60
       x treatment factor: 1 + h_over (q - 1)^2 above guideline intensity q, 1 + h_under (1 - q)^2 below
Complication and readmission risks are also multiplied by the stay factor, built the same way from the stay
ratio s (days stayed / clinical stay). Health loss (DALY) = years of life lost at death + complication_daly
per complication + readmission_daly per readmission + the health cost of a wrong admission decision.
The provider's decision (``sim.provider``) uses the same equations: it knows the clinical model. Per treated
episode they are evaluated in one compiled loop, ``sim.kernels.finish_treatments`` (the provider's in
``sim.kernels.decide_cases``); the functions here serve the rest of the model.
"""

from __future__ import annotations

import numpy as np

from sim.scenario import Outcomes


def delay_factor(wait_days, critical_minutes, harm_per_day, harm_per_hour, time_critical) -> np.ndarray:
    return np.where(time_critical, 1.0 + harm_per_hour * critical_minutes / 60.0, 1.0 + harm_per_day * wait_days)


def years_of_life_lost(age: np.ndarray, outcomes: Outcomes) -> np.ndarray:
    return np.maximum(outcomes.life_expectancy_years - age, 1.0)
