"""The records the compiled loops take and return, by phase of the daily step: named tuples of arrays and numbers.

A loop takes the tables it works on as a few records rather than one positional argument per column, and names
what it reads and writes as the engine does (``ep.condition``, ``beds.occupied``); a loop with several results
returns them as one record, read back by name. Three rules follow from how Numba compiles and calls them:

- A record holds what its loops use, not a whole table: every field is compiled into every loop that takes the
  record, used or not, and a call costs a little per field. So the episode table comes as the columns each
  phase reads or writes, and each phase has its own record of the rest.
- A record crosses into a loop as a plain tuple of its fields, in order (``tuple(record)``; ``Episodes.record``
  makes the episode table's): Numba recognises a plain tuple's type at each call several times faster than a
  named one's. A loop names it again on its first line (``ep = BedColumns(*ep)``).
- A loop takes the arrays it uses out of its records before its loop (``state = ep.state``): a loop over local
  arrays compiles to faster code than one reading the records' fields as it goes.

The engine (``sim.engine.model``) builds the records from the tables they name; a record holds the arrays
themselves, so what a loop writes into a record's array it writes into the table. A field's name says whose it
is: an episode record's fields are episode columns (``sim.core.episodes.COLUMNS``); elsewhere ``<x>_today`` is
today's row of the tally's daily column ``<x>``, ``<x>_by_level`` the tally's running total ``<x>`` (beside a
facility's book of that name), and any other field has the name of the facility column, book
(``sim.core.facilities``) or tally counter (``sim.core.tally``) it is. A number of the scenario has the name of its
parameter (``sim.params.scenario``: ``ProviderRules.value_per_daly_yuan`` is
``behaviour.provider.value_per_daly_yuan``), what a payment model or a policy says of a case the name of its field
in ``sim.payment.interface.Terms`` or ``sim.behaviour.margin.MarginAdjustment``, and the provider's view of a case
that of ``sim.behaviour.provider.Cases``.

No loop takes more than a few positional arguments (``tests/test_architecture.py`` holds them to eight): what
would be more goes in a record.
"""

from __future__ import annotations

from collections import namedtuple

# ----------------------------------------------------------------------------------------------- onset
CaseMix = namedtuple("CaseMix", (  # who falls ill with what (onset_cases)
    "population",                        # [c] the population kind a condition falls on (POPULATIONS)
    "severity_cdf",                      # [c, 3] cumulative severity mix
    "pools", "pool_start", "pool_size",  # residents eligible by (population kind, age band) (sim.core.population)
    "alive", "female",                   # [resident]
))
Onsets = namedtuple("Onsets", ("condition", "resident", "severity", "possible"))  # today's onsets (onset_cases)
EpisodeDraws = namedtuple("EpisodeDraws", (  # the random numbers of new episodes, one entry per candidate onset
    "taste", "patience", "admission_noise", "u_death", "u_complication", "u_readmission", "u_readmit_day",
    "u_stay", "cost_factor", "scruple", "u_review",
))
EpisodeStart = namedtuple("EpisodeStart", (  # how today's new episodes start (write_episodes)
    "row",            # the first row they take (sim.core.episodes.Episodes.extend)
    "keep",           # [candidate onset] whether it starts an episode
    "u_transfer",     # [kept] the referral rules' draw (a downward transfer's taste), from their own stream
    "readmission",    # whether they are readmissions
    "seek_day",       # today
    "patience_days",  # sim.params.scenario.ResidentBehaviour
    "state",          # the state they start in
))
Stakes = namedtuple("Stakes", (  # what is at stake in an illness (write_episodes, forgo_outcomes)
    "age",                                # [resident]
    "death_risk", "complication_risk",    # [c, s]
    "need_z",                             # [c, s] probit of the share that needs admission
    "time_critical",                      # [c]
    "life_expectancy", "complication_daly", "benefit_spread",
))
OnsetColumns = namedtuple("OnsetColumns", (  # the episode columns an onset writes, with ...
    "resident", "condition", "severity", "seek_day", "state", "facility", "readmission", "patience",
    "admission_benefit",
))
DrawColumns = namedtuple("DrawColumns", (  # ... the episode's own random numbers
    "u_death", "u_complication", "u_readmission", "u_readmit_day", "u_stay", "cost_factor", "scruple", "u_review",
    "u_transfer",
    "taste",  # [row, option] Gumbel shocks: going without, each facility option, self-care
))

