"""What the tests share: small counties, the cases in front of a provider, running the command in this process, the
comparison of two runs, and the invariants every run keeps.

A small county is the schema's defaults at a chosen size and length on one seed, with nested overrides laid
over. Runs are cached by their overrides, so every arm of a comparison shares its random numbers (common random
numbers) and each arm runs once per test session, whichever test file asks for it. A test file binds its
county's size and length once::

    county = partial(conftest.county, size=SIZE, days=DAYS)   # the Scenario
    run = partial(conftest.run, size=SIZE, days=DAYS)         # the finished model and its metrics

and may still change ``days`` (or ``seed``) of one call.
"""

from __future__ import annotations

import io
import json
import os
import socket
from collections.abc import Collection, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from functools import cache

import numpy as np
from hypothesis import settings

from sim.behaviour.provider import Cases
from sim.core import episodes as E
from sim.core.levels import LEVELS, N_LEVELS, TOWNSHIP
from sim.engine.model import HealthSystemModel
from sim.params.loading import overlay
from sim.params.scenario import Scenario
from sim.payment.capitation import INSTALMENT_DAYS, Capitation
from sim.payment.dip import DiagnosisInterventionPacket
from sim.payment.models import PaymentSystem
from sim.policies.assessment import Assessor
from sim.results import metrics

SEED = 20240101

# Property tests draw the same examples on every run (``ci``), so a failure is reproduced by running the suite
# again; ``HYPOTHESIS_PROFILE=explore`` draws fresh ones to look for new failures.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------------------------------- small counties
def county(overrides: dict | None = None, *, size: int = 20_000, days: int = 150, seed: int = SEED) -> Scenario:
    """The default county of ``size`` residents for ``days`` on ``seed``, with ``overrides`` (a nested mapping)
    merged in key by key, so that a partial facility level (``{"facilities": {"county": {"doctors": 5}}}``)
    keeps the level's other default values."""
    data = overlay(Scenario().model_dump(mode="json"),
                   {"name": "small county", "seed": seed, "days": days, "replicates": 1,
                    "population": {"size": size}})
    return Scenario.model_validate(overlay(data, overrides or {}))


@cache
def _run(key: str, size: int, days: int, seed: int) -> tuple[HealthSystemModel, dict]:
    model = HealthSystemModel(county(json.loads(key), size=size, days=days, seed=seed), seed=seed).run()
    return model, metrics.compute(model)


def run(overrides: dict | None = None, *, size: int = 20_000, days: int = 150,
        seed: int = SEED) -> tuple[HealthSystemModel, dict]:
    """The finished model of ``county(overrides, ...)`` and its metrics, cached: the same arm is never run twice,
    so the models returned are shared and must not be changed."""
    return _run(json.dumps(overrides or {}, sort_keys=True), size, days, seed)


# --------------------------------------------------------------------------------------------- provider cases
def every_case(cat) -> tuple[np.ndarray, np.ndarray]:
    """Every (condition, severity) of the catalogue ``cat``, one row each: conditions and severities."""
    return np.repeat(np.arange(cat.n), 3), np.tile(np.arange(3), cat.n)


def provider_cases(spec: Scenario, level: str, c: np.ndarray, s: np.ndarray, **columns) -> Cases:
    """The cases (condition ``c``, severity ``s``, one row each) in front of a provider at ``level`` of ``spec``:
    residents aged 60 of ordinary resource use at the level's capability and price level, no delay, beds half
    occupied and a higher level to refer to, no benefit of admission, the fund paying 50% of one more yuan of an
    outpatient and 70% of an inpatient bill (40% and 60% a level up, where prices are 1.5 times as high), not
    capitated, never coded up. ``columns`` replace any of these (``has_beds`` must be given), a number standing
    for every row."""
    n = len(c)
    fac = getattr(spec.facilities, level)
    given = {k: np.full(n, v) if np.isscalar(v) else v for k, v in columns.items()}
    return Cases(**{
        "condition": c, "severity": s, "age": np.full(n, 60.0), "level": np.full(n, LEVELS.index(level)),
        "capability": np.full(n, fac.capability), "price_level": np.full(n, fac.price_level),
        "cost_factor": np.ones(n), "can_refer": np.ones(n, bool), "occupancy": np.full(n, 0.5),
        "delay": np.ones(n), "admission_benefit": np.zeros(n), "fund_rate_out": np.full(n, 0.5),
        "fund_rate_in": np.full(n, 0.7), "fund_rate_up_out": np.full(n, 0.4), "fund_rate_up_in": np.full(n, 0.6),
        "price_ratio_up": np.full(n, 1.5), "capitated": np.zeros(n, bool), "scruple": np.full(n, np.inf),
        **given})


