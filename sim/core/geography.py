"""The county's map: townships, villages, facility sites and travel times between them.

Townships are placed in a disc around the county seat (or listed in the scenario), villages around their
township seat, county hospitals at the seat and out-of-county hospitals in the city beyond the border.
Residents live at their village's position. Travel minutes = straight-line km x road winding / speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.levels import COUNTY, OUT_OF_COUNTY, TOWNSHIP, VILLAGE
from sim.params.scenario import Scenario


@dataclass(frozen=True)
class Geography:
    township_names: tuple[str, ...]
    township_xy: np.ndarray        # [t, 2] km
    village_township: np.ndarray   # [v] township index
    village_xy: np.ndarray         # [v, 2] km
    village_weight: np.ndarray     # [v] share of residents living there (sums to 1)
    facility_level: np.ndarray     # [f] level code
    facility_township: np.ndarray  # [f] township index, -1 for hospitals
    facility_xy: np.ndarray        # [f, 2] km
    options: np.ndarray            # [v, k] facility index of each care option open to the village
    option_minutes: np.ndarray     # [v, k] travel minutes from the village to each option
    facility_minutes: np.ndarray   # [f, f] travel minutes between facilities (transfers)

    @property
    def n_villages(self) -> int:
        return len(self.village_township)

    @property
    def n_facilities(self) -> int:
        return len(self.facility_level)


def township_count(scenario: Scenario) -> int:
    geo = scenario.geography
    if geo.listed_townships:
        return len(geo.listed_townships)
    if geo.townships == "auto":
        return max(1, round(scenario.population.size / geo.residents_per_township))
    return int(geo.townships)


def build_geography(scenario: Scenario, rng: np.random.Generator) -> Geography:
    geo = scenario.geography
    n_t = township_count(scenario)
    if geo.listed_townships:
        names = tuple(t.name for t in geo.listed_townships)
        t_xy = np.array([[t.x_km, t.y_km] for t in geo.listed_townships], dtype=float)
        t_weight = np.array([t.population_share for t in geo.listed_townships], dtype=float)
        villages = np.array([t.villages for t in geo.listed_townships])
    else:
        names = tuple(f"township_{i + 1:02d}" for i in range(n_t))
        radius = geo.county_radius_km * np.sqrt(rng.uniform(0.04, 1.0, n_t))  # uniform over the disc
        angle = rng.uniform(0, 2 * np.pi, n_t)
        t_xy = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        t_weight = rng.gamma(8.0, 1.0, n_t)  # townships differ in size (assumption: CV ~ 0.35)
        villages = np.full(n_t, geo.villages_per_township)

    village_township = np.repeat(np.arange(n_t), villages)
    n_v = len(village_township)
    spread = geo.village_spread_km * np.sqrt(rng.uniform(0.05, 1.0, n_v))
    angle = rng.uniform(0, 2 * np.pi, n_v)
    village_xy = t_xy[village_township] + np.column_stack([spread * np.cos(angle), spread * np.sin(angle)])
    village_weight = t_weight[village_township] / villages[village_township] * rng.gamma(6.0, 1 / 6.0, n_v)
    village_weight /= village_weight.sum()

    # Facilities: one clinic per village, one centre per township, hospitals at the seat and in the city.
    n_c, n_o = geo.county_hospitals, geo.out_of_county_hospitals
    county_xy = np.column_stack([np.linspace(-1, 1, n_c) * 0.8 * (n_c > 1), np.zeros(n_c)])
    city_xy = np.column_stack([np.full(n_o, geo.out_of_county_distance_km / geo.road_winding),
                               np.linspace(-2, 2, n_o) * (n_o > 1)])
    facility_level = np.concatenate([np.full(n_v, VILLAGE), np.full(n_t, TOWNSHIP), np.full(n_c, COUNTY),
                                     np.full(n_o, OUT_OF_COUNTY)]).astype(np.int8)
    facility_township = np.concatenate([village_township, np.arange(n_t), np.full(n_c + n_o, -1)])
    facility_xy = np.vstack([village_xy, t_xy, county_xy, city_xy])

    def minutes(a_xy, b_xy):
        km = np.linalg.norm(a_xy[:, None, :] - b_xy[None, :, :], axis=2) * geo.road_winding
        return km / geo.road_speed_kmh * 60.0

    clinic = np.arange(n_v)
    centre = n_v + village_township
    hospitals = n_v + n_t + np.arange(n_c + n_o)
    options = np.column_stack([clinic, centre, np.broadcast_to(hospitals, (n_v, len(hospitals)))])
    option_minutes = np.column_stack([
        np.full(n_v, geo.village_walk_minutes),
        minutes(village_xy, t_xy)[np.arange(n_v), village_township],
        minutes(village_xy, facility_xy[hospitals]),
    ])
    facility_minutes = minutes(facility_xy, facility_xy)
    return Geography(names, t_xy, village_township, village_xy, village_weight, facility_level,
                     facility_township, facility_xy, options.astype(np.int32), option_minutes,
                     facility_minutes.astype(np.float32))
