"""``triangle run`` and ``triangle compare`` of cities (scenario files with a ``city:`` block, ``sim.params.city``):
the city's metrics, each county's, and the difference-in-differences of the reformed counties against the
comparators.

``run --json`` prints ``{"scenario", "replicates", "metrics", "counties": {NAME: {"residents", "reformed",
"metrics"}}, "did": {"reform_day", "reformed", "comparators", "metrics", "groups"} or null, "fund": {NAME:
{"claims", "to_community"}}, "parameters"}``; ``--out`` writes it as summary.json beside daily, facilities and
runs tables with a ``county`` column, the city as loaded (scenario.yaml) and provenance.json; ``--plot`` draws the
city's pictures, the counties side by side and the DiD. With ``--posterior N`` or ``--priors N``, replicate r
draws the behavioural parameters once and every county of the city runs on that draw (one behavioural world).

``compare --json`` of cities prints ``{"scenarios", "seed", "replicates", "parameters", "metrics": {ARM: ...},
"counties": {ARM: {NAME: ...}}, "differences": {"B - A": {"metrics", "counties": {NAME: ...}, "did"}}}``: paired
by replicate (the same seeds, and the same draw in replicate r), each county compared where both cities name it.

The command's own helpers (``sim.apps.cli``: the draws a command asks for, their notes, the pictures) are passed
in as ``helpers``, so this module does not import the command back.
"""

from __future__ import annotations

import dataclasses
import json
import sys

# the county table's rows: one headline metric or two per corner
COUNTY_ROWS = ("spending_per_capita", "fund_spending_per_capita", "admissions_per_1000", "los_mean",
               "in_county_rate", "wait_days_mean", "health_loss_per_1000", "dip_point_value")


@dataclasses.dataclass(frozen=True)
class Helpers:
    draws: object     # (args, seed, overrides) -> (Draws, N or None): what --posterior / --priors ask for
    say_draws: object  # (draws) -> None: their notes on stderr
    pictures: object  # (folder, results, summaries, *, json_only, **extra) -> None: --plot / --report
    tornado_request: object = None  # (args, replicates) -> dict or None: what --tornado asks for, checked


def city_yaml(scenario) -> str:
    """The city as loaded: the base county, every default filled in, and its ``city:`` block; ``load_city`` reads
    it back."""
    import yaml

    from sim.params.loading import scenario_to_yaml

    return scenario_to_yaml(scenario.base) + yaml.safe_dump(
        {"city": scenario.city.model_dump(mode="json", exclude_defaults=False)}, sort_keys=False, allow_unicode=True)


def run(args, helpers: Helpers) -> int:
    from sim.params.city import load_city
    from sim.results import city as C
    from sim.results import draws as D
    from sim.results import report

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    scenario = load_city(args.scenario, overrides)
    draws, n = helpers.draws(args, scenario.seed, list(args.overrides))
    if n is not None:
        overrides.append(f"replicates={n}")
    elif args.replicates is not None:
        overrides.append(f"replicates={args.replicates}")
    scenario = load_city(args.scenario, overrides)
    per_replicate = C.drawn_cities(args.scenario, overrides, draws, scenario.replicates, scenario)
    if not draws.fixed:
        draws = dataclasses.replace(draws, replaced={scenario.name: D.own_values(scenario.base, draws)})
        helpers.say_draws(draws)
    spread = not draws.fixed
    results = C.run_city_replicates(scenario, workers=args.workers, progress=not args.quiet, scenarios=per_replicate)
    summary = C.summarise(results, spread)
    parameters = draws.as_json([r.seed for r in results])
    doc = {"scenario": scenario.name, "replicates": len(results), "metrics": report.explained(summary["metrics"]),
           "counties": {n: {"residents": s.population.size, "reformed": n in scenario.reformed,
                            "metrics": report.explained(summary["counties"][n]["metrics"])}
                        for n, s in scenario.counties.items()},
           "did": None, "fund": summary["fund"], "parameters": parameters}
    if summary["did"] is not None:
        doc["did"] = {"reform_day": scenario.reform_day, "reformed": list(scenario.reformed),
                      "comparators": list(scenario.comparators), **summary["did"]}
    doc = report.json_safe(doc)
    if args.out:
        report.write_folder(args.out, scenario_yaml=city_yaml(scenario), summary=doc,
                            tables=C.tables(results, list(draws.values) or None), force=args.force,
                            seed_info={"seed": scenario.seed, "replicate_seeds": [r.seeds for r in results],
                                       "parameters": parameters})
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(report.table(scenario.name, len(results), summary["metrics"], uncertainty=spread), end="")
        print(draws.line())
        print(county_table(scenario, summary), end="")
        if summary["did"] is not None:
            print(did_table(scenario, summary["did"], "ui95" if spread else "ci95"), end="")
        if args.out:
            print(f"outputs written to {args.out}/")
    if args.plot:
        helpers.pictures(args.plot, {scenario.name: results}, {scenario.name: summary["metrics"]},
                         json_only=args.json, columns={n: c["metrics"] for n, c in summary["counties"].items()},
                         reform_days=reform_days(scenario), note=f"{_counties_note(scenario)} {draws.line()}.",
                         figures=city_figures(scenario, results, summary))
    return 0


