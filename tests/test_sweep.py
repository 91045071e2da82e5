"""Sweeps: sweep files and their errors, designs and seeds, the store (resume after SIGKILL, failed runs), Dask
against local processes, Sobol indices of a known function, the Pareto front, and `triangle analyze --json`."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from sim.experiments import analyze, pareto
from sim.experiments.store import Store
from sim.experiments.sweep import load_sweep
from sim.params.loading import ScenarioError
from sim.results.runner import replicate_seed

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SMALL_COUNTY = "set: {population.size: 3000, days: 60}"
KEPT = "metrics: [spending_per_capita, wait_days_mean, health_loss_per_1000, forgone_care_rate]"


def write(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def small_sweep(folder: Path, *, values: str = "[0.0, 1.0]", replicates: int = 2, extra: str = "") -> Path:
    return write(folder, f"""
        name: small
        base: {BASELINE}
        {SMALL_COUNTY}
        seed: 5
        replicates: {replicates}
        design: grid
        parameters:
          behaviour.provider.profit_weight: {{values: {values}}}
          insurance.reimbursement.county: {{range: [0.5, 0.8], levels: 2}}
        {KEPT}
        {extra}
        """)


def stored_metrics(folder: Path) -> dict[str, dict]:
    return {key: record["metrics"] for key, record in Store.read(folder).records().items()}


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    return str(info.value)


# --------------------------------------------------------------------------------------------- sweep files
def test_example_sweeps_are_valid_and_have_the_documented_size():
    files = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
    assert len(files) >= 2
    sizes = {f.stem: load_sweep(f) for f in files}
    grid = sizes["provider_incentives"]
    assert (len(grid.points), len(grid.runs)) == (20, 40)
    sobol = sizes["behaviour_sobol"]
    assert (len(sobol.points), len(sobol.runs)) == (64 * (4 + 2), 64 * (4 + 2))
    for plan in sizes.values():
        assert plan.base["population"]["size"] in (20_000, 50_000)


@pytest.mark.parametrize("body, fragments", [
    ("parameters: {insurance.reimbursement.county: {range: [0.5, 1.2], levels: 3}}",
     ["line 6", "parameters.insurance.reimbursement.county", "insurance.reimbursement.county = 1.2",
      "less than or equal to 1"]),
    ("parameters: {behaviour.provider.profit_wieght: {values: [0, 1]}}",
     ["line 6", "behaviour.provider.profit_wieght", "did you mean 'profit_weight'"]),
    ("parameters: {payment.model: {values: [fee_for_service, salary]}}",
     ["line 6", "payment.model = 'salary'", "'fee_for_service', 'drg'"]),
    ("parameters: {behaviour.provider.profit_weight: {range: [0, 1]}}",
     ["line 6", "parameters.behaviour.provider.profit_weight.levels", "a range in a grid needs"]),
    ("parameters: {behaviour.provider.profit_weight: {values: [0, 1], distribution: normal}}",
     ["line 6", "parameters.behaviour.provider.profit_weight.distribution = 'normal'", "'uniform'",
      "'log_uniform'", "'triangular'"]),
    ("parameters: {seed: {values: [1, 2]}}", ["line 6", "seed: cannot vary"]),
    ("paramters: {behaviour.provider.profit_weight: {values: [0, 1]}}",
     ["line 6", "paramters", "did you mean 'parameters'"]),
    ("parameters: {behaviour.provider.profit_weight: {values: [0, 1]}}\nmetrics: [wait_days]",
     ["line 7", "metrics[0] = 'wait_days'", "'wait_days_mean'"]),
    ("parameters: {behaviour.provider.profit_weight: {values: [0, 1]}}\nset: {population.size: -5}",
     ["line 7", "set.population.size", "population.size = -5", "greater than or equal to 100"]),
    ("parameters: {x: {values: [0.5, 0.9], keys: [behaviour.provider.profit_weight],\n"
     "  linked: {insurance.reimbursement.county: [0.6]}}}",
     ["line 7", "parameters.x.linked.insurance.reimbursement.county", "has 1 values; values has 2"]),
])
def test_sweep_errors_name_file_line_key_value_and_what_is_allowed(tmp_path, body, fragments):
    path = write(tmp_path, f"name: bad\nbase: {BASELINE}\ndesign: grid\nreplicates: 1\n# parameters follow\n{body}\n")
    message = error_of(path)
    assert message.startswith(f"{path}:"), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_sampled_design_needs_samples_and_sobol_a_power_of_two(tmp_path):
    for design, samples, fragment in [("latin_hypercube", None, "needs the number of samples"),
                                      ("sobol", 100, "samples = 100: a sobol design needs a power of 2 (e.g. 64 "
                                       "or 128)")]:
        line = f"samples: {samples}\n" if samples else ""
        path = write(tmp_path, f"name: s\nbase: {BASELINE}\ndesign: {design}\n{line}"
                     "parameters: {behaviour.provider.profit_weight: {range: [0, 1]}}\n")
        assert fragment in error_of(path)


def test_missing_base_and_unsafe_yaml_are_refused(tmp_path):
    path = write(tmp_path, "name: s\nbase: nowhere.yaml\nparameters: {days: {values: [10]}}\n")
    assert "line 2: base = 'nowhere.yaml'" in error_of(path) and "no such scenario file" in error_of(path)
    path = write(tmp_path, "name: !!python/object/apply:os.system [echo hi]\nbase: x\n")
    assert "tag '!!python/object/apply:os.system' is not allowed" in error_of(path)


def test_cli_reports_a_bad_sweep_file_with_status_2_and_writes_nothing(tmp_path):
    path = write(tmp_path, f"name: bad\nbase: {BASELINE}\nparameters: {{days: {{values: [0]}}}}\n")
    status, _, err = run_cli(["sweep", path, "--out", tmp_path / "out"])
    assert status == 2 and "days = 0" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_a_clear_error_and_writes_nothing(tmp_path):
    """--scheduler at an address where nothing listens: exit 2 within the timeout, naming the address."""
    import socket
    import time

    with socket.socket() as probe:  # a port that was free a moment ago, so nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    started = time.monotonic()
    status, _, err = run_cli(["sweep", small_sweep(tmp_path), "--out", tmp_path / "out", "--scheduler", address,
                              "--scheduler-timeout", "2", "--quiet"])
    assert status == 2, err
    assert f"cannot reach the Dask scheduler {address}" in err and "Traceback" not in err
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()


@contextlib.contextmanager
def listener(greeting: bytes = b""):
    """A TCP listener on loopback that accepts every connection and sends ``greeting`` (nothing: a silent one);
    yields its address."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.05)
    stop, accepted = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(connection)
            if greeting:
                connection.sendall(greeting)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"