# ----------------------------------------------------------------------------------------------- choice
ChoiceColumns = namedtuple("ChoiceColumns", (  # what a choosing episode reads (choose_options)
    "resident", "condition", "severity", "facility", "min_level", "rechoices", "taste",
))
ChoiceTerms = namedtuple("ChoiceTerms", (  # the residents' choice model of the day (sim.behaviour.care_seeking)
    "residence",              # [resident] village
    "option_level",           # [option] level of each option (every village has the same kinds in the same columns)
    "options",                # [village, option] facility
    "open_village",           # [village, option] the facility has clinic minutes today
    "village_term",           # [village, option] initial trust and travel
    "wait_term",              # [village, option] expected wait (ignored by time-critical cases)
    "village_opinion",        # [village, level]
    "case_term",              # [kind of case x pricing class, option] expected out-of-pocket (and capability)
    "n_schemes",              # pricing classes in case_term
    "time_critical",          # [c]
    "need_level",             # [c, s]
    "hospital_level",         # lowest level closed to the episodes a first-contact rule closes out
    "by_facility",            # residents judge each facility's capability by what they saw of it
    "perceived", "prior",     # [facility] perceived and reputed capability (used by_facility)
    "self_care_term",         # [condition x 3 + severity] utility of self-care, -inf where it is no option
    "capability_preference", "capability_gain_preference", "forgo_utility", "forgo_severity_penalty",
    "forgo_need_penalty",
))
BookingColumns = namedtuple("BookingColumns", (  # what a choice writes (book_choices)
    "condition", "state", "facility", "travel_minutes", "critical_minutes",
))
Arrivals = namedtuple("Arrivals", (  # where a choice goes, and where its arrival counts (book_choices)
    "options", "option_minutes",  # [village, option] facility, and the trip's minutes
    "time_critical",              # [c]
    "level", "queue", "arrivals", "arrivals_today",
))

# ----------------------------------------------------------------------------------------------- service
SeenColumns = namedtuple("SeenColumns", (  # what a provider sees of an episode (gather_cases)
    "resident", "condition", "severity", "seek_day", "facility", "critical_minutes", "admission_benefit",
    "cost_factor", "scruple",
))
CaseContext = namedtuple("CaseContext", (  # and of its resident, its facility and the clinical tables
    "age", "employee",                              # [resident]
    "level", "beds", "occupied", "price_level",     # [facility]
    "need_level",                                   # [c, s]
    "time_critical", "delay_harm_per_day", "critical_harm_per_hour",  # [c]
))
SeenCases = namedtuple("SeenCases", (  # what a provider sees of each case it serves (gather_cases)
    "facility", "condition", "severity", "resident", "level", "employee", "age", "need", "price_level",
    "cost_factor", "has_beds", "can_refer", "occupancy", "delay", "admission_benefit", "coding_cost",
))
DecisionColumns = namedtuple("DecisionColumns", (  # what a provider's decision writes (record_decisions)
    "severity", "state", "facility", "intensity", "drug_ratio", "stay_ratio", "coded_severity", "admit_day",
))
Visits = namedtuple("Visits", ("level", "queue", "bed_queue", "visits", "visits_by_level", "served_today"))
Tariff = namedtuple("Tariff", (  # the catalogue's charges at guideline care (guideline_row, guideline_charges)
    "cost_split",                         # [c, 3] services, drugs, consumables
    "outpatient_cost", "inpatient_cost",  # [c, s] yuan at price level 1
    "per_day_share",                      # [c] the inpatient bill's share charged by the day
))
GuidelineCharges = namedtuple("GuidelineCharges", (  # each case's charges at guideline care (guideline_charges)
    "outpatient", "per_case",  # [m, 3] outpatient items and the inpatient per-case items
    "daily",                   # [m] the inpatient daily bundle over the clinical stay
    "bill_out", "bill_in",     # [m] the whole outpatient and inpatient bills
))
DecisionCases = namedtuple("DecisionCases", (  # the cases a provider decides on, one entry each (decide_cases)
    # sim.behaviour.provider.Cases, same names
    "condition", "severity", "age", "capability", "has_beds", "can_refer", "occupancy", "delay", "admission_benefit",
    "fund_rate_out",
    "profit_weight",  # the provider's weight on margin for the case (sim.behaviour.provider.Provider)
))
CaseTerms = namedtuple("CaseTerms", (  # what a case earns its facility and costs it (decide_cases)
    # sim.payment.interface.Terms, same names
    "fixed_out", "marginal_out", "fixed_in", "marginal_in", "per_bed_day_in", "referral_cost_out",
    "referral_cost_in", "code_up",
    "item_cost_share",  # [3] resource cost per yuan charged: 1 / (1 + the payment model's item_margin)
    "bed_day_margin",   # the payment model's
))
MarginTerms = namedtuple("MarginTerms", (  # what policies add to a case's margin (decide_cases)
    "prices_items",  # sim.behaviour.margin.MarginAdjustment.prices_items, then its fields, [m] each, zero for none
    "per_drug_yuan", "per_other_yuan", "per_outpatient_yuan", "per_outpatient_case", "per_referral",
    "referral_margin_share",
))
CaseTables = namedtuple("CaseTables", (  # the catalogue's tables a provider's decision reads (decide_cases)
    "cost_split",                                                # [c, 3]
    "clinical_los", "need_level", "death_risk", "complication_risk", "readmission_risk", "admission_need",  # [c, s]
))
ProviderRules = namedtuple("ProviderRules", (  # the numbers a provider decides by (decide_cases)
    # sim.params.scenario.ProviderBehaviour, same names
    "bed_shadow_price_yuan",
    "occupancy_pressure_start",  # behaviour.provider.bed_pressure_start_occupancy
    # sim.params.scenario.Outcomes, same names
    "life_expectancy_years", "complication_daly", "readmission_daly", "capability_risk_ratio",
    # ProviderBehaviour
    "benefit_weight", "value_per_daly_yuan", "overtreatment_harm", "undertreatment_harm", "overstay_harm",
    "understay_harm", "min_intensity", "max_intensity", "min_stay", "max_stay", "referral_friction_yuan",
    "followup_visit_share",  # sim.params.scenario.CaseMix
    "followup_max_visits", "followup_burden_yuan",  # ProviderBehaviour
    "followup_risk_reduction", "followup_benefit_decay",  # Outcomes
))
CaseDecisions = namedtuple("CaseDecisions", (  # a provider's decisions, one entry each (decide_cases, record_decisions)
    "refer", "admit", "intensity", "stay_ratio", "drug_ratio",
    "returns",  # return visits asked of a case treated as an outpatient
    "code_up",  # admitted and coded one severity up
))
Gate = namedtuple("Gate", (  # what the first-contact rule reads (gated, gated_rows, count_visits)
    "referred", "condition", "severity",  # episode columns
    "time_critical",                      # [c]
    "filed",                              # [c, s] a chronic-disease referral on file (sim.policies.referral)
))
FirstContactVisits = namedtuple("FirstContactVisits", (  # where visits count for the first-contact rules (count_visits)
    "need_level",          # [c, s]
    "in_county",           # capability of the most capable facility in the county
    "county",              # the county hospitals' level
    "unreferred_visits", "referred_visits",  # the tally's counters by level (sim.policies.referral)
))