# --------------------------------------------------------------------------------------------- commands
def run_cli(argv: list) -> tuple[int, str, str]:
    """``triangle argv`` in this process (``sim.apps.cli.main``): (exit status, stdout, stderr)."""
    from sim.apps.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors
            status = exc.code
    return status, out.getvalue(), err.getvalue()


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------- comparison
def same(a: dict, b: dict, *, skip: Collection[str] = ()) -> bool:
    """Two runs' metrics name for name and number for number (NaN equal to NaN), except the names in ``skip``."""
    return a.keys() == b.keys() and all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k]))
                                        for k in a if k not in skip)


# --------------------------------------------------------------------------------------------- invariants
def check_queues(model: HealthSystemModel) -> None:
    """Queues and beds are non-negative and equal the episodes in them, per facility."""
    fac, ep = model.facilities, model.episodes
    n = fac.n
    assert (fac.queue >= 0).all(), f"day {model.day}: negative outpatient queue {fac.queue.min()}"
    assert (fac.bed_queue >= 0).all(), f"day {model.day}: negative bed queue {fac.bed_queue.min()}"
    assert (fac.occupied >= 0).all(), f"day {model.day}: negative occupancy {fac.occupied.min()}"
    for state, column in ((E.WAITING, fac.queue), (E.BED_QUEUE, fac.bed_queue), (E.INPATIENT, fac.occupied)):
        in_state = np.bincount(ep.facility[ep.state == state], minlength=n)
        np.testing.assert_array_equal(column, in_state, err_msg=f"day {model.day}, state {state}")


class Money:
    """Every payment of a run as the payment system makes it, by facility, recorded where it is made
    (``money_watched``): a ledger apart from the books the model keeps, to check those books against.

    - claims (``PaymentSystem.settle``, for every finished treatment and every first part of a stay split by a
      downward transfer): the bill, what the claim model pays the facility for it (revenue), the fund's part and
      the patient's;
    - periodic payments (each claim model's ``end_of_day``: capitation's instalments, DIP's settlements of the
      point value), by the model that pays them;
    - assessment deductions withheld from township centres (``sim.policies.assessment``);
    - of all these, the fund money a medical community paid from its purse (``budget``): claims, periodic
      payments and deductions made while a global budget was in force;
    - the revenue of DIP inpatient cases at their provisional point value (``dip_cases``).

    While it records, it checks each claim against the rule of the claim model that values it: a bill paid item
    by item earns its bill, a capitated visit earns the copayment, a per-diem stay its days at the rate, the fund
    pays a DRG case no less than nothing (audit recoveries aside), and no patient pays less than nothing or more
    than the bill."""

    def __init__(self) -> None:
        self.n = 0
        self.claims = 0

    def _ready(self, n: int) -> None:
        if self.n == 0:
            self.n = n
            for name in ("bill", "revenue", "fund", "oop", "periodic", "deducted"):
                setattr(self, name, np.zeros(n))
            self.periodic_by = {}
            self.budget = 0.0
            self.dip_cases = 0.0
        assert n == self.n, "the number of facilities changed"

    def settled(self, system, facilities, kw: dict, claims) -> None:
        self._ready(facilities.n)
        fac, level, bill, inpatient = kw["fac"], kw["level"], kw["bill"], kw["inpatient"]
        n = facilities.n
        for name, values in (("bill", bill), ("revenue", claims.revenue), ("fund", claims.fund),
                             ("oop", claims.oop)):
            getattr(self, name)[:] += np.bincount(fac, values, minlength=n)
        self.claims += len(bill)
        if system.purse is not None:
            self.budget += float(claims.fund.sum())
        # each claim by the rule of its level's claim model
        tol = 1e-9 * np.maximum(bill, 1.0)
        assert (claims.oop >= -tol).all() and (claims.oop <= bill + tol).all(), "a copayment outside [0, bill]"
        claim = np.empty(len(bill), object)
        for model in system.claim_models:
            claim[model.levels[level]] = model.name
        capitated = kw["capitated"] & ~inpatient & (claim == "capitation")
        itemised = (~inpatient | (claim == "fee_for_service") | (claim == "capitation")) & ~capitated
        np.testing.assert_allclose(claims.revenue[itemised], bill[itemised], rtol=1e-12,
                                   err_msg="a claim paid item by item did not earn its bill")
        np.testing.assert_allclose(claims.revenue[capitated], claims.oop[capitated], rtol=1e-12,
                                   err_msg="a capitated visit earned more than its copayment")
        for model in system.claim_models:
            stays = inpatient & (claim == model.name)
            if model.name == "per_diem":
                np.testing.assert_allclose(
                    claims.revenue[stays],
                    model.rate * facilities.price_level[fac[stays]] * kw["bed_days"][stays], rtol=1e-12,
                    err_msg="a per-diem stay was not paid its days at the rate")
            if model.name == "dip":
                self.dip_cases += float(claims.revenue[stays].sum())
            if model.name == "drg":
                assert (claims.fund[stays] + claims.recovered[stays] >= -tol[stays]).all(), \
                    "the fund took money from a DRG case (its payment below the copayment)"

    def paid_periodic(self, payer, model, paid: np.ndarray) -> None:
        self._ready(len(paid))
        self.periodic += paid
        self.periodic_by[payer.name] = self.periodic_by.get(payer.name, 0.0) + paid
        if model.payment.purse is not None:
            self.budget += float(paid.sum())
        # only the levels whose claims the model values are paid by it, and capitation only on instalment days
        level = model.facilities.level
        if payer.name == "capitation":
            assert (paid >= 0).all(), "a negative capitation instalment"
            assert not paid[~payer.levels[level]].any(), "capitation paid a level it does not pay"
            if (model.day + 1) % INSTALMENT_DAYS:
                assert not paid.any(), f"day {model.day}: capitation paid between instalments"

    def deducted_from(self, model, deduction: np.ndarray) -> None:
        self._ready(len(deduction))
        self.deducted += deduction
        if model.community is not None and model.payment.community is not None:
            self.budget -= float(deduction.sum())


