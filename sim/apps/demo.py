"""The classroom demo: a small county driven by a few controls, run day by day beside its baseline.

``DemoModel(**control values)`` builds two counties from one base scenario and the same seed (common random
numbers): the baseline (the base scenario at the chosen population) and this county (the base scenario with
every control applied), and steps both a day at a time. The views (``sim.apps.demo_app``) draw what the functions
at the end of this module read from it.

``CONTROLS`` is the one list of levers the demo offers. Each names the scenario key it sets; a control whose
key the installed scenario schema lacks is left out of the page, and the payment-model control offers the
models this version implements (``sim.params.scenario.IMPLEMENTED_PAYMENT_MODELS``), so new levers appear when the
model gains them.

``serve`` starts the web page (``triangle demo``): ``solara run sim.apps.demo_app`` in a child process, with Solara's
front end served from the installed ``solara-assets`` package, so the page works without a network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from pydantic import BaseModel

from sim.core.levels import LEVELS
from sim.engine.model import HealthSystemModel
from sim.params.loading import ScenarioError, load_scenario, load_scenario_text, scenario_to_yaml
from sim.params.scenario import IMPLEMENTED_PAYMENT_MODELS, Scenario
from sim.results import metrics
from sim.results.runner import daily_table

# Townships are population.size / residents_per_township (15,000 by default): 60,000 residents make a county
# of 4 townships and 40 villages whose day takes a few milliseconds.
DEMO_POPULATION = 60_000
SCENARIO_ENV = "TRIANGLE_DEMO_SCENARIO"


# ------------------------------------------------------------------------------------------------ controls
@dataclass(frozen=True)
class Control:
    """One lever of the demo: a widget whose value sets scenario keys.

    ``read`` gives the value a base scenario implies (the control's starting position); ``write`` turns a value
    into dotted overrides (``sim.params.loading.apply_overrides``). By default both use ``key``, which must exist in the
    installed scenario schema for the control to be offered.
    """

    name: str
    label: str
    widget: str                      # SliderInt, SliderFloat, Select or Checkbox (Mesa's SolaraViz inputs)
    key: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: Callable[[], tuple] | None = None
    read: Callable[[Scenario], Any] | None = None
    write: Callable[[Any, Scenario], list[str]] | None = None

    def default(self, base: Scenario) -> Any:
        return self.read(base) if self.read else _get(base, self.key)

    def overrides(self, value: Any, base: Scenario) -> list[str]:
        return self.write(value, base) if self.write else [f"{self.key}={_yaml(value)}"]


def _get(scenario: Scenario, dotted: str) -> Any:
    value: Any = scenario
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def _primary_gap(base: Scenario) -> float:
    r = base.insurance.reimbursement
    return round(r.township - r.county, 2)


def _write_primary_gap(gap: float, base: Scenario) -> list[str]:
    """Primary care (village clinics and township centres) reimbursed ``gap`` above the county hospital."""
    share = min(1.0, max(0.0, base.insurance.reimbursement.county + gap))
    return [f"insurance.reimbursement.{level}={share:.4f}" for level in ("village", "township")]


CONTROLS: tuple[Control, ...] = (
    Control("population_size", "Residents", "SliderInt", "population.size", 15_000, 150_000, 15_000,
            read=lambda base: DEMO_POPULATION),
    Control("payment_model", "Payment model", "Select", "payment.model",
            choices=lambda: tuple(IMPLEMENTED_PAYMENT_MODELS)),
    Control("primary_reimbursement_gap", "Reimbursement gap, primary - county", "SliderFloat",
            "insurance.reimbursement.township", -0.2, 0.28, 0.01, read=_primary_gap, write=_write_primary_gap),
    Control("profit_weight", "Providers' weight on profit", "SliderFloat", "behaviour.provider.profit_weight",
            0.0, 1.0, 0.05),
    Control("salary_reform", "Annual salary for doctors", "Checkbox", "policies.salary_reform.enabled"),
    Control("sinking_doctors", "County doctors sent to township centres", "SliderInt", "policies.sinking.doctors",
            0, 40, 2),
    Control("referral_first_contact", "Primary first contact", "Select", "policies.referral.first_contact",
            choices=lambda: ("none", "soft", "hard")),
    Control("procurement_drug_price_cut", "Drug price cut by joint procurement", "SliderFloat",
            "policies.procurement.drug_price_cut", 0.0, 0.7, 0.05),
)


def schema_has(dotted: str, model: type[BaseModel] = Scenario) -> bool:
    """Whether the scenario schema has this dotted key (so a control setting it can work)."""
    for part in dotted.split("."):
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return False
        model = field.annotation
    return True


def available_controls() -> tuple[Control, ...]:
    return tuple(c for c in CONTROLS if schema_has(c.key))


def model_params(base: Scenario) -> dict[str, Any]:
    """SolaraViz ``model_params``: the base scenario (fixed) and a widget per available control."""
    params: dict[str, Any] = {"base": base}
    for c in available_controls():
        spec = {"type": c.widget, "label": c.label, "value": c.default(base)}
        if c.widget.startswith("Slider"):
            spec.update(min=c.min, max=c.max, step=c.step)
        if c.choices is not None:
            spec["values"] = list(c.choices())
        params[c.name] = spec
    return params


def default_base() -> Scenario:
    """The base scenario when none is given: the schema's defaults (the baseline county), named 'demo'."""
    return load_scenario_text("name: demo")


def scenario_with(base: Scenario, values: dict[str, Any], *, source: str = "demo control") -> Scenario:
    """The base scenario with the given control values applied (and validated like any scenario)."""
    by_name = {c.name: c for c in CONTROLS}
    overrides: list[str] = []
    for name, value in values.items():
        control = by_name.get(name)
        if control is None:
            raise ScenarioError(f"{source}: unknown control {name!r}; controls are {', '.join(by_name)}")
        if not schema_has(control.key):
            raise ScenarioError(f"{source}: {control.label!r} ({control.key}) is not available in this version")
        overrides += control.overrides(value, base)
    return load_scenario_text(scenario_to_yaml(base), name=base.name, overrides=overrides)


# ------------------------------------------------------------------------------------------------ the model
class DemoModel(mesa.Model):
    """This county (the base scenario with the controls applied) and its baseline, stepped together.

    Every control is a keyword argument; ``None`` keeps the base scenario's value (population: 60,000).
    """

    def __init__(self, base: Scenario | None = None, *, population_size: int | None = None,
                 payment_model: str | None = None, primary_reimbursement_gap: float | None = None,
                 profit_weight: float | None = None, salary_reform: bool | None = None,
                 sinking_doctors: int | None = None, referral_first_contact: str | None = None,
                 procurement_drug_price_cut: float | None = None, seed: int | None = None):
        base = base if base is not None else default_base()
        given = {"population_size": population_size, "payment_model": payment_model,
                 "primary_reimbursement_gap": primary_reimbursement_gap, "profit_weight": profit_weight,
                 "salary_reform": salary_reform, "sinking_doctors": sinking_doctors,
                 "referral_first_contact": referral_first_contact,
                 "procurement_drug_price_cut": procurement_drug_price_cut}
        given = {k: v for k, v in given.items() if v is not None}
        size = int(given.get("population_size", DEMO_POPULATION))
        seed = base.seed if seed is None else seed
        super().__init__(rng=seed)
        self.base = base
        self.controls = {"population_size": size, **given}
        self.baseline_spec = scenario_with(base, {"population_size": size})
        self.spec = scenario_with(base, self.controls)
        self.baseline = HealthSystemModel(self.baseline_spec, seed=seed)
        self.county = HealthSystemModel(self.spec, seed=seed)

    @property
    def day(self) -> int:
        return self.county.day

    @property
    def days(self) -> int:
        return self.spec.days

    def step(self) -> None:
        if self.county.day < self.spec.days:
            self.baseline.step()
            self.county.step()
        self.running = self.county.day < self.spec.days


# ------------------------------------------------------------------------------------------------ what the views read
def live_summaries(demo: DemoModel) -> dict[str, dict]:
    """Metrics so far of the baseline and this county, as summaries for ``sim.results.plots`` (no intervals: one run).

    Metrics read running totals, so they are defined on any day after the first; before it they are NaN."""
    def summary(model: HealthSystemModel) -> dict:
        values = metrics.compute(model) if model.day > 0 else dict.fromkeys(metrics.METRICS, float("nan"))
        return {name: {"mean": v if np.isfinite(v) else None, "ci95": None} for name, v in values.items()}

    return {"baseline": summary(demo.baseline), "this county": summary(demo.county)}


def facility_loads(model: HealthSystemModel) -> pd.DataFrame:
    """One row per facility: site, level, name and load = the larger of (outpatient queue / a day's mild visits
    at the normal pace) and (occupied beds / beds); 1 means full."""
    fac = model.facilities
    queue_load = fac.queue / np.maximum(fac.normal_visits_per_day(), 1)
    bed_load = np.where(fac.beds > 0, fac.occupied / np.maximum(fac.beds, 1), 0.0)
    names = {a.index: a.name for a in model.facility_agents}
    return pd.DataFrame({"x_km": model.geo.facility_xy[:, 0], "y_km": model.geo.facility_xy[:, 1],
                         "level": [LEVELS[k] for k in fac.level], "name": [names[i] for i in range(fac.n)],
                         "load": np.maximum(queue_load, bed_load)})


def daily(model: HealthSystemModel) -> pd.DataFrame:
    """The daily table so far (``sim.results.runner.daily_table``) with ``waiting`` = outpatient queue + bed queue."""
    frame = daily_table(model)
    frame["waiting"] = frame["queue_length"] + frame["waiting_list"]
    return frame


def reform_days(scenario: Scenario) -> list[int]:
    return [entry.day for entry in scenario.timeline]


def describe(demo: DemoModel) -> str:
    """One line on what is running: day, residents, payment model in force and the levers moved from the
    baseline."""
    moved = [c for c in available_controls() if c.name in demo.controls and c.name != "population_size"
             and c.overrides(demo.controls[c.name], demo.base) != c.overrides(c.default(demo.base), demo.base)]
    shown = [f"{c.label.lower()}: {demo.controls[c.name]}" for c in moved if c.name != "payment_model"]
    levers = "; ".join(shown) if shown else ("other levers as the baseline" if moved else
                                              "same levers as the baseline")
    return (f"Day {demo.day} of {demo.days} · {demo.spec.population.size:,} residents · "
            f"payment: {demo.county.spec.payment.model} · {levers} (controls take effect on Reset)")


# ------------------------------------------------------------------------------------------------ serving
# The server is Solara's command line, started by a few lines that first make it die with ``triangle demo`` (even
# one killed outright: sim.results.workers.die_with).
_LAUNCH = ("import runpy, sys; from sim.results.workers import die_with; die_with(int(sys.argv[1])); "
           "sys.argv = ['solara', *sys.argv[2:]]; runpy.run_module('solara', run_name='__main__', alter_sys=True)")


def server_command(host: str, port: int, *, open_browser: bool = False) -> list[str]:
    return [sys.executable, "-c", _LAUNCH, str(os.getpid()), "run", "sim.apps.demo_app", "--host", host,
            "--port", str(port), "--production", "--open" if open_browser else "--no-open", "--log-level",
            "warning"]


def server_environment(scenario_path: str | Path | None, *, allow_outside: bool = False) -> dict[str, str]:
    """The environment of the server: the base scenario's path (and ``TRIANGLE_ALLOW_OUTSIDE=1`` with
    --allow-outside, as the server reads the scenario again), Solara's front end from the installed assets
    (the asset proxy reads them from ``<prefix>/share/solara/cdn``, where solara-assets puts them), and no
    usage reporting, so nothing is fetched from the network."""
    from sim.params.boundary import ALLOW_OUTSIDE_ENV

    env = dict(os.environ)
    env.update({"SOLARA_ASSETS_PROXY": "true", "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"})
    if allow_outside:
        env[ALLOW_OUTSIDE_ENV] = "1"
    if scenario_path is not None:
        env[SCENARIO_ENV] = str(Path(scenario_path).absolute())
    else:
        env.pop(SCENARIO_ENV, None)
    return env


def check_scenario(scenario_path: str | Path | None) -> Scenario:
    """The base scenario, read and checked before a server starts (errors are ScenarioError)."""
    base = load_scenario(scenario_path) if scenario_path is not None else default_base()
    scenario_with(base, {"population_size": DEMO_POPULATION})  # the demo county builds
    return base


STOP_SECONDS = 5  # how long the server may take to stop before it is killed


def serve(scenario_path: str | Path | None, host: str = "localhost", port: int = 8765, *,
          open_browser: bool = False, allow_outside: bool = False) -> int:
    """Serve the demo until interrupted; returns the server's exit status.

    The server runs in its own session, so Ctrl-C at the terminal reaches this process only: it stops the server
    (SIGTERM, then SIGKILL after STOP_SECONDS) and lets KeyboardInterrupt go on (``triangle demo`` says
    "interrupted"); SIGTERM and SIGHUP stop it the same way (``sim.apps.cli``). Killed outright, this process takes
    the server with it."""
    check_scenario(scenario_path)
    print(f"triangle demo: serving on http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    process = None
    try:
        process = subprocess.Popen(server_command(host, port, open_browser=open_browser),
                                   env=server_environment(scenario_path, allow_outside=allow_outside),
                                   start_new_session=True)
        return process.wait()
    finally:
        if process is not None and process.poll() is None:
            stop_server(process)


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server and everything it started (its process group): SIGTERM, then SIGKILL."""
    import signal

    for signum, wait in ((signal.SIGTERM, STOP_SECONDS), (signal.SIGKILL, STOP_SECONDS)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            process.send_signal(signum)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
