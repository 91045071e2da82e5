"""Facilities: Mesa agents backed by columns.

Each facility is a ``mesa.Agent`` (a few hundred of them, in the model's AgentSet) so that Mesa's tools,
the web view and user code can address one facility by name. Their state lives in :class:`FacilityTable`
columns, indexed by ``facility.index``, because the daily rules (queues, treatment, billing) are evaluated
for all facilities at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import mesa
import numpy as np

from sim.core.geography import Geography
from sim.core.levels import COUNTY, LEVELS, OUT_OF_COUNTY, TOWNSHIP, VILLAGE
from sim.params.scenario import Scenario

# Per-facility running books; each is a float64 column summed over the run.
BOOKS = ("visits", "admissions", "bed_days", "revenue", "resource_cost", "fund_income", "oop_income",
         "referrals_out", "arrivals", "good_outcomes")


@dataclass
class FacilityTable:
    level: np.ndarray
    township: np.ndarray
    doctors: np.ndarray
    beds: np.ndarray
    capability: np.ndarray
    price_level: np.ndarray
    identification_minutes: np.ndarray
    clinic_hours: np.ndarray             # outpatient clinic hours per doctor per day
    consultation_minutes: np.ndarray     # a mild case's consultation at the normal pace
    base_salary: np.ndarray
    surplus_bonus_share: np.ndarray
    occupied: np.ndarray                 # beds in use today
    queue: np.ndarray                    # episodes waiting for a consultation
    bed_queue: np.ndarray                # episodes admitted and waiting for a bed
    books: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.level)

    def clinic_minutes(self) -> np.ndarray:
        """Outpatient consultation minutes each facility can give today: doctors x clinic hours x 60."""
        return self.doctors * self.clinic_hours * 60.0

    def normal_visits_per_day(self) -> np.ndarray:
        """Mild cases each facility can see in a day at the normal pace."""
        return self.clinic_minutes() / self.consultation_minutes

    def occupancy(self) -> np.ndarray:
        return np.where(self.beds > 0, self.occupied / np.maximum(self.beds, 1), 0.0)


# Every facility column by name, the running books as "books.<name>": each is owned by one module of the model, which
# declares it (``facility_columns``; tests/test_architecture.py).
COLUMNS = (*(f.name for f in fields(FacilityTable) if f.name != "books"), *(f"books.{name}" for name in BOOKS))


def build_facilities(scenario: Scenario, geo: Geography) -> FacilityTable:
    levels = [getattr(scenario.facilities, name) for name in LEVELS]
    lvl = geo.facility_level.astype(np.int64)
    hospital_scale = np.where(lvl >= COUNTY,
                              scenario.population.size / scenario.facilities.reference_population, 1.0)

    def col(attr):
        return np.array([getattr(levels[k], attr) for k in lvl], dtype=float)

    doctors = np.maximum(col("doctors") * hospital_scale, 1.0)
    beds = np.round(col("beds") * hospital_scale).astype(np.int64)
    beds[(col("beds") > 0) & (beds < 1)] = 1
    n = len(lvl)
    return FacilityTable(
        level=lvl, township=geo.facility_township, doctors=doctors, beds=beds,
        capability=col("capability"), price_level=col("price_level"),
        identification_minutes=col("identification_minutes"),
        clinic_hours=col("clinic_hours_per_doctor_day"), consultation_minutes=col("consultation_minutes"),
        base_salary=col("base_salary_yuan"),
        surplus_bonus_share=col("surplus_bonus_share"), occupied=np.zeros(n, np.int64),
        queue=np.zeros(n, np.int64), bed_queue=np.zeros(n, np.int64),
        books={name: np.zeros(n) for name in BOOKS},
    )


class Facility(mesa.Agent):
    """A facility agent; its attributes read and write the model's facility columns."""

    level: int

    def __init__(self, model: mesa.Model, index: int, name: str) -> None:
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def _table(self) -> FacilityTable:
        return self.model.facilities

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]

    @property
    def doctors(self) -> float:
        return float(self._table.doctors[self.index])

    @doctors.setter
    def doctors(self, value: float) -> None:
        self._table.doctors[self.index] = value

    @property
    def beds(self) -> int:
        return int(self._table.beds[self.index])

    @property
    def capability(self) -> float:
        return float(self._table.capability[self.index])

    @capability.setter
    def capability(self, value: float) -> None:
        self._table.capability[self.index] = value

    @property
    def queue_length(self) -> int:
        return int(self._table.queue[self.index] + self._table.bed_queue[self.index])

    @property
    def occupancy(self) -> float:
        return float(self._table.occupancy()[self.index])

    @property
    def surplus(self) -> float:
        books = self._table.books
        return float(books["revenue"][self.index] - books["resource_cost"][self.index])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {self.doctors:.0f} doctors, {self.beds} beds>"


class VillageClinic(Facility):
    level = VILLAGE


class TownshipCentre(Facility):
    level = TOWNSHIP


class CountyHospital(Facility):
    level = COUNTY


class OutOfCountyHospital(Facility):
    level = OUT_OF_COUNTY


FACILITY_CLASSES = (VillageClinic, TownshipCentre, CountyHospital, OutOfCountyHospital)


def facility_name(geo: Geography, index: int) -> str:
    level = int(geo.facility_level[index])
    if level == VILLAGE:
        return f"{geo.township_names[geo.facility_township[index]]}/village_{index + 1}"
    if level == TOWNSHIP:
        return f"{geo.township_names[geo.facility_township[index]]}/centre"
    first = int(np.flatnonzero(geo.facility_level == level)[0])
    kind = "county_hospital" if level == COUNTY else "city_hospital"
    return f"{kind}_{index - first + 1}"
