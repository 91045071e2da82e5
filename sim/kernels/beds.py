"""Beds: inpatients whose stay ends leave their beds (discharges), and bed-queued episodes take free beds
(admission)."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT
from sim.kernels.records import BedColumns, Beds


@nb.njit(**JIT)
def discharge(day, n, ep, beds, inpatient_state, treated_state):
    """Discharge every inpatient (of the table's ``n`` rows) whose stay ends today (``sim.engine.model._discharge``):
    the bed is freed, the discharge counted by level in the run and in the day, and the treatment is finished
    (billed today)."""
    ep, beds = BedColumns(*ep), Beds(*beds)
    state, discharge_day, facility = ep.state, ep.discharge_day, ep.facility
    level, occupied, discharges_by_level, discharges_today = (beds.level, beds.occupied, beds.discharges_by_level,
                                                              beds.discharges_today)
    for r in range(n):
        if state[r] == inpatient_state and discharge_day[r] <= day:
            f = facility[r]
            occupied[f] -= 1
            discharges_by_level[level[f]] += 1.0
            discharges_today[level[f]] += 1.0
            state[r] = treated_state


@nb.njit(**JIT)
def admit(rows, day, ep, beds, inpatient_state, severe):
    """Admit the bed-queued episodes ``rows`` that found a bed today (``sim.engine.model._admit_from_bed_queue``):
    the stay is fixed now, the provider's stay ratio times the clinical stay, rounded by the episode's own
    uniform and at least a day; the bed is occupied and the admission counted (by facility, and by level in
    the run and in the day). An elective admission (neither time-critical nor ``severe``) adds the days it spent
    on the waiting list (since ``admit_day``, the day it was admitted to the list) to ``elective_wait_hist``.
    Returns how many were exacerbations of chronic disease."""
    ep, beds = BedColumns(*ep), Beds(*beds)
    condition, severity, state, facility, u_stay, stay_ratio, los_days, admit_day, discharge_day = (
        ep.condition, ep.severity, ep.state, ep.facility, ep.u_stay, ep.stay_ratio, ep.los_days, ep.admit_day,
        ep.discharge_day)
    level, occupied, bed_queue, admissions = beds.level, beds.occupied, beds.bed_queue, beds.admissions
    admissions_by_level, admissions_today = beds.admissions_by_level, beds.admissions_today
    hist = beds.elective_wait_hist
    clinical_los, time_critical, exacerbation = beds.clinical_los, beds.time_critical, beds.exacerbation
    exacerbations = 0
    top = len(hist) - 1
    for i in range(len(rows)):
        r = rows[i]
        f, ci, si = facility[r], condition[r], severity[r]
        if not time_critical[ci] and si != severe:
            hist[min(day - admit_day[r], top)] += 1
        los = max(np.floor(stay_ratio[r] * clinical_los[ci, si] + u_stay[r]), 1.0)
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


@nb.njit(**JIT)
def by_level(level, n_levels, queue, bed_queue, occupied, beds):
    """The day's record of the facilities by level (``sim.engine.model._record``), in one pass: rows queue length,
    waiting list, corridor beds (occupied beyond the beds), occupied beds, beds, and occupied beds within the beds."""
    out = np.zeros((6, n_levels))
    for f in range(len(level)):
        lv = level[f]
        out[0, lv] += queue[f]
        out[1, lv] += bed_queue[f]
        out[2, lv] += max(occupied[f] - beds[f], 0)
        out[3, lv] += occupied[f]
        out[4, lv] += beds[f]
        out[5, lv] += min(occupied[f], beds[f])
    return out