@contextmanager
def money_watched() -> Iterator[Money]:
    """Within the block, every payment of every model run is recorded in the ``Money`` yielded (run one model in
    it), by wrapping the places where payments are made."""
    money = Money()
    settle = PaymentSystem.settle
    periodic = {cls: cls.end_of_day for cls in (Capitation, DiagnosisInterventionPacket)}
    deduct = Assessor._deduct

    def watched_settle(self, fund_agent, facilities, **kw):
        claims = settle(self, fund_agent, facilities, **kw)
        money.settled(self, facilities, kw, claims)
        return claims

    def watch_periodic(original):
        def watched(self, model, paid):
            before = paid.copy()
            original(self, model, paid)
            money.paid_periodic(self, model, paid - before)
        return watched

    def watched_deduct(self, model, deduction):
        money.deducted_from(model, np.array(deduction, dtype=float))
        return deduct(self, model, deduction)

    PaymentSystem.settle = watched_settle
    for cls, original in periodic.items():
        cls.end_of_day = watch_periodic(original)
    Assessor._deduct = watched_deduct
    try:
        yield money
    finally:
        PaymentSystem.settle = settle
        for cls, original in periodic.items():
            cls.end_of_day = original
        Assessor._deduct = deduct


def in_force(model: HealthSystemModel, day: int) -> Scenario:
    """The scenario in force on ``day`` of a run."""
    spec = model.period_starts[0].spec if model.period_starts else model.spec
    for start in model.period_starts:
        if start.day <= day:
            spec = start.spec
    return spec