def reform_days(scenario) -> list[int]:
    """The days of the counties' reforms (their timelines), each once."""
    return sorted({e.day for s in scenario.counties.values() for e in s.timeline})


def _counties_note(scenario) -> str:
    reformed = f"; reformed: {', '.join(scenario.reformed)}" if scenario.reformed else ""
    return (f"The city {scenario.name}: {len(scenario.counties)} counties ({', '.join(scenario.counties)}), "
            f"{scenario.residents:,} residents{reformed}; the table's later columns are the counties.")


def city_figures(scenario, results, summary) -> list:
    """The city's own pictures: the counties side by side (headline metrics, daily waits) and, with a reform
    date and two groups, the DiD with its intervals and the groups before and after."""
    from sim.results import plots
    from sim.results.report import stacked

    counties = {n: summary["counties"][n]["metrics"] for n in scenario.counties}
    daily = stacked(results, "daily")
    figures = [("counties", "The counties side by side", plots.bars(
                    counties, COUNTY_ROWS, title="the counties: mean and 95% interval over replicates")),
               ("counties_daily_wait_days_mean", "Waits by county", plots.time_series(
                   {n: daily[daily["county"] == n] for n in scenario.counties}, ["wait_days_mean"],
                   reform_days=reform_days(scenario), title="Waits by county"))]
    did = summary["did"]
    if did is not None:
        d = scenario.reform_day
        figures.append(("did", f"Difference-in-differences at day {d}: reformed ({', '.join(scenario.reformed)}) vs "
                        f"comparators ({', '.join(scenario.comparators)})", plots.did_bars(did["metrics"])))
        figures.append(("did_groups", "The groups before and after the reform date", plots.bars(
            {f"{g} {p}": did["groups"][g][p] for g in ("reformed", "comparators") for p in ("before", "after")},
            title=f"reformed and comparator counties before and after day {d}")))
    return figures


def county_table(scenario, summary: dict) -> str:
    """Each county's headline metrics, mean over replicates; * marks the reformed counties."""
    from sim.results import report

    names = list(scenario.counties)

    lines = [f"\nCOUNTIES ({len(names)}; * reformed): mean over replicates",
             f"  {'metric':<28}" + "".join(f"{(n + ('*' if n in scenario.reformed else ''))[:13]:>14}"
                                           for n in names)]
    for metric in COUNTY_ROWS:
        lines.append(f"  {metric:<28}" + "".join(
            f"{report._fmt(summary['counties'][n]['metrics'][metric]['mean']):>14}" for n in names))
    return "\n".join(lines) + "\n"


def did_table(scenario, did: dict, key: str = "ci95") -> str:
    from sim.results import metrics as M
    from sim.results import report

    d = scenario.reform_day
    g = did["groups"]
    lines = [f"\nDIFFERENCE-IN-DIFFERENCES at day {d}: reformed ({', '.join(scenario.reformed)}) vs comparators "
             f"({', '.join(scenario.comparators)}); (after - before) of the reformed less that of the comparators",
             f"  {'metric':<{report._name_width()}}{'ref. before':>12}{'ref. after':>12}{'comp before':>12}"
             f"{'comp after':>12}{'DiD':>12}  "
             + ("95% uncertainty interval" if key == "ui95" else "95% interval")]
    for group in M.GROUPS:
        for metric in (m for m in M.METRICS.values() if m.group == group):
            k = metric.name
            row = [g["reformed"]["before"][k], g["reformed"]["after"][k], g["comparators"]["before"][k],
                   g["comparators"]["after"][k], did["metrics"][k]]
            lines.append(f"  {k:<{report._name_width()}}" + "".join(f"{report._fmt(x['mean']):>12}" for x in row)
                         + f"  {report._interval(did['metrics'][k], key)}")
    return "\n".join(lines) + "\n"


