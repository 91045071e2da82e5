"""Queueing within a clinic day (``sim.engine.model._serve``): how long the patients a facility sees today waited
for their consultation, from the facility's doctors, its utilisation and the consultations' length."""

from __future__ import annotations

import numba as nb
import numpy as np

from sim.kernels.equations import JIT


@nb.njit(**JIT)
def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arrival must wait in an M/M/c queue with ``servers`` servers and ``offered`` load
    (arrival rate x mean service time, in servers); 1 when the load is at or above the servers. Erlang's B by
    its stable recursion, then C = B / (1 - rho (1 - B))."""
    if offered <= 0.0:
        return 0.0
    if offered >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1.0 - rho * (1.0 - b))


@nb.njit(**JIT)
def clinic_wait_hours(doctors, served_minutes, clinic_minutes, mean_minutes, service_cv2, clinic_hours):
    """[facility] mean hours a patient seen today waited for the consultation, by the Allen-Cunneen
    approximation of the M/G/c queue (arrivals spread over the clinic day, c = doctors on duty):

        W_q = C(c, a) / (c - a) x mean consultation x (1 + cv^2) / 2,   a = c x utilisation,

    utilisation = consultation minutes given today / clinic minutes available. W_q grows without bound as
    utilisation nears 1; it is capped at the clinic day (``clinic_hours``), past which patients wait to the next
    day (the carried-over queue, simulated). A facility that saw nobody has no wait."""
    n = len(doctors)
    out = np.zeros(n)
    for f in range(n):
        if served_minutes[f] <= 0.0 or clinic_minutes[f] <= 0.0:
            continue
        c = max(int(np.round(doctors[f])), 1)
        rho = served_minutes[f] / clinic_minutes[f]
        a = rho * c
        if a >= c:
            out[f] = clinic_hours[f]
            continue
        wait = erlang_c(c, a) / (c - a) * mean_minutes[f] * (1.0 + service_cv2) / 2.0 / 60.0
        out[f] = min(wait, clinic_hours[f])
    return out