def check_money(model: HealthSystemModel, money: Money | None = None) -> None:
    """Money is conserved under every payment model and every change of it: each set of books agrees with the
    others, and (given the ``Money`` recorded while the model ran) with every payment made.

    Where the model books money (``sim.engine.model._complete``, ``sim.payment.models.settle`` and
    ``book_periodic``, ``sim.payment.global_budget``, ``sim.payment.community``, ``sim.policies.assessment``,
    the first part of a split stay in ``sim.policies.referral``):

    - each facility: revenue = fund income + out-of-pocket income;
    - by level, the facilities' books, the fund's own (spending, out_of_pocket) and the tally's agree;
    - bills: inpatient + outpatient charges = charges by category; patients pay between 0 and their bills;
    - a level paid fee-for-service throughout: revenue = its bills, less assessment deductions at township centres;
    - each facility: revenue = its claims + periodic payments - deductions, fund income likewise with the
      fund's part of its claims, out-of-pocket income = the patients' parts;
    - DIP: what its cases earned at the provisional point value plus its settlements = the points settled at
      their settled values + the points of the open period at the provisional value;
    - the fund: what it paid out = claims and periodic payments it paid itself (less deductions) + what it sent
      the medical community; with no community it sent nothing;
    - the community: received = claims paid + instruments paid + purse + kept; the claims it paid are the fund
      money that reached providers while the budget was in force; at each settlement its balance plus what the
      fund paid (negative: savings returned) is what it kept: the retained share of a saving, or the borne
      share of an overspend.
    """
    t, books, fund, fac = model.tally, model.facilities.books, model.fund, model.facilities
    level = fac.level
    scale = max(float(t.charges.sum()), float(np.abs(books["revenue"]).sum()), fund.to_community, 1.0)
    atol = 1e-9 * scale

    def close(actual, expected, what: str) -> None:
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=atol, err_msg=what)

    def by_level(values: np.ndarray) -> np.ndarray:
        return np.bincount(level, values, minlength=N_LEVELS)

    # each facility, and the three sets of books by level
    close(books["revenue"], books["fund_income"] + books["oop_income"], "revenue != fund + out-of-pocket income")
    close(by_level(books["revenue"]), t.provider_revenue, "facility revenue != tally")
    close(by_level(books["fund_income"]), t.fund, "facility fund income != tally")
    close(fund.spending, t.fund, "the fund's spending != tally")
    close(by_level(books["oop_income"]), t.oop, "facility out-of-pocket income != tally")
    close(fund.out_of_pocket, t.oop, "the fund's out-of-pocket book != tally")
    # bills
    billed = t.charges.sum(1)
    close(t.inpatient_charges + t.outpatient_charges, billed, "inpatient + outpatient charges != charges")
    assert (t.oop >= -atol).all() and (t.oop <= billed + atol).all(), "patients paid outside [0, their bills]"
    # a level paid fee-for-service throughout earns its bills
    specs = [start.spec for start in model.period_starts] or [model.spec]
    deductions = np.zeros(N_LEVELS)
    deductions[TOWNSHIP] = t.assessment_deductions
    for lvl, name in enumerate(LEVELS):
        if all(spec.payment.claim_model(name) == "fee_for_service" for spec in specs):
            close(t.provider_revenue[lvl], billed[lvl] - deductions[lvl], f"{name}: fee-for-service revenue != bills")

    community = model.community
    if community is None:
        assert fund.to_community == 0.0, "the fund sent money to no community"
    else:
        close(fund.to_community, community.received, "the fund's and the community's books differ")
        close(community.received,
              community.claims_paid + community.instruments_paid + community.purse + community.kept,
              "community: received != claims + instruments + purse + kept")
        close(community.net_position, t.community_net, "the community's net position != tally")
        assert community.instruments_paid >= 0
        for s in community.settlements:
            close(s["balance"] + s["fund_paid"], s["kept"], f"settlement of day {s['day']}")
            rules = in_force(model, s["day"]).payment.global_budget
            share = rules.savings_retained_share if s["balance"] >= 0 else rules.overspend_shared_share
            close(s["kept"], share * s["balance"], f"settlement of day {s['day']}: kept != the share of the balance")
        close(sum(s["kept"] for s in community.settlements), community.kept, "kept != the settlements' sum")
        if all(spec.payment.model == "global_budget" for spec in specs):
            close(community.claims_paid, fund.spending.sum(), "under a budget throughout, claims != the fund's")
    if money is None or money.n == 0:
        return

    # every payment recorded, against the books
    close(books["revenue"], money.revenue + money.periodic - money.deducted, "revenue != claims + periodic")
    close(books["fund_income"], money.fund + money.periodic - money.deducted, "fund income != claims + periodic")
    close(books["oop_income"], money.oop, "out-of-pocket income != the patients' parts")
    close(by_level(money.bill), billed, "charges != the bills settled")
    close(t.assessment_deductions, money.deducted.sum(), "deductions")
    dip = model.payment.ctx.books.get("dip")
    if dip is not None:
        open_period = float(dip.provisional.sum()) if len(dip.provisional) else 0.0
        close(money.dip_cases + money.periodic_by.get("dip", np.zeros(1)).sum(), t.dip_settled_value + open_period,
              "DIP: cases + settlements != points x point values")
    claims_paid = community.claims_paid if community is not None else 0.0
    received = community.received if community is not None else 0.0
    close(claims_paid, money.budget, "the community's claims != the fund money paid under its budget")
    paid_out = fund.spending.sum() - claims_paid + fund.to_community
    direct = money.fund.sum() + money.periodic.sum() - money.deducted.sum() - money.budget
    close(paid_out, direct + received, "the fund's outlays != claims and periodic payments + the community's")


def check_episodes(model: HealthSystemModel) -> None:
    """Every episode ends exactly once, every one not forgone is treated once, and beds hold the admitted."""
    t, ep = model.tally, model.episodes
    active = int((ep.state != E.ENDED).sum())
    assert len(ep) - active == ep.n_ended, "ended rows and their count disagree"
    assert not np.isin(ep.state, E.FINISHED_TODAY).any(), "an episode finished but not ended"
    assert t.episodes_started == t.ended.sum() + active
    # every episode that went to a facility was treated once: one completed treatment, one wait recorded
    assert t.treated.sum() == t.ended.sum() - t.ended[E.FORGONE] - t.ended[E.SELF_CARE]
    assert t.wait_hist.sum() == t.treated.sum()
    # beds: admitted = discharged + still in a bed, by level
    inpatients = np.bincount(model.facilities.level[ep.facility[ep.state == E.INPATIENT]], minlength=N_LEVELS)
    np.testing.assert_array_equal(t.admissions - t.discharges, inpatients)
    assert (t.bed_days >= t.discharges).all(), "every stay lasts at least one day"
