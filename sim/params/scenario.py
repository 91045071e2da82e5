"""The scenario schema: every input of a run, typed, with units, defaults and sources.

A scenario is a frozen pydantic model. Unknown keys are errors (``extra="forbid"``). Each field's
description states its unit and either the source of its default or that the default is an assumption.
Levels of care are always spelt ``village``, ``township``, ``county``, ``out_of_county``.

Policy levers (what a scenario chooses: payment, insurance, facilities) are kept apart from behavioural
parameters (``behaviour.*``: what is calibrated), as TLOmodel's users asked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

LEVELS = ("village", "township", "county", "out_of_county")
# The payment models a scenario may name, in the order offered to users. Each is one module of ``sim.payment``,
# registered under this name in ``sim.payment.registry`` (which refuses to load unless the two lists agree; the
# parameters cannot import it, being the layer below). A budget model is a purse around the claims of the models
# beneath it (a global budget); every other model is a claim model: how a facility's claims are valued.
PAYMENT_MODELS = ("fee_for_service", "drg", "dip", "global_budget", "capitation", "per_diem")
BUDGET_MODELS = ("global_budget",)
CLAIM_MODELS = tuple(name for name in PAYMENT_MODELS if name not in BUDGET_MODELS)
PaymentModel = Literal[PAYMENT_MODELS]
IMPLEMENTED_PAYMENT_MODELS = get_args(PaymentModel)
ClaimModel = Literal[CLAIM_MODELS]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


# The kinds of evidence behind a parameter's default (the parameter register, ``sim.params.register``):
# - sourced: a published figure; `source` cites it (the document and the figure);
# - calibrated: fitted to observed figures within the prior `range`; `fit` says where: "calibrate" = by
#   `triangle calibrate` (seeds/calibration.yaml lists it; the fitted value is in seeds/calibrated.yaml), "hand" =
#   fitted by hand, `source` naming the target and the check;
# - assumed: neither; `range` is a plausible range and `source` says why (numeric values need a range);
# - lever: what a scenario chooses as policy (payment, insurance rules, reforms); `source` says where the default
#   comes from;
# - setting: what a scenario states about the run or the county it describes (name, seed, days, size, listed
#   townships), or a scale's definition (benefit_weight 1, county prices 1, capability levels).
KINDS = ("sourced", "calibrated", "assumed", "lever", "setting")
FITS = ("calibrate", "hand")


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively, for the JSON Schema."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def param(default: Any, description: str, unit: str, source: str, *, kind: str,
          range: tuple[float, float] | dict[str, tuple[float, float]] | None = None, fit: str | None = None,
          leaves: dict[str, dict[str, Any]] | None = None, **constraints: Any) -> Any:
    """A field whose description carries its unit, its kind of evidence (see KINDS) and its source, also exported
    in the JSON Schema (``unit``, ``kind``, ``source``, ``range``, ``fit``, ``leaves``): the parameter register.

    ``range`` is (low, high); for a field holding a group of values (by level, by age band) it may be a mapping
    value name -> (low, high). ``leaves`` overrides kind, source, range or fit for single values of a group, e.g.
    ``{"township": {"kind": "calibrated", "range": (0.3, 1.2), "fit": "calibrate", "source": ...}}``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: not one of {', '.join(KINDS)}")
    if (fit is not None) != (kind == "calibrated") or (fit is not None and fit not in FITS):
        raise ValueError(f"fit {fit!r}: a calibrated parameter says where it is fitted ({', '.join(FITS)}); "
                         "no other kind does")
    extra: dict[str, Any] = {"unit": unit, "source": source, "kind": kind}
    if range is not None:
        extra["range"] = _plain(range)
    if fit is not None:
        extra["fit"] = fit
    if leaves:
        extra["leaves"] = _plain(leaves)
    span = f", range {range[0]:g} to {range[1]:g}" if isinstance(range, tuple) else ""
    return Field(
        default,
        description=f"{description} Unit: {unit}. Kind: {kind}{span}. Source: {source}",
        json_schema_extra=extra,
        **constraints,
    )


def member(description: str, unit: str, **constraints: Any) -> Any:
    """A required value of a group (such as a level's facilities) whose kind, source and range are declared by
    the field that holds the group (see ``param``'s ``leaves``); only its unit is its own."""
    return Field(description=f"{description} Unit: {unit}.", json_schema_extra={"unit": unit}, **constraints)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------------------------- population
class AgeShares(Strict):
    """Share of residents in each age band; must sum to 1."""

    age_0_4: Share = param(0.05, "Residents aged 0-4.", "share", "2020 census, rural counties (rounded)",
                           kind="sourced")
    age_5_14: Share = param(0.12, "Residents aged 5-14.", "share", "2020 census, rural counties (rounded)",
                            kind="sourced")
    age_15_44: Share = param(0.36, "Residents aged 15-44.", "share", "2020 census; out-migration of the young",
                             kind="sourced")
    age_45_64: Share = param(0.29, "Residents aged 45-64.", "share", "2020 census, rural counties (rounded)",
                             kind="sourced")
    age_65_plus: Share = param(0.18, "Residents aged 65 and over.", "share", "2020 census: 17.7% rural aged 65+",
                               kind="sourced")

    @model_validator(mode="after")
    def _sums_to_one(self) -> AgeShares:
        total = sum(self.model_dump().values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"age shares must sum to 1, they sum to {total:.6g}")
        return self

    def as_array(self) -> list[float]:
        return [self.age_0_4, self.age_5_14, self.age_15_44, self.age_45_64, self.age_65_plus]


class ChronicPrevalence(Strict):
    """Prevalence of a chronic condition in each age band (residents under 15 have none)."""

    age_15_44: Share
    age_45_64: Share
    age_65_plus: Share


class Population(Strict):
    size: int = param(300_000, "Resident population of the county.", "residents",
                      "scenario author; DOMAIN.md: a county holds ~0.3-1 M residents", ge=100, le=20_000_000,
                      kind="setting")
    age_shares: AgeShares = AgeShares()
    female_share: Share = param(0.49, "Share of residents who are female.", "share", "2020 census (rounded)",
                                kind="sourced")
    employee_share: Share = param(
        0.15, "Share of residents in the employee scheme (the rest are in the resident scheme).", "share",
        "assumption: national employee scheme covers ~28% of the insured; counties have fewer employees",
        kind="assumed", range=(0.05, 0.28))
    hypertension: ChronicPrevalence = param(
        ChronicPrevalence(age_15_44=0.08, age_45_64=0.30, age_65_plus=0.55),
        "Hypertension prevalence by age band.", "share",
        "assumption for the bands, around the China Hypertension Survey 2012-2015 (23.2% of adults; rising with "
        "age), rounded", kind="assumed",
        range={"age_15_44": (0.04, 0.15), "age_45_64": (0.2, 0.4), "age_65_plus": (0.45, 0.65)})
    diabetes: ChronicPrevalence = param(
        ChronicPrevalence(age_15_44=0.04, age_45_64=0.14, age_65_plus=0.20),
        "Diabetes prevalence by age band.", "share",
        "assumption for the bands, around national surveys' ~11-12% of adults", kind="assumed",
        range={"age_15_44": (0.02, 0.08), "age_45_64": (0.08, 0.2), "age_65_plus": (0.14, 0.3)})
    copd: ChronicPrevalence = param(
        ChronicPrevalence(age_15_44=0.02, age_45_64=0.10, age_65_plus=0.20),
        "COPD prevalence by age band.", "share",
        "assumption for the bands, around the China Pulmonary Health study (8.6% of adults over 20, 13.7% over "
        "40)", kind="assumed",
        range={"age_15_44": (0.01, 0.05), "age_45_64": (0.06, 0.15), "age_65_plus": (0.12, 0.3)})
    kidney_failure: ChronicPrevalence = param(
        ChronicPrevalence(age_15_44=0.0003, age_45_64=0.0008, age_65_plus=0.0012),
        "End-stage kidney disease on dialysis, by age band.", "share",
        "assumption: ~0.05-0.07% of all residents, in line with China's ~0.8 M dialysis patients", kind="assumed",
        range={"age_15_44": (0.0001, 0.0006), "age_45_64": (0.0004, 0.0015), "age_65_plus": (0.0006, 0.0025)})


# --------------------------------------------------------------------------------------------- geography
class Township(Strict):
    name: str = param(..., "Name of the township.", "text", "listed", kind="setting")
    x_km: float = param(0.0, "East-west position of the township seat from the county seat.", "km", "listed",
                        kind="setting")
    y_km: float = param(0.0, "North-south position of the township seat from the county seat.", "km", "listed",
                        kind="setting")
    population_share: float = param(1.0, "Relative weight of the township's population.", "relative weight",
                                    "listed", gt=0,
                                    kind="setting")
    villages: int = param(10, "Number of villages (each with one village clinic).", "villages", "listed",
                          ge=1, le=200,
                          kind="setting")


class Geography(Strict):
    townships: Annotated[int, Field(ge=1, le=2000)] | Literal["auto"] = param(
        "auto", "Number of townships, each with one township health centre; 'auto' = population.size / "
        "residents_per_township.", "townships", "the county's layout (scenario author)",
        kind="setting")
    residents_per_township: int = param(
        15_000, "Residents per township when townships is 'auto'.", "residents", "assumption: a county of 300,000 "
        "has ~20 townships; nationally 33,753 township centres (2023 bulletin, DOMAIN.md) serve the rural population",
        ge=100, kind="assumed", range=(8000, 30000))
    villages_per_township: int = param(
        10, "Villages per township, each with one village clinic.", "villages", "assumption: ~200 administrative "
        "villages per county; nationally 581,964 village clinics for 33,753 township centres, ~17 each (2023 "
        "bulletin, DOMAIN.md)", ge=1, le=100, kind="assumed", range=(5, 20))
    county_radius_km: float = param(35.0, "Radius of the county; township seats are placed within it.", "km",
                                    "assumption: a county of ~3,800 km2", gt=0, le=500,
                                    kind="assumed", range=(20, 60))
    village_spread_km: float = param(5.0, "Typical distance from a village to its township seat.", "km",
                                     "assumption: villages lie a few km from their township seat", gt=0, le=100,
                                     kind="assumed", range=(2, 10))
    county_hospitals: int = param(
        2, "County-level hospitals (people's hospital, TCM hospital) at the seat.", "hospitals", "DOMAIN.md: a "
        "county's people's hospital and TCM hospital; seed 001 (001_00219d8b1e4d9632.txt): Linxiang's medical group "
        "holds 2 medical communities, led by the two", ge=1, le=20, kind="sourced")
    out_of_county_hospitals: int = param(
        1, "Tertiary hospitals outside the county (city or province).", "hospitals", "assumption: the city's "
        "tertiary hospital that takes most of the county's referrals", ge=1, le=10, kind="assumed", range=(1, 3))
    out_of_county_distance_km: float = param(
        90.0, "Road distance from the county seat to the city.", "km",
        "assumption: the road distance from a county seat to its prefecture city", gt=0, le=2000,
        kind="assumed", range=(30, 200))
    road_speed_kmh: float = param(
        40.0, "Average road speed for trips to care.", "km/h", "assumption: county roads and highways mixed", gt=0,
        kind="assumed", range=(25, 60))
    road_winding: float = param(1.3, "Ratio of road distance to straight-line distance.", "ratio",
                                "assumption (typical detour index 1.2-1.4)", ge=1.0, le=3.0,
                                kind="assumed", range=(1.2, 1.4))
    village_walk_minutes: float = param(10.0, "Time to reach one's own village clinic.", "minutes",
                                        "assumption: the clinic is in the village", ge=0,
                                        kind="assumed", range=(5, 20))
    listed_townships: list[Township] | None = param(
        None, "Townships listed explicitly instead of generated (positions, population weights, villages). When "
        "given, `townships` and `villages_per_township` are ignored.", "townships", "scenario author",
        kind="setting")


