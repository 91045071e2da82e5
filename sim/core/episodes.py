"""Episodes of illness as columns: one row per active episode, removed when the episode ends.

An episode is born at onset (or as a scheduled readmission), chooses a facility, waits in its queue, is
treated (outpatient, or admitted and discharged later), may be referred up and choose again, and ends in
exactly one of ``END_STATES``. All the random numbers an episode will ever use are drawn at its birth, so
two scenarios run on the same seed give the same episode the same luck: differences come from decisions.
"""

from __future__ import annotations

import numpy as np

from sim.kernels import EPISODE_RECORDS

# Active states; SELF_CARED / UNTREATED / TREATED: treated itself (home remedies, a pharmacy) / forwent care /
# finished treatment today, settled at the end of the day; ENDED: awaiting removal
CHOOSING, WAITING, BED_QUEUE, INPATIENT, SELF_CARED, UNTREATED, TREATED, ENDED = 0, 1, 2, 3, 6, 7, 8, 9
FINISHED_TODAY = (SELF_CARED, UNTREATED, TREATED)
# End states (counted, never stored): a treated episode by its outcome; one that went without a facility by how
END_STATES = ("recovered", "complication", "died", "forgone", "self_care")
RECOVERED, COMPLICATION, DIED, FORGONE, SELF_CARE = range(5)

# Every column by name and type: each is owned by one module of the model, which declares it (``columns``;
# tests/test_architecture.py), as it owns ``taste`` (``Episodes.taste``).
COLUMNS = {
    "resident": np.int32, "condition": np.int16, "severity": np.int8, "seek_day": np.int32,
    "state": np.int8, "facility": np.int32, "min_level": np.int8, "rechoices": np.int8,
    "referred": np.bool_, "readmission": np.bool_, "travel_minutes": np.float32,
    "critical_minutes": np.float32, "patience": np.float32, "admission_benefit": np.float32,
    "u_death": np.float32, "u_complication": np.float32, "u_readmission": np.float32,
    "u_readmit_day": np.float32, "u_stay": np.float32, "cost_factor": np.float32, "scruple": np.float32,
    "u_review": np.float32, "u_transfer": np.float32,
    # decided at treatment
    "intensity": np.float32, "stay_ratio": np.float32, "coded_severity": np.int8, "los_days": np.int16,
    "admit_day": np.int32, "discharge_day": np.int32,
    "drug_ratio": np.float32,  # drugs relative to the rest of the bundle (1 but under assessment)
    # referral (sim.policies.referral): a downward transfer's days at the township, the hospital it left, the deductible
    # already paid by the episode, whether a transfer was ever proposed
    "down_days": np.int16, "acute_facility": np.int32, "deductible_paid": np.float32, "down_offered": np.bool_,
    # the consultation: how much shorter than normal it was (1 - pace), hours waited for it on the day seen
    "consult_short": np.float32, "wait_hours": np.float32,
    "corridor": np.bool_,  # admitted with no bed free (a corridor bed)
    "returns": np.int8,    # return visits the provider asked of an outpatient (sim.behaviour.provider)
}

_unknown = {f for record in EPISODE_RECORDS for f in record._fields} - {*COLUMNS, "taste"}
if _unknown:
    raise ImportError(f"sim.kernels.records names episode columns that sim.core.episodes.COLUMNS lacks: {_unknown}")

COMPACT_RATIO, COMPACT_SLACK = 4, 16384  # drop ended rows once they exceed 4 x the live ones + 16,384


class Episodes:
    """A growable columnar table. ``taste`` holds each episode's Gumbel shock per care option."""

    def __init__(self, n_options: int, capacity: int = 1024) -> None:
        self.n = 0
        self.n_ended = 0  # rows marked ENDED, not yet dropped
        self.n_options = n_options
        self.cols = {k: np.zeros(capacity, dt) for k, dt in COLUMNS.items()}
        self.taste = np.zeros((capacity, n_options), np.float32)
        self._records: dict = {}  # made by ``record``, until the table grows
        self._refresh_views()

    def __len__(self) -> int:
        return self.n

    def _refresh_views(self) -> None:
        """``episodes.state`` etc. are views of the first ``n`` rows, kept as plain attributes (cheaper to reach
        than through ``__getattr__``, and read tens of thousands of times a year)."""
        for name, arr in self.cols.items():
            self.__dict__[name] = arr[: self.n]

    def record(self, kind) -> tuple:
        """The columns a phase's compiled loops take (``kind``, one of ``sim.kernels.EPISODE_RECORDS``, names them,
        and ``taste``), as the loops take a record: a plain tuple in the order of its fields. They are the whole
        columns, rows past ``len(self)`` included (zero, and never given to a loop), so the record is made once and
        holds until the table grows."""
        made = self._records.get(kind)
        if made is None:
            made = self._records[kind] = tuple(self.taste if name == "taste" else self.cols[name]
                                               for name in kind._fields)
        return made

    def extend(self, k: int) -> int:
        """Append ``k`` rows, all zero (``compact`` keeps the rows past the end zeroed), to be filled in by the
        caller (``sim.kernels.write_episodes``); returns the first new row."""
        start, need = self.n, self.n + k
        cap = len(self.taste)
        if need > cap:
            new_cap = max(need, 2 * cap)
            for name, arr in self.cols.items():
                grown = np.zeros(new_cap, arr.dtype)
                grown[: self.n] = arr[: self.n]
                self.cols[name] = grown
            grown = np.zeros((new_cap, self.n_options), np.float32)
            grown[: self.n] = self.taste[: self.n]
            self.taste = grown
            self._records = {}
        self.n = need
        self._refresh_views()
        return start

    def end(self, rows: np.ndarray) -> None:
        """Mark episodes ended (each row once); row positions stay valid until ``compact`` drops them."""
        self.cols["state"][rows] = ENDED
        self.n_ended += len(rows)

    def compact(self) -> None:
        """Drop ended episodes, keeping the order of the rest (so queues stay first-come first-served).
        Ended rows are skipped by every state test, so they are dropped only once they far outnumber the
        live ones (most episodes end the day they begin): a state test over a few thousand more rows costs
        microseconds, copying every column every day costs milliseconds."""
        if self.n_ended < COMPACT_RATIO * (self.n - self.n_ended) + COMPACT_SLACK:
            return
        live = np.flatnonzero(self.state != ENDED)  # few: gather them rather than filter every row
        m = len(live)
        self.n_ended = 0
        if m == self.n:
            return
        for arr in self.cols.values():
            arr[:m] = arr[live]
            arr[m:self.n] = 0  # rows past the end stay zero, so new rows need only the columns they are given
        self.taste[:m] = self.taste[live]
        self.n = m
        self._refresh_views()