@pytest.mark.parametrize("greeting, expected", [
    (b"", "accepted the connection but said nothing within 1 s"),
    (HTTP_ANSWER, "answers as a web server (HTTP), not as a Dask scheduler"),
    (b"\xff" * 64, "does not speak Dask's protocol (its first message would be 18,446,744,073,709,551,615 bytes)"),
    (b"\x64\x00\x00\x00\x00\x00\x00\x00" + b"x" * 10, "greeted, but did not complete Dask's handshake within 1 s"),
], ids=["silent", "http", "garbage", "greets then silent"])
def test_a_scheduler_address_where_no_dask_scheduler_answers_is_one_line_within_the_timeout(tmp_path, greeting,
                                                                                          expected):
    """A listener that never answers, an HTTP server, one that speaks another protocol, one that starts Dask's
    handshake and stops: exit 2 within the timeout (and a second), one line, nothing written, no huge allocation
    (Dask would read "HTTP/1.1" as the size of a message)."""
    sweep = small_sweep(tmp_path)

    def hang(signum, frame):
        raise AssertionError("--scheduler hangs past --scheduler-timeout")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(30)
    try:
        with listener(greeting) as address:
            started = time.monotonic()
            status, _, err = run_cli(["sweep", sweep, "--out", tmp_path / "out", "--scheduler", address,
                                      "--scheduler-timeout", "1", "--quiet"])
            seconds = time.monotonic() - started
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert status == 2, err
    assert err.startswith(f"triangle sweep: cannot reach the Dask scheduler {address}: ") and expected in err, err
    assert len(err.splitlines()) == 1
    assert seconds < 1 + 1 + 3, seconds  # the timeout, the guard's extra second, and loading the sweep
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address, expected", [
    ("garbage", "--scheduler 'garbage' is not a scheduler address; expected tcp://HOST:PORT or HOST:PORT"),
    ("", "--scheduler '' is not a scheduler address"),
    ("tcp://10.0.0.5", "is not a scheduler address"),
    ("http://10.0.0.5:8786", "the protocol http:// is not offered"),
    ("tcp://10.0.0.5:70000", "port 70000 is not a port (1 to 65535)"),
    ("tcp://user@host:1/path", "is not a scheduler address"),
    ("tcp://h\x1b[2J:1", "is not a scheduler address"),
])
def test_a_malformed_scheduler_address_is_refused_before_any_work(tmp_path, monkeypatch, address, expected):
    import sim.apps.cli as cli

    monkeypatch.setattr(cli, "_prepare_loops", lambda: pytest.fail("work was done before --scheduler was refused"))
    status, _, err = run_cli(["sweep", small_sweep(tmp_path), "--out", tmp_path / "out", "--scheduler", address])
    assert status == 2 and expected in err and len(err.splitlines()) == 1 and "\x1b" not in err, err
    assert not (tmp_path / "out").exists()