# --------------------------------------------------------------------------------------------- facilities
class LevelFacilities(Strict):
    """Resources and prices of every facility of one level (per facility)."""

    doctors: float = member("Licensed doctors per facility.", "doctors", gt=0)
    beds: int = member("Inpatient beds per facility (for out-of-county: beds used by this county's residents).",
                       "beds", ge=0)
    clinic_hours_per_doctor_day: float = member(
        "Hours of outpatient clinic one doctor gives in a day (hospital doctors also work on the wards).",
        "hours/doctor/day", gt=0, le=24)
    consultation_minutes: float = member(
        "Minutes of a mild case's consultation at the normal pace; severer cases take "
        "case_mix.consultation_severity_factor times more, and a provider under pressure may shorten them "
        "(behaviour.provider.min_consultation_share).", "minutes/visit", gt=0, le=240)
    capability: float = member(
        "Highest level of care the facility treats well (0 village, 1 township, 2 county, 3 tertiary). Cases "
        "needing more are treated worse or referred.", "level", ge=0, le=4)
    price_level: float = member("Prices relative to the county hospital fee schedule (the catalogue's costs).",
                                "ratio", gt=0)
    identification_minutes: float = member(
        "Minutes from arrival to recognising a time-critical case and acting.", "minutes", ge=0)
    base_salary_yuan: float = member("Annual base pay per doctor.", "yuan/year", ge=0)
    surplus_bonus_share: Share = member("Share of the facility's surplus paid to its doctors as bonus.", "share")


# The register's source for every level's clinic hours and consultation minutes (facilities.<level>).
_CLINIC_TIME = {name: {"source": "assumption, chosen so that a doctor gives at the normal pace the visits per day "
                       "the model assumed before (25, 22, 14, 12 mild visits by level); plausible ranges 3-8 clinic "
                       "hours and 3-20 minutes (Irving et al., BMJ Open 2017;7:e017902, report primary-care "
                       "consultations of a few minutes in China)"}
                for name in ("clinic_hours_per_doctor_day", "consultation_minutes")}


class Facilities(Strict):
    reference_population: int = param(
        300_000, "Population for which the county and out-of-county hospitals' doctors and beds are stated; "
        "they scale with population.size / reference_population, so a smaller county keeps the same "
        "resources per resident.", "residents", "the baseline county", ge=1, kind="setting")
    bed_capital_yuan_per_year: float = param(
        20_000, "Capital cost of a bed of the county's own facilities per year (building and equipment, "
        "annualised), borne whether the bed is used or not; running costs are in the bills.", "yuan/bed-year",
        "assumption: 300,000-600,000 yuan of building and equipment per county-hospital bed over 20-30 years",
        ge=0, kind="assumed", range=(10_000, 40_000))
    village: LevelFacilities = param(LevelFacilities(
        doctors=1.3, beds=0, clinic_hours_per_doctor_day=5.0, consultation_minutes=12.0, capability=0.0,
        price_level=0.3, identification_minutes=40, base_salary_yuan=30_000,
        surplus_bonus_share=0.9), "Village clinics.", "see each value",
        "assumption: fees, pay and identification times of a clinic with one or two village doctors; village "
        "doctors keep most of their clinic's surplus", kind="assumed",
        range={"doctors": (1.0, 2.3), "clinic_hours_per_doctor_day": (3, 8), "consultation_minutes": (3, 20),
               "price_level": (0.2, 0.5), "identification_minutes": (20, 90), "base_salary_yuan": (15_000, 50_000),
               "surplus_bonus_share": (0.5, 1.0)},
        leaves={"doctors": {"source": "assumption: 1.33 M village staff for 582 k clinics (2023 bulletin, DOMAIN.md) "
                            "= ~2.3 staff per clinic, of whom ~1.3 doctors"},
                "beds": {"kind": "setting", "source": "village clinics treat outpatients only (DOMAIN.md)"},
                "capability": {"kind": "setting", "source": "the capability scale: a village clinic is 0"},
                **_CLINIC_TIME})
    township: LevelFacilities = param(LevelFacilities(
        doctors=14, beds=30, clinic_hours_per_doctor_day=5.0, consultation_minutes=13.6, capability=1.0,
        price_level=0.55, identification_minutes=25, base_salary_yuan=60_000,
        surplus_bonus_share=0.3), "Township health centres.", "see each value",
        "assumption: prices (~100 yuan per visit, ~3,000 per admission), pay and identification times of a rural "
        "township centre", kind="assumed",
        range={"doctors": (8, 30), "beds": (15, 60), "clinic_hours_per_doctor_day": (3, 8),
               "consultation_minutes": (3, 20), "price_level": (0.4, 0.8), "identification_minutes": (10, 60),
               "base_salary_yuan": (40_000, 100_000), "surplus_bonus_share": (0.1, 0.5)},
        leaves={"doctors": {"source": "assumption: 1.61 M staff in 33,753 centres = 48 staff per centre (2023 "
                            "bulletin, DOMAIN.md), of whom some are doctors; rural centres are smaller"},
                "beds": {"source": "assumption: 1.51 M beds in 33,753 centres = 45 beds per centre (2023 bulletin, "
                         "DOMAIN.md); rural centres are smaller"},
                "capability": {"kind": "setting", "source": "the capability scale: a township centre is 1"},
                **_CLINIC_TIME})
    county: LevelFacilities = param(LevelFacilities(
        doctors=190, beds=480, clinic_hours_per_doctor_day=3.5, consultation_minutes=15.0, capability=2.0,
        price_level=1.0, identification_minutes=10, base_salary_yuan=90_000,
        surplus_bonus_share=0.3), "County hospitals.", "see each value",
        "assumption: pay and identification times of a county hospital", kind="assumed",
        range={"doctors": (120, 300), "beds": (300, 700), "clinic_hours_per_doctor_day": (3, 8),
               "consultation_minutes": (3, 20), "identification_minutes": (5, 30),
               "base_salary_yuan": (60_000, 150_000), "surplus_bonus_share": (0.1, 0.5)},
        leaves={"doctors": {"source": "assumption: with the primary doctors, ~3.1 doctors per 1,000 residents, "
                            "below the national 3.40 licensed doctors (2023 bulletin, DOMAIN.md)"},
                "beds": {"source": "assumption: with the township centres' beds, ~5.2 beds per 1,000 residents, "
                         "below the national 7.23 (2023 bulletin, DOMAIN.md), as counties have fewer"},
                "capability": {"kind": "setting", "source": "the capability scale: a county hospital is 2"},
                "price_level": {"kind": "setting", "source": "the reference of prices: the county fee schedule is "
                                "1 (the catalogue's costs)"},
                **_CLINIC_TIME})
    out_of_county: LevelFacilities = param(LevelFacilities(
        doctors=120, beds=260, clinic_hours_per_doctor_day=3.5, consultation_minutes=17.5, capability=3.0,
        price_level=1.5, identification_minutes=8, base_salary_yuan=150_000,
        surplus_bonus_share=0.3), "The tertiary hospital outside the county: only the doctors and beds that serve "
        "this county's residents.", "see each value", "assumption: a share of a city hospital sized to the "
        "county's residents' out-of-county care; higher prices and pay than the county's", kind="assumed",
        range={"doctors": (60, 250), "beds": (150, 500), "clinic_hours_per_doctor_day": (3, 8),
               "consultation_minutes": (3, 20), "price_level": (1.2, 2.0), "identification_minutes": (5, 20),
               "base_salary_yuan": (100_000, 250_000), "surplus_bonus_share": (0.1, 0.5)},
        leaves={"capability": {"kind": "setting", "source": "the capability scale: a tertiary hospital is 3"},
                **_CLINIC_TIME})


# --------------------------------------------------------------------------------------------- insurance
class ByLevel(Strict):
    village: float
    township: float
    county: float
    out_of_county: float


class ShareByLevel(ByLevel):
    village: Share
    township: Share
    county: Share
    out_of_county: Share


class YuanByLevel(ByLevel):
    village: NonNegative
    township: NonNegative
    county: NonNegative
    out_of_county: NonNegative


class Insurance(Strict):
    reimbursement: ShareByLevel = param(
        ShareByLevel(village=0.85, township=0.85, county=0.72, out_of_county=0.55),
        "Inpatient: share of eligible cost above the deductible that the fund pays, resident scheme.", "share",
        "DOMAIN.md (seed 004): ~70% within policy for residents; graded by level (assumption); policy lever",
        kind="lever")
    employee_reimbursement: ShareByLevel = param(
        ShareByLevel(village=0.92, township=0.92, county=0.85, out_of_county=0.75),
        "Inpatient reimbursement, employee scheme.", "share",
        "DOMAIN.md (seed 004): ~80% within policy for employees; graded by level (assumption); policy lever",
        kind="lever")
    outpatient_reimbursement: ShareByLevel = param(
        ShareByLevel(village=0.55, township=0.5, county=0.3, out_of_county=0.1),
        "Outpatient pooling: share of eligible outpatient cost the fund pays, resident scheme.", "share",
        "assumption (general outpatient pooling ~50% at primary level); policy lever", kind="lever")
    employee_outpatient_reimbursement: ShareByLevel = param(
        ShareByLevel(village=0.7, township=0.7, county=0.5, out_of_county=0.3),
        "Outpatient reimbursement, employee scheme (personal accounts and pooling).", "share",
        "assumption: above the resident scheme's, as inpatient rates are; policy lever", kind="lever")
    deductible: YuanByLevel = param(
        YuanByLevel(village=0, township=200, county=600, out_of_county=1500),
        "Deductible per admission.", "yuan", "assumption, typical county schedules; policy lever", kind="lever")
    eligible_share: ShareByLevel = param(
        ShareByLevel(village=0.95, township=0.93, county=0.88, out_of_county=0.8),
        "Share of billed cost that is within the insurance catalogue.", "share",
        "assumption (self-paid items rise with level); policy lever (the catalogue)", kind="lever")
    deductible_continuity: bool = param(
        False, "Deductible continuity across referrals within the medical community (起付线连续计算): an "
        "episode referred up pays only the difference between the higher level's deductible and what it "
        "already paid; one transferred down (or to the same level) pays no new deductible. Applies between "
        "in-county facilities only.", "switch",
        "seed 001 (Linxiang): upward pays the difference, downward waives the deductible; policy lever",
        kind="lever")


# --------------------------------------------------------------------------------------------- payment
class FeeSchedule(Strict):
    """Fee-for-service prices relative to providers' resource cost: the margin on each item."""

    services_margin: float = param(0.25, "Mark-up of fees for tests, imaging and procedures over their cost.",
                                   "share of cost", "assumption: tests and imaging priced above cost", ge=-0.9,
                                   kind="assumed", range=(0.0, 0.5))
    drugs_margin: float = param(
        0.15, "Effective margin on drugs (zero mark-up since 2017; rebates and volume bonuses remain).",
        "share of cost", "assumption: zero mark-up since 2017, but rebates and volume bonuses remain", ge=-0.9,
        kind="assumed", range=(0.0, 0.3))
    consumables_margin: float = param(
        0.15, "Effective margin on consumables.", "share of cost", "assumption: as drugs, an effective margin from "
        "purchasing terms", ge=-0.9, kind="assumed", range=(0.0, 0.3))
    bed_day_margin: float = param(0.10, "Margin of the bed-day fee plus daily nursing over their cost.",
                                  "share of cost", "assumption: bed fees set near or below cost", ge=-0.9,
                                  kind="assumed", range=(-0.2, 0.2))


