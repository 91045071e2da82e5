"""The classroom demo's page: Mesa's SolaraViz around ``sim.apps.demo.DemoModel``, served by ``triangle demo``.

Controls (left) rebuild both counties on Reset; Step advances a week, Play runs on. Four views, redrawn as the
county runs: the triangle against the baseline, waits and queues by level, spending by payer, and the county
map coloured by load. Each browser session gets its own model. The base scenario is the file named in the
``TRIANGLE_DEMO_SCENARIO`` environment variable (set by ``triangle demo``), else the schema's defaults.
"""

from __future__ import annotations

import os

import solara
from mesa.visualization import SolaraViz

from sim.apps import demo
from sim.params.loading import load_scenario
from sim.results import plots

DAYS_PER_STEP = 7  # the Step button advances a week; each redraw costs more than a simulated day
PNG_DPI = 80


CARD_STYLE = {"height": "100%", "overflow": "auto"}  # a grid cell of fixed size; scroll rather than spill


def _figure(fig) -> solara.Element:
    return solara.FigureMatplotlib(fig, format="png", dpi=PNG_DPI)


def TriangleView(model: demo.DemoModel):
    summaries = demo.live_summaries(model)
    with solara.Card("The triangle: this county against its baseline", style=CARD_STYLE) as card:
        solara.Text(demo.describe(model), classes=["triangle-status"])
        _figure(plots.triangle(summaries, reference="baseline", size=(5.6, 3.6),
                               title="so far, as a ratio to the baseline (smaller is better)"))
    return card


def WaitsView(model: demo.DemoModel):
    with solara.Card("Waits and queues by level", style=CARD_STYLE) as card:
        if model.day == 0:
            solara.Text("Press Step or Play to start.")
        else:
            _figure(plots.time_series(demo.daily(model.county), ["wait_days_mean", "waiting"], size=(6.4, 4.2),
                                      reform_days=demo.reform_days(model.spec), title="this county"))
    return card


def SpendingView(model: demo.DemoModel):
    with solara.Card("Spending by payer", style=CARD_STYLE) as card:
        _figure(plots.spending_by_payer(demo.live_summaries(model), size=(5.6, 3.8),
                                        title="so far: the insurance fund and out of pocket"))
    return card


def MapView(model: demo.DemoModel):
    with solara.Card("The county", style=CARD_STYLE) as card:
        _figure(plots.county_map(demo.facility_loads(model.county), size=(6.0, 4.0),
                                 title=f"facilities coloured by load, day {model.day}"))
    return card


def base_scenario():
    path = os.environ.get(demo.SCENARIO_ENV)
    return load_scenario(path) if path else demo.default_base()


@solara.component
def Page():
    base = solara.use_memo(base_scenario, [])
    model = solara.use_memo(lambda: demo.DemoModel(base), [])
    return SolaraViz(model, components=[(TriangleView, 0), (WaitsView, 0), (SpendingView, 0), (MapView, 0)],
                     model_params=demo.model_params(base), name=f"triangle: {base.name}", play_interval=50,
                     render_interval=DAYS_PER_STEP)