def test_scheduler_addresses_are_read_as_tcp_host_port():
    from sim.experiments.executors import scheduler_address

    assert scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address(" tcp://head:8786 ") == "tcp://head:8786"
    assert scheduler_address("TLS://head.example.org:8786") == "tls://head.example.org:8786"
    assert scheduler_address("tcp://[::1]:8786") == "tcp://[::1]:8786"
    status, _, err = run_cli(["sweep", "x.yaml", "--out", "o", "--scheduler", "h:1", "--scheduler-timeout", "nan"])
    assert status == 2 and "--scheduler-timeout nan: must be more than 0" in err


# --------------------------------------------------------------------------------------------- designs, seeds
def test_grid_expands_every_combination_first_parameter_slowest(tmp_path):
    plan = load_sweep(small_sweep(tmp_path, values="[0.0, 0.5, 1.0]"))
    values = [tuple(p.values.values()) for p in plan.points]
    assert values == [(w, c) for w in (0.0, 0.5, 1.0) for c in (0.5, 0.8)]


def test_seeds_depend_on_sweep_seed_and_replicate_only_so_points_share_random_numbers(tmp_path):
    plan = load_sweep(small_sweep(tmp_path, replicates=3))
    for run in plan.runs:
        assert run.seed == replicate_seed(5, run.replicate)
    for point in plan.points:
        assert plan.scenario(point).seed == 5  # the map is the same at every point
    assert len({r.key for r in plan.runs}) == len(plan.runs)


def test_points_that_resolve_to_the_same_scenario_run_once(tmp_path):
    plan = load_sweep(small_sweep(tmp_path, values="[0.5, 1.0, 0.5]"))
    assert len(plan.runs) == 12 and len(plan.unique_runs()) == 8
    assert [(r.point, r.replicate) for r in plan.unique_runs()] == [(p, r) for p in range(4) for r in range(2)]
    assert [r.key for r in plan.runs[8:]] == [r.key for r in plan.runs[:4]]


def test_latin_hypercube_hits_every_stratum_once_and_is_reproducible(tmp_path):
    path = write(tmp_path, f"""
        name: lhs
        base: {BASELINE}
        design: latin_hypercube
        samples: 20
        parameters:
          behaviour.resident.wait_sensitivity: {{range: [0.0, 2.0]}}
          behaviour.resident.price_sensitivity: {{range: [0.01, 1.0], distribution: log_uniform}}
          behaviour.resident.max_rechoices: {{range: [0, 4], integer: true}}
          payment.model: {{values: [fee_for_service, drg]}}
        """)
    plan = load_sweep(path)
    wait = np.array([p.values["behaviour.resident.wait_sensitivity"] for p in plan.points])
    assert sorted(np.floor(wait / 0.1).astype(int)) == list(range(20))
    price = np.array([p.values["behaviour.resident.price_sensitivity"] for p in plan.points])
    assert sorted(np.floor(np.log(price / 0.01) / (np.log(100) / 20)).astype(int)) == list(range(20))
    assert sorted({p.values["behaviour.resident.max_rechoices"] for p in plan.points}) == [0, 1, 2, 3, 4]
    assert [p.values["payment.model"] for p in plan.points].count("drg") == 10
    assert [p.values for p in load_sweep(path).points] == [p.values for p in plan.points]


def test_linked_and_multi_key_parameters_set_each_key(tmp_path):
    path = write(tmp_path, f"""
        name: linked
        base: {BASELINE}
        parameters:
          primary_reimbursement:
            keys: [insurance.reimbursement.village, insurance.reimbursement.township]
            values: [0.7, 0.95]
            linked: {{insurance.deductible.township: [300, 0]}}
        """)
    plan = load_sweep(path)
    scenarios = [plan.scenario(p) for p in plan.points]
    assert [(s.insurance.reimbursement.village, s.insurance.reimbursement.township,
             s.insurance.deductible.township) for s in scenarios] == [(0.7, 0.7, 300), (0.95, 0.95, 0)]


# --------------------------------------------------------------------------------------------- Sobol, Pareto
def ishigami(x1, x2, x3, a=7.0, b=0.1):
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3 ** 4 * np.sin(x1)