class DRG(Strict):
    """Diagnosis-related groups (按病种分组付费): a fixed payment per inpatient case by its group."""

    base_rate_yuan: float | None = param(
        None, "Payment for a case of relative weight 1 at county-hospital prices; each facility's payment is "
        "multiplied by its level's price_level (the level coefficient). null = budget-neutral: the mean "
        "guideline inpatient bill of the catalogue's admissions at county prices.", "yuan/case",
        "assumption: budget neutrality at guideline care, as DRG pilots set base rates from history", gt=0,
        kind="lever")
    outlier_threshold: float = param(
        2.5, "A case whose bill exceeds this multiple of its DRG payment is a high-cost outlier.", "ratio",
        "assumption, typical of CHS-DRG local rules (2-3x)", gt=1,
        kind="lever")
    outlier_share: float = param(
        0.7, "Share of the bill above the outlier threshold that the fund pays on top of the DRG payment.",
        "share", "assumption", ge=0, le=1,
        kind="lever")
    audit_rate: float = param(
        0.05, "Share of DRG claims the fund audits for coding; an upcoded claim found is recovered and fined.",
        "share of claims", "assumption", ge=0, le=1,
        kind="lever")
    penalty_multiple: float = param(
        2.0, "Fine on an upcoded claim found by audit, as a multiple of the overpayment (on top of recovering "
        "it).", "x overpayment", "Regulations on the supervision of medical insurance funds (2021): fines of "
        "2-5x the amount obtained", ge=0,
        kind="lever")
    admission_review_rate: float = param(
        0.0, "Share of DRG admissions the fund reviews before paying; a reviewed admission that was not "
        "needed (its admission benefit is negative) is not paid by the fund.", "share of admissions",
        "policy lever (0 = no review)", ge=0, le=1,
        kind="lever")
    rebase_days: int | None = param(
        None, "Days between re-basings of the base rate: at the end of each period the base rate becomes (the fund's "
        "DRG budget for the period + DRG patients' payments) / the coded weights of the period's DRG cases at their "
        "level coefficients, for the next period; in a city of several counties over every county's cases. null = "
        "the base rate stays as given.", "days", "CHS-DRG technical specification (National Healthcare Security "
        "Administration, 2020): the base rate (费率) is the year's inpatient fund budget over the expected total DRG "
        "weight, set by the pooling region (the city); the period is the scenario's choice", ge=1, le=3650,
        kind="lever")
    fund_budget_per_resident_year_yuan: float = param(
        880, "Fund budget for inpatient care paid by DRG, per resident-year, from which the base rate is re-based "
        "(only with rebase_days).", "yuan/resident-year",
        "assumption: as DIP's budget, near the baseline county's fee-for-service inpatient fund spending", gt=0,
        kind="lever")


class DIP(Strict):
    """Diagnosis-intervention packet (按病种分值付费): cases earn points; a point's money value is set at each
    settlement from the regional budget, so one hospital's extra volume lowers every hospital's price."""

    fund_budget_per_resident_year_yuan: float = param(
        880, "Fund budget for inpatient care paid by DIP, per resident-year. The point value of a period is "
        "(budget + patients' payments for DIP cases) / points earned.", "yuan/resident-year",
        "assumption: near the baseline county's fee-for-service inpatient fund spending (about nine tenths of "
        "its fund spending of 974 yuan per resident-year, measured with `triangle run scenarios/baseline.yaml "
        "--replicates 2`)", gt=0,
        kind="lever")
    settlement_days: int = param(30, "Days between settlements of the point value.", "days",
                                 "monthly settlement with annual clearing, as in most DIP regions", ge=1,
                                 le=365,
                                 kind="lever")
    initial_point_value_yuan: float | None = param(
        None, "Point value providers expect before the first settlement. null = the DRG base rate / 100 "
        "(budget neutral at guideline care).", "yuan/point", "assumption: providers expect the budget-neutral point "
        "value at guideline care", gt=0,
        kind="assumed")


HISTORY_DAYS = 30  # the least history a budget set from history may be set from (days)


class GlobalBudget(Strict):
    """A prospective budget to the medical community (医共体总额付费): it pays its members' claims and its
    residents' out-of-county care from the budget, and keeps or bears part of the difference."""

    budget_per_resident_year_yuan: float | None = param(
        915, "Fund budget per covered resident-year; it must also pay for residents' out-of-county care. "
        "null = from history: the fund's claims per resident-year over the run before the budget began, "
        "times (1 + growth_on_history) (the budget must then begin on the timeline, after at least "
        "history_days).", "yuan/resident-year", "assumption: a budget set to save, ~6% below the baseline "
        "county's fee-for-service fund spending (974 measured with `triangle run scenarios/baseline.yaml "
        "--replicates 2`)", gt=0,
        kind="lever")
    growth_on_history: float = param(
        0.0, "Growth of a budget set from history over the claims it is set from (negative: a budget set to "
        "save).", "share", "assumption: Sanming's counties' budgets followed the year before's fund spending "
        "(seed 002: Youxi's saving is counted against the same months of the year before)", ge=-0.5, le=1,
        kind="lever")
    savings_retained_share: float = param(
        1.0, "Share of a year's saving (budget - claims) the community keeps.", "share",
        "DOMAIN.md: 结余留用 (savings retained), Sanming and Youxi", ge=0, le=1,
        kind="lever")
    overspend_shared_share: float = param(
        1.0, "Share of a year's overspend the community bears (1 = 超支不补, overspend not covered).",
        "share", "DOMAIN.md: 超支不补 (overspend not covered), Sanming", ge=0, le=1,
        kind="lever")
    settlement_days: int = param(365, "Days between settlements of the budget.", "days", "annual settlement",
                                 ge=30, le=3650,
                                 kind="lever")


class Capitation(Strict):
    """A sum per enrolled resident for primary outpatient care (按人头付费), enrolled through family doctors."""

    yuan_per_enrolled_year: float = param(
        180, "Fund payment per enrolled resident-year for outpatient care at their own village clinic and "
        "township centre.", "yuan/enrolled resident-year",
        "assumption: above the fund's fee-for-service outpatient spending at every level (~120 yuan per "
        "resident-year, measured on a 30,000-resident baseline county), as contracts also pay for "
        "management", ge=0,
        kind="lever")
    enrolment_share: float = param(
        0.43, "Share of residents enrolled (contracted with a family doctor team).", "share",
        "DOMAIN.md (Xiangtan): 43% of households contracted", ge=0, le=1,
        kind="lever")
    township_share: float = param(
        0.5, "Share of each enrollee's capitation paid to the township centre (the rest to the village "
        "clinic).", "share", "assumption", ge=0, le=1,
        kind="lever")


class PerDiem(Strict):
    """Payment per inpatient bed-day (按床日付费), as insurers pay long-stay psychiatric and rehabilitation care:
    an inpatient case earns the rate x its bed-days x its facility's level coefficient, whatever its items;
    outpatient care stays fee-for-service."""

    yuan_per_bed_day: float | None = param(
        None, "Payment per inpatient bed-day at county-hospital prices; each facility's rate is multiplied by "
        "its level's price_level (the level coefficient). null = budget neutral: the mean guideline inpatient "
        "bill of the catalogue's admissions per guideline bed-day, at county prices (about 1,550 yuan with the "
        "default catalogue). Plausible range: 0.5-1.5 x the budget-neutral rate (the national hospital mean, "
        "10,316 yuan per admission over 8.8 days, is about 1,170 yuan per bed-day).", "yuan/bed-day",
        "assumption: budget neutrality at guideline care, as per-diem rates are set from a period's inpatient "
        "spending per bed-day; DOMAIN.md (2023 statistical bulletin) for the national figure", gt=0,
        kind="lever")


class PaymentByLevel(Strict):
    """Per-level claim models overriding `model` (null = follow `model`)."""

    village: ClaimModel | None = None
    township: ClaimModel | None = None
    county: ClaimModel | None = None
    out_of_county: ClaimModel | None = None


class Payment(Strict):
    model: PaymentModel = param(
        "fee_for_service", "How the insurance fund pays providers: fee_for_service (every item and bed-day), "
        "drg and dip (inpatient cases by group or points; outpatient care stays fee-for-service), capitation "
        "(primary outpatient care of enrolled residents; the rest fee-for-service), per_diem (inpatient care "
        "by bed-day; outpatient care stays fee-for-service), global_budget (the in-county facilities form a "
        "medical community paid a budget per resident; claims inside it are valued fee-for-service unless "
        "`by_level` says otherwise).", "choice", "policy lever",
        kind="lever")
    by_level: PaymentByLevel = param(
        PaymentByLevel(), "Per-level mixes, e.g. {village: capitation, township: capitation, county: drg}. "
        "Capitation is allowed at village and township only.", "choice (null = follow model)", "policy lever",
        kind="lever")
    fee_schedule: FeeSchedule = FeeSchedule()
    drg: DRG = DRG()
    dip: DIP = DIP()
    global_budget: GlobalBudget = GlobalBudget()
    capitation: Capitation = Capitation()
    per_diem: PerDiem = PerDiem()

    @model_validator(mode="after")
    def _capitation_is_primary(self) -> Payment:
        for level in ("county", "out_of_county"):
            if getattr(self.by_level, level) == "capitation":
                raise ValueError(f"by_level.{level} = 'capitation': capitation pays primary care; allowed at "
                                 "village and township only")
        return self

    def claim_model(self, level: str) -> str:
        """How claims of a facility of this level are valued."""
        chosen = getattr(self.by_level, level)
        if chosen is not None:
            return chosen
        if self.model in BUDGET_MODELS:
            return "fee_for_service"
        if self.model == "capitation":
            return "capitation" if level in ("village", "township") else "fee_for_service"
        return self.model


