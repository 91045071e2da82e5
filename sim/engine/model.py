"""HealthSystemModel: the county, its residents and facilities, stepped one day at a time.

The daily step, in order (docs/ODD.md, "Process overview"):
 1. timeline          scheduled changes (none in this version's scenarios)
 2. onset             new episodes by condition and age band; readmissions that fall due
 3. care seeking      episodes choose a facility, self-care or no care (``sim.behaviour.care_seeking``)
 4. discharges        inpatients whose stay ends leave their beds
 5. service           each facility serves its outpatient queue up to its slots, severe and time-critical
                      first; providers refer, admit or treat (``sim.behaviour.provider``); admitted cases wait for beds;
                      those waiting beyond their patience choose again or give up
 6. billing           every treatment finished today is billed and settled by the fund (``sim.payment.fund``)
 7. outcomes          death, complication, readmission, health loss (``sim.behaviour.outcomes``), also for care
                      forgone or taken at home
 8. learning          residents' trust and cost beliefs follow what they saw (``sim.behaviour.learning``)
 9. recording         the day's row per level (``sim.core.tally``); ended episodes are dropped
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa.agent import AgentSet
from scipy.special import ndtri

from sim import kernels
from sim.behaviour.care_seeking import CareSeeking, CostBeliefs
from sim.behaviour.learning import TrustLearning
from sim.behaviour.pace import VisitMargins, choose_pace
from sim.behaviour.perception import CapabilityPerception
from sim.behaviour.provider import Cases, Provider
from sim.behaviour.target_income import TargetIncome
from sim.core import episodes as E
from sim.core.conditions import AGE_BANDS, EXACERBATIONS, POPULATIONS, SEVERE, Catalogue, load_catalogue
from sim.core.facilities import BOOKS, FACILITY_CLASSES, build_facilities, facility_name
from sim.core.geography import build_geography
from sim.core.levels import LEVELS, N_LEVELS
from sim.core.pay import capacity_cost_per_day, margin_weight_factor
from sim.core.population import build_population
from sim.core.streams import Streams, stream
from sim.core.tally import CRITICAL_KINDS, DAILY_COLUMNS, WAIT_BINS_PER_DAY, Tally
from sim.engine.snapshot import snapshot
from sim.params.scenario import Scenario
from sim.params.timeline import resolve
from sim.payment.fund import InsuranceFund
from sim.payment.models import make_payment
from sim.policies.base import Completed, Policy
from sim.policies.registry import REGISTRY

FEMALE_KIND = POPULATIONS.index("female")
CRITICAL_TRANSFER_PASSES = 3


def count(into: np.ndarray, index: np.ndarray, weights=None, sign: int = 1) -> None:
    """into[index] += weights (or 1), with repeated indices added up (np.add.at, but fast); sign -1 subtracts."""
    if weights is None:
        kernels.add_counts(into, index, sign)
    else:
        kernels.add_weights(into, index, weights, float(sign))


class HealthSystemModel(mesa.Model):
    """A county health system. ``HealthSystemModel(scenario).run()`` simulates ``scenario.days`` days."""

    # The shared state the daily step owns, by the phase that writes it first; the policies (sim.policies.base) and
    # payment models declare theirs, and tests/test_architecture.py checks that each has one owner. The compiled
    # loops (sim.kernels) write what the step hands them.
    columns = (
        # onset: who falls ill with what, and when; every random number the episode will use
        "resident", "condition", "severity", "seek_day", "readmission", "patience", "admission_benefit", "u_death",
        "u_complication", "u_readmission", "u_readmit_day", "u_stay", "cost_factor", "scruple", "u_review",
        "u_transfer", "taste",
        # care seeking, and where an episode is
        "state", "facility", "min_level", "rechoices", "referred", "travel_minutes", "critical_minutes",
        # service: the consultation and the provider's decisions
        "consult_short", "wait_hours", "intensity", "drug_ratio", "stay_ratio", "coded_severity", "returns",
        # beds
        "admit_day", "los_days", "discharge_day", "corridor",
    )
    counters = (
        # residents and episodes
        "person_days", "alive_now", "episodes_started", "waiting_now", "ended",
        # service and beds, by level
        "visits", "consultations", "consultation_minutes_sum", "clinic_wait_hours_sum", "referrals_up",
        "returns_asked", "return_visits", "capacity_cost",
        "admissions", "exacerbation_admissions", "discharges", "elective_wait_hist", "waiting_list_days",
        "bed_days", "occupied_bed_days", "available_bed_days", "corridor_bed_days", "clinical_bed_days",
        # finished treatments: bills and payments, intensity, waits and outcomes
        "treated", "outpatient_episodes", "appropriate", "charges", "inpatient_charges", "outpatient_charges", "fund",
        "oop", "provider_revenue", "provider_cost", "intensity_sum", "wait_hist", "wait_days_total",
        "travel_minutes_sum", "critical_minutes_sum", "critical_treated", "kind_critical_minutes_sum",
        "kind_critical_treated", "critical_ended", "critical_deaths", "deaths", "complications", "readmissions",
        "health_loss_daly", "self_care_spending",
        # claims as the payment models settled them
        "coded_weight_sum", "upcoded", "audit_recovered", "admissions_refused",
        # the daily table, recorded each day
        *(f"daily.{column}" for column in DAILY_COLUMNS),
    )
    facility_columns = (
        # as the scenario sets them
        "level", "township", "doctors", "beds", "capability", "price_level", "identification_minutes", "clinic_hours",
        "consultation_minutes", "base_salary", "surplus_bonus_share",
        # queues, beds in use and the books of their work
        "occupied", "queue", "bed_queue", *(f"books.{name}" for name in BOOKS),
    )
    writes = ("tally.community_net",)  # the medical community's position, recorded at the end of each day

    def __init__(self, scenario: Scenario, *, seed: int | None = None, catalogue: Catalogue | None = None):
        seed = scenario.seed if seed is None else seed
        super().__init__(rng=seed)
        self.spec = scenario  # the validated Scenario (Mesa reserves `scenario`)
        self.day = 0
        # Each process draws from its own stream, keyed by name (``sim.core.streams``): population, onset,
        # readmission, enrolment, management (family doctors), referral.
        self.streams = Streams(seed)
        self.cat = catalogue or load_catalogue(scenario.case_mix.catalogue)
        # The county's map is part of the scenario: drawn from the scenario's seed, the same in every replicate.
        self.geo = build_geography(scenario, stream(scenario.seed, "geography"))
        self.pop = build_population(scenario, self.geo, self.streams["population"])
        self.facilities = build_facilities(scenario, self.geo)
        self.facility_agents = AgentSet(
            [FACILITY_CLASSES[level](self, i, facility_name(self.geo, i))
             for i, level in enumerate(self.geo.facility_level)], random=self.random)
        # Each resident's place in the queue for a family-doctor contract: enrolled when below the share.
        self.enrolment_draw = self.streams["enrolment"].random(self.pop.size, dtype=np.float32)
        self.exacerbation = np.isin(np.array(self.cat.names), EXACERBATIONS)
        self.option_level = self.geo.facility_level[self.geo.options[0]].astype(np.int64)
        self.level_price = np.array([getattr(scenario.facilities, n).price_level for n in LEVELS])
        self.beliefs = CostBeliefs(self.cat, self.level_price,
                                   scenario.behaviour.resident.cost_belief_learning_rate)
        self.fund = InsuranceFund(self, scenario.insurance)
        self.community = None
        self.payment = None
        self.tally = Tally(days=scenario.days)
        self.income = TargetIncome(self.facilities.n)
        # what a visit has earned each facility lately (its pace, sim.behaviour.pace), and the wait residents
        # expect at each facility (days), learned from its patients' waits
        self.visit_margins = VisitMargins(self.facilities.n, scenario.behaviour.provider.income_recent_days)
        self.expected_wait = np.zeros(self.facilities.n)
        # a city's shared tertiary clinics (sim.engine.city): doctors lent by the other counties for the day's care
        # half, clinic minutes the counties before it took today, and what this county's day used of its clinics
        self.city_lends = False
        self.lent_doctors = np.zeros(self.facilities.n)
        self.clinic_taken = np.zeros(self.facilities.n)
        self.clinic_used = np.zeros(self.facilities.n)
        # return visits booked with each facility, by the day they fall due: (doctor minutes, visits)
        self.booked_returns: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # Every policy of the registry, built once; the step calls their hooks (``sim.policies.base``).
        self.policies = {cls.name: cls(self) for cls in REGISTRY}
        self._hooks: dict[str, list] = {}  # each hook's overriding policies' methods, in registry order (_hooked)
        self.perception = CapabilityPerception(scenario, self.facilities.level, self.cat.need_level)
        # probit of the share of each (condition, severity) that needs admission: where an episode's own
        # admission benefit is centred (a table, since the inverse normal is costly per episode)
        self.need_z = ndtri(np.clip(self.cat.admission_need, 1e-5, 1 - 1e-5))
        self._configure(scenario)
        # Scenario changes scheduled by the timeline, and the tally at each period's start.
        self.changes = resolve(scenario)
        self.period_starts: list = []
        # Gumbel tastes: going without, each facility option, self-care
        self.episodes = E.Episodes(n_options=2 + self.geo.options.shape[1])
        self.scheduled = {"day": np.zeros(0, np.int32), "resident": np.zeros(0, np.int32),
                          "condition": np.zeros(0, np.int16), "severity": np.zeros(0, np.int8)}
        self.alive_count = self.pop.size
        self._case_cache = None
        self.top_level = int(self.facilities.level.max())
        cat, pop, fac_t = self.cat, self.pop, self.facilities
        # The records the compiled loops take (``sim.kernels.records``), named here and handed over as plain tuples
        # of the arrays themselves, which are changed in place and never replaced. Those with today's row of the
        # tally's daily table are made each day (``_daily_records``), the stakes and the treatment rules on each
        # scenario change (``_configure``), the episode table's by ``Episodes.record``.
        self.case_mix = tuple(kernels.CaseMix(
            population=cat.population, severity_cdf=cat.severity_cdf, pools=pop.pools, pool_start=pop.pool_start,
            pool_size=pop.pool_size, alive=pop.alive, female=pop.female))
        self.case_context = tuple(kernels.CaseContext(
            age=pop.age, employee=pop.employee, level=fac_t.level, beds=fac_t.beds, occupied=fac_t.occupied,
            price_level=fac_t.price_level, need_level=cat.need_level, time_critical=cat.time_critical,
            delay_harm_per_day=cat.delay_harm_per_day, critical_harm_per_hour=cat.critical_harm_per_hour))
        self.treatment_context = tuple(kernels.TreatmentContext(
            age=pop.age, price_level=fac_t.price_level, need_level=cat.need_level, death_risk=cat.death_risk,
            complication_risk=cat.complication_risk, readmission_risk=cat.readmission_risk,
            clinical_los=cat.clinical_los, delay_harm_per_day=cat.delay_harm_per_day,
            critical_harm_per_hour=cat.critical_harm_per_hour, time_critical=cat.time_critical, tariff=cat.tariff))
        self._no_factors = np.ones((0, 3))
        self.critical_kind = np.array([CRITICAL_KINDS.index(n) if n in CRITICAL_KINDS else -1 for n in self.cat.names])

    def _configure(self, spec: Scenario) -> None:
        """Put a scenario's levers in force: at the start, and on each timeline day."""
        before, self.spec = self.spec, spec
        self.fund.set_rules(spec.insurance)
        self._case_cache = None  # prices after insurance have changed
        self.beliefs.learning_rate = spec.behaviour.resident.cost_belief_learning_rate
        self.payment = make_payment(spec, self.cat, self, previous=self.payment)
        if self.payment.community is not None:  # a medical community, kept (with its books) after its budget ends
            self.community = self.payment.community
        self.provider = Provider(spec.behaviour.provider, spec.outcomes, self.cat, self.payment,
                                 followup_share=spec.case_mix.followup_visit_share)
        self.care = CareSeeking(spec, self.cat, self.option_level)
        self.learning = TrustLearning(spec.behaviour.resident)
        self.perception.set_rules(spec)
        self.level_price = np.array([getattr(spec.facilities, n).price_level for n in LEVELS])
        # the levels whose facilities this change rebuilt, and the day (a city re-reads its counties' slices)
        self.rebuilt = (self.day, [level for level, level_name in enumerate(LEVELS)
                                   if getattr(before.facilities, level_name)
                                   != getattr(spec.facilities, level_name)])
        if self.rebuilt[1]:
            fresh = build_facilities(spec, self.geo)
            for name in ("doctors", "beds", "capability", "price_level", "identification_minutes", "clinic_hours",
                         "consultation_minutes", "base_salary", "surplus_bonus_share"):
                for level in self.rebuilt[1]:
                    at = self.facilities.level == level
                    getattr(self.facilities, name)[at] = getattr(fresh, name)[at]
        # expected onsets per day by (condition, age band) in the condition's population
        self.onset_rate = (self.cat.incidence / 365.0 * self.pop.pool_size[self.cat.population]
                           * spec.case_mix.incidence_scale)
        # how much of the weight on margin each facility's decisions carry, from how its doctors are paid
        self.pay_factor = margin_weight_factor(self.facilities, spec)
        for policy in self.policies.values():
            policy.configure(before)
        self.price_factors = self._fold("price_factors", None)  # [facility, category] charge factors, or None
        self.severity_minutes = np.array(spec.case_mix.consultation_severity_factor)
        out, cat = spec.outcomes, self.cat
        self.stakes = tuple(kernels.Stakes(
            age=self.pop.age, death_risk=cat.death_risk, complication_risk=cat.complication_risk, need_z=self.need_z,
            time_critical=cat.time_critical, life_expectancy=out.life_expectancy_years,
            complication_daly=out.complication_daly, benefit_spread=out.admission_benefit_spread))
        prov, pay = spec.behaviour.provider, self.payment
        self.treatment_rules = tuple(kernels.TreatmentRules(
            capability_risk_ratio=out.capability_risk_ratio, overtreatment_harm=prov.overtreatment_harm,
            undertreatment_harm=prov.undertreatment_harm, overstay_harm=prov.overstay_harm,
            understay_harm=prov.understay_harm, complication_cost_share=out.complication_cost_share,
            item_cost_share=1 / (1 + pay.item_margin), bed_day_margin=pay.bed_day_margin,
            life_expectancy_years=out.life_expectancy_years, complication_daly=out.complication_daly,
            readmission_daly=out.readmission_daly, missed_diagnosis_per_shortening=prov.missed_diagnosis_per_shortening,
            untreated_risk_ratio=out.untreated_risk_ratio, corridor_risk_ratio=out.corridor_risk_ratio,
            followup_visit_share=spec.case_mix.followup_visit_share,
            followup_risk_reduction=out.followup_risk_reduction, followup_benefit_decay=out.followup_benefit_decay))

    def _fold(self, hook: str, *args):
        """The value a hook gives after every policy has had its say: ``args[-1]`` passed through each policy's
        ``hook(*args[:-1], value)`` in registry order (``sim.policies.base``)."""
        *given, value = args
        for method in self._hooked(hook):
            value = method(*given, value)
        return value

    def _notify(self, hook: str, *args) -> None:
        """Tell every policy, in registry order."""
        for method in self._hooked(hook):
            method(*args)

    def _hooked(self, hook: str) -> list:
        """The policies' methods for ``hook``, in registry order, leaving out those a policy does not override (the
        base's pass the value through or do nothing): a hook is called some twenty times a day."""
        methods = self._hooks.get(hook)
        if methods is None:
            base = getattr(Policy, hook)
            methods = self._hooks[hook] = [getattr(p, hook) for p in self.policies.values()
                                           if getattr(type(p), hook) is not base]
        return methods

    @property
    def enrolled(self) -> np.ndarray:
        """Residents enrolled with a family doctor (what capitation pays for): the family-doctor contracts
        when ``policies.family_doctor`` is on, else ``payment.capitation.enrolment_share`` of residents."""
        return self._fold("enrolled", self.enrolment_draw < self.spec.payment.capitation.enrolment_share)

    # ------------------------------------------------------------------------------------------- running
    def run(self, progress=None) -> HealthSystemModel:
        for _ in range(self.spec.days):
            self.step()
            if progress is not None:
                progress(1)
        return self

    def step(self) -> None:
        """One day: the care of the day, then its settlement (two halves, so that a city of several counties
        (``sim.engine.city``) can pool beds and set the city's payment rates between them)."""
        self.step_care()
        self.step_settle()

    def step_care(self) -> None:
        """The first half of a day: changes, onsets, care seeking, service, beds, billing and outcomes."""
        self._daily_records()
        for day, spec in self.changes:
            if day == self.day:
                self._configure(spec)
        if self.day == 0 or any(day == self.day for day, _ in self.changes):
            self.period_starts.append(snapshot(self))
        self._notify("start_of_day")  # posted doctors, training and the siphon (``sim.policies.staffing``)
        if self.payment.community is not None:  # a global budget: the fund pays the community daily
            self.fund.to_community += self.community.receive_instalment(self.alive_count)
        self._onset()
        self._seek_care()
        self._discharge()
        self._notify("after_discharges")  # downward transfers (``sim.policies.referral``)
        self._serve()
        self._admit_from_bed_queue()
        self._end_untreated()
        self._complete()
        self._notify("end_of_day")  # assessment (``sim.policies.assessment``)

    def step_settle(self) -> None:
        """The second half of a day: periodic payments (DIP settlement, budgets), learning and the day's record."""
        self._settle_periodic()
        self.income.end_of_day(self.facilities.books["revenue"], self.spec.behaviour.provider)
        self.learning.end_of_day(self.pop, self.day)
        self.perception.end_of_day()
        self._record()
        self.episodes.compact()
        self.day += 1

    def _daily_records(self) -> None:
        """The records (``sim.kernels.records``) with the tally's running totals and today's row of its daily table,
        made first thing each day: the table grows for a model stepped past its days, and every view of today's
        row must be of the table in use."""
        t, fac_t, cat, day = self.tally, self.facilities, self.cat, self.day
        books = fac_t.books
        self.arrival_record = tuple(kernels.Arrivals(
            options=self.geo.options, option_minutes=self.geo.option_minutes, time_critical=cat.time_critical,
            level=fac_t.level, queue=fac_t.queue, arrivals=books["arrivals"],
            arrivals_today=t.day_row(day, "arrivals")))
        self.visit_record = tuple(kernels.Visits(
            level=fac_t.level, queue=fac_t.queue, bed_queue=fac_t.bed_queue, visits=books["visits"],
            visits_by_level=t.visits, served_today=t.day_row(day, "served")))
        self.bed_record = tuple(kernels.Beds(
            level=fac_t.level, occupied=fac_t.occupied, bed_queue=fac_t.bed_queue, admissions=books["admissions"],
            admissions_by_level=t.admissions, admissions_today=t.day_row(day, "admissions"),
            discharges_by_level=t.discharges, discharges_today=t.day_row(day, "discharges"),
            elective_wait_hist=t.elective_wait_hist, clinical_los=cat.clinical_los, time_critical=cat.time_critical,
            exacerbation=self.exacerbation))
        self.treatment_tally = tuple(kernels.TreatmentTally(
            clinical_los=cat.clinical_los, time_critical=cat.time_critical, critical_kind=self.critical_kind,
            treated=t.treated, charges=t.charges, inpatient_charges=t.inpatient_charges,
            outpatient_charges=t.outpatient_charges, outpatient_episodes=t.outpatient_episodes, fund=t.fund, oop=t.oop,
            provider_revenue=t.provider_revenue, provider_cost=t.provider_cost, intensity_sum=t.intensity_sum,
            appropriate=t.appropriate, bed_days=t.bed_days, wait_hist=t.wait_hist, ended=t.ended,
            kind_critical_minutes_sum=t.kind_critical_minutes_sum, kind_critical_treated=t.kind_critical_treated,
            treated_today=t.day_row(day, "treated"), spending_today=t.day_row(day, "spending"),
            fund_today=t.day_row(day, "fund"), oop_today=t.day_row(day, "oop"),
            wait_days_sum_today=t.day_row(day, "wait_days_sum")))

    # ------------------------------------------------------------------------------------------- onset
    def _onset(self) -> None:
        """New episodes by condition and age band (docs/ODD.md §7.4), then the readmissions falling due."""
        rng = self.streams["onset"]
        counts = rng.poisson(self.onset_rate).ravel()  # by (condition, age band)
        total = int(counts.sum())
        u_pick = rng.random(total)
        onsets = kernels.onset_cases(counts, u_pick, rng.random(total), len(AGE_BANDS), self.case_mix, FEMALE_KIND)
        draws = self._episode_draws(rng, total)
        keep = onsets.possible & ~self._fold("prevented", onsets.resident, onsets.condition,
                                             np.zeros(len(onsets.resident), bool))
        self._add_episodes(onsets, draws, keep, readmission=False)
        due = self.scheduled["day"] <= self.day
        if due.any():  # readmissions after the new episodes, drawing their numbers from their own stream
            s = {k: v[due] for k, v in self.scheduled.items()}
            self.scheduled = {k: v[~due] for k, v in self.scheduled.items()}
            more = self._episode_draws(self.streams["readmission"], int(due.sum()))
            alive = self.pop.alive[s["resident"]]
            self._add_episodes(kernels.Onsets(s["condition"], s["resident"], s["severity"], alive), more, alive,
                               readmission=True)

    def _episode_draws(self, rng: np.random.Generator, n: int) -> kernels.EpisodeDraws:
        """Every random number an episode will use, drawn at its birth."""
        taste = rng.random((n, self.episodes.n_options), dtype=np.float32)  # Gumbel -log(-log u), in place
        np.minimum(np.maximum(taste, 1e-7, out=taste), 1 - 1e-7, out=taste)
        np.negative(np.log(taste, out=taste), out=taste)
        np.negative(np.log(taste, out=taste), out=taste)
        sd = self.spec.case_mix.cost_dispersion
        return kernels.EpisodeDraws(  # drawn in this order
            taste=taste,
            patience=rng.exponential(size=n),
            admission_noise=rng.standard_normal(n),
            u_death=rng.random(n, dtype=np.float32),
            u_complication=rng.random(n, dtype=np.float32),
            u_readmission=rng.random(n, dtype=np.float32),
            u_readmit_day=rng.random(n, dtype=np.float32),
            u_stay=rng.random(n, dtype=np.float32),
            # the case's own resource use: lognormal, mean 1
            cost_factor=np.exp(sd * rng.standard_normal(n, dtype=np.float32) - sd * sd / 2),
            scruple=rng.exponential(size=n).astype(np.float32),
            u_review=rng.random(n, dtype=np.float32),  # whether the fund reviews this claim (coding and need)
        )

    def _add_episodes(self, onsets: kernels.Onsets, draws: kernels.EpisodeDraws, keep: np.ndarray,
                      readmission: bool) -> None:
        """Start the episodes of ``onsets`` that ``keep`` selects (``sim.kernels.write_episodes``)."""
        n = int(np.count_nonzero(keep))
        if n == 0:
            return
        ep = self.episodes
        # the referral rules' draw (a downward transfer's taste) comes from its own stream, so the other processes'
        # numbers do not move
        u_transfer = self.streams["referral"].random(n, dtype=np.float32)
        start = ep.extend(n)
        starts = kernels.EpisodeStart(row=start, keep=keep, u_transfer=u_transfer, readmission=readmission,
                                      seek_day=self.day, patience_days=self.spec.behaviour.resident.patience_days,
                                      state=E.CHOOSING)
        kernels.write_episodes(ep.record(kernels.OnsetColumns), ep.record(kernels.DrawColumns), tuple(onsets),
                               tuple(draws), tuple(starts), self.stakes)
        self.tally.episodes_started += n

    # ------------------------------------------------------------------------------------------- choice
    def _seek_care(self) -> None:
        """Every choosing episode takes a facility or forgoes care (``sim.behaviour.care_seeking``); those that go join
        its queue."""
        ep = self.episodes
        rows = np.flatnonzero(ep.state == E.CHOOSING)
        if len(rows) == 0:
            return
        fac_t = self.facilities
        village, choice = self.choose_care(rows)
        critical, trip = kernels.book_choices(rows, village, choice, ep.record(kernels.BookingColumns),
                                              self.arrival_record, E.WAITING, E.UNTREATED, E.SELF_CARED)
        if len(critical):  # the clock of a time-critical case: the trip, then the minutes to identify it
            fac, c = ep.facility[critical], ep.condition[critical]
            minutes = self._fold("identification_minutes", fac, c, fac_t.identification_minutes[fac])
            ep.critical_minutes[critical] = trip + minutes

    def choose_care(self, rows: np.ndarray, favoured: np.ndarray | None = None,
                    bonus: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """What the episodes ``rows`` would choose now (``sim.behaviour.care_seeking``): their village and choice
        (0 to forgo, -1 self-care, j + 1 option j of the village); nothing is changed. ``favoured`` (or None) is
        the option of each offered a booking (-1: none), worth ``bonus`` more utility (``sim.policies.referral``)."""
        ep, fac_t, pop, geo, cat = self.episodes, self.facilities, self.pop, self.geo, self.cat
        res = ep.resident[rows]
        village_term, wait_term = self.care.village_terms(geo.option_minutes, self.expected_wait[geo.options])
        # a re-choice excludes the facility just left (``sim.behaviour.care_seeking``); hard first contact closes the
        # hospitals to some (``sim.policies.referral``)
        scheme, closed_above = pop.employee[res].view(np.int8), None
        for steer in self._hooked("steer"):
            scheme, closed_above = steer(rows, scheme, closed_above)
        return self.care.choose(
            rows=rows, episodes=ep, residence=pop.village, time_critical=cat.time_critical, scheme=scheme,
            personal_trust=np.take(pop.trust, res, axis=0),
            village_opinion=pop.village_opinion,
            village_term=village_term, wait_term=wait_term, case_term=self._case_terms(),
            open_village=fac_t.clinic_minutes()[geo.options] > 0, closed_above=closed_above,
            perception=self.perception, options=geo.options, favoured=favoured, bonus=bonus)

    def _case_terms(self) -> np.ndarray:
        """Utility of each kind of case at each option from expected out-of-pocket cost, refreshed every
        ``behaviour.resident.price_expectation_refresh_days`` (news of prices travels slowly); set
        ``self._case_cache = None`` when insurance rules change."""
        if self._case_cache is None or self.day % self.spec.behaviour.resident.price_expectation_refresh_days == 0:
            oop = self._fold("pricing_classes", self.beliefs, self.fund, self.beliefs.expected_oop(self.fund))
            self._case_cache = self.care.case_terms(oop)
        return self._case_cache

    # ------------------------------------------------------------------------------------------- service
    def _serve(self) -> None:
        """Each facility gives its clinic minutes to its queue, time-critical and severe cases first, at the pace
        its provider chooses (``sim.behaviour.pace``); who is not seen today waits, or leaves. Patients seen
        waited hours for their turn (``sim.kernels.queueing``). Time-critical cases transferred up are served
        where they arrive, in further passes the same day."""
        ep, fac_t = self.episodes, self.facilities
        doctors, available = fac_t.doctors, fac_t.clinic_minutes()
        if self.city_lends:  # a city's shared clinics: its doctors, less what the counties before took today
            doctors = doctors + self.lent_doctors
            available = np.maximum(doctors * fac_t.clinic_hours * 60.0 - self.clinic_taken, 0.0)
        clinic = self._see_returns(available)  # the minutes left after today's booked return visits
        budget = clinic.copy()
        self._transferred = 0
        for attempt in range(CRITICAL_TRANSFER_PASSES):
            if attempt > 0:  # later passes treat only time-critical transfers that arrived in the pass before
                if not self._transferred:
                    break
                self._transferred = 0
                rows = np.flatnonzero(ep.state == E.WAITING)
                rows = rows[self.cat.time_critical[ep.condition[rows]]]
            else:
                rows = np.flatnonzero(ep.state == E.WAITING)
            if len(rows) == 0:
                break
            fac = ep.facility[rows]
            normal = fac_t.consultation_minutes[fac] * self.severity_minutes[ep.severity[rows]]
            if attempt == 0:
                pace = self._choose_pace(rows, fac, normal, clinic)
            minutes = normal * pace[fac]
            critical = self.cat.time_critical[ep.condition[rows]]
            rows, served, order, ahead, _ = kernels.serve_queue(
                rows, ep.facility, ep.severity, ep.seek_day, critical, minutes, budget)
            seen = rows[served]
            # how far short of the adequate length each consultation fell (sim.behaviour.pace)
            given = pace * fac_t.consultation_minutes / self.spec.outcomes.adequate_consultation_minutes
            ep.consult_short[seen] = np.maximum(1.0 - given[ep.facility[seen]], 0.0).astype(np.float32)
            t, day = self.tally, self.day
            lvl = fac_t.level[ep.facility[seen]]
            seen_by_level = np.bincount(lvl, minlength=N_LEVELS)
            t.consultations += seen_by_level
            t.consultation_minutes_sum += np.bincount(lvl, minutes[order[served]], minlength=N_LEVELS)
            t.day_row(day, "consultations")[:] += seen_by_level
            if attempt == 0:
                # hours waited today for the consultation: the clinic queue of the facility's day
                used = clinic - budget
                n_seen = np.bincount(ep.facility[seen], minlength=fac_t.n)
                mean = np.divide(used, n_seen, out=np.zeros(fac_t.n), where=n_seen > 0)
                hours = kernels.clinic_wait_hours(doctors, used, clinic, mean,
                                                  self.spec.case_mix.consultation_cv2, fac_t.clinic_hours)
                queued = seen[~critical[order[served]]]  # time-critical cases go first
                waited = hours[ep.facility[queued]]
                ep.wait_hours[queued] = waited.astype(np.float32)
                waited_by_level = np.bincount(fac_t.level[ep.facility[queued]], waited, minlength=N_LEVELS)
                t.clinic_wait_hours_sum += waited_by_level
                t.day_row(day, "outpatient_wait_hours_sum")[:] += waited_by_level
                self._balk(rows[~served], ahead[~served], minutes[order[~served]], clinic)
            self._treat(seen)
        self.clinic_used = available - budget

    def _see_returns(self, clinic: np.ndarray) -> np.ndarray:
        """The return visits booked for today are seen first, by appointment (no queue), at the normal pace;
        returns the clinic minutes left for everyone else."""
        booked = self.booked_returns.pop(self.day, None)
        if booked is None:
            return clinic
        minutes, visits = booked
        fac_t, t = self.facilities, self.tally
        fac_t.books["visits"] += visits
        by_level = np.bincount(fac_t.level, visits, minlength=N_LEVELS)
        t.visits += by_level
        t.return_visits += by_level
        return np.maximum(clinic - minutes, 0.0)

    def _book_returns(self, rows: np.ndarray, returns: np.ndarray) -> None:
        """Book the return visits asked of the outpatients ``rows`` with the facility that treated them, one every
        ``followup_interval_days``; each takes ``case_mix.followup_visit_share`` of a first visit's minutes."""
        ask = returns > 0
        if not ask.any():
            return
        rows, returns = rows[ask], returns[ask]
        ep, fac_t, spec = self.episodes, self.facilities, self.spec
        fac = ep.facility[rows]
        n = fac_t.n
        minutes = (fac_t.consultation_minutes[fac] * self.severity_minutes[ep.severity[rows]]
                   * spec.case_mix.followup_visit_share)
        self.tally.returns_asked += np.bincount(fac_t.level[fac], returns, minlength=N_LEVELS)
        interval = spec.behaviour.provider.followup_interval_days
        for j in range(1, int(returns.max()) + 1):
            due = returns >= j
            day = self.day + j * interval
            if day >= spec.days:
                break
            book = self.booked_returns.setdefault(day, (np.zeros(n), np.zeros(n)))
            book[0][:] += np.bincount(fac[due], minutes[due], minlength=n)
            book[1][:] += np.bincount(fac[due], minlength=n)

    def _choose_pace(self, rows: np.ndarray, fac: np.ndarray, normal: np.ndarray, clinic: np.ndarray):
        """Each facility's pace today (``sim.behaviour.pace``), from what it sees of its queue."""
        ep, cat, out = self.episodes, self.cat, self.spec.outcomes
        n = self.facilities.n
        queued = np.bincount(fac, minlength=n)
        work = np.bincount(fac, normal, minlength=n)
        if not (work > clinic).any():
            return np.ones(n)
        c, s = ep.condition[rows], ep.severity[rows]
        age = self.pop.age[ep.resident[rows]]
        at_risk = (cat.death_risk[c, s] * np.maximum(out.life_expectancy_years - age, 1.0)
                   + cat.complication_risk[c, s] * out.complication_daly)
        per = np.maximum(queued, 1)
        stake = np.bincount(fac, at_risk, minlength=n) * (out.untreated_risk_ratio - 1.0) / per
        delay = np.bincount(fac, at_risk * cat.delay_harm_per_day[c], minlength=n) / per
        forgo = stake + np.bincount(fac, out.untreated_daly_per_severity * (s + 1.0), minlength=n) / per
        prov, res = self.spec.behaviour.provider, self.spec.behaviour.resident
        normal_share = self.facilities.consultation_minutes / out.adequate_consultation_minutes
        return choose_pace(queued, work, clinic, normal_share, self.visit_margins.margin, stake, delay, forgo,
                           profit_weight=self.provider.profit_weight * self.pay_factor,
                           benefit_weight=prov.benefit_weight,
                           value_per_daly=prov.value_per_daly_yuan, leave=1.0 / res.patience_days,
                           miss_per_shortening=prov.missed_diagnosis_per_shortening,
                           floor=prov.min_consultation_share)

    def _balk(self, rows: np.ndarray, ahead: np.ndarray, minutes: np.ndarray, clinic: np.ndarray) -> None:
        """Waiting episodes whose expected remaining wait (the consultation minutes ahead of them and their own,
        over a day's clinic minutes) exceeds their patience leave the queue."""
        ep = self.episodes
        daily = np.maximum(clinic[ep.facility[rows]], 1e-9)
        expected_days = (np.maximum(ahead, 0) + minutes) / daily
        rows = rows[expected_days > ep.patience[rows]]
        count(self.facilities.queue, ep.facility[rows], sign=-1)
        self._give_up_or_choose_again(rows)

    def _give_up_or_choose_again(self, rows: np.ndarray) -> None:
        """Episodes leaving a queue choose again (the facility they leave excluded) while they have re-choices
        left (``max_rechoices``); after that they give up and go untreated."""
        ep = self.episodes
        again = ep.rechoices[rows] < self.spec.behaviour.resident.max_rechoices
        ep.state[rows[again]] = E.CHOOSING
        ep.rechoices[rows[again]] += 1
        self._forgo(rows[~again])

    def _cases(self, rows: np.ndarray) -> Cases:
        """What the provider knows of the cases ``rows`` it sees (``sim.behaviour.provider.Cases``)."""
        fac_t = self.facilities
        seen = kernels.gather_cases(rows, self.day, self.episodes.record(kernels.SeenColumns), self.case_context,
                                    self.top_level, self.spec.behaviour.provider.upcoding_scruple_yuan)
        fac, level, employee = seen.facility, seen.level, seen.employee
        community = self.payment.community is not None
        up = np.minimum(level + 1, self.top_level) if community else None
        income = self.income.factor
        cut = self._fold("rate_cut", rows, level, None)
        return Cases(
            condition=seen.condition, severity=seen.severity, age=seen.age, level=level,
            capability=self._fold("capability", fac, seen.need, fac_t.capability[fac]),
            price_level=seen.price_level, cost_factor=seen.cost_factor, has_beds=seen.has_beds,
            can_refer=seen.can_refer, occupancy=seen.occupancy, delay=seen.delay,
            admission_benefit=seen.admission_benefit,
            fund_rate_out=self.fund.marginal_rate(level, employee, inpatient=False, rate_cut=cut),
            fund_rate_in=self.fund.marginal_rate(level, employee, inpatient=True, rate_cut=cut),
            # what a referral costs elsewhere matters only to a medical community's members
            fund_rate_up_out=self.fund.marginal_rate(up, employee, inpatient=False) if community else 0.0,
            fund_rate_up_in=self.fund.marginal_rate(up, employee, inpatient=True) if community else 0.0,
            price_ratio_up=self.level_price[up] / self.level_price[level] if community else 0.0,
            capitated=self._capitated(rows, fac), scruple=seen.coding_cost,
            category_price=None if self.price_factors is None else self.price_factors[fac],
            profit_weight_factor=self.pay_factor[fac] if income is None else self.pay_factor[fac] * income[fac],
            margin=self._fold("margin_adjustment", fac, level, None))

    def _capitated(self, rows: np.ndarray, fac: np.ndarray) -> np.ndarray:
        """Enrolled residents at their own village clinic or township centre (covered by capitation)."""
        if not self.payment.uses_capitation:
            return np.zeros(len(rows), bool)
        res = self.episodes.resident[rows]
        own = self.geo.options[self.pop.village[res], :2]
        return self.enrolled[res] & ((own[:, 0] == fac) | (own[:, 1] == fac))

    def _treat(self, rows: np.ndarray) -> None:
        """The providers decide on the cases they serve today (``sim.behaviour.provider``); the decisions are booked
        (``sim.kernels.record_decisions``) and referrals sent on."""
        if len(rows) == 0:
            return
        ep = self.episodes
        cases = self._cases(rows)
        self._notify("served", rows, cases.level)
        d = self.provider.decide(cases)
        decided = kernels.CaseDecisions(
            refer=d.refer, admit=d.admit, intensity=d.intensity, stay_ratio=d.stay_ratio,
            drug_ratio=np.ones(len(rows)) if d.drug_ratio is None else d.drug_ratio, returns=d.returns,
            code_up=d.code_up)
        kernels.record_decisions(rows, tuple(decided), self.day, ep.record(kernels.DecisionColumns),
                                 self.visit_record, (E.BED_QUEUE, E.TREATED))
        ep.returns[rows] = d.returns
        self._refer(rows[d.refer])

    def _refer(self, rows: np.ndarray) -> None:
        """Referral up: time-critical cases are transferred at once to the nearest capable facility; the
        others choose again among higher levels tomorrow."""
        if len(rows) == 0:
            return
        ep, fac_t, cat = self.episodes, self.facilities, self.cat
        fac = ep.facility[rows]
        count(fac_t.books["referrals_out"], fac)
        self.tally.referrals_up += np.bincount(fac_t.level[fac], minlength=N_LEVELS)
        ep.referred[rows] = True
        critical = cat.time_critical[ep.condition[rows]]
        later, now = rows[~critical], rows[critical]
        ep.state[later] = E.CHOOSING
        ep.min_level[later] = fac_t.level[ep.facility[later]] + 1
        ep.rechoices[later] = 0
        self._notify("referred_up", later)  # a referral platform books them where it can
        if len(now):
            need = cat.need_level[ep.condition[now], ep.severity[now]]
            src = ep.facility[now]
            best = kernels.transfer_destinations(src, need, fac_t.capability, fac_t.level, self.geo.facility_minutes)
            own = self._fold("identification_minutes", best, ep.condition[now], fac_t.identification_minutes[best])
            trip = self.geo.facility_minutes[src, best]
            ep.critical_minutes[now] += self._fold("transfer_clock", src, ep.condition[now], own, trip, trip + own)
            ep.travel_minutes[now] += self.geo.facility_minutes[src, best]
            ep.facility[now] = best
            ep.state[now] = E.WAITING
            count(fac_t.queue, best)
            self._transferred += len(now)

    def _admit_from_bed_queue(self) -> None:
        """Admitted episodes take free beds in priority order. Urgent ones (time-critical or severe) are admitted
        at once, to a corridor bed when no bed is free; elective ones wait on the hospital's waiting list, or
        leave it when their patience runs out."""
        ep, fac_t, cat = self.episodes, self.facilities, self.cat
        rows = np.flatnonzero(ep.state == E.BED_QUEUE)
        if len(rows) == 0:
            return
        free = np.maximum(fac_t.beds - fac_t.occupied, 0).astype(float)
        urgent = cat.time_critical[ep.condition[rows]] | (ep.severity[rows] == SEVERE)
        rows, go, _, _, fitted = kernels.serve_queue(rows, ep.facility, ep.severity, ep.seek_day, urgent,
                                                     np.ones(len(rows)), free)
        self._leave_bed_queue(rows[~go])
        ep.corridor[rows[go & ~fitted]] = True
        self.tally.exacerbation_admissions += kernels.admit(
            rows[go], self.day, ep.record(kernels.BedColumns), self.bed_record, E.INPATIENT, SEVERE)

    def _leave_bed_queue(self, rows: np.ndarray) -> None:
        """Elective patients on a waiting list longer than their patience (their own draw times
        ``elective_patience_days``) leave it."""
        ep = self.episodes
        resident = self.spec.behaviour.resident
        patience = ep.patience[rows] * (resident.elective_patience_days / resident.patience_days)
        rows = rows[self.day - ep.admit_day[rows] >= patience]
        count(self.facilities.bed_queue, ep.facility[rows], sign=-1)
        self._give_up_or_choose_again(rows)

    def _discharge(self) -> None:
        """Inpatients whose stay ends today free their beds; their treatment is finished (billed today)."""
        ep = self.episodes
        kernels.discharge(self.day, len(ep), ep.record(kernels.BedColumns), self.bed_record, E.INPATIENT, E.TREATED)

    # ------------------------------------------------------------------------------------------- endings
    def _forgo(self, rows: np.ndarray) -> None:
        """Episodes that forgo care (or give up waiting) end untreated at the end of the day."""
        self.episodes.state[rows] = E.UNTREATED

    def _end_untreated(self) -> None:
        """Episodes that went without a facility today, untreated or treated at home, meet their risks."""
        self._end_without_facility(E.UNTREATED)
        self._end_without_facility(E.SELF_CARED)

    def _end_without_facility(self, state: int) -> None:
        """The episodes in ``state`` (untreated or self-cared) meet their condition's base risks times the
        risk ratio of going without a doctor (``outcomes.untreated_risk_ratio``, ``outcomes.self_care_risk_ratio``)
        and the health loss of the illness left to itself, except a self-limiting condition, which runs its course
        as if treated. Self-care is paid for at the pharmacy. A self-cared episode ends as self-care; an untreated
        one as care forgone, unless its illness is self-limiting: rest and home remedies are then its care, and
        it too ends as self-care (so ``forgone_care_rate`` counts only illness that needed care)."""
        ep, cat, out = self.episodes, self.cat, self.spec.outcomes
        rows = np.flatnonzero(ep.state == state)
        if len(rows) == 0:
            return
        ratio = out.untreated_risk_ratio if state == E.UNTREATED else out.self_care_risk_ratio
        limiting = cat.self_limiting
        ended = kernels.forgo_outcomes(rows, ep.record(kernels.CompletionColumns), self.stakes,
                                       np.where(limiting, 1.0, ratio),
                                       np.where(limiting, 0.0, out.untreated_daly_per_severity))
        self._die(ep.resident[rows[ended.died]])
        t = self.tally
        t.health_loss_daly += ended.health_loss
        t.deaths += ended.deaths
        t.complications += ended.complications
        limited = int(limiting[ep.condition[rows]].sum()) if state == E.UNTREATED else len(rows)
        t.ended[E.SELF_CARE] += limited
        t.ended[E.FORGONE] += len(rows) - limited
        t.critical_ended += ended.critical
        t.critical_deaths += ended.critical_deaths
        if state == E.SELF_CARED:
            t.self_care_spending += float(cat.self_care_cost[ep.condition[rows], ep.severity[rows]].sum())
        ep.end(rows)

    def _complete(self) -> None:
        """Bill, settle, meet outcomes and learn for every treatment finished today (outpatients treated and
        inpatients discharged); then end the episodes."""
        ep, cat, fac_t, t = self.episodes, self.cat, self.facilities, self.tally
        rows = np.flatnonzero(ep.state == E.TREATED)
        if len(rows) == 0:
            return
        fac = ep.facility[rows]
        lvl = fac_t.level[fac]
        c, s = ep.condition[rows].astype(np.int64), ep.severity[rows].astype(np.int64)
        res = ep.resident[rows]

        # A stay split by a downward transfer: outcomes of the acute hospital's care, the township's days billed here.
        stays = self._fold("split_stays", rows, None)
        acute = fac if stays is None else np.where(stays.moved, ep.acute_facility[rows], fac)
        need = cat.need_level[c, s]
        capability = self._fold("capability", acute, need, fac_t.capability[acute])

        # Outcomes, bills and health loss (one pass, ``sim.kernels.finish_treatments``): risks from capability,
        # delay, intensity and stay; outcomes from the episode's own uniforms; items scale with intensity, an
        # inpatient's daily bundle with days stayed, and an inpatient complication adds its treatment. The
        # case's own resource use scales the whole bill.
        pay = self.payment
        factors = self.price_factors[fac] if self.price_factors is not None else self._no_factors
        finished = kernels.FinishedCases(
            condition=c, severity=s, facility=fac, capability=capability,
            risk_factor=self._fold("risk_factor", rows, fac, np.ones(len(rows))), price_factors=factors)
        done = kernels.finish_treatments(rows, self.day, tuple(finished), ep.record(kernels.TreatmentColumns),
                                         self.treatment_context, self.treatment_rules)
        died, comp, readmit, inpatient, bill, charges = (done.died, done.complication, done.readmitted,
                                                         done.inpatient, done.bill, done.charges)
        cost, wait, bed_days = done.cost, done.wait, done.bed_days
        t.health_loss_daly += done.health_loss
        cc = inpatient & comp
        benefit = ep.admission_benefit[rows]
        claims = pay.settle(self.fund, fac_t, fac=fac, level=lvl, c=c, s=s, coded_s=done.coded_severity, cc=cc,
                            inpatient=inpatient, bill=bill, employee=self.pop.employee[res],
                            capitated=self._capitated(rows, fac), admission_benefit=benefit,
                            u_review=ep.u_review[rows], bed_days=bed_days,
                            rate_cut=self._fold("rate_cut", rows, lvl, None),
                            deductible=self._fold("deductible", rows, lvl, None))
        revenue, fund, oop = claims.revenue, claims.fund, claims.oop
        books = fac_t.books
        for name, values in (("revenue", revenue), ("resource_cost", cost), ("fund_income", fund),
                             ("oop_income", oop), ("bed_days", bed_days), ("good_outcomes", ~died & ~comp)):
            count(books[name], fac, values)
        self._notify("completed", Completed(rows, fac, lvl, res, charges, inpatient, fund, ep.referred[rows]))
        self.visit_margins.learn(fac[~inpatient], (revenue - cost)[~inpatient])  # what a visit earns (pace)
        self._learn_waits(fac, wait)
        t.coded_weight_sum += float(claims.coded_weight.sum())
        t.upcoded += int(claims.upcoded.sum())
        t.audit_recovered += float(claims.recovered.sum())
        t.admissions_refused += int(claims.refused.sum())

        self._book_returns(rows, np.where(inpatient | died, 0, ep.returns[rows]))
        self._schedule_readmissions(rows[readmit])
        self._die(res[died])
        if self.community is not None and self.community.instruments is not None:
            self.community.instruments.book(lvl, c * 3 + s, fund, revenue - cost)  # its books by kind of case
        self.perception.observe(acute, need, done.p_death, done.p_complication, done.capability_factor, died, comp)
        expected = cat.death_risk[c, s] + cat.complication_risk[c, s]
        factor = self.perception.expected_risk_factor(acute, need)  # what residents have learned to expect
        self.learning.learn(self.pop, res, lvl if stays is None else stays.level, self.day,
                            surprise=(expected if factor is None else expected * factor) - died - comp)
        if stays is None:
            self.beliefs.learn(c, s, lvl, bill, inpatient)
        else:  # a split stay's partial bills would mislead what residents expect a stay to cost
            keep = ~stays.moved
            self.beliefs.learn(c[keep], s[keep], lvl[keep], bill[keep], inpatient[keep])

        # Tally: every per-level sum and count in one pass (``sim.kernels.tally_treatments``).
        treated = tuple(kernels.Treatments(c, s, lvl, inpatient, charges, fund, oop, revenue, cost, done.q_care,
                                           capability >= need, bed_days, wait, died, comp, readmit,
                                           ep.travel_minutes[rows], ep.critical_minutes[rows]))
        counts = kernels.tally_treatments(treated, self.treatment_tally, N_LEVELS, WAIT_BINS_PER_DAY)
        t.wait_days_total += float(counts.wait_days.sum())
        t.deaths += counts.deaths
        t.complications += counts.complications
        t.readmissions += counts.readmissions
        t.travel_minutes_sum += counts.travel_minutes
        t.critical_minutes_sum += counts.critical_minutes
        t.critical_treated += counts.critical_treated
        t.critical_ended += counts.critical_treated
        t.critical_deaths += counts.critical_deaths
        t.clinical_bed_days += counts.clinical_bed_days
        ep.end(rows)

    def _settle_periodic(self) -> None:
        """Payments due at the end of the day (``sim.payment.models.PaymentSystem.end_of_day``: DIP settlements,
        capitation instalments, the community's budget settlement)."""
        self.payment.end_of_day(self)
        if self.community is not None:
            self.tally.community_net = self.community.net_position

    def _learn_waits(self, fac: np.ndarray, wait: np.ndarray) -> None:
        """Residents' expectation of each facility's wait follows the waits of the patients it finished today
        (word of its crowding), with time scale ``behaviour.resident.wait_memory_days``."""
        n = self.facilities.n
        finished = np.bincount(fac, minlength=n)
        if not finished.any():
            return
        today = np.divide(np.bincount(fac, wait, minlength=n), finished, out=np.zeros(n), where=finished > 0)
        rate = 1.0 / self.spec.behaviour.resident.wait_memory_days
        self.expected_wait += np.where(finished > 0, rate * (today - self.expected_wait), 0.0)

    def _schedule_readmissions(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        ep = self.episodes
        window = self.spec.outcomes.readmission_window_days
        day = self.day + 1 + np.floor(ep.u_readmit_day[rows] * window).astype(np.int32)
        new = {"day": day, "resident": ep.resident[rows], "condition": ep.condition[rows],
               "severity": ep.severity[rows]}
        self.scheduled = {k: np.concatenate([self.scheduled[k], v.astype(self.scheduled[k].dtype)])
                          for k, v in new.items()}

    def _die(self, residents: np.ndarray) -> None:
        self.alive_count -= kernels.die(residents, self.pop.alive)

    # ------------------------------------------------------------------------------------------- recording
    def _record(self) -> None:
        fac_t, t, d = self.facilities, self.tally, self.day
        queue, waiting, corridor, occupied, beds, used = kernels.by_level(
            fac_t.level, N_LEVELS, fac_t.queue, fac_t.bed_queue, fac_t.occupied, fac_t.beds)
        t.day_row(d, "queue_length")[:] = queue
        t.day_row(d, "waiting_list")[:] = waiting
        t.day_row(d, "corridor_beds")[:] = corridor
        t.corridor_bed_days += corridor
        t.waiting_list_days += float(waiting.sum())
        t.day_row(d, "occupied_beds")[:] = occupied
        t.day_row(d, "beds")[:] = beds
        t.occupied_bed_days += used
        t.available_bed_days += beds
        t.person_days += self.alive_count
        t.capacity_cost += capacity_cost_per_day(fac_t, self.spec)
        t.alive_now = self.alive_count
        state = self.episodes.state
        t.waiting_now = int(((state == E.WAITING) | (state == E.BED_QUEUE)).sum())