# ----------------------------------------------------------------------------------------------- learning
OutcomesSeen = namedtuple("OutcomesSeen", (  # today's completed cases as residents judge a facility by them
    "facility", "need",                                     # [m] the treating facility, the case's need level
    "p_death", "p_complication", "capability_factor",       # [m] as TreatmentOutcomes
    "died", "complication",                                 # [m]
))
Evidence = namedtuple("Evidence", (  # each facility's evidence (sim.behaviour.perception.CapabilityPerception)
    "prior",                                    # [facility] reputed capability
    "need_values",                              # the need levels, ascending
    "capability_risk_ratio",                    # sim.params.scenario.Outcomes
    "observed", "expected",                     # [facility, need level] bad outcomes, realised and expected
    "cases",                                    # [facility]
))

# ----------------------------------------------------------------------------------------------- beds
BedColumns = namedtuple("BedColumns", (  # what admission and discharge read and write (admit, discharge)
    "condition", "severity", "state", "facility", "u_stay", "stay_ratio", "los_days", "admit_day", "discharge_day",
))
Beds = namedtuple("Beds", (
    "level", "occupied", "bed_queue", "admissions",          # [facility]
    "admissions_by_level", "admissions_today", "discharges_by_level", "discharges_today",
    "elective_wait_hist",                                   # elective admissions by days on the waiting list
    "clinical_los",                                         # [c, s] days
    "time_critical", "exacerbation",                        # [c]
))