# --------------------------------------------------------------------------------------------- behaviour
class ProviderBehaviour(Strict):
    profit_weight: float = param(
        0.5, "Weight the provider (doctor and facility) puts on its margin, relative to benefit_weight on the "
        "patient's benefit (Ellis & McGuire). 0 = providers weigh only patient benefit.", "dimensionless",
        "fitted by `triangle calibrate` (seeds/calibration.yaml; value in seeds/calibrated.yaml), chiefly to "
        "national_length_of_stay and xiangtan_drg_cost_per_admission (seeds/facts.yaml); the provider objective of "
        "Ellis & McGuire (1986)", ge=0, le=10,
        kind="calibrated", range=(0.2, 1.0), fit="calibrate")
    benefit_weight: float = param(1.0, "Weight on the patient's health benefit valued in yuan.", "dimensionless",
                                  "normalisation: the other weights are relative to it", gt=0, le=10,
                                  kind="setting")
    value_per_daly_yuan: float = param(
        90_000, "Money value providers put on a disability-adjusted life year of their patient.", "yuan/DALY",
        "China GDP per capita 2023 ~89,000 yuan, the usual 1x threshold", gt=0,
        kind="sourced")
    overtreatment_harm: float = param(
        0.6, "Curvature of outcome risk above guideline intensity: risk x (1 + h (q-1)^2) for q > 1.",
        "per (intensity ratio)^2", "assumption (iatrogenic harm, resistance), not fitted: with profit_weight it sets "
        "how far fee-for-service raises intensity", ge=0,
        kind="assumed", range=(0.2, 1.5))
    undertreatment_harm: float = param(
        1.5, "Curvature of outcome risk below guideline intensity: risk x (1 + h (1-q)^2) for q < 1.",
        "per (intensity ratio)^2", "assumption, not fitted: above overtreatment_harm, as too little care harms more "
        "than too much", ge=0,
        kind="assumed", range=(0.5, 3.0))
    overstay_harm: float = param(
        0.2, "Curvature of readmission and complication risk above the clinical stay (hospital infection, "
        "deconditioning).", "per (stay ratio)^2", "assumption, not fitted: a few extra days add little risk "
        "(hospital infection, deconditioning); with profit_weight it sets fee-for-service stays", ge=0,
        kind="assumed", range=(0.05, 0.6))
    understay_harm: float = param(
        15.0, "Curvature of readmission and complication risk below the clinical stay (early discharge).",
        "per (stay ratio)^2", "fitted by `triangle calibrate` (seeds/calibration.yaml; value in "
        "seeds/calibrated.yaml), chiefly to xiangtan_drg_length_of_stay (seed 000: DRG brought mean stays from 9 to "
        "7.2 days)", ge=0,
        kind="calibrated", range=(5.0, 30.0), fit="calibrate")
    min_intensity: float = param(
        0.3, "Lowest intensity a provider may choose.", "ratio to guideline",
        "assumption: the least care a provider would give; binds only at extreme incentives", gt=0, le=1,
        kind="assumed", range=(0.2, 0.6))
    max_intensity: float = param(
        3.0, "Highest intensity a provider may choose.", "ratio to guideline",
        "assumption: the most care a provider would give; binds only at extreme incentives", ge=1,
        kind="assumed", range=(2.0, 5.0))
    min_stay: float = param(
        0.4, "Shortest stay a provider may choose.", "ratio to clinical stay",
        "assumption: the shortest stay a provider would choose; binds only at extreme incentives", gt=0, le=1,
        kind="assumed", range=(0.25, 0.7))
    max_stay: float = param(
        2.5, "Longest stay a provider may choose.", "ratio to clinical stay",
        "assumption: the longest stay a provider would choose; binds only at extreme incentives", ge=1,
        kind="assumed", range=(1.5, 4.0))
    referral_friction_yuan: float = param(
        150, "Provider's cost of referring a case up (paperwork, transfer, loss of face).", "yuan",
        "assumption: paperwork, transfer and loss of face cost about what a visit earns", ge=0,
        kind="assumed", range=(0, 500))
    bed_shadow_price_yuan: float = param(
        150, "Shadow price of a bed-day at full occupancy; scales with occupancy above bed_pressure_start_occupancy.",
        "yuan/bed-day",
        "assumption: a fraction of a bed-day's price (~1,170 yuan in hospitals nationally: 10,316 yuan per admission "
        "over 8.8 days, DOMAIN.md)", ge=0,
        kind="assumed", range=(50, 500))
    bed_pressure_start_occupancy: float = param(
        0.85, "Bed occupancy above which a hospital feels its beds scarce: the shadow price of a bed-day rises "
        "linearly from 0 here to bed_shadow_price_yuan at full occupancy.", "share",
        "assumption resting on Bagust, Place & Posnett 1999 (BMJ 319:155-158): in their stochastic model of emergency "
        "admissions, bed shortages begin to recur above about 85% average occupancy", gt=0, lt=1,
        kind="assumed", range=(0.75, 0.95))
    leader_tie_weight: float = param(
        0.33, "Weight a member facility of a medical community puts on the community's result for each unit of its "
        "leaders' jobs that depend on it: its directors appointed and assessed by the lead hospital (1 under tight "
        "integration, 0 under loose or none; sim.core.pay.community_weight adds it to the share of the facility's "
        "income tied to the community's result, policies.integration.income_tie).", "share",
        "fitted by `triangle calibrate` (seeds/calibration.yaml; value in seeds/calibrated.yaml), chiefly to "
        "youxi_fund_saving (seed 002: Youxi's township centres became branches of the general hospital; seed 001: "
        "Linxiang's group replaced two township directors after assessment); prior 0-0.5, since the weight on the "
        "community is capped at 1 and the default income tie is 0.5", ge=0, le=1,
        kind="calibrated", range=(0.0, 0.5), fit="calibrate")
    income_effect_elasticity: float = param(
        0.0, "Target-income behaviour: a facility whose recent revenue fell below its reference revenue puts "
        "the weight profit_weight x (reference / recent)^elasticity on its margin, and makes up volume "
        "(sim.policies.procurement); no change when revenue is at or above the reference. 0 = no income effect.",
        "dimensionless", "Evans (1974), Rice (1983), McGuire & Pauly (1991); loss-averse reference income: "
        "Rizzo & Zeckhauser (2003); assumption: 0 by default, 1 as a study value (Yip 1998: surgeons made up "
        "~70% of a Medicare fee cut with volume)", ge=0, le=5,
        kind="assumed", range=(0.0, 1.0))
    income_reference_days: float = param(
        365, "Time scale of the reference revenue (a facility's moving average of daily revenue).", "days",
        "assumption: last year's income", gt=1,
        kind="assumed", range=(180, 730))
    income_recent_days: float = param(
        30, "Time scale of the recent revenue compared with the reference.", "days",
        "assumption: a month's income", gt=1,
        kind="assumed", range=(14, 90))
    income_effect_max: float = param(
        3.0, "Largest multiple the income effect can put on profit_weight.", "ratio",
        "assumption: caps the weight on margin when revenue collapses", ge=1,
        kind="assumed", range=(1.5, 5.0))
    upcoding_scruple_yuan: float = param(
        12_000, "Mean non-monetary cost to a provider of coding a case into a heavier group than its severity "
        "(ethics, reputation); each case's scruple is drawn from an exponential with this mean, and the case "
        "is coded up when profit_weight x the expected gain after audits and fines exceeds it.", "yuan",
        "assumption: set by hand so that ~15% of DRG discharges are coded up at the default audit rate, a share that "
        "is itself assumed, not measured", ge=0,
        kind="assumed", range=(4000, 30000))
    min_consultation_share: float = param(
        0.4, "Shortest consultation a provider will give, as a share of the normal length: the floor of its "
        "choice of pace when more patients wait than its clinic hours allow at the normal pace.", "share",
        "assumption; plausible range 0.25-0.6 (consultations of 1-3 minutes are reported in crowded Chinese "
        "clinics)", gt=0, le=1,
        kind="assumed", range=(0.25, 0.6))
    missed_diagnosis_per_shortening: float = param(
        0.3, "Extra probability that a consultation misses the right diagnosis and treatment, per unit of "
        "shortening (1 - consultation length / outcomes.adequate_consultation_minutes, when positive); a missed "
        "case meets outcomes.untreated_risk_ratio on its risks. Half the adequate length adds 0.15.",
        "probability", "assumption; plausible range 0.1-0.5: "
        "standardized-patient studies find correct diagnosis rising with consultation length and checklist "
        "completion (Sylvia et al., Health Policy Plan 2015;30:322; Das et al., Health Aff 2012;31:2774)",
        ge=0, le=2,
        kind="assumed", range=(0.1, 0.5))
    doctor_margin_share: float = param(
        0.7, "Part of profit_weight that is the doctors' own, through the share of their facility's surplus paid "
        "to them as a bonus (facilities.<level>.surplus_bonus_share); the rest is the facility's, a director "
        "minding the balance. A facility weighs margin by profit_weight x (1 - share + share x its surplus bonus "
        "share / pay_reference_bonus_share): paying doctors less of the surplus, or an annual salary "
        "(policies.salary_reform), leaves only the facility's part.", "share",
        "assumption; plausible range 0.4-0.9 (doctors' bonuses were most of public hospital pay before the "
        "Sanming reform, DOMAIN.md)", ge=0, le=1,
        kind="assumed", range=(0.4, 0.9))
    pay_reference_bonus_share: float = param(
        0.3, "The surplus bonus share at which profit_weight is stated (the default of every level).", "share",
        "normalisation: profit_weight is stated at the pay of township centres and hospitals", gt=0, le=1,
        kind="setting")
    followup_max_visits: int = param(
        3, "Most return visits a provider may ask of one outpatient episode (a course of treatment; a later visit "
        "is a new episode). The provider asks back while the next return's value to it is positive: "
        "profit_weight x its margin + benefit_weight x (value_per_daly_yuan x the risk it averts - the patient's "
        "burden) (sim.behaviour.provider).", "visits", "assumption; plausible range 2-6", ge=0, le=10,
        kind="assumed", range=(2, 6))
    followup_interval_days: int = param(
        7, "Days between an outpatient visit and the return visit asked, and between returns.", "days",
        "assumption: a weekly review; plausible range 3-14", ge=1, le=60,
        kind="assumed", range=(3, 14))
    followup_burden_yuan: float = param(
        40.0, "What a return visit costs the patient apart from its copayment (half a day's time and the trip), "
        "as the provider weighs it on the patient's behalf.", "yuan/visit",
        "assumption: half a day of the 2023 rural per-capita disposable income (21,691 yuan/year, national "
        "statistical bulletin, ~30 yuan) plus a trip (~10 yuan); plausible range 20-100", ge=0,
        kind="assumed", range=(20.0, 100.0))

    @model_validator(mode="after")
    def _recent_within_reference(self) -> ProviderBehaviour:
        if self.income_recent_days >= self.income_reference_days:
            raise ValueError(f"income_recent_days = {self.income_recent_days} must be shorter than "
                             f"income_reference_days = {self.income_reference_days} (recent revenue is compared "
                             "with the longer-run revenue a facility is used to)")
        return self


