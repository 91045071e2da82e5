"""The ``triangle`` command: run, check and describe scenarios.

User errors (bad scenario files, impossible requests) print a clear message and exit with status 2;
no Python traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

EXIT_USER_ERROR = 2


ALLOW_OUTSIDE_HELP = ("let files name files anywhere (extends:, base:, scenario:, case-mix catalogues); by default a "
                      "file may name only files in the folder of the file given here (or its subfolders) and the "
                      "bundled scenarios and data")


def _allow_outside(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-outside", action="store_true", help=ALLOW_OUTSIDE_HELP)


DRAWS_HELP = (
    "Parameter uncertainty (probabilistic sensitivity analysis): with --posterior N or --priors N, replicate r of "
    "N runs on its own draw of the calibrated behavioural parameters, so every mean, every paired difference and "
    "its 95% uncertainty interval (2.5th-97.5th percentile over replicates; ui95 in JSON, beside ci95, the "
    "interval of the mean) hold parameter uncertainty as well as chance. Draw r depends only on the seed and r "
    "(same command, same numbers, on any number of workers), and in a comparison every arm takes the same draw "
    "on the same seed in replicate r. A key given with --set is held at that value and not drawn; a scenario "
    "file's own value of a drawn key (other than the default or the calibrated value) is replaced by the draw, "
    "and a note says so. Use 40 or more draws for the percentiles to mean much.")


def _parameter_draws(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parameter uncertainty", DRAWS_HELP)
    source = group.add_mutually_exclusive_group()
    source.add_argument("--posterior", type=int, metavar="N", help="N replicates, each drawing the fitted "
                        "parameters from a particle of the stored posterior (seeds/posterior.yaml, written by "
                        "triangle calibrate) with probability its weight; replaces --replicates")
    source.add_argument("--priors", type=int, metavar="N", help="N replicates, each drawing every calibrated "
                        "parameter uniformly from its range in the register (triangle params --kind calibrated), "
                        "as the calibration's priors are; replaces --replicates")
    group.add_argument("--posterior-file", type=Path, metavar="FILE", help="read this posterior instead of "
                       "seeds/posterior.yaml (with --posterior)")


def _tornado_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "tornado", "Which parameters drive the effect: for each calibrated parameter (or those chosen below), the "
        "paired effect (arm - first arm) on METRIC with that parameter at the low and at the high end of its range in "
        "every arm, the others at the scenario's values, on the comparison's seeds; bars sorted by swing "
        "(|effect at high - effect at low|). Fixed parameters whatever --posterior says. Printed, in JSON under "
        "\"tornado\", and with --report as tornado.png, tornado.csv and a table in report.html.")
    group.add_argument("--tornado", metavar="METRIC", help="the metric whose paired effect to explain (triangle "
                       "metrics lists them)")
    group.add_argument("--tornado-params", metavar="KEY,...", help="only these parameters (register keys with a "
                       "range; default: every calibrated one)")
    group.add_argument("--tornado-assumed", action="store_true", help="also every assumed behavioural parameter "
                       "(behaviour.*, outcomes.*) with a range: many more runs")
    group.add_argument("--tornado-top", type=int, metavar="K", help="show only the K parameters of largest swing")
    group.add_argument("--tornado-replicates", type=int, metavar="R", help="paired replicates at each end "
                       "(default: --replicates, or the first scenario's replicates)")


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
                     "runs.parquet, scenario.yaml and provenance.json to this folder (with --posterior or --priors, "
                     "runs.parquet and provenance.json hold each replicate's drawn values)")
    run.add_argument("--force", action="store_true", help="replace --out if it exists")
    run.add_argument("--json", action="store_true", help="print the summary as JSON on stdout, nothing else")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--plot", type=Path, metavar="DIR", help="write the triangle, daily series, spending by "
                     "payer and before/after bars as PNGs and a self-contained report.html to this folder")
    _parameter_draws(run)
    _allow_outside(run)

    compare = sub.add_parser(
        "compare", help="run scenarios on common random numbers and print paired differences",
        description="Run two or more scenarios on the same seeds (common random numbers: the same residents "
        "fall ill the same way in every arm, so differences come from policy) and print each arm's metrics "
        "and its paired difference from the first arm, with 95% intervals.")
    compare.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files (two or more)")
    compare.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                         help="override a value in every arm (repeatable)")
    compare.add_argument("--seed", type=int, help="seed of every arm (default: the first scenario's)")
    compare.add_argument("--replicates", type=int, help="replicates per arm (default: the first scenario's)")
    compare.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON, nothing else")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--report", type=Path, metavar="DIR", help="write the arms' triangle, daily series and "
                         "spending by payer as PNGs and a self-contained report.html to this folder")
    _parameter_draws(compare)
    _tornado_options(compare)
    _allow_outside(compare)

    check = sub.add_parser("check", help="validate scenario and sweep files without running them")
    check.add_argument("scenarios", type=Path, nargs="+", help="scenario or sweep YAML files")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    _allow_outside(check)

    demo = sub.add_parser("demo", help="serve the classroom demo (a web page) on this machine",
                          description="Serve a web page where a small county runs beside its baseline: controls "
                          "for the levers, Play / Step / Reset, and live views of the triangle, waits, spending "
                          "and the county map. Works offline.")
    demo.add_argument("scenario", type=Path, nargs="?", help="base scenario YAML (default: the schema's defaults)")
    demo.add_argument("--host", default="localhost", help="address to listen on (default: localhost)")
    demo.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    demo.add_argument("--open", action="store_true", help="open the page in a browser")
    _allow_outside(demo)

    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files (or of a scenario's city "
                            "block, or of sweep, facts or calibration files)")
    schema.add_argument("kind", nargs="?", default="scenario",
                        choices=["scenario", "city", "sweep", "facts", "calibration"],
                        help="which file format (default: scenario)")
    metrics = sub.add_parser("metrics", help="list every metric with its unit and formula")
    metrics.add_argument("--json", action="store_true")
    _add_sweep_parsers(sub)
    _add_facts_parser(sub)
    _add_calibrate_parser(sub)
    _add_params_parser(sub)
    return p


MODEL_COMMANDS = {"run", "compare", "demo", "facts", "calibrate", "sweep"}


def _prepare_loops() -> None:
    """Compile the model's loops now, saying so, when this machine has not compiled this version yet (workers
    then load them from the cache)."""
    from sim import kernels
    from sim.engine import warmup

    if not kernels.compiled():
        print("triangle: compiling the model's loops for this machine, once (about half a minute)...",
              file=sys.stderr, flush=True)
        warmup.load()


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop as Ctrl-C stops (every cleanup that handles Ctrl-C runs), and say so."""