def test_sobol_design_and_analysis_recover_the_ishigami_indices(tmp_path):
    """Ishigami (a=7, b=0.1) on [-pi, pi]^3: S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244."""
    keys = ["behaviour.resident.price_sensitivity", "behaviour.resident.wait_sensitivity",
            "behaviour.resident.travel_sensitivity"]
    params = "\n".join(f"  {k}: {{range: [0.0, {2 * math.pi!r}]}}" for k in keys)
    path = write(tmp_path, f"name: ishigami\nbase: {BASELINE}\nseed: 3\ndesign: sobol\nsamples: 512\n"
                 f"metrics: [spending_per_capita]\nparameters:\n{params}\n")
    plan = load_sweep(path)
    store = Store.create_or_open(tmp_path / "store", plan, path.read_text())
    for run in plan.runs:  # the toy response stands in for the model's metric
        x = [plan.points[run.point].values[k] - math.pi for k in keys]
        store.save({"key": run.key, "seed": run.seed, "status": "done", "seconds": 0.0,
                    "metrics": {m: float(ishigami(*x)) for m in plan.metrics}})
    result = analyze.analyse(store)["sobol"]["spending_per_capita"]
    first = [result["first_order"][k]["index"] for k in keys]
    total = [result["total"][k]["index"] for k in keys]
    assert first == pytest.approx([0.314, 0.442, 0.0], abs=0.06)
    assert total == pytest.approx([0.558, 0.442, 0.244], abs=0.06)
    assert result["total"][keys[0]]["conf95"] > 0


def test_pareto_front_keeps_exactly_the_undominated_points():
    values = np.array([[1, 5, 5], [2, 2, 2], [2, 2, 3], [5, 1, 1], [3, 3, 3], [np.nan, 0, 0], [1, 5, 5]], float)
    assert list(pareto.front(values, [True, True, True])) == [0, 1, 3, 6]
    # the third objective better when higher: point 2 now beats point 1 (and still beats point 4)
    assert list(pareto.front(values, [True, True, False])) == [0, 2, 3, 6]
    assert list(pareto.front(values[[1, 4]], [True, True, False])) == [0, 1]  # 4 is better on the third
    assert list(pareto.front(values[[2, 4]], [True, True, False])) == [0]
    assert list(pareto.front(values[[3, 4]], [True, True, False])) == [0, 1]


# --------------------------------------------------------------------------------------------- executors, store
@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    """The same sweep run on two local processes and on a 2-worker Dask LocalCluster."""
    folder = tmp_path_factory.mktemp("sweeps")
    path = small_sweep(folder)
    local, dask = folder / "local", folder / "dask"
    status, out, err = run_cli(["sweep", path, "--out", local, "--workers", "2", "--quiet"])
    assert status == 0, err
    status, out, err = run_cli(["sweep", path, "--out", dask, "--cluster", "local", "--workers", "2", "--quiet"])
    assert status == 0, err
    return path, local, dask


def test_dask_local_cluster_stores_the_same_metrics_as_local_processes(two_stores):
    _, local, dask = two_stores
    a, b = stored_metrics(local), stored_metrics(dask)
    assert len(a) == 8 and a == b
    assert len({json.dumps(m, sort_keys=True) for m in a.values()}) == 8  # the runs really differ


def test_analyze_json_is_identical_for_stores_run_differently(two_stores, tmp_path):
    path, local, dask = two_stores
    # a third store: one process, interrupted after one point and finished later
    third = tmp_path / "third"
    plan = load_sweep(path)
    store = Store.create_or_open(third, plan, path.read_text())
    from sim.experiments.executors import LocalProcesses, execute, tasks_to_run

    for record in LocalProcesses(1).results(tasks_to_run(plan, {})[5:]):  # the last runs first
        store.save(record)
    with store.locked():
        execute(plan, store, LocalProcesses(1), progress=False)
    outputs = []
    for folder in (local, dask, third):
        status, out, err = run_cli(["analyze", folder, "--json"])
        assert status == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]
    doc = json.loads(outputs[0])
    assert doc["runs"] == {"done": 8, "failed": 0, "pending": 0, "planned": 8}
    assert str(local) not in outputs[0] and "seconds" not in outputs[0]
    assert set(doc["pareto"]["front"]) <= {p["point"] for p in doc["points"]} and doc["pareto"]["front"]
    for name in ("runs.parquet", "runs.csv", "points.csv", "pareto.csv", "summary.json", "pareto.png",
                 "effects.png"):
        assert (local / "analysis" / name).stat().st_size > 0


