"""``triangle run`` of a city (a scenario file with a ``city:`` block, ``sim.params.city``): the city's metrics,
each county's, and the difference-in-differences of the reformed counties against the comparators.

``--json`` prints ``{"scenario", "replicates", "metrics", "counties": {NAME: {"metrics"}}, "did": {"reform_day",
"reformed", "comparators", "metrics", "groups"} or null, "fund": {NAME: {"claims", "to_community"}},
"parameters"}``.
"""

from __future__ import annotations

import json

from sim.params.keys import ScenarioError

# the county table's rows: one headline metric or two per corner
COUNTY_ROWS = ("spending_per_capita", "fund_spending_per_capita", "admissions_per_1000", "los_mean",
               "in_county_rate", "wait_days_mean", "health_loss_per_1000", "dip_point_value")

_UNSUPPORTED = (("out", "--out"), ("plot", "--plot"), ("posterior", "--posterior"), ("priors", "--priors"),
                ("posterior_file", "--posterior-file"))


def run(args) -> int:
    from sim.params.city import load_city
    from sim.results import city as C
    from sim.results import report

    for attr, flag in _UNSUPPORTED:
        if getattr(args, attr, None) not in (None, False):
            raise ScenarioError(f"{args.scenario}: {flag} is not available for a city scenario in this version")
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.replicates is not None:
        overrides.append(f"replicates={args.replicates}")
    scenario = load_city(args.scenario, overrides)
    results = C.run_city_replicates(scenario, workers=args.workers, progress=not args.quiet)
    summary = C.summarise(results)
    doc = {"scenario": scenario.name, "replicates": len(results), "metrics": report.explained(summary["metrics"]),
           "counties": {n: {"residents": s.population.size, "reformed": n in scenario.reformed,
                            "metrics": report.explained(summary["counties"][n]["metrics"])}
                        for n, s in scenario.counties.items()},
           "did": None, "fund": summary["fund"], "parameters": {"source": "fixed"}}
    if summary["did"] is not None:
        doc["did"] = {"reform_day": scenario.reform_day, "reformed": list(scenario.reformed),
                      "comparators": list(scenario.comparators), **summary["did"]}
    doc = report.json_safe(doc)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(report.table(scenario.name, len(results), summary["metrics"]), end="")
    print(f"\nCOUNTIES ({len(scenario.counties)}; * reformed): mean over replicates")
    names = list(scenario.counties)
    print(f"  {'metric':<28}" + "".join(f"{(n + ('*' if n in scenario.reformed else ''))[:13]:>14}"
                                        for n in names))
    for metric in COUNTY_ROWS:
        print(f"  {metric:<28}" + "".join(f"{report._fmt(summary['counties'][n]['metrics'][metric]['mean']):>14}"
                                          for n in names))
    if summary["did"] is not None:
        print(did_table(scenario, summary["did"]), end="")
    return 0


def did_table(scenario, did: dict) -> str:
    from sim.results import metrics as M
    from sim.results import report

    d = scenario.reform_day
    g = did["groups"]
    lines = [f"\nDIFFERENCE-IN-DIFFERENCES at day {d}: reformed ({', '.join(scenario.reformed)}) vs comparators "
             f"({', '.join(scenario.comparators)}); (after - before) of the reformed less that of the comparators",
             f"  {'metric':<{report._name_width()}}{'ref. before':>12}{'ref. after':>12}{'comp before':>12}"
             f"{'comp after':>12}{'DiD':>12}  95% interval"]
    for group in M.GROUPS:
        for metric in (m for m in M.METRICS.values() if m.group == group):
            k = metric.name
            row = [g["reformed"]["before"][k], g["reformed"]["after"][k], g["comparators"]["before"][k],
                   g["comparators"]["after"][k], did["metrics"][k]]
            lines.append(f"  {k:<{report._name_width()}}" + "".join(f"{report._fmt(x['mean']):>12}" for x in row)
                         + f"  {report._interval(did['metrics'][k])}")
    return "\n".join(lines) + "\n"