def compare(args, helpers: Helpers) -> int:
    """``triangle compare`` of two or more cities on common random numbers: every arm on the first's seed and
    replicates (county k of every arm on the same seeds when its seed is not given), paired by replicate."""
    from sim.params.city import load_city
    from sim.results import city as C
    from sim.results import draws as D
    from sim.results import report

    first = load_city(args.scenarios[0], args.overrides)
    seed = first.seed if args.seed is None else args.seed
    draws, n = helpers.draws(args, seed, list(args.overrides))
    replicates = n or args.replicates or first.replicates
    tornado = helpers.tornado_request(args, args.replicates or first.replicates)
    common = [*args.overrides, f"seed={seed}", f"replicates={replicates}"]
    arms = [load_city(path, common) for path in args.scenarios]
    names = [a.name for a in arms]
    if len(set(names)) < len(names):
        names = [str(p) for p in args.scenarios]
    shared = [c for c in arms[0].counties if all(c in a.counties for a in arms[1:])]
    alone = sorted({c for a in arms for c in a.counties} - set(shared))
    if alone:
        print(f"triangle compare: warning: counties not in every city ({', '.join(alone)}) are compared only as "
              "part of their city", file=sys.stderr)
    per_replicate = [C.drawn_cities(path, common, draws, replicates, a)
                     for path, a in zip(args.scenarios, arms, strict=True)]
    if not draws.fixed:
        draws = dataclasses.replace(draws, replaced={n: D.own_values(a.base, draws)
                                                     for n, a in zip(names, arms, strict=True)})
        helpers.say_draws(draws)
    spread = not draws.fixed
    results = [C.run_city_replicates(a, workers=args.workers, progress=not args.quiet, scenarios=these)
               for a, these in zip(arms, per_replicate, strict=True)]
    summaries = [C.summarise(r, spread) for r in results]
    differences = [C.differences(results[0], arm, spread) for arm in results[1:]]
    labels = [f"{n} - {names[0]}" for n in names[1:]]
    from sim.experiments import sensitivity as S

    sensitivity = S.of_compare(tornado, args.scenarios, [*args.overrides, f"seed={seed}"], labels, load_city,
                               city=True, workers=args.workers, progress=not args.quiet)
    if args.json:
        doc = {"scenarios": names, "seed": seed, "replicates": replicates,
               "parameters": draws.as_json([r.seed for r in results[0]]),
               "metrics": {n: report.explained(s["metrics"]) for n, s in zip(names, summaries, strict=True)},
               "counties": {n: {c: report.explained(v["metrics"]) for c, v in s["counties"].items()}
                            for n, s in zip(names, summaries, strict=True)},
               "differences": {label: {"metrics": report.explained(d["metrics"]),
                                       "counties": {c: report.explained(v) for c, v in d["counties"].items()},
                                       "did": None if d["did"] is None else report.explained(d["did"])}
                               for label, d in zip(labels, differences, strict=True)}}
        if sensitivity is not None:
            doc["tornado"] = sensitivity
        print(json.dumps(report.json_safe(doc), indent=2))
    else:
        print(report.compare_table(names, replicates, [s["metrics"] for s in summaries],
                                   [d["metrics"] for d in differences], uncertainty=spread), end="")
        print(draws.line())
        for label, d in zip(labels, differences, strict=True):
            print(county_differences(label, d, "ui95" if spread else "ci95"), end="")
        if sensitivity is not None:
            print("\n" + report.tornado_table(sensitivity, top=tornado["top"]), end="")
    if args.report:
        helpers.pictures(args.report, dict(zip(names, results, strict=True)),
                         {n: s["metrics"] for n, s in zip(names, summaries, strict=True)}, json_only=args.json,
                         differences={label: d["metrics"] for label, d in zip(labels, differences, strict=True)},
                         note=f"{len(names)} cities on common random numbers, {replicates} replicate(s) each; "
                         f"differences are paired over replicates. {draws.line()[0].upper()}{draws.line()[1:]}.",
                         tornado=sensitivity, tornado_top=tornado["top"] if tornado else None)
    return 0


def county_differences(label: str, d: dict, key: str = "ci95") -> str:
    """The paired differences of the counties both cities name, and of the DiD when both have one, for the
    headline metrics: mean and 95% interval."""
    from sim.results import report

    columns = dict(d["counties"]) | ({"DiD": d["did"]} if d["did"] is not None else {})
    if not columns:
        return ""
    lines = [f"\nCOUNTIES: {label}, paired over replicates; mean and 95% interval",
             (f"  {'metric':<28}" + "".join(f"  {n[:32]:<32}" for n in columns)).rstrip()]
    for metric in COUNTY_ROWS:
        lines.append(f"  {metric:<28}" + "".join(
            f"  {report._fmt(v[metric]['mean']) + ' ' + report._interval(v[metric], key):<32}"
            for v in columns.values()).rstrip())
    return "\n".join(lines) + "\n"