class ResidentBehaviour(Strict):
    price_sensitivity: float = param(
        0.8, "How strongly demand answers price: utility a care option loses each time its expected out-of-pocket "
        "cost doubles, above price_reference_yuan (relative thinking: 50 yuan weighs on a 20-yuan visit, hardly "
        "on a 5,000-yuan stay). The disutility of an out-of-pocket cost x is price_sensitivity x log2(1 + x / "
        "price_reference_yuan) (sim.behaviour.care_seeking), for facilities and self-care alike. 0 = residents "
        "ignore prices.", "utility/doubling of out-of-pocket cost",
        "fitted by hand so that the baseline county's arc elasticity of visits with respect to their out-of-pocket "
        "price, between 100% reimbursement without deductibles and 5% reimbursement, is about -0.3 (measured -0.27 "
        "to -0.33; tests/test_demand.py), within the sourced range -0.1 to -0.7: about -0.2 in the RAND Health "
        "Insurance Experiment (Manning et al. 1987, Am. Econ. Rev. 77: 251-277; Aron-Dine, Einav & Finkelstein "
        "2013, J. Econ. Perspect. 27: 197-222) and -0.52 (95% CI -0.70 to -0.34) for the probability of an "
        "outpatient visit in rural China (Zhou et al. 2011, Health Policy 103: 255-265); prior range 0.3-1.35, "
        "which spans that range on the baseline county (-0.10 at 0.3, -0.70 at 1.35)", ge=0, le=20,
        kind="calibrated", range=(0.3, 1.35), fit="hand")
    price_reference_yuan: float = param(
        5.0, "Out-of-pocket cost below which residents count yuan for yuan and above which they weigh a price "
        "in proportion to its size.", "yuan",
        "assumption, range 2-20 yuan (a few yuan: the smallest sum a rural household counts); relative thinking: "
        "Tversky & Kahneman 1981 (Science 211: 453-458), Bushong, Rabin & Schwartzstein 2021 (Rev. Econ. Stud. "
        "88: 2313-2341)", gt=0, le=100_000,
        kind="assumed", range=(2, 20))
    self_care_utility: float = param(
        1.2, "Utility of treating a mild episode oneself (home remedies, a pharmacy), before its cost; open to "
        "conditions the catalogue marks self_care, never to time-critical ones.", "utility",
        "fitted by `triangle calibrate` (seeds/calibration.yaml; value in seeds/calibrated.yaml), chiefly to "
        "national_visits_per_capita (6.8 visits per resident-year, 2023 bulletin); the default is the hand fit it "
        "started from", ge=-20, le=20,
        kind="calibrated", range=(0.0, 3.0), fit="calibrate")
    self_care_severity_penalty: float = param(
        1.5, "Utility lost from self-care per step of severity and per level of care the case needs (a worse "
        "illness, or one that needs a township centre or a hospital, is felt to need a doctor).", "utility",
        "assumption, below forgo_severity_penalty (self-care treats some of what going without does not); "
        "range 0.5-3", ge=0,
        kind="assumed", range=(0.5, 3.0))
    travel_sensitivity: float = param(
        0.8, "Utility lost per hour of travel.", "utility/hour", "assumption, not fitted: an hour of travel weighs "
        "about as much as a doubling of the price at the default price_sensitivity", ge=0, kind="assumed",
        range=(0.3, 2.0))
    wait_sensitivity: float = param(
        0.4, "Utility lost per day of expected waiting.", "utility/day", "assumption, not fitted: a day of expected "
        "waiting weighs about half an hour of travel", ge=0, kind="assumed", range=(0.1, 1.0))
    capability_preference: float = param(
        1.2, "Utility gained per level of facility capability, per level of case need (severity-dependent "
        "preference for bigger hospitals).", "utility/level^2", "assumption, not fitted: the severer the case, the "
        "more residents prefer a bigger hospital (the siphon, DOMAIN.md)", ge=0,
        kind="assumed", range=(0.5, 2.5))
    trust_initial: ByLevel = param(
        ByLevel(village=1.1, township=0.7, county=2.7, out_of_county=3.0),
        "Mean initial trust in each level (utility).", "utility",
        "assumption: trust in primary care is low after years of siphoning (DOMAIN.md); the village, township and "
        "county values are fitted by `triangle calibrate` (seeds/calibrated.yaml), the out-of-county value by hand",
        kind="assumed",
        leaves={**{level: {"kind": "calibrated", "fit": "calibrate", "range": rng, "source":
                           "fitted by `triangle calibrate` (seeds/calibration.yaml; value in seeds/calibrated.yaml) "
                           "to where residents go: national_primary_visit_share (~52% of visits at primary level), "
                           "national_township_visit_share (township centres 1.31 of primary care's 2.71 bn visits) "
                           "and national_township_bed_turnover (39.9 M township admissions into 1.51 M beds; all "
                           "seeds/facts.yaml, 2023 bulletin)"}
                   for level, rng in (("village", (0.3, 2.0)), ("township", (0.3, 2.0)), ("county", (1.0, 4.0)))},
                "out_of_county": {"kind": "calibrated", "fit": "hand", "range": (1.0, 4.0), "source":
                                  "fitted by hand, with prices weighed as price_sensitivity says, so that about nine "
                                  "in ten treated episodes stay in the county (the national target of 90% in-county "
                                  "care)"}})
    trust_sd: float = param(
        0.5, "Spread of initial trust between residents.", "utility", "assumption: residents differ in trust by less "
        "than primary care and hospitals differ", ge=0, kind="assumed", range=(0.2, 1.0))
    forgo_utility: float = param(
        -1.0, "Utility of not seeking care for a mild case that needs no more than a village clinic; severe "
        "cases lose forgo_severity_penalty per severity step, and cases needing more forgo_need_penalty per "
        "level of need.", "utility", "assumption, range -2 to 0: below self-care, which treats what going "
        "without does not", le=20, ge=-20,
        kind="assumed", range=(-2.0, 0.0))
    forgo_severity_penalty: float = param(
        2.5, "Utility lost from forgoing per severity step.", "utility", "assumption: above "
        "self_care_severity_penalty, as going without treats nothing", ge=0, kind="assumed", range=(1.0, 4.0))
    forgo_need_penalty: float = param(
        4.0, "Utility lost from forgoing per level of care the case needs (its catalogue need_level: 0 a village "
        "clinic, 1 a township centre, 2 a county hospital, 3 a tertiary one): residents know that a birth, a "
        "fracture, a cancer or a dialysis session needs a doctor whatever it costs.", "utility",
        "assumption, range 2-6: enough that a case needing a hospital seldom goes without for its price (RAND and "
        "rural Chinese studies find admissions less price-elastic than visits)", ge=0,
        kind="assumed", range=(2.0, 6.0))
    patience_days: float = param(
        4.0, "Mean days a mild case is willing to wait before re-choosing; severe cases wait less.",
        "days", "assumption: a mild case waits some days before trying elsewhere", gt=0, kind="assumed",
        range=(1.0, 10.0))
    max_rechoices: int = param(2, "Times an episode may leave a queue and choose again before forgoing.",
                               "count", "assumption: a few attempts before giving up", ge=0, le=10,
                               kind="assumed", range=(1, 4))
    elective_patience_days: float = param(
        60.0, "Mean days an elective (non-urgent) patient admitted to a hospital's waiting list waits for a bed "
        "before giving up or choosing again (each patient's own exponential draw times this).", "days",
        "assumption; plausible range 14-180 (elective lists in tax-funded systems run weeks to months)", gt=0,
        kind="assumed", range=(14, 180))
    cost_belief_learning_rate: float = param(
        0.05, "Weight of one day's mean bill (and admission rate) of a kind of case at a level in what residents "
        "expect it to cost: belief <- (1 - rate) x belief + rate x today's mean where such cases were seen.",
        "share/day", "assumption: price expectations follow bills over weeks to months (a time scale of ~20 days "
        "where cases are seen daily); plausible range 0.01-0.2", gt=0, le=1,
        kind="assumed", range=(0.01, 0.2))
    price_expectation_refresh_days: int = param(
        7, "Days between residents' updates of the out-of-pocket price they expect at each level (their beliefs "
        "learn daily; what they weigh when choosing is refreshed this often, and at once when insurance rules "
        "change).", "days", "assumption: word of prices travels about weekly; plausible range 1-30", ge=1, le=365,
        kind="assumed", range=(1, 30))
    wait_memory_days: float = param(
        30.0, "Time scale over which residents' expectation of a facility's wait follows the waits its "
        "patients had (its reputation for crowding); residents do not see today's queue before they go.",
        "days", "assumption; plausible range 7-90", gt=0,
        kind="assumed", range=(7, 90))
    trust_learning_rate: float = param(
        0.5, "Change in a resident's trust in a level per unit of outcome surprise (expected minus realised "
        "bad outcome, in outcome units) from their own episode.", "utility/outcome", "assumption: one's own outcome "
        "moves one's trust noticeably, by less than primary care and hospitals differ", ge=0,
        kind="assumed", range=(0.1, 1.0))
    word_of_mouth_rate: float = param(
        0.02, "Change in a village's shared opinion of a level per unit of outcome surprise among its "
        "residents' episodes.", "utility/outcome", "assumption: a village's shared opinion moves slowly, a "
        "neighbour's episode counting far less than one's own", ge=0,
        kind="assumed", range=(0.005, 0.05))
    trust_memory_days: float = param(
        730, "Time scale on which trust returns toward its initial value.", "days",
        "assumption: trust returns toward where it started over about two years", gt=0,
        kind="assumed", range=(365, 1825))
    capability_memory_days: float = param(
        365, "Time scale on which residents forget what they saw happen to patients at a facility when judging "
        "what it can treat (its perceived capability, sim.behaviour.perception). 0 = no memory: residents judge every "
        "facility by its level's capability in the scenario in force, as if told.", "days",
        "assumption: news of a centre's cures and failures travels over about a year (DOMAIN.md: trust moves "
        "only as fast as outcomes and word of mouth allow)", ge=0,
        kind="assumed", range=(90, 730))
    capability_gain_preference: float = param(
        1.0, "Utility per level of a facility's perceived capability above its level's reputation (below: a "
        "loss), for every case, mild ones too: residents prefer a centre that has shown it can treat more, "
        "since its doctors are better. Acts only through learned capability (capability_memory_days > 0).",
        "utility/level", "fitted by `triangle calibrate` (seeds/calibration.yaml; value in seeds/calibrated.yaml), "
        "chiefly to xiangtan_primary_visits (seed 000: primary visits +48.68% after senior doctors were posted); of "
        "the order of capability_preference", ge=0, le=20,
        kind="calibrated", range=(0.0, 4.0), fit="calibrate")
    capability_prior_outcomes: float = param(
        20, "Weight of the level's reputation (the starting scenario's capability of the facility's level) in "
        "a facility's perceived capability, counted as bad outcomes (deaths or complications) expected and seen "
        "among cases needing more than that capability: how much evidence residents need before they believe "
        "a centre has changed (half the way after this many expected bad outcomes).", "bad outcomes",
        "assumption: a centre keeping its severe cases expects about 100 such outcomes a year in a county of "
        "30,000, so residents are half convinced within a quarter or two", gt=0,
        kind="assumed", range=(5, 60))


class StaffBehaviour(Strict):
    """Doctors moving between township centres and county hospitals (the siphon of staff, 虹吸)."""

    mobility_rate: float = param(
        0.0, "Share of a level's doctors who move to the other level in a month per gap_scale_yuan of net "
        "pull (the other level's income plus prestige, less one's own income, less the moving cost); the "
        "flow is linear in the pull. 0 = no one moves.", "share/month",
        "assumption: the baseline county is stationary; set > 0 to study the siphon", ge=0, le=1,
        kind="assumed", range=(0.0, 0.05))
    prestige_premium_yuan: float = param(
        20_000, "What a doctor would give up each year to work at a county hospital rather than a township "
        "centre (career, training, status), added to the county's income.", "yuan/doctor-year",
        "assumption: about a third of a township doctor's base pay", ge=0,
        kind="assumed", range=(0, 50000))
    moving_cost_yuan: float = param(
        10_000, "Yearly-equivalent cost of moving (family, housing, seniority lost): the net pull must exceed "
        "it before anyone moves.", "yuan/doctor-year", "assumption: a fraction of a township doctor's yearly pay", ge=0,
        kind="assumed", range=(0, 30000))
    gap_scale_yuan: float = param(
        100_000, "Net pull (beyond the moving cost) at which the monthly flow is mobility_rate.",
        "yuan/doctor-year", "assumption: about the county hospital's income per doctor", gt=0,
        kind="assumed", range=(50000, 200000))
    min_doctors_share: float = param(
        0.2, "Share of its scenario doctors a facility keeps whatever the pull (posts that are never left "
        "empty).", "share", "assumption: a centre keeps a core of local staff whatever the pull", ge=0, le=1,
        kind="assumed", range=(0.1, 0.5))