def test_a_store_refuses_another_sweep(two_stores, tmp_path):
    _, local, _ = two_stores
    other = small_sweep(tmp_path, values="[0.0, 2.0]")
    status, _, err = run_cli(["sweep", other, "--out", local, "--quiet"])
    assert status == 2 and "holds another sweep" in err
    status, _, err = run_cli(["analyze", tmp_path])
    assert status == 2 and "not a sweep store" in err


def test_sweep_killed_with_sigkill_resumes_with_every_run_exactly_once(tmp_path):
    path = small_sweep(tmp_path, values="[0.0, 0.5, 1.0]", replicates=2)  # 12 runs
    out = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim.apps.cli", "sweep", str(path), "--out", str(out), "--workers",
                             "1", "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(out.glob("runs/*/*.json"))) < 3:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no run finished in time"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_with = len(list(out.glob("runs/*/*.json")))
    assert 3 <= killed_with < 12, "the sweep was not killed part-way"

    status, stdout, err = run_cli(["sweep", "--resume", "--out", out, "--workers", "1", "--quiet"])
    assert status == 0, err
    assert f"{12 - killed_with} done now, {killed_with} already done, 0 failed" in stdout
    plan = Store.read(out).plan()
    files = sorted(p.stem for p in out.glob("runs/*/*.json"))
    assert files == sorted(r.key for r in plan.runs)  # every run, once
    assert not list(out.rglob("*.tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["planned"], manifest["done"], manifest["failed"], manifest["pending"]) == (12, 12, 0, 0)
    status, stdout, _ = run_cli(["sweep", path, "--out", out, "--workers", "1", "--quiet"])
    assert status == 0 and "0 done now, 12 already done" in stdout


def test_a_run_that_raises_is_recorded_as_failed_and_the_others_finish(tmp_path):
    catalogue = (ROOT / "sim" / "data" / "conditions.yaml").read_text()
    broken = catalogue.replace("severity_mix: [0.82, 0.16, 0.02]", "severity_mix: [0.82, 0.16, 0.5]", 1)
    assert broken != catalogue
    (tmp_path / "broken.yaml").write_text(broken)  # valid YAML, refused when a run reads it
    path = write(tmp_path, f"""
        name: failing
        base: {BASELINE}
        {SMALL_COUNTY}
        parameters:
          case_mix.catalogue: {{values: [bundled, broken.yaml]}}
          behaviour.provider.profit_weight: {{values: [0.5, 1.0]}}
        {KEPT}
        """)
    out = tmp_path / "store"
    status, stdout, err = run_cli(["sweep", path, "--out", out, "--workers", "1", "--quiet"])
    assert status == 1 and "2 done now, 0 already done, 2 failed" in stdout
    assert "severity_mix" in err
    manifest = json.loads((out / "manifest.json").read_text())
    failed = [r for r in manifest["runs"] if r["status"] == "failed"]
    assert [r["point"] for r in failed] == [2, 3]
    assert all(r["error"].startswith("CatalogueError: ") and "broken.yaml" in r["error"]
               and "severity_mix" in r["error"] for r in failed)
    doc = json.loads(run_cli(["analyze", out, "--json"])[1])
    assert doc["runs"]["failed"] == 2 and [f["point"] for f in doc["failures"]] == [2, 3]
    assert doc["points"][0]["runs_done"] == 1 and doc["points"][2]["runs_done"] == 0
    # running again retries the failures only, and still stores each run once
    status, stdout, _ = run_cli(["sweep", path, "--out", out, "--workers", "1", "--quiet"])
    assert status == 1 and "0 done now, 2 already done, 2 failed" in stdout
    assert len(list(out.glob("runs/*/*.json"))) == 4


def test_check_validates_sweep_files_like_scenarios(tmp_path):
    good = small_sweep(tmp_path)
    status, out, err = run_cli(["check", str(good)])
    assert status == 0, err
    assert "ok (sweep" in out and "points" in out
    bad = write(tmp_path, f"""
        name: bad
        base: {ROOT / 'scenarios' / 'baseline.yaml'}
        design: grid
        replicates: 1
        parameters:
          behaviour.provider.profit_weight: {{values: [0.0, -1.0]}}
        """, name="bad.yaml")
    status, out, err = run_cli(["check", str(bad)])
    assert status == 2
    assert "bad.yaml" in err and "line 6" in err and "profit_weight" in err and "-1" in err
    status, _, err = run_cli(["check", str(good), "--set", "days=10"])
    assert status == 2 and "--set applies to scenario files only" in err
