"""Beds: inpatients whose stay ends leave their beds (discharges), and bed-queued episodes take free beds
(admission)."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT


@nb.njit(**JIT)
def discharge(day, state, discharge_day, facility, level, occupied, discharges, discharges_today, inpatient_state,
              treated_state):
    """Discharge every inpatient whose stay ends today (``sim.engine.model._discharge``): the bed is freed, the
    discharge counted by level in the run and in the day, and the treatment is finished (billed today)."""
    for r in range(len(state)):
        if state[r] == inpatient_state and discharge_day[r] <= day:
            f = facility[r]
            occupied[f] -= 1
            discharges[level[f]] += 1.0
            discharges_today[level[f]] += 1.0
            state[r] = treated_state


@nb.njit(**JIT)
def admit(rows, day, facility, condition, severity, stay_ratio, u_stay, clinical_los, exacerbation, los_days,
          admit_day, discharge_day, state, inpatient_state, occupied, bed_queue, admissions, level,
          admissions_by_level, admissions_today, time_critical, severe, elective_wait_hist):
    """Admit the bed-queued episodes ``rows`` that found a bed today (``sim.engine.model._admit_from_bed_queue``):
    the stay is fixed now, the provider's stay ratio times the clinical stay, rounded by the episode's own
    uniform and at least a day; the bed is occupied and the admission counted (by facility, and by level in
    the run and in the day). An elective admission (neither time-critical nor ``severe``) adds the days it spent
    on the waiting list (since ``admit_day``, the day it was admitted to the list) to ``elective_wait_hist``.
    Returns how many were exacerbations of chronic disease."""
    exacerbations = 0
    top = len(elective_wait_hist) - 1
    for i in range(len(rows)):
        r = rows[i]
        f, ci = facility[r], condition[r]
        if not time_critical[ci] and severity[r] != severe:
            elective_wait_hist[min(day - admit_day[r], top)] += 1
        los = max(np.floor(stay_ratio[r] * clinical_los[ci, severity[r]] + u_stay[r]), 1.0)
        los_days[r] = int(los)
        admit_day[r] = day
        discharge_day[r] = day + int(los)
        state[r] = inpatient_state
        occupied[f] += 1
        bed_queue[f] -= 1
        admissions[f] += 1.0
        admissions_by_level[level[f]] += 1.0
        admissions_today[level[f]] += 1.0
        exacerbations += 1 if exacerbation[ci] else 0
    return exacerbations