class CommunityBehaviour(Strict):
    """How a medical community under a global budget manages its instruments (``sim.payment.instruments``):
    at each review it chooses how many county doctors to post to township centres and whether to run a referral
    platform, to maximise what it keeps of its savings less what the instruments cost, expecting savings from
    the claims it has observed (adaptive expectations)."""

    manages_instruments: bool = param(
        True, "Whether the community decides on its instruments at all (behaviour, not a lever: on whenever "
        "payment.model is global_budget; false leaves the instruments to the scenario's policies).", "switch",
        "DOMAIN.md: a community that pays its residents' out-of-county care wants them kept in the county and "
        "kept healthy",
        kind="assumed")
    review_days: int = param(
        90, "Days between the community's reviews of its instruments (the first at the end of the first "
        "period, which also sets the reference claims without instruments).", "days",
        "assumption: quarterly management reviews", ge=7, le=730,
        kind="assumed", range=(30, 365))
    expectation_learning_rate: float = param(
        0.5, "Weight of the latest review's observed saving in the community's expectation of a choice's saving "
        "(adaptive expectations): E <- E + rate x (observed - E); also the rate at which the reference claims "
        "and the scale of its first estimates follow what it sees.", "share", "assumption, not fitted: the latest "
        "review counts about as much as all before it",
        gt=0, le=1,
        kind="assumed", range=(0.2, 0.9))
    max_posted_per_township: int = param(
        4, "Most county doctors the community considers posting to each township centre (the choices are 0, 1, "
        "..., this many per centre; policies.sinking's max_county_share still caps the total).",
        "doctors/township centre", "assumption: four senior doctors bring a centre to county capability at "
        "policies.sinking.capability_gain_per_doctor 0.25; seed 002 (Youxi): a county doctor present at the "
        "township centres Monday to Saturday", ge=0, le=20,
        kind="assumed", range=(2, 8))
    posting_term_days: int = param(
        365, "Days a posting lasts once the community adds doctors: it does not call them back sooner, whatever "
        "one review shows.", "days", "assumption: yearly rotations; seed 002 (Youxi) counts time served at the "
        "township centres in the yearly assessment", ge=0, le=3650,
        kind="assumed", range=(180, 730))
    posted_doctor_allowance_yuan: float = param(
        36_000, "What the community pays a posted doctor on top of the home hospital's pay (allowance, travel), "
        "out of its budget.", "yuan/doctor-year", "assumption: about 3,000 yuan a month of allowance and "
        "travel for a doctor driving to a township centre (seed 002 describes a three-hour mountain drive)",
        ge=0,
        kind="assumed", range=(12000, 60000))
    platform_cost_yuan_per_resident_year: float = param(
        1.0, "What running the referral platform (staff, software) costs the community, out of its budget.",
        "yuan/resident-year", "assumption: a few staff and a software licence, some 300,000 yuan a year for a "
        "county of 300,000 (seed 001: Linxiang's smart referral platform)", ge=0,
        kind="assumed", range=(0.3, 3.0))
    max_capability_steps: int = param(
        4, "Most steps of county capability investment the community considers (the choices are 0, 1, ..., this "
        "many steps, each raising the county hospitals' capability by capability_gain_per_step).", "steps",
        "assumption: four steps bring the county hospitals (capability 2) to the out-of-county hospitals' (3)",
        ge=0, le=20,
        kind="assumed", range=(2, 8))
    capability_gain_per_step: float = param(
        0.25, "Levels of capability one step of investment adds to every county hospital (new departments, "
        "recruited specialists, equipment), while the investment is kept up.", "levels/step",
        "assumption: a quarter of the way from county to tertiary capability per step; seed 001 (Linxiang): five "
        "provincial key disciplines, 15 tertiary experts recruited, a cancer hospital built with the provincial "
        "one, grade 3-4 operations 53.5% of the county hospital's", ge=0, le=3,
        kind="assumed", range=(0.1, 0.5))
    capability_step_cost_yuan_per_resident_year: float = param(
        4.0, "What one step of county capability investment costs the community a year, out of its budget: "
        "recruited specialists' salaries and the depreciation of their equipment.", "yuan/resident-year/step",
        "assumption: about four specialists at 300,000 yuan a year and 800,000 yuan a year of equipment "
        "depreciation (some 6.4 million yuan over eight years) for a county of 500,000 (seed 001: Linxiang, "
        "15 experts and five key disciplines, is of this order over four steps)", ge=0,
        kind="assumed", range=(2.0, 10.0))
    capability_term_days: int = param(
        730, "Days an investment lasts once the community raises it: specialists' contracts and equipment are not "
        "undone sooner, whatever one review shows.", "days",
        "assumption: two-year contracts; equipment lasts longer", ge=0, le=3650,
        kind="assumed", range=(365, 1825))


class Behaviour(Strict):
    provider: ProviderBehaviour = ProviderBehaviour()
    resident: ResidentBehaviour = ResidentBehaviour()
    staff: StaffBehaviour = StaffBehaviour()
    community: CommunityBehaviour = CommunityBehaviour()


# --------------------------------------------------------------------------------------------- outcomes
class Outcomes(Strict):
    capability_risk_ratio: float = param(
        2.5, "Multiplier on death and complication risk per level of capability shortfall (case need minus "
        "facility capability).", "ratio per level", "assumption, not fitted, and no study cited: a case treated "
        "below the capability it needs runs a markedly higher risk (at 1 a shortfall would cost nothing)", ge=1,
        kind="assumed", range=(1.5, 4.0))
    untreated_risk_ratio: float = param(
        3.0, "Multiplier on death and complication risk of an episode that forgoes care; also of a treated case "
        "whose diagnosis was missed (behaviour.provider.missed_diagnosis_per_shortening).", "ratio",
        "assumption: an untreated or misdiagnosed case runs a few times a treated one's risk", ge=1,
        kind="assumed", range=(1.5, 5.0))
    adequate_consultation_minutes: float = param(
        10.0, "Consultation length a mild case needs for the right diagnosis and treatment (severer cases: times "
        "case_mix.consultation_severity_factor); consultations shorter than this miss more "
        "(behaviour.provider.missed_diagnosis_per_shortening), whether the facility hurries or its normal "
        "consultation is short.", "minutes", "assumption; plausible range 5-20 (primary-care consultations "
        "average under 10 minutes in much of the world and a few minutes in China: Irving et al., BMJ Open "
        "2017;7:e017902)", gt=0, le=120,
        kind="assumed", range=(5, 20))
    corridor_risk_ratio: float = param(
        1.2, "Multiplier on death and complication risk of an inpatient admitted to a corridor bed (no bed "
        "free): crowded wards and boarding delay care.", "ratio", "assumption; plausible range 1.0-1.8: Singer "
        "et al., Acad Emerg Med 2011;18:1324, in-hospital mortality 2.5% for emergency boarding under 2 h and "
        "4.5% over 12 h", ge=1,
        kind="assumed", range=(1.0, 1.8))
    self_care_risk_ratio: float = param(
        1.5, "Multiplier on death and complication risk of an episode treated at home or with pharmacy drugs "
        "when its condition is not self-limiting (a case that needed a doctor); self-limiting conditions keep "
        "their base risks.", "ratio", "assumption: between treated (1) and untreated (untreated_risk_ratio); "
        "range 1-3", ge=1,
        kind="assumed", range=(1.0, 3.0))
    continuity_risk_reduction: float = param(
        0.1, "Share of a contracted resident's risks of death and complication that their own family doctor's "
        "knowledge of them (history, medicines, home) averts when they are treated at their own village clinic "
        "or township centre (policies.family_doctor). Residents learn of it only through their outcomes "
        "(trust and perceived capability).", "share",
        "assumption, with the direction from studies of continuity of care: Pereira Gray et al., BMJ Open "
        "2018;8:e021161 (systematic review: continuity with a doctor goes with lower mortality in 18 of 22 "
        "studies); Barker et al., BMJ 2017;356:j84 (higher continuity, fewer admissions for ambulatory care "
        "sensitive conditions); plausible range 0-0.2", ge=0, le=1,
        kind="assumed", range=(0.0, 0.2))
    followup_risk_reduction: float = param(
        0.1, "Share of an outpatient episode's risk of death and complication a first return visit averts "
        "(a treatment adjusted, a complication caught early); each further return averts followup_benefit_decay "
        "times the one before, so returns together avert at most followup_risk_reduction / (1 - decay).",
        "share", "assumption; plausible range 0-0.3 (follow-up of chronic disease and after acute care lowers "
        "complications modestly; no Chinese estimate by visit)", ge=0, le=1,
        kind="assumed", range=(0.0, 0.3))
    followup_benefit_decay: float = param(
        0.5, "Ratio of the risk each further return visit averts to the risk the one before averted.", "ratio",
        "assumption; plausible range 0.3-0.8 (diminishing returns of repeated review)", ge=0, lt=1,
        kind="assumed", range=(0.3, 0.8))
    readmission_window_days: int = param(30, "Window in which a return admission counts as a readmission.",
                                         "days", "the standard definition of a readmission (30 days)", ge=1, le=365,
                                         kind="setting")
    complication_daly: float = param(
        0.3, "Health loss of a complication.", "DALY", "assumption: a complication costs a few months of healthy life",
        ge=0, kind="assumed", range=(0.1, 0.6))
    readmission_daly: float = param(0.1, "Health loss of a readmission (besides its own risks).", "DALY",
                                    "assumption: a readmission costs weeks of healthy life", ge=0,
                                    kind="assumed", range=(0.03, 0.3))
    admission_benefit_spread: float = param(
        0.5, "Spread between episodes of the health gained by admitting rather than treating as an "
        "outpatient, as a share of the case's clinical stakes (DALY at risk). The share of episodes with a "
        "positive gain is the catalogue's admission_need.", "share of stakes", "fitted by `triangle calibrate` "
        "(seeds/calibration.yaml; value in seeds/calibrated.yaml), chiefly to national_admissions_per_1000 (about 21 "
        "admissions per 100 residents, 2023 bulletin)", gt=0,
        kind="calibrated", range=(0.2, 2.0), fit="calibrate")
    untreated_daly_per_severity: float = param(
        0.01, "Health loss of an episode left without a doctor (forgone or self-cared) per severity step (1 mild .. "
        "3 severe); none for a self-limiting condition.", "DALY",
        "assumption: days of healthy life lost by an illness left without a doctor", ge=0,
        kind="assumed", range=(0.003, 0.03))
    complication_cost_share: float = param(
        0.5, "Extra cost of an inpatient complication, as a share of the case's guideline inpatient bill; "
        "billed under fee-for-service and paid through the with-complication DRG.", "share",
        "assumption: a complication adds about half the guideline bill", ge=0, le=5,
        kind="assumed", range=(0.2, 1.0))
    life_expectancy_years: float = param(78.6, "Life expectancy used for years of life lost.", "years",
                                         "2023 national statistical bulletin: 78.6", gt=0,
                                         kind="sourced")


class CaseMix(Strict):
    catalogue: str = param("bundled", "Condition catalogue file (YAML), or 'bundled' for sim/data/"
                           "conditions.yaml. A relative path is read from the scenario's folder.", "path",
                           "bundled catalogue",
                           kind="setting")
    incidence_scale: float = param(1.0, "Multiplier on every condition's incidence.", "ratio",
                                   "1 = the catalogue", gt=0, le=20,
                                   kind="setting")
    consultation_severity_factor: list[float] = param(
        [1.0, 1.5, 2.0], "Consultation minutes of a case of severity 0, 1, 2 relative to a mild case's.",
        "ratio", "assumption; plausible range 1-3 for the severest", min_length=3, max_length=3,
        kind="assumed", range=(1.0, 3.0))
    followup_visit_share: float = param(
        0.5, "A return visit's charges and doctor minutes relative to the first visit's (guideline items and "
        "consultation minutes): a review repeats part of the work.", "ratio", "assumption; plausible range "
        "0.3-0.8", ge=0, le=2,
        kind="assumed", range=(0.3, 0.8))
    consultation_cv2: float = param(
        0.5, "Squared coefficient of variation of consultation length within a facility's day (the "
        "variability term of the clinic queue, sim.kernels.queueing).", "dimensionless",
        "assumption; 1 is exponential service, 0 fixed; plausible range 0.2-1", ge=0, le=4,
        kind="assumed", range=(0.2, 1.0))
    cost_dispersion: float = param(
        0.3, "Spread of resource use between cases of the same condition and severity: each episode's bills "
        "are multiplied by a lognormal factor of mean 1 with this standard deviation of its logarithm; the "
        "treating provider sees it.", "sd of log", "assumption: within-DRG cost variation of ~30%", ge=0, le=2,
        kind="assumed", range=(0.1, 0.5))


# --------------------------------------------------------------------------------------------- policies
class SalaryReform(Strict):
    """Doctors paid an annual salary decoupled from revenue (年薪制, Sanming)."""

    enabled: bool = param(False, "Whether the doctors of the county's own facilities (village, township, county) "
                          "are paid an annual salary instead of a surplus bonus: their pay no longer moves with "
                          "their facility's surplus, so their decisions weigh margin only through the facility "
                          "(behaviour.provider.doctor_margin_share).", "switch", "policy lever",
                          kind="lever")
    salary_uplift: float = param(
        0.3, "Rise of base pay under the annual salary (bonuses are no longer paid from surplus).", "share",
        "assumption: Sanming raised doctors' pay when it introduced annual salaries (DOMAIN.md)", ge=0, le=5,
        kind="lever")
    bonus_pool_share: float = param(
        0.5, "Share of the medical community's retained savings paid to its doctors as a bonus for health "
        "results (allocated by good outcomes per doctor).", "share", "assumption", ge=0, le=1,
        kind="lever")