def _terminate(signum, frame) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP stop it as Ctrl-C does: workers and servers are stopped,
    temporary files removed, one line said. The previous handlers come back afterwards (main may be called
    from a program)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(OSError, ValueError):
            previous[signum] = signal.signal(signum, _terminate)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    try:
        with _stoppable():
            return _main(argv)
    except KeyboardInterrupt as err:  # at any moment, the imports included
        as_program = argv is None
        if as_program and threading.current_thread() is threading.main_thread():
            # The process is about to exit: a second Ctrl-C must not interrupt the clean-up and print a traceback.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if isinstance(err, Terminated):
            print("terminated", file=sys.stderr)
            return EXIT_TERMINATED
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    from sim.core.conditions import CatalogueError
    from sim.params.boundary import outside_allowed
    from sim.params.loading import ScenarioError

    try:
        if args.command == "run":
            _check_out(args.out, args.force)  # before any work, even compiling
        if args.command == "sweep":
            _check_scheduler(args)
        if args.command in MODEL_COMMANDS:
            _prepare_loops()
        handler = getattr(args, "handler", None) or {
            "run": _run, "compare": _compare, "demo": _demo, "check": _check, "schema": _schema,
            "metrics": _metrics}[args.command]
        with outside_allowed(getattr(args, "allow_outside", False)):
            return handler(args)
    except (ScenarioError, CatalogueError, FileExistsError) as err:  # InsufficientMemory is a ScenarioError
        print(f"triangle {args.command}: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as err:  # what the machine did: permission denied, no space left, a vanished file
        print(f"triangle {args.command}: {_os_error(err)}", file=sys.stderr)
        return EXIT_USER_ERROR


def _one_line(err: BaseException, limit: int = 300) -> str:
    """An exception's message on one line, shortened."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _os_error(err: OSError) -> str:
    """One line for an operating-system error: the file (escaped) and what the system said. The writers of
    --out folders and sweep stores write to temporary names and rename, so a failure leaves no partial file."""
    from sim.params.boundary import display

    reason = err.strerror or type(err).__name__
    where = f"{display(err.filename)}: " if err.filename else ""
    return f"{where}{reason}"


def _check_scheduler(args) -> None:
    """Refuse a malformed --scheduler or --scheduler-timeout before any work; the address is kept normalised."""
    from sim.experiments.executors import SchedulerError, scheduler_address
    from sim.params.loading import ScenarioError

    if args.scheduler is None:
        return
    try:
        args.scheduler = scheduler_address(args.scheduler)
    except SchedulerError as err:
        raise ScenarioError(f"--scheduler {err}") from None
    if not 0 < args.scheduler_timeout <= 3600:  # NaN fails too
        raise ScenarioError(f"--scheduler-timeout {args.scheduler_timeout:g}: must be more than 0 and at most 3600 "
                            "seconds")


def _check_out(out: Path | None, force: bool) -> None:
    """Refuse an --out that cannot be used, before any work: a file, a folder in the way, an unwritable parent."""
    from sim.params.boundary import display
    from sim.params.loading import ScenarioError

    if out is None:
        return
    name = display(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {name}: is a file, not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ScenarioError(f"--out {name}: exists and is not empty; choose another --out or pass --force")
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ScenarioError(f"--out {name}: {display(parent)} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ScenarioError(f"--out {name}: cannot write in {display(parent)}: permission denied")


def _draws(args, seed: int, overrides: list[str]):
    """The parameter draws the command asks for (sim.results.draws), or fixed parameters."""
    from sim.params.loading import ScenarioError
    from sim.results import draws as D

    n = args.posterior if args.posterior is not None else args.priors
    if n is None:
        if args.posterior_file is not None:
            raise ScenarioError("--posterior-file: only with --posterior N")
        return D.Draws("fixed"), None
    flag = "--posterior" if args.posterior is not None else "--priors"
    if args.replicates is not None:
        raise ScenarioError(f"--replicates with {flag}: {flag} {n} sets the number of replicates (one draw each)")
    if args.posterior_file is not None and args.posterior is None:
        raise ScenarioError("--posterior-file: only with --posterior N")
    source = "posterior" if args.posterior is not None else "priors"
    return D.draw(source, n, seed, overrides=overrides, posterior=args.posterior_file or D.POSTERIOR_FILE), n


def _say_draws(draws) -> None:
    """The draws' notes (scenario values they replace) on stderr."""
    for note in draws.notes():
        print(f"triangle: note: {note}", file=sys.stderr)


def _run(args) -> int:
    from sim.params.city import is_city
    from sim.params.loading import load_scenario, scenario_to_yaml
    from sim.results import draws as D
    from sim.results import report, runner

    if is_city(args.scenario, args.overrides):  # a city of several counties (sim.apps.city_run)
        from sim.apps import city_run

        return city_run.run(args, _city_helpers())
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    scenario = load_scenario(args.scenario, overrides)
    draws, n = _draws(args, scenario.seed, list(args.overrides))
    if n is not None:
        overrides.append(f"replicates={n}")
    elif args.replicates is not None:
        overrides.append(f"replicates={args.replicates}")
    scenario = load_scenario(args.scenario, overrides)
    per_replicate = D.scenarios(args.scenario, overrides, draws, scenario.replicates)
    if not draws.fixed:
        draws = dataclasses.replace(draws, replaced={scenario.name: D.own_values(scenario, draws)})
        _say_draws(draws)
    spread = not draws.fixed
    results = runner.run_replicates(scenario, workers=args.workers, progress=not args.quiet,
                                    scenarios=per_replicate)
    summary = runner.summarise(results, spread)
    periods = runner.summarise_periods(results, spread)
    parameters = draws.as_json([r.seed for r in results])
    doc = report.summary_json(scenario.name, len(results), summary, periods, parameters=parameters)
    if args.out:
        report.write_outputs(args.out, scenario_yaml=scenario_to_yaml(scenario), summary=doc, results=results,
                             seed_info={"seed": scenario.seed, "replicate_seeds": [r.seed for r in results],
                                        "parameters": parameters},
                             force=args.force, draws=list(draws.values) or None)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(report.table(scenario.name, len(results), summary, uncertainty=spread), end="")
        print(draws.line())
        if periods:
            print("\n" + report.period_table(periods), end="")
        if args.out:
            print(f"outputs written to {args.out}/")
    if args.plot:
        _pictures(args.plot, {scenario.name: results}, {scenario.name: summary}, json_only=args.json,
                  periods={scenario.name: periods}, reform_days=[entry.day for entry in scenario.timeline],
                  note=draws.line())
    return 0


def _pictures(folder: Path, results: dict, summaries: dict, *, json_only: bool, **extra) -> None:
    """``--plot`` / ``--report``: the pictures of finished runs (sim.results.plots), said on stderr under --json."""
    from sim.results import plots

    page = plots.report_of_runs(folder, results, summaries, **extra)
    print(f"pictures written to {folder}/ ({page.name})", file=sys.stderr if json_only else sys.stdout)


def _compare(args) -> int:
    from sim.params.loading import ScenarioError, load_scenario
    from sim.results import draws as D
    from sim.results import report, runner

    if len(args.scenarios) < 2:
        raise ScenarioError("compare needs two or more scenario files")
    if _cities(args.scenarios, args.overrides):  # cities of several counties (sim.apps.city_run)
        from sim.apps import city_run

        return city_run.compare(args, _city_helpers())
    first = load_scenario(args.scenarios[0], args.overrides)
    seed = first.seed if args.seed is None else args.seed
    draws, n = _draws(args, seed, list(args.overrides))
    fixed_replicates = args.replicates or first.replicates
    replicates = n or fixed_replicates
    tornado = _tornado_request(args, fixed_replicates)
    # Every arm on the same seed and replicates: the same map, residents and illness draws.
    common = [*args.overrides, f"seed={seed}", f"replicates={replicates}"]
    arms = [load_scenario(path, common) for path in args.scenarios]
    names = [a.name if a.name != "unnamed" else Path(p).stem for a, p in zip(arms, args.scenarios, strict=True)]
    if len(set(names)) < len(names):
        names = [str(p) for p in args.scenarios]
    if len({a.population.size for a in arms}) > 1:
        print("triangle compare: warning: the arms have different population sizes, so their residents differ "
              "and differences are not paired on the same people", file=sys.stderr)
    # Replicate r of every arm on the same draw (and seed): differences stay paired.
    per_replicate = [D.scenarios(path, common, draws, replicates) for path in args.scenarios]
    if not draws.fixed:
        draws = dataclasses.replace(draws, replaced={n: D.own_values(a, draws)
                                                     for n, a in zip(names, arms, strict=True)})
        _say_draws(draws)
    spread = not draws.fixed
    results = [runner.run_replicates(a, workers=args.workers, progress=not args.quiet, scenarios=these)
               for a, these in zip(arms, per_replicate, strict=True)]
    summaries = [runner.summarise(r, spread) for r in results]
    base = [r.metrics for r in results[0]]
    differences = [runner.paired(base, [r.metrics for r in arm], spread) for arm in results[1:]]
    labels = [f"{n} - {names[0]}" for n in names[1:]]
    from sim.experiments import sensitivity as S

    sensitivity = S.of_compare(tornado, args.scenarios, [*args.overrides, f"seed={seed}"], labels, load_scenario,
                               workers=args.workers, progress=not args.quiet)
    if args.json:
        doc = {"scenarios": names, "seed": seed, "replicates": replicates,
               "parameters": draws.as_json([r.seed for r in results[0]]),
               "metrics": {n: report.explained(s) for n, s in zip(names, summaries, strict=True)},
               "differences": {label: report.explained(d) for label, d in zip(labels, differences, strict=True)}}
        if sensitivity is not None:
            doc["tornado"] = sensitivity
        print(json.dumps(report.json_safe(doc), indent=2))
    else:
        print(report.compare_table(names, replicates, summaries, differences, uncertainty=spread), end="")
        print(draws.line())
        if sensitivity is not None:
            print("\n" + report.tornado_table(sensitivity, top=tornado["top"]), end="")
    if args.report:
        _pictures(args.report, dict(zip(names, results, strict=True)), dict(zip(names, summaries, strict=True)),
                  json_only=args.json, differences=dict(zip(labels, differences, strict=True)),
                  note=f"{len(names)} scenarios on common random numbers, {replicates} replicate(s) each; "
                  f"differences are paired over replicates. {draws.line()[0].upper()}{draws.line()[1:]}.",
                  tornado=sensitivity, tornado_top=tornado["top"] if tornado else None)
    return 0


def _city_helpers():
    """What ``sim.apps.city_run`` borrows of this command: the draws, their notes, the pictures, the tornado."""
    from sim.apps.city_run import Helpers

    return Helpers(draws=_draws, say_draws=_say_draws, pictures=_pictures, tornado_request=_tornado_request)


def _cities(paths: list[Path], overrides: list[str]) -> bool:
    """Whether the files to compare are cities (all of them) or counties (all of them); a mixture is refused,
    naming a city and a county."""
    from sim.params.boundary import display
    from sim.params.city import is_city
    from sim.params.loading import ScenarioError

    kinds = [is_city(p, overrides) for p in paths]
    if any(kinds) and not all(kinds):
        city, county = paths[kinds.index(True)], paths[kinds.index(False)]
        raise ScenarioError(f"{display(county)}: is a county scenario and {display(city)} is a city (a city: block); "
                            "compare cities with cities and counties with counties (a county is a city of one "
                            "with a city: block of one county)")
    return all(kinds)


def _tornado_request(args, replicates: int) -> dict | None:
    """What --tornado asks for, checked before any run: the metric, the register entries, replicates, top K."""
    from sim.params import register
    from sim.params.loading import ScenarioError
    from sim.results.metrics import METRICS

    given = {k: getattr(args, k) for k in ("tornado_params", "tornado_top", "tornado_replicates")
             if getattr(args, k) is not None}
    if args.tornado_assumed:
        given["tornado_assumed"] = True
    if args.tornado is None:
        if given:
            raise ScenarioError(f"--{next(iter(given)).replace('_', '-')}: only with --tornado METRIC")
        return None
    if args.tornado not in METRICS:
        import difflib

        close = difflib.get_close_matches(args.tornado, list(METRICS), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; triangle metrics lists them"
        raise ScenarioError(f"--tornado {args.tornado}: no such metric{hint}")
    from sim.experiments import sensitivity as S

    try:
        entries = S.tornado_parameters(register.entries(), keys=(args.tornado_params or "").split(",")
                                       if args.tornado_params else None, assumed=args.tornado_assumed)
    except ValueError as err:
        raise ScenarioError(f"--tornado-params {args.tornado_params}: {err}") from None
    if args.tornado_top is not None and args.tornado_top < 1:
        raise ScenarioError(f"--tornado-top {args.tornado_top}: must be at least 1")
    r = args.tornado_replicates if args.tornado_replicates is not None else replicates
    if not 1 <= r <= 1000:
        raise ScenarioError(f"--tornado-replicates {r}: must be 1 to 1000")
    return {"metric": args.tornado, "entries": entries, "replicates": r, "top": args.tornado_top}


def _demo(args) -> int:
    from sim.apps import demo

    return demo.serve(args.scenario, args.host, args.port, open_browser=args.open,
                      allow_outside=args.allow_outside)


def _check(args) -> int:
    from sim.core.conditions import CatalogueError, check_conditions, load_catalogue
    from sim.params.loading import ScenarioError, load_scenario

    failed = 0
    for path in args.scenarios:
        try:
            if _is_sweep_file(path):
                from sim.experiments.sweep import CHECK_POINTS, design_size, load_sweep

                if args.overrides:
                    raise ScenarioError(f"{path}: is a sweep file; --set applies to scenario files only (a sweep "
                                        "fixes keys under `set:`)")
                plan = load_sweep(path, check_only=True)
                size = design_size(plan.sweep)
                how = "" if size == len(plan.points) else (
                    f"; checked by its definition: every parameter's values and range ends, and "
                    f"{CHECK_POINTS:,} points drawn over the design")
                print(f"{path}: ok (sweep {plan.sweep.name}: {plan.sweep.design} design, {size:,} points x "
                      f"{plan.sweep.replicates} replicate(s){how})")
                continue
            from sim.params.city import is_city, load_city

            if is_city(path, args.overrides):  # a city: every county's scenario checked
                city = load_city(path, args.overrides)
                for s in city.counties.values():
                    check_conditions(s, load_catalogue(s.case_mix.catalogue))
                print(f"{path}: ok (city {city.name}: {len(city.counties)} counties, {city.residents:,} residents, "
                      f"{city.days} days)")
                continue
            s = load_scenario(path, args.overrides)
            check_conditions(s, load_catalogue(s.case_mix.catalogue))
        except ScenarioError as err:
            print(err, file=sys.stderr)
            failed += 1
            continue
        except CatalogueError as err:
            print(f"{path}: {err}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: ok ({s.name}: {s.population.size:,} residents, {s.days} days, {s.payment.model})")
    return EXIT_USER_ERROR if failed else 0


def _is_sweep_file(path: Path) -> bool:
    """A sweep file names a base scenario and the parameters to vary; no scenario has those keys."""
    from sim.params.boundary import top_level_keys
    from sim.params.loading import ScenarioError, read_text

    try:  # read at the input boundary, as the loaders do
        keys = top_level_keys(read_text(path))
    except ScenarioError:
        return False  # the scenario loader reports why
    return keys is not None and {"base", "parameters"} <= keys


def _schema(args) -> int:
    from sim.params.scenario import json_schema

    if args.kind == "scenario":
        schema = json_schema()
    elif args.kind == "city":
        from sim.params.city import json_schema as city_schema

        schema = city_schema()
    else:
        from sim.experiments.calibrate import Calibration
        from sim.experiments.facts import FactsFile
        from sim.experiments.sweep import Sweep

        model = {"sweep": Sweep, "facts": FactsFile, "calibration": Calibration}[args.kind]
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"triangle {args.kind} file"
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def _metrics(args) -> int:
    from sim.results.metrics import GROUPS, METRICS, NOT_A_NUMBER

    if args.json:
        print(json.dumps({m.name: {"group": m.group, "unit": m.unit, "formula": m.formula, NOT_A_NUMBER: m.na}
                          for m in METRICS.values()}, indent=2))
        return 0
    print(f"A metric is a number, or {NOT_A_NUMBER} when what it divides by did not occur in the run (said below; "
          f"in JSON its mean is null and \"{NOT_A_NUMBER}\" gives the reason).\n")
    for group in GROUPS:
        print(group.upper())
        for m in (m for m in METRICS.values() if m.group == group):
            when = f" ({NOT_A_NUMBER} when {m.na})" if m.na else ""
            print(f"  {m.name} [{m.unit}]: {m.formula}{when}")
    return 0


# --------------------------------------------------------------------------------------------- facts
def _add_facts_parser(sub) -> None:
    facts = sub.add_parser(
        "facts", help="run the seed facts (seeds/facts.yaml) and print observed vs simulated",
        description="Run every scenario the seed facts name (replicates on common random numbers, on seeds the "
        "calibration never used) and print, per fact, the observed figure, the simulated mean with its 95% "
        "interval and the replicates it took, in-sample (the calibration's targets) and holdout apart. A fact "
        "passes when its interval is no wider than its band and its mean lies within tolerance; it is undecided "
        "when the interval stays wider than the band. Exit code 0 when nothing is unexpected, 1 when a fact fails "
        "that is not a known failure, or a known failure misses by more than its recorded miss, or passes.")
    facts.add_argument("file", type=Path, nargs="?", help="facts file (default: the project's seeds/facts.yaml)")
    facts.add_argument("--fast", action="store_true", help="small counties (30,000 residents) and at least "
                       "three replicates (a check of a minute or two; the figures are noisier)")
    facts.add_argument("--only", action="append", default=[], metavar="ID", help="run only this fact (repeatable)")
    facts.add_argument("--seed", type=int, help="seed of every scenario (default: each scenario's own); never "
                       "one of the calibration's")
    facts.add_argument("--max-replicates", type=int, metavar="N", help="most replicates a scenario gets while a "
                       "fact on it is undecided (default: 8)")
    facts.add_argument("--workers", type=int, help="worker processes for replicates (default: all cores)")
    facts.add_argument("--json", action="store_true", help='print {"facts": [{"id", "observed", "simulated", '
                       '"ci95", "replicates", "verdict", "set", ...}]} and nothing else')
    facts.add_argument("--quiet", action="store_true", help="no progress bar")
    _allow_outside(facts)
    facts.set_defaults(handler=_facts)


def _facts(args) -> int:
    from sim.experiments import facts as F
    from sim.experiments.calibrate import fact_sets
    from sim.params.loading import ScenarioError
    from sim.results.report import json_safe

    path = Path(args.file or F.FACTS_FILE)
    chosen = F.load_facts(path)
    if args.only:
        unknown = sorted(set(args.only) - {f.id for f in chosen})
        if unknown:
            raise ScenarioError(f"--only {', '.join(unknown)}: no such fact; known: "
                                f"{', '.join(f.id for f in chosen)}")
        chosen = [f for f in chosen if f.id in args.only]
    if args.max_replicates is not None and not F.MIN_REPLICATES <= args.max_replicates <= 1000:
        raise ScenarioError(f"--max-replicates {args.max_replicates}: must be {F.MIN_REPLICATES} to 1000")
    F.check_seeds(chosen, args.seed)
    calibration = path.resolve().with_name("calibration.yaml")
    sets = {}
    if calibration.is_file():  # the calibration beside the facts file, if it fits these facts
        sets = fact_sets(calibration, path)
    findings = F.evaluate(chosen, fast=args.fast, workers=args.workers, progress=not (args.quiet or args.json),
                          seed=args.seed, max_replicates=args.max_replicates or F.MAX_REPLICATES)
    if args.json:
        print(json.dumps(json_safe({"fast": args.fast, "facts": [{**f.as_json(), "set": sets.get(f.fact.id)}
                                                                 for f in findings]}), indent=2))
    else:
        print(F.table(findings, sets), end="")
    return 1 if any(f.unexpected for f in findings) else 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _add_calibrate_parser(sub) -> None:
    cal = sub.add_parser(
        "calibrate", help="fit behavioural parameters to the seed facts by ABC-SMC and write seeds/calibrated.yaml",
        description="Fit the behavioural parameters a calibration file names (behaviour.*, outcomes.*) to its "
        "target facts by ABC-SMC (pyabc): uniform priors over the parameter register's ranges, the distance the "
        "sum of squared misses in tolerances, each simulation running the target facts' scenarios on a small "
        "county. The same file and seed give the same posterior on any number of workers. Writes the posterior "
        "(weighted particles, settings, facts, the model's fingerprint) to posterior.yaml and its weighted mean, "
        "with the fit's quality in its header, to calibrated.yaml, beside the calibration file; the bundled "
        "baseline extends calibrated.yaml. Holdout facts are never run.")
    cal.add_argument("file", type=Path, nargs="?", help="calibration file (default: seeds/calibration.yaml)")
    cal.add_argument("--out", type=Path, help="where to write the fitted overlay (default: calibrated.yaml beside "
                     "the calibration file); the posterior goes beside it, as posterior.yaml")
    cal.add_argument("--generations", type=int, help="override the file's generations (the prior's included)")
    cal.add_argument("--budget", type=int, help="override the file's budget: most simulations in all")
    cal.add_argument("--particles", type=int, help="override the file's particles per generation")
    cal.add_argument("--seed", type=int, help="override the file's seed")
    cal.add_argument("--workers", type=int, help="worker processes for simulations (default: all cores; the "
                     "posterior does not depend on it)")
    cal.add_argument("--json", action="store_true", help="print the fit as JSON (posterior summary, facts)")
    cal.add_argument("--quiet", action="store_true", help="no progress bar or news")
    _allow_outside(cal)
    cal.set_defaults(handler=_calibrate)


def _calibrate(args) -> int:
    import time

    from sim.experiments import calibrate as C
    from sim.params.loading import ScenarioError
    from sim.results.report import json_safe

    path = args.file or C.CALIBRATION_FILE
    cal, facts = C.load_calibration(path)
    changes = {k: getattr(args, k) for k in ("generations", "budget", "particles", "seed")
               if getattr(args, k) is not None}
    if changes:
        from pydantic import ValidationError

        try:
            cal = C.Calibration.model_validate({**cal.model_dump(), **changes})
        except ValidationError as err:
            problem = err.errors()[0]
            key = ".".join(map(str, problem["loc"]))
            given = f"--{key} {changes[key]}" if key in changes else " ".join(f"--{k} {v}" for k, v in changes.items())
            raise ScenarioError(f"{given}: {problem['msg'].removeprefix('Value error, ')}") from None
    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers {args.workers}: must be at least 1")
    out = Path(args.out or Path(path).resolve().with_name("calibrated.yaml"))
    if not out.parent.is_dir():
        raise ScenarioError(f"--out {out}: no such folder {out.parent}")
    quiet = args.quiet or args.json
    workers = args.workers or os.cpu_count() or 1

    def say(line: str) -> None:
        if not quiet:
            print(f"triangle calibrate: {line}", file=sys.stderr, flush=True)

    say(f"fitting {_count(len(cal.parameters), 'parameter')} to {_count(len(facts), 'target fact')} "
        f"({len(cal.holdout)} held out, never run) by ABC-SMC: {cal.particles} particles, up to "
        f"{cal.generations} generations and {cal.budget} simulations, each on counties of {cal.population:,} "
        f"residents; seed {cal.seed}, {workers} worker(s)")
    start = time.perf_counter()
    result = C.fit(cal, facts, workers=workers, progress=not quiet, say=say)
    say("fingerprint: the target facts at the posterior mean on a fixed county and seed")
    result.fingerprint = C.fingerprint(cal, facts, result.mean(), workers=workers)
    command = "triangle " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["calibrate"] else "triangle calibrate"
    written = C.write_calibrated(result, out, command=command)
    posterior = C.write_posterior(result, out.with_name("posterior.yaml"), command=command)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps(json_safe({"parameters": result.summary(), "predictive": result.predictive(),
                                    "generations": result.generations, "simulations": result.simulations,
                                    "stopped": result.stopped, "seconds": round(seconds, 1),
                                    "out": str(written), "posterior": str(posterior)}), indent=2))
        return 0
    print(f"{result.simulations} simulations in {len(result.generations)} generations, {seconds / 60:.1f} min; "
          f"final epsilon {result.epsilon:.4g}")
    print(f"{'parameter':<46} {'prior':>14} {'mean':>9} {'95% interval':>22}")
    for key, s in result.summary().items():
        prior = f"[{s['prior'][0]:g}, {s['prior'][1]:g}]"
        ci = f"[{s['ci95'][0]:.3g}, {s['ci95'][1]:.3g}]"
        print(f"{key:<46} {prior:>14} {s['mean']:>9.4g} {ci:>22}")
    print(f"\n{'target fact':<36} {'observed':>9} {'simulated':>10} {'tolerance':>9}  z")
    for fid, p in result.predictive().items():
        print(f"{fid:<36} {p['observed']:>9.4g} {p['simulated']:>10.4g} {p['tolerance']:>9.4g}  {p['z']:+.2f}")
    print(f"\nwritten to {written} and {posterior}; `triangle facts` judges the facts, in-sample and holdout, "
          "on other seeds")
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
    sweep.add_argument("--scheduler-timeout", type=float, default=30.0, metavar="SECONDS",
                       help="give up reaching --scheduler after this long (default: 30)")
    sweep.add_argument("--resume", action="store_true", help="continue the sweep stored in --out; the sweep file "
                       "may be omitted")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    _allow_outside(sweep)
    sweep.set_defaults(handler=_sweep)

    analyze = sub.add_parser(
        "analyze", help="summarise a sweep's store: per-point intervals, Sobol indices, the Pareto front",
        description="Write DIR/analysis/ (tables, summary.json, plots) and print a summary.")
    analyze.add_argument("store", type=Path, metavar="DIR", help="the --out folder of a sweep")
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON on stdout, nothing else "
                         "(it depends only on the stored results)")
    analyze.set_defaults(handler=_analyze)


