"""The ``triangle`` command: run, check and describe scenarios.

User errors (bad scenario files, impossible requests) print a clear message and exit with status 2;
no Python traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_USER_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="triangle",
        description="Agent-based simulation of a county health system: cost, access and quality under "
        "payment models and reforms.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario with replicates and print the triangle",
                         description="Run a scenario and print cost / access / quality metrics with 95% "
                         "intervals over replicates.")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a value by its dotted key, e.g. --set population.size=50000 (repeatable)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--replicates", type=int, help="override the number of replicates")
    run.add_argument("--workers", type=int, help="worker processes for replicates (default: all cores)")
    run.add_argument("--out", type=Path, help="write summary.json, daily.parquet, facilities.parquet, "
                     "runs.parquet, scenario.yaml and provenance.json to this folder")
    run.add_argument("--force", action="store_true", help="replace --out if it exists")
    run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout, nothing else")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    check = sub.add_parser("check", help="validate scenario files without running them")
    check.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    metrics = sub.add_parser("metrics", help="list every metric with its unit and formula")
    metrics.add_argument("--json", action="store_true")
    _add_sweep_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from sim.conditions import CatalogueError
    from sim.loading import ScenarioError
    from sim.payment import PaymentNotImplemented
    from sim.runner import InsufficientMemory

    try:
        handler = getattr(args, "handler", None) or {"run": _run, "check": _check, "schema": _schema,
                                                     "metrics": _metrics}[args.command]
        return handler(args)
    except (ScenarioError, CatalogueError, PaymentNotImplemented, InsufficientMemory, FileExistsError) as err:
        print(f"triangle {args.command}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    from sim import report, runner
    from sim.loading import load_scenario, scenario_to_yaml

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.replicates is not None:
        overrides.append(f"replicates={args.replicates}")
    scenario = load_scenario(args.scenario, overrides)
    from sim.payment import make_payment

    make_payment(scenario.payment)  # fail early on a payment model this version lacks
    results = runner.run_replicates(scenario, workers=args.workers, progress=not args.quiet)
    summary = runner.summarise(results)
    doc = report.summary_json(scenario.name, len(results), summary)
    if args.out:
        report.write_outputs(args.out, scenario_yaml=scenario_to_yaml(scenario), summary=doc, results=results,
                             seed_info={"seed": scenario.seed, "replicate_seeds": [r.seed for r in results]},
                             force=args.force)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(report.table(scenario.name, len(results), summary), end="")
        if args.out:
            print(f"outputs written to {args.out}/")
    return 0


def _check(args) -> int:
    from sim.conditions import load_catalogue
    from sim.loading import ScenarioError, load_scenario

    failed = 0
    for path in args.scenarios:
        try:
            s = load_scenario(path, args.overrides)
            load_catalogue(s.case_mix.catalogue)
        except ScenarioError as err:
            print(err, file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: ok ({s.name}: {s.population.size:,} residents, {s.days} days, {s.payment.model})")
    return EXIT_USER_ERROR if failed else 0


def _schema(args) -> int:
    from sim.scenario import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def _metrics(args) -> int:
    from sim.metrics import GROUPS, METRICS

    if args.json:
        print(json.dumps({m.name: {"group": m.group, "unit": m.unit, "formula": m.formula}
                          for m in METRICS.values()}, indent=2))
        return 0
    for group in GROUPS:
        print(group.upper())
        for m in (m for m in METRICS.values() if m.group == group):
            print(f"  {m.name} [{m.unit}]: {m.formula}")
    return 0


# --------------------------------------------------------------------------------------------- sweep, analyze
def _add_sweep_parsers(sub) -> None:
    sweep = sub.add_parser(
        "sweep", help="run a sweep of scenarios into a results store",
        description="Run every point and replicate of a sweep file, saving each finished run in --out. Running "
        "again (or --resume) skips what is done and retries failed runs. Exit status 1 if any run failed.")
    sweep.add_argument("sweep", type=Path, nargs="?", help="sweep YAML file (may be omitted with --resume)")
    sweep.add_argument("--out", type=Path, required=True, help="results store folder (created if missing)")
    sweep.add_argument("--workers", type=int, help="local worker processes, or LocalCluster workers with "
                       "--cluster local (default: all cores)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask distributed scheduler, "
                       "e.g. tcp://10.0.0.5:8786")
    where.add_argument("--cluster", choices=["local"], help="local: start a Dask LocalCluster on 127.0.0.1")
    sweep.add_argument("--resume", action="store_true", help="continue the sweep stored in --out; the sweep file "
                       "may be omitted")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=_sweep)

    analyze = sub.add_parser(
        "analyze", help="summarise a sweep's store: per-point intervals, Sobol indices, the Pareto front",
        description="Write DIR/analysis/ (tables, summary.json, plots) and print a summary.")
    analyze.add_argument("store", type=Path, metavar="DIR", help="the --out folder of a sweep")
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON on stdout, nothing else "
                         "(it depends only on the stored results)")
    analyze.set_defaults(handler=_analyze)


def _sweep(args) -> int:
    from sim import executors
    from sim.loading import ScenarioError, read_text
    from sim.runner import check_memory
    from sim.store import Store
    from sim.sweep import load_sweep

    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers {args.workers}: must be at least 1")
    if args.sweep is None:
        if not args.resume:
            raise ScenarioError("give a sweep file, or --resume to continue the sweep stored in --out")
        plan = Store.read(args.out).plan()
    else:
        plan = load_sweep(args.sweep)
        sweep_text = read_text(args.sweep, "sweep file")
        Store.check(args.out, plan)
    if args.scheduler is None:
        largest = max(plan.points, key=lambda p: p.settings.get("population.size", 0))
        check_memory(plan.scenario(largest), args.workers or os.cpu_count() or 1)
    try:  # reach the workers before writing anything
        executor = (executors.DaskCluster(scheduler=args.scheduler) if args.scheduler else
                    executors.DaskCluster(local_workers=args.workers) if args.cluster else
                    executors.LocalProcesses(args.workers))
    except (OSError, TimeoutError) as err:
        raise ScenarioError(f"cannot reach the Dask scheduler {args.scheduler}: {err}") from None
    try:
        store = Store.read(args.out) if args.sweep is None else Store.create_or_open(args.out, plan, sweep_text)
        with store.locked():
            if not args.quiet:
                print(f"{plan.sweep.name}: {len(plan.points)} points x {plan.sweep.replicates} replicate(s) on "
                      f"{executor.describe()}", file=sys.stderr)
            outcome = executors.execute(plan, store, executor, progress=not args.quiet)
    finally:
        executor.close()
    manifest = json.loads((args.out / "manifest.json").read_text())
    print(f"{plan.sweep.name}: {outcome.planned} runs: {outcome.done} done now, {outcome.skipped} already done, "
          f"{outcome.failed} failed; {outcome.seconds:.1f} s. Store: {args.out}/ "
          f"(triangle analyze {args.out})")
    if manifest["failed"]:
        first = next(r for r in manifest["runs"] if r["status"] == "failed")
        print(f"triangle sweep: {manifest['failed']} run(s) failed, e.g. point {first['point']} replicate "
              f"{first['replicate']}: {first['error']} (all in {args.out}/manifest.json; running again retries "
              "them)", file=sys.stderr)
        return 1
    return 0


def _analyze(args) -> int:
    from sim import analyze
    from sim.store import Store

    store = Store.read(args.store)
    analysis = analyze.analyse(store)
    folder = analyze.write(store, analysis)
    if args.json:
        print(analyze.as_json(analysis), end="")
        return 0
    print(analyze.report(analysis), end="")
    print(f"tables, summary.json and plots written to {folder}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