class Procurement(Strict):
    """Volume-based procurement (带量采购, 集采): procured drugs and consumables cost less and, under the zero
    mark-up policy, are sold for less (``sim.policies.procurement``)."""

    drug_price_cut: float = param(
        0.0, "Fall of the prices of drugs (both what the facility pays and what it charges).", "share",
        "DOMAIN.md: Xiangtan's procured drugs -53% (seed 000); national 333 drugs -50%+ (seed 004); "
        "policy lever (0 = no procurement)", ge=0, le=0.95,
        kind="lever")
    consumable_price_cut: float = param(
        0.0, "Fall of the prices of consumables (bought and charged).", "share",
        "DOMAIN.md: Xiangtan's procured consumables -69% (seed 000); national high-value consumables -80%+ "
        "(seed 004); policy lever", ge=0, le=0.95,
        kind="lever")
    drug_coverage: float = param(
        1.0, "Share of drug spending (at listed prices) in procured products; the cut applies to that share, so "
        "the average fall of drug prices is drug_price_cut x drug_coverage.", "share",
        "assumption (1 = every drug; national procurement covered about a third of public hospitals' drug "
        "purchases by 2022, as reported by the National Healthcare Security Administration)", ge=0, le=1,
        kind="lever")
    consumable_coverage: float = param(
        1.0, "Share of consumables spending in procured products (the cut applies to that share).", "share",
        "assumption (1 = every consumable; national rounds covered mostly high-value classes)", ge=0, le=1,
        kind="lever")
    primary_pass_through: float = param(
        0.0, "Share of the cuts that reaches village clinics and township centres when they do not buy "
        "through an integrated medical community (policies.integration: unified procurement passes the "
        "whole cut on). County and out-of-county hospitals always get the whole cut.", "share",
        "assumption: procurement contracts bind public hospitals first; primary facilities stock the "
        "essential-drug list and get procured products late unless the community buys for them "
        "(seed 001, Linxiang's unified purchasing)", ge=0, le=1,
        kind="assumed", range=(0.0, 0.5))


IntegrationLevel = Literal["none", "loose", "tight"]


class IncomeTie(Strict):
    """Share of a member facility's income tied to its medical community's result, by integration level."""

    none: Share = member("In a community formed only by a global budget (members keep their own books; the "
                         "retained savings are shared out among them).", "share")
    loose: Share = member("In a loose community (separate books, shared budget savings and counterpart support).",
                          "share")
    tight: Share = member("In a tight community (one account, 一本账: budgets and pay set by the community).",
                          "share")


class Integration(Strict):
    """The county medical community as one organisation (紧密型医共体, ``sim.policies.integration``): one account,
    shared diagnostic centres and unified procurement. Staff moves are ``policies.sinking``'s."""

    level: IntegrationLevel = param(
        "none", "none: facilities keep separate books (a global budget still forms a community); loose or tight: "
        "the in-county facilities form one community under every payment model. Each member weighs the "
        "community's result by how its income (income_tie) and, under tight integration, its leaders' jobs "
        "(behaviour.provider.leader_tie_weight) depend on it (sim.core.pay.community_weight).", "choice",
        "policy lever; DOMAIN.md (一本账, seeds 001, 004)",
        kind="lever")
    income_tie: IncomeTie = param(
        IncomeTie(none=0.5, loose=0.5, tight=0.5),
        "Share of a member facility's income (its budget and its staff's bonuses) that moves with the medical "
        "community's result rather than its own books, by integration level: how much of a yuan the community "
        "keeps or loses the member counts as its own.", "share",
        "assumption, not measured: half, from the budget's retained savings shared out to members (结余留用, "
        "seeds 000, 001, 002) under every level; what tight integration adds is that the lead hospital appoints "
        "and assesses members' leaders (人财物统一管理, seed 001's 七统一; seed 004), carried by "
        "behaviour.provider.leader_tie_weight, not by a larger income share",
        kind="assumed", range={"none": (0.2, 0.8), "loose": (0.2, 0.8), "tight": (0.2, 0.8)})
    shared_diagnostics: bool = param(
        True, "Whether the community's county hospitals read the township centres' lab tests, images and ECGs "
        "(shared lab, imaging and ECG centres).", "switch",
        "seed 000 (Xiangtan: shared lab, imaging and ECG diagnosis); seed 001 (Linxiang)",
        kind="lever")
    diagnostic_capability_gain: float = param(
        0.5, "Capability a township centre gains, for cases whose need does not exceed the county hospitals' "
        "capability, when its tests and images are read by the county's centres (capped at that capability).",
        "levels", "assumption: remote reading brings diagnosis, not treatment, to the county's level", ge=0,
        le=3,
        kind="assumed", range=(0.25, 1.0))
    ecg_identification_minutes: float = param(
        10.0, "Minutes a township centre needs to recognise acute chest pain when its ECGs are read at once by "
        "the county's ECG centre (instead of facilities.township.identification_minutes).", "minutes",
        "assumption: the China Chest Pain Centre standard's aim of a first ECG within 10 minutes of first medical "
        "contact, with remote transmission, taken as met (a read ECG means the case is recognised)", ge=0,
        kind="assumed", range=(10, 30))
    unified_procurement: bool = param(
        True, "Whether the community buys drugs and consumables for its village clinics and township centres, "
        "which then get the whole of policies.procurement's cuts.", "switch",
        "seed 001 (Linxiang: unified purchasing of drugs and consumables); seed 000 (Xiangtan)",
        kind="lever")


class Assessment(Strict):
    """Quarterly performance assessment of township centres tied to money and jobs (绩效考核; Linxiang, seed 001:
    in-county fund use and cost per visit assessed, results tied to fund payments and pay; 2 directors
    replaced and 3 weak centres merged in a year)."""

    enabled: bool = param(False, "Whether township centres are assessed every period.", "switch", "policy lever",
                          kind="lever")
    period_days: int = param(90, "Days between assessments.", "days", "seed 001: quarterly assessment "
                             "(assumption: quarters)", ge=7, le=730,
                             kind="lever")
    drug_share_target: float = param(
        0.30, "Highest drug share of a centre's charges (药占比) that scores full marks.", "share",
        "State Council 2015 guidance on public hospital reform: drug share ~30%; Linxiang 23.61% -> 20.42% "
        "(seed 001)", ge=0, le=1,
        kind="lever")
    cost_per_visit_target_yuan: float = param(
        55.0, "Highest outpatient cost per visit (次均门诊费用) that scores full marks.", "yuan/visit",
        "assumption: near the baseline county's township mean (~58 yuan)", gt=0,
        kind="lever")
    in_county_fund_target: float = param(
        0.90, "Lowest share of the fund money spent on the centre's catchment residents that stays in the "
        "county (医保资金县域内使用率) that scores full marks.", "share",
        "assumption: the national aim of ~90% of care within the county; seed 001 assesses this rate", ge=0, le=1,
        kind="lever")
    drug_share_weight: float = param(1.0, "Points lost per percentage point of drug share above target.",
                                     "points/percentage point", "assumption", ge=0,
                                     kind="lever")
    cost_per_visit_weight: float = param(1.0, "Points lost per percent of cost per visit above target.",
                                         "points/percent", "assumption", ge=0,
                                         kind="lever")
    in_county_fund_weight: float = param(1.0, "Points lost per percentage point of in-county fund use below "
                                         "target.", "points/percentage point", "assumption", ge=0,
                                         kind="lever")
    deduction_yuan_per_point: float = param(
        3_000, "Money withheld from a centre's fund payments per point lost (100 - score); under a global "
        "budget the medical community withholds it from its member.", "yuan/point",
        "assumption: ~5-10% of a township centre's quarterly revenue at the baseline's scores; seed 001 ties "
        "results to fund payments", ge=0,
        kind="lever")
    replace_after_periods: int = param(
        2, "A centre with the lowest score (below 100) this many assessments in a row gets a new director "
        "(0 = never).", "periods", "seed 001: 2 township directors replaced after assessment (assumption: "
        "two bottom quarters)", ge=0, le=100,
        kind="lever")
    director_efficiency_gain: float = param(
        0.15, "Rise of a centre's outpatient clinic hours per doctor-day under a new director.", "share",
        "assumption, not fitted, and no study cited: a new director runs the clinic somewhat longer hours", ge=0, le=2,
        kind="assumed", range=(0.05, 0.3))
    merge_after_periods: int = param(
        4, "A centre with too few visits or too low a score this many assessments in a row is merged into the "
        "nearest other centre (0 = never); at most one merger per assessment.", "periods",
        "seed 001: 3 weak township centres merged (assumption: a year of failing)", ge=0, le=100,
        kind="lever")
    merge_min_daily_visits: float = param(
        10.0, "Mean visits per day below which a centre counts as too small to keep.", "visits/day",
        "assumption; seed 001: all 22 Linxiang centres earned under 10 M yuan a year", ge=0,
        kind="lever")
    merge_score_below: float = param(40.0, "Score below which a centre counts as failing.", "points",
                                     "assumption", le=100,
                                     kind="lever")


class Sinking(Strict):
    """Senior county-hospital doctors posted to township centres (资源下沉; Youxi, Xiangtan)."""

    doctors: int = param(
        0, "Senior county-hospital doctors dispatched to township centres in all (0 = off). At most "
        "max_county_share of the county hospitals' doctors go.", "doctors",
        "policy lever; seed 000: Xiangtan sent 48 doctors from secondary and tertiary hospitals since 2023",
        ge=0, le=10_000,
        kind="lever")
    start_day: int = param(0, "First day of the posting.", "day", "policy lever", ge=0,
                           kind="lever")
    duration_days: int | None = param(
        None, "Days the posting lasts; null = to the end of the run.", "days",
        "policy lever; seed 001: Linxiang's teams teach on site for 3 years", ge=1,
        kind="lever")
    days_per_week: int = param(
        6, "Weekdays a posted doctor is at the host (from Monday; the run's day 0 is a Monday); on the other "
        "days the doctor works at the home hospital.", "days/week",
        "seed 002: Youxi, a county doctor present Monday to Saturday", ge=1, le=7,
        kind="lever")
    hosts: Literal["all", "weakest"] = param(
        "all", "Where the doctors go: all = spread evenly over every township centre; weakest = "
        "doctors_per_host to each centre in turn, those that referred the largest share of their visits "
        "up so far first (ties: lowest capability, then order), the rest evenly.", "choice",
        "policy lever; seed 004: experts sent to the weakest departments",
        kind="lever")
    doctors_per_host: int = param(2, "Doctors each host receives under hosts = weakest.", "doctors",
                                  "assumption", ge=1,
                                  kind="lever")
    capability_gain_per_doctor: float = param(
        0.25, "Levels of capability a posted senior doctor adds to the host while present; the host's "
        "capability is capped at the county hospitals'.", "levels/doctor",
        "assumption: four senior doctors bring a centre to county level for the cases they see", ge=0, le=4,
        kind="assumed", range=(0.1, 0.5))
    training_gain_per_doctor_year: float = param(
        0.05, "Lasting capability the host's own staff gain per doctor-year of presence (teaching, 传帮带); "
        "0 = the gain ends when the doctors leave.", "levels/doctor-year",
        "assumption; seed 001: Linxiang pairs on-site teaching with township staff trained at the county", ge=0,
        le=4,
        kind="assumed", range=(0.0, 0.15))
    adds_outpatient_slots: bool = param(
        True, "Whether a posted doctor sees outpatients at the host (adds the host's slots, removes the "
        "home hospital's); false = teaching and supervision only.", "switch", "seed 002 (Youxi): the posted county "
        "doctor sees patients at the township centre; policy lever",
        kind="lever")
    max_county_share: float = param(
        0.25, "Largest share of the county hospitals' doctors that may be posted at once.", "share",
        "assumption: the county hospital must keep running", ge=0, le=1,
        kind="lever")