def _sweep(args) -> int:
    from sim.experiments import executors
    from sim.experiments.store import Store
    from sim.experiments.sweep import load_sweep
    from sim.params.loading import ScenarioError, read_text
    from sim.results.runner import check_memory

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
        executor = (executors.DaskCluster(scheduler=args.scheduler, timeout=args.scheduler_timeout)
                    if args.scheduler else
                    executors.DaskCluster(local_workers=args.workers) if args.cluster else
                    executors.LocalProcesses(args.workers))
    except executors.SchedulerError as err:
        raise ScenarioError(f"cannot reach the Dask scheduler {err}") from None
    except (OSError, TimeoutError) as err:
        raise ScenarioError(f"cannot reach the Dask scheduler {args.scheduler}: {_one_line(err)}") from None
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
    from sim.experiments import analyze
    from sim.experiments.store import Store

    store = Store.read(args.store)
    analysis = analyze.analyse(store)
    folder = analyze.write(store, analysis)
    if args.json:
        print(analyze.as_json(analysis), end="")
        return 0
    print(analyze.report(analysis), end="")
    print(f"tables, summary.json and plots written to {folder}/")
    return 0


# --------------------------------------------------------------------------------------------- params
def _add_params_parser(sub) -> None:
    from sim.params.scenario import KINDS

    params = sub.add_parser(
        "params", help="print the parameter register: every key with its value, unit, kind and source or range",
        description="Print every scenario parameter (its dotted key, as --set takes it) with its value, unit, the "
        "kind of evidence behind its default and that evidence: sourced (a cited figure), calibrated (fitted "
        "within a prior range, by triangle calibrate or by hand), assumed (a plausible range and why), lever (what "
        "a scenario chooses as policy), setting (the run and the county described). The register is declared in "
        "sim/params/scenario.py.")
    params.add_argument("scenario", type=Path, nargs="?", help="show the values in force in this scenario file "
                        "(default: the schema's defaults; scenarios/baseline.yaml holds the calibrated values)")
    params.add_argument("--kind", choices=KINDS, metavar="KIND", help=f"only this kind: {', '.join(KINDS)}")
    params.add_argument("--key", metavar="PREFIX", help="only keys starting with PREFIX, e.g. behaviour.provider")
    params.add_argument("--json", action="store_true", help='print {"scenario", "counts", "parameters": [{"key", '
                        '"value", "default", "unit", "kind", "source", "range", "fit", "description"}]}')
    params.set_defaults(handler=_params)


def _params(args) -> int:
    from sim.params import register
    from sim.params.loading import ScenarioError, load_scenario

    scenario = load_scenario(args.scenario) if args.scenario else None
    try:
        chosen = register.select(register.entries(scenario), kind=args.kind, key=args.key)
    except ValueError as err:
        raise ScenarioError(str(err)) from None
    if args.json:
        print(json.dumps({"scenario": str(args.scenario) if args.scenario else None,
                          "counts": register.counts(chosen), "parameters": [e.as_json() for e in chosen]},
                         indent=2, ensure_ascii=False))
    else:
        print(register.table(chosen), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