# ----------------------------------------------------------------------------------------------- completion
CompletionColumns = namedtuple("CompletionColumns", (  # what ending without a facility reads (forgo_outcomes)
    "resident", "condition", "severity", "u_death", "u_complication",
))
ForgoneOutcomes = namedtuple("ForgoneOutcomes", (  # outcomes of care forgone or taken at home (forgo_outcomes)
    "died", "deaths", "complications", "critical", "critical_deaths", "health_loss",
))
Treatments = namedtuple("Treatments", (  # today's finished treatments, one entry per case (tally_treatments)
    "condition", "severity", "level", "inpatient", "charges", "fund", "oop", "revenue", "cost", "q_care",
    "appropriate", "bed_days", "wait", "died", "complication", "readmitted",
    "travel_minutes", "critical_minutes",  # the episodes' own
))
TreatmentColumns = namedtuple("TreatmentColumns", (  # what a finished treatment reads (finish_treatments)
    "resident", "seek_day", "admit_day", "critical_minutes", "intensity", "drug_ratio", "los_days", "down_days",
    "u_death", "u_complication", "u_readmission", "cost_factor", "coded_severity", "admission_benefit",
    "consult_short", "wait_hours", "corridor", "returns",
))
FinishedCases = namedtuple("FinishedCases", (  # today's finished treatments, one entry each (finish_treatments)
    "condition", "severity",
    "facility",       # the treating facility
    "capability",     # the capability that treated the case (the acute hospital's for a stay transferred down)
    "risk_factor",    # what policies change in the care itself (sim.policies.base.Policy.risk_factor)
    "price_factors",  # [m, 3] procurement's price factors by category (sim.policies.procurement); empty: none
))
TreatmentContext = namedtuple("TreatmentContext", (  # and of their residents, facilities and the clinical tables
    "age",                                                                     # [resident]
    "price_level",                                                             # [facility]
    "need_level", "death_risk", "complication_risk", "readmission_risk", "clinical_los",  # [c, s]
    "delay_harm_per_day", "critical_harm_per_hour", "time_critical",          # [c]
    "tariff",                                                                  # Tariff
))
TreatmentRules = namedtuple("TreatmentRules", (  # the numbers outcomes and bills follow (finish_treatments)
    # sim.params.scenario.Outcomes, same names
    "capability_risk_ratio",
    # sim.params.scenario.ProviderBehaviour, same names
    "overtreatment_harm", "undertreatment_harm", "overstay_harm", "understay_harm",
    # Outcomes
    "complication_cost_share",
    "item_cost_share", "bed_day_margin",  # as in CaseTerms
    # Outcomes
    "life_expectancy_years", "complication_daly", "readmission_daly",
    "missed_diagnosis_per_shortening",  # ProviderBehaviour
    "untreated_risk_ratio", "corridor_risk_ratio",  # Outcomes
    "followup_visit_share",  # sim.params.scenario.CaseMix
    "followup_risk_reduction", "followup_benefit_decay",  # Outcomes
))
TreatmentOutcomes = namedtuple("TreatmentOutcomes", (  # outcomes and bills of finished treatments (finish_treatments)
    "capability_factor", "p_death", "p_complication",  # [m] risk factors and risks
    "died", "complication", "readmitted",              # [m] outcomes (readmitted: inpatients only)
    "charges",                                         # [m, 3]
    "bill", "cost",                                    # [m] the bill, and its resource cost
    "q_care",       # intensity as the outcome feels it (drugs prescribed apart weigh by their share)
    "inpatient", "wait", "bed_days", "coded_severity",  # [m]; wait in days, bed-days billed here
    "health_loss",  # DALY, summed
))
TreatmentTally = namedtuple("TreatmentTally", (  # what the tally of finished treatments reads and adds to
    "clinical_los",       # [c, s] days
    "time_critical",      # [c]
    "critical_kind",      # [c] which time-critical kind a condition is reported as (CRITICAL_KINDS), -1: none
    # the tally's running totals by level (sim.core.tally.Tally, same names) ...
    "treated", "charges", "inpatient_charges", "outpatient_charges", "outpatient_episodes", "fund", "oop",
    "provider_revenue", "provider_cost", "intensity_sum", "appropriate", "bed_days",
    # ... and over all levels
    "wait_hist", "ended", "kind_critical_minutes_sum", "kind_critical_treated",
    # today's rows
    "treated_today", "spending_today", "fund_today", "oop_today", "wait_days_sum_today",
))
TreatmentCounts = namedtuple("TreatmentCounts", (  # today's finished treatments counted (tally_treatments)
    "wait_days",  # [level] days waited, summed
    "deaths", "complications", "readmissions", "travel_minutes", "critical_minutes", "critical_treated",
    "critical_deaths", "clinical_bed_days",
))

# the records of episode columns, each made by sim.core.episodes.Episodes.record
EPISODE_RECORDS = (OnsetColumns, DrawColumns, ChoiceColumns, BookingColumns, SeenColumns, DecisionColumns,
                   BedColumns, CompletionColumns, TreatmentColumns)