class FamilyDoctor(Strict):
    """Family-doctor contracts (家庭医生签约): contracted chronic patients are managed by their own primary
    doctors, and contracted residents trust their own village clinic and township centre more
    (``sim.policies.family_doctor``). The contract is also what capitation pays for."""

    enabled: bool = param(False, "Whether residents contract with family-doctor teams.", "switch", "policy lever",
                          kind="lever")
    contract_share: Share = param(
        0.43, "Share of all residents contracted (the model has no households: the household contracting rate "
        "is applied to residents). Key groups contract at key_group_share; the other residents at the rate "
        "that brings the whole population to this share (at least 0).", "share",
        "seed 000_dcc5878c5088a2d5.txt (Xiangtan): 343,800 households contracted, 43%",
        kind="lever")
    key_group_share: Share = param(
        0.8, "Share of key-group residents (aged 65 and over, or with a chronic condition) contracted.",
        "share", "seed 000_dcc5878c5088a2d5.txt (Xiangtan): key groups' contracting rate above 80%",
        kind="lever")
    exacerbation_relative_risk: float = param(
        0.75, "Relative risk of an exacerbation (heart failure, acute diabetes complication, COPD exacerbation) "
        "for a contracted chronic patient whose team has the time to manage them, against an unmanaged one.",
        "ratio", "McAlister et al. 2004 (JACC 44: 810-819), meta-analysis of heart-failure management by a "
        "multidisciplinary follow-up team: heart-failure hospitalisations RR 0.74 (0.63-0.87); applied to "
        "diabetes and COPD exacerbations too (assumption)", ge=0, le=1,
        kind="assumed", range=(0.63, 1.0))
    chronic_panel_per_doctor: float = param(
        250, "Contracted chronic patients one primary doctor (village clinic or township centre) can manage "
        "fully; a township whose team holds more patients per doctor manages each less (the effect of "
        "management shrinks in proportion).", "patients/doctor",
        "assumption: about four follow-ups a year per patient (national basic public health service) plus "
        "home visits, in a fifth of a doctor's time", gt=0,
        kind="assumed", range=(100, 500))


class EmergencyUnits(Strict):
    """Chest-pain, stroke and trauma units at township centres (胸痛、卒中、创伤救治单元): early identification and
    pre-notified, fast transfer (``sim.policies.emergency``)."""

    enabled: bool = param(False, "Whether township centres run emergency units.", "switch", "policy lever",
                          kind="lever")
    chest_pain: bool = param(True, "Units for acute chest pain (remote ECG reading).", "switch", "policy lever",
                             kind="lever")
    stroke: bool = param(True, "Units for acute stroke (stroke scale, telestroke).", "switch", "policy lever",
                         kind="lever")
    trauma: bool = param(True, "Units for major trauma.", "switch", "policy lever",
                         kind="lever")
    townships: Annotated[int, Field(ge=0)] | Literal["all"] = param(
        "all", "Township centres with units: 'all', or the given number, most populous townships first.",
        "townships", "policy lever; seed 000_dcc5878c5088a2d5.txt (Xiangtan county: units at township "
        "centres)",
        kind="lever")
    identification_minutes: float = param(
        10, "Minutes from arrival to recognising the case and acting, at a township centre with a unit for "
        "the condition (never more than the centre's own identification_minutes).", "minutes",
        "assumption: the China chest pain centre accreditation standard's aim of first medical contact to ECG within "
        "10 minutes, taken as met",
        ge=0,
        kind="assumed", range=(10, 30))
    transfer_handover_minutes: float = param(
        3, "Minutes a hospital receiving a case transferred from a unit takes before acting, because the unit "
        "notified it ahead (green channel); never more than the hospital's own identification_minutes.",
        "minutes", "assumption: a pre-notified team waits at the door (direct-to-cath-lab transfer)", ge=0,
        kind="assumed", range=(0, 10))
    first_treatment_effect: Share = param(
        0.5, "Share of the harm of further delay that a unit's first treatment (thrombolysis for chest pain or "
        "stroke, stabilisation for trauma) averts while the case is transferred: minutes after it count this "
        "much less on the case's clock. 0 = units identify and notify but do not treat.", "share",
        "assumption; seed 000_dcc5878c5088a2d5.txt names initial treatment (初始处置) as a unit's task; "
        "Armstrong et al. 2013 (STREAM, NEJM 368: 1379-87): fibrinolysis then transfer did as well as primary "
        "PCI for STEMI patients an hour or more from it, so 1 is the upper bound",
        kind="assumed", range=(0.0, 1.0))


class ReferralDown(Strict):
    """Downward transfer (下转) of hospital inpatients whose remaining care is convalescence
    (``sim.policies.referral``)."""

    enabled: bool = param(False, "Whether county and out-of-county hospitals may transfer an inpatient's "
                          "convalescence to the patient's own township centre (the hospital proposes it when its "
                          "objective prefers it; the patient accepts when moving is worth it).", "switch",
                          "policy lever",
                          kind="lever")
    convalescent_conditions: list[str] = param(
        ["rehabilitation"], "Conditions whose whole stay is convalescence (after one assessment day at the "
        "admitting hospital).", "condition names in the catalogue",
        "seed 001 (Linxiang): rehabilitation after a stroke moved from the city hospital to a community centre",
        kind="lever")
    tail_conditions: list[str] = param(
        ["stroke", "fracture", "major_trauma", "general_surgery"], "Conditions whose stay ends in "
        "convalescence after an acute phase (acute_share of the clinical stay).", "condition names in the "
        "catalogue", "assumption: the usual post-acute rehabilitation groups",
        kind="lever")
    acute_share: Share = param(
        0.5, "Share of a tail condition's clinical stay that is acute and needs the admitting hospital; the rest "
        "needs at most a township centre's care.", "share of clinical stay", "assumption: about half of a stroke's, "
        "fracture's or operation's stay is acute care", kind="assumed", range=(0.3, 0.7))
    min_remaining_days: int = param(3, "A transfer is considered only while at least this many days of the "
                                    "planned stay remain.", "days", "assumption", ge=1, le=60,
                                    kind="lever")
    transfer_disutility: float = param(
        0.5, "Utility a patient loses by moving mid-stay (a new ward and new doctors), on the care-seeking "
        "utility scale.", "utility",
        "assumption, not fitted: moving mid-stay weighs about half an hour of travel", ge=0, le=20,
        kind="assumed", range=(0.0, 2.0))
    convalescent_need: float = param(
        1.0, "Capability the convalescent part of a stay needs at most, on the level scale of the catalogue's "
        "need_level (0 village clinic, 1 township centre, 2 county hospital): a township centre may take a "
        "transferred patient when its capability reaches the lesser of this and the case's own need.", "level",
        "assumption: nursing, rehabilitation and monitoring after the acute phase are a township centre's care "
        "(seeds 000, 001: patients transferred down to township centres to recover); from half a level below to a "
        "level above", ge=0, le=3, kind="assumed", range=(0.5, 2.0))


class Referral(Strict):
    """Referral rules (双向转诊, 基层首诊): primary first contact, the referral platform, downward transfer."""

    first_contact: Literal["none", "soft", "hard"] = param(
        "none", "Primary first contact for non-time-critical episodes: none; soft (care at a county or "
        "out-of-county hospital without a referral from a lower level is reimbursed unreferred_reimbursement_cut "
        "points less); hard (hospitals are closed to unreferred episodes). Time-critical cases are exempt.",
        "choice", "policy lever; seed 001 (Linxiang): primary first contact and referral filing",
        kind="lever")
    unreferred_reimbursement_cut: Share = param(
        0.15, "Points taken off the outpatient and inpatient reimbursement rates of an unreferred episode at a "
        "county or out-of-county hospital under soft first contact (floored at 0).", "share points",
        "assumption: county schemes commonly lower the rate 10-20 points for unreferred hospital care",
        kind="lever")
    filed_chronic_referral: bool = param(
        True, "Episodes of a chronic-disease condition (catalogue population other than all/female) whose need "
        "level exceeds the township centre's capability count as referred (a filed chronic-disease referral, "
        "e.g. dialysis).", "switch", "seed 001 (Linxiang): referral filing and chronic-disease approval",
        kind="lever")
    platform: bool = param(
        False, "A referral platform offers each non-time-critical referred patient a booking at the nearest capable "
        "in-county facility above the referring level (when one exists); the patient takes it when it is worth "
        "more to them than their best alternative, else chooses again.", "switch",
        "seed 001 (Linxiang): the smart referral platform keeps patients in county",
        kind="lever")
    platform_booking_utility: float = param(
        0.5, "What the platform's booking adds to the booked facility's utility in the referred patient's choice "
        "of care: no search, a held slot and a referral record that travels with the patient (its wait, price, "
        "trust and travel are already in that utility).", "utility",
        "assumption, not measured: about what a day less of expected waiting (wait_sensitivity 0.4 per day) and "
        "forty minutes less travel (travel_sensitivity 0.8 per hour) are worth; from nothing (a booking is only "
        "a suggestion) to three times that", ge=-50, le=50,
        kind="assumed", range=(0.0, 1.5))
    down: ReferralDown = ReferralDown()


class Policies(Strict):
    salary_reform: SalaryReform = SalaryReform()
    procurement: Procurement = Procurement()
    integration: Integration = Integration()
    assessment: Assessment = Assessment()
    sinking: Sinking = Sinking()
    family_doctor: FamilyDoctor = FamilyDoctor()
    emergency_units: EmergencyUnits = EmergencyUnits()
    referral: Referral = Referral()


class TimelineEntry(Strict):
    day: StrictInt = param(..., "Day (0-based) at the start of which the change takes effect.", "day",
                           "scenario author", ge=0, kind="lever")
    set: dict[str, Any] = param(..., "Dotted keys and their new values, e.g. {payment.model: drg}.", "values",
                                "scenario author", kind="lever")


# --------------------------------------------------------------------------------------------- scenario
class Scenario(Strict):
    """A complete, validated scenario. Build it with :func:`sim.params.loading.load_scenario`."""

    name: str = param("unnamed", "Name shown in reports.", "text", "scenario author",
                      kind="setting")
    description: str = param("", "What the scenario represents.", "text", "scenario author",
                             kind="setting")
    seed: int = param(1, "Seed of the random number generator.", "integer", "scenario author",
                      ge=0, le=2**63 - 1,
                      kind="setting")
    days: int = param(365, "Days simulated.", "days", "scenario author", ge=1, le=3650,
                      kind="setting")
    replicates: int = param(5, "Independent runs with seeds derived from `seed`.", "runs", "scenario author",
                            ge=1, le=10_000,
                            kind="setting")
    population: Population = Population()
    geography: Geography = Geography()
    facilities: Facilities = Facilities()
    insurance: Insurance = Insurance()
    payment: Payment = Payment()
    behaviour: Behaviour = Behaviour()
    outcomes: Outcomes = Outcomes()
    case_mix: CaseMix = CaseMix()
    policies: Policies = Policies()
    timeline: list[TimelineEntry] = param(
        [], "Scheduled changes: [{day: N, set: {dotted.key: value}}], applied at the start of day N in order. Keys "
        "under payment, insurance, behaviour, policies and facilities.<level> (prices, pay, doctors, beds, "
        "capability) may change; the county itself (population, geography, case mix) may not.", "changes",
        "scenario author: the reform's timetable", kind="lever")

    @model_validator(mode="after")
    def _timeline_in_run(self) -> Scenario:
        for i, entry in enumerate(self.timeline):
            if entry.day >= self.days:
                raise ValueError(f"timeline[{i}].day = {entry.day} is not within the run's {self.days} days")
        return self


def json_schema() -> dict:
    """The JSON Schema of a scenario file, for editors and validators."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "triangle scenario"
    return schema
