"""Outcomes of an episode: death, complication, 30-day readmission and health loss.

Risk = base risk of (condition, severity)
       x capability_risk_ratio ** (need level - facility capability, if positive)
       x delay factor: 1 + delay_harm_per_day x days waited, or, for time-critical cases,
                       1 + critical_harm_per_hour x minutes from onset to treatment / 60
       x treatment factor: 1 + h_over (q - 1)^2 above guideline intensity q, 1 + h_under (1 - q)^2 below
Complication and readmission risks are also multiplied by the stay factor, built the same way from the stay
ratio s (days stayed / clinical stay). Health loss (DALY) = years of life lost at death + complication_daly
per complication + readmission_daly per readmission + the health cost of a wrong admission decision.
Years of life lost at death = max(life_expectancy_years - age, 1). Care forgone meets the base risks times
``untreated_risk_ratio`` and adds ``untreated_daly_per_severity`` x (severity + 1).
The provider's decision (``sim.behaviour.provider``) uses the same equations: it knows the clinical model.

The equations are evaluated per episode in compiled loops (``sim.kernels``): ``finish_treatments`` for
every treatment finished, ``forgo_outcomes`` for care forgone, ``decide_cases`` for the provider's view and
``gather_cases`` for the delay a case has incurred when it is seen. This module is their statement.
"""
