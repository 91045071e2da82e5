"""The seed facts: the file is valid and complete, the runner reads measures correctly and adds replicates until a
fact's interval is narrower than its band, verdicts (pass, fail, undecided) and known failures' bounds are
judged as documented, and every fact is reproduced (fast version) or misses only as recorded, by no more than the
recorded miss, on seeds the calibration never used."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sim.apps.cli import main
from sim.experiments import facts as F
from sim.params.loading import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


def test_facts_file_is_valid_and_names_real_sources():
    facts = F.load_facts()
    assert len(facts) >= 7
    for fact in facts:
        assert Path(fact.scenario).is_file()
        if fact.source in F.SEEDS and SHARED_SEEDS.is_dir():
            assert (SHARED_SEEDS / fact.source).is_file(), fact.source


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "s.yaml").write_text("name: s\ndays: 40\nreplicates: 2\npopulation: {size: 3000}\n")
    (tmp_path / "t.yaml").write_text("extends: s.yaml\nname: t\ntimeline: [{day: 20, set: {payment.model: drg}}]\n")
    path = tmp_path / "facts.yaml"
    path.write_text(body)
    return path


FACT = """facts:
  - id: {id}
    claim: a claim
    observed: {observed}
    unit: days
    place: here
    period: now
    source: {source}
    scenario: {scenario}
    metric: {metric}
    measure: {measure}
    tolerance: {tolerance}
    reasoning: because
"""


def _fact(**kw) -> str:
    values = dict(id="f", observed=1.0, source="2023 national statistical bulletin", scenario="s.yaml",
                  metric="los_mean", measure="level", tolerance=0.5)
    values.update(kw)
    return FACT.format(**values)


@pytest.mark.parametrize(("change", "message"), [
    (dict(metric="los_men"), "line 10: facts[0].metric = 'los_men': unknown metric"),
    (dict(source="someone.txt"), "facts[0].source = 'someone.txt'"),
    (dict(scenario="missing.yaml"), "line 9: facts[0].scenario = 'missing.yaml': no such file"),
    (dict(measure="after"), "line 11: facts[0].measure = 'after': compares the periods of a timeline"),
    (dict(tolerance=0), "facts[0].tolerance = 0"),
    (dict(measure="sideways"), "facts[0].measure = 'sideways'"),
])
def test_bad_facts_files_get_located_errors(tmp_path, change, message):
    path = _write(tmp_path, _fact(**change))
    with pytest.raises(ScenarioError) as err:
        F.load_facts(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_duplicate_ids_are_refused(tmp_path):
    path = _write(tmp_path, _fact() + _fact().replace("facts:\n", ""))
    with pytest.raises(ScenarioError, match="fact id 'f' appears twice"):
        F.load_facts(path)


def test_measures_read_periods_and_paired_arms(tmp_path):
    """level, after, change and relative_change computed by hand from the same runs; a fact passes exactly
    when the mean lies within its tolerance."""
    body = _fact(id="a", scenario="t.yaml", measure="after", observed=5.0, tolerance=100)
    for fid, measure in (("b", "change"), ("c", "relative_change")):
        body += _fact(id=fid, scenario="t.yaml", measure=measure).replace("facts:\n", "")
    body += _fact(id="d", scenario="t.yaml", measure="relative_change").replace("facts:\n", "") + \
        "    against: s.yaml\n"
    body += _fact(id="e", scenario="t.yaml", observed=1e6, tolerance=1).replace("facts:\n", "")
    path = _write(tmp_path, body)
    findings = {f.fact.id: f for f in F.evaluate(F.load_facts(path), progress=False, workers=1, replicates=2)}

    from sim.params.loading import load_scenario
    from sim.results import runner

    t_runs = runner.run_replicates(load_scenario(tmp_path / "t.yaml"), workers=1, progress=False)
    s_runs = runner.run_replicates(load_scenario(tmp_path / "s.yaml"), workers=1, progress=False)
    first = [r.periods[0]["metrics"]["los_mean"] for r in t_runs]
    last = [r.periods[-1]["metrics"]["los_mean"] for r in t_runs]
    assert findings["a"].values == pytest.approx(last)
    assert findings["b"].values == pytest.approx([b - a for a, b in zip(first, last, strict=True)])
    assert findings["c"].values == pytest.approx([(b - a) / a for a, b in zip(first, last, strict=True)])
    whole_t = [r.metrics["los_mean"] for r in t_runs]
    whole_s = [r.metrics["los_mean"] for r in s_runs]
    assert findings["d"].values == pytest.approx([(b - a) / a for a, b in zip(whole_s, whole_t, strict=True)])
    assert findings["a"].within and not findings["e"].within
    for f in findings.values():
        assert f.within == (abs(f.simulated - f.fact.observed) <= f.fact.tolerance)
        assert f.ci95[0] <= f.simulated <= f.ci95[1]
        assert len(f.values) == 2


def test_a_known_failure_written_as_text_is_refused(tmp_path):
    path = _write(tmp_path, _fact() + "    known_failure: it misses\n")
    with pytest.raises(ScenarioError) as err:
        F.load_facts(path)
    assert "facts[0].known_failure" in str(err.value) and "miss: {fast: 0.21, full: 0.38}" in str(err.value)


def _finding(values, observed=0.0, tolerance=1.0, known=None, county="fast") -> F.Finding:
    from sim.results.runner import interval

    fact = F.Fact(id="f", claim="c", observed=observed, unit="u", place="p", period="p",
                  source="2023 national statistical bulletin", scenario="s.yaml", metric="los_mean",
                  tolerance=tolerance, reasoning="r",
                  known_failure=None if known is None else {"reason": "why", "miss": known})
    summary = interval(values)
    return F.Finding(fact, list(values), summary["mean"], summary["ci95"], county)


@pytest.mark.parametrize(("values", "known", "verdict", "unexpected"), [
    ([0.1, 0.2, 0.3], None, "pass", None),                        # narrow, within
    ([2.0, 2.1, 2.2], None, "fail", "fails, and is not a known failure"),  # narrow, outside
    ([-3.0, 0.0, 3.0], None, "undecided", None),                  # wider than the band, overlapping it
    ([5.0, 6.0, 7.0], None, "fail", "fails"),                     # wider than the band, but wholly outside it
    ([0.0, 1.0], None, "undecided", None),                        # t(1) makes two replicates' interval wide
    ([2.0, 2.1, 2.2], {"fast": 2.2}, "fail", None),               # a known miss, within its bound
    ([2.0, 2.1, 2.2], {"fast": 2.0}, "fail", "misses by 2.1, more than its known_failure.miss.fast of 2"),
    ([0.1, 0.2, 0.3], {"fast": 1.0}, "pass", "passes: remove its known_failure.miss.fast"),  # label must go
    ([2.0, 2.1, 2.2], {"full": 2.2}, "fail", "not a known failure on this county"),  # known on the other county
    ([-1.0, 2.1, 5.2], {"fast": 2.5}, "undecided", None),         # a known failure, undecided, within its bound
])
def test_verdicts_and_known_failure_bounds(values, known, verdict, unexpected):
    finding = _finding(values, known=known)
    assert finding.verdict == verdict
    if unexpected is None:
        assert finding.unexpected is None
    else:
        assert unexpected in finding.unexpected


def test_replicates_are_added_until_the_interval_is_narrower_than_the_band(tmp_path, monkeypatch):
    """Each scenario starts with MIN_REPLICATES; one whose fact is undecided gets the replicates its spread asks
    for, up to the cap, and one whose fact is decided, or would need more than the cap, gets none. Replicate i
    runs on the seed `triangle run` gives it. (Runs replaced by a value drawn from the seed, so the spread is
    known.)"""
    from types import SimpleNamespace

    from sim.results import runner

    def fake_run(scenario, seed, progress=None):
        value = (seed % 997) / 997  # uniform on [0, 1): sd about 0.29
        return SimpleNamespace(seed=seed, metrics={"los_mean": value}, periods=[])

    monkeypatch.setattr(runner, "run_once", fake_run)
    (tmp_path / "u.yaml").write_text("name: u\nseed: 5\ndays: 10\nreplicates: 1\npopulation: {size: 3000}\n")
    body = _fact(id="wide", observed=0.5, tolerance=100)
    body += _fact(id="close", scenario="t.yaml", observed=0.5, tolerance=0.4).replace("facts:\n", "")
    body += _fact(id="hopeless", scenario="u.yaml", observed=0.5, tolerance=0.01).replace("facts:\n", "")
    path = _write(tmp_path, body)
    findings = {f.fact.id: f for f in F.evaluate(F.load_facts(path), progress=False, workers=1, max_replicates=8)}
    wide, close, hopeless = findings["wide"], findings["close"], findings["hopeless"]
    assert len(wide.values) == F.MIN_REPLICATES and wide.verdict == "pass"
    assert F.replicates_needed(close.values[:F.MIN_REPLICATES], 0.4) > F.MIN_REPLICATES  # three were not enough
    assert F.MIN_REPLICATES < len(close.values) <= 8 and close.decided
    assert len(hopeless.values) == F.MIN_REPLICATES and hopeless.verdict == "undecided"
    from sim.params.loading import load_scenario

    t = load_scenario(tmp_path / "t.yaml")
    seeds = [runner.replicate_seed(t.seed, i) for i in range(len(close.values))]
    assert close.values == [fake_run(t, seed).metrics["los_mean"] for seed in seeds]


def test_replicates_needed_follows_the_t_interval():
    from scipy import stats

    values = [0.0, 1.0, 2.0, 3.0]  # sd 1.29
    need = F.replicates_needed(values, 1.0)
    half = lambda m: stats.t.ppf(0.975, m - 1) * 1.2909944 / m ** 0.5  # noqa: E731
    assert half(need) <= 1.0 < half(need - 1)
    assert F.replicates_needed([1.0, 1.0, 1.0], 0.1) == 3


@pytest.fixture(scope="module")
def fast_facts():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["facts", "--fast", "--json"])
    return code, json.loads(out.getvalue())


def test_fast_facts_pass_or_miss_only_as_recorded(fast_facts):
    """The fast version of `triangle facts`, on the scenarios' own seeds (never the calibration's): every fact is
    simulated on at least three replicates with its interval, and nothing is unexpected: a fact that fails is a
    known failure on the fast county, missing by no more than its recorded miss; a known failure that passes
    must lose its label. (`triangle facts` exits 1 otherwise.)"""
    code, doc = fast_facts
    assert doc["fast"] is True
    ids = {f.id for f in F.load_facts()}
    assert {f["id"] for f in doc["facts"]} == ids
    problems = []
    for f in doc["facts"]:
        assert f["simulated"] is not None and math.isfinite(f["simulated"]), f["id"]
        assert f["replicates"] >= F.MIN_REPLICATES and f["ci95"] is not None, f["id"]
        if f["unexpected"]:
            problems.append(f"{f['id']} ({f['set']}): simulated {f['simulated']:.4g}, observed {f['observed']}, "
                            f"{f['unexpected']}")
    assert not problems, "; ".join(problems)
    assert code == 0


def test_fast_facts_report_in_sample_and_holdout_apart(fast_facts):
    """Every fact is a calibration target (in-sample) or held out, as seeds/calibration.yaml says."""
    from sim.experiments.calibrate import load_calibration

    cal, _ = load_calibration()
    _, doc = fast_facts
    sets = {f["id"]: f["set"] for f in doc["facts"]}
    assert {i for i, s in sets.items() if s == "in-sample"} == set(cal.facts)
    assert {i for i, s in sets.items() if s == "holdout"} == set(cal.holdout)


def test_facts_refuse_the_calibrations_seeds(capsys):
    seed = F.CALIBRATION_SEEDS[0] + 7
    assert main(["facts", "--only", "national_length_of_stay", "--seed", str(seed)]) == 2
    err = capsys.readouterr().err
    assert f"--seed {seed}: lies in [{F.CALIBRATION_SEEDS[0]}, {F.CALIBRATION_SEEDS[1]})" in err


def test_the_table_groups_in_sample_and_holdout():
    findings = [_finding([0.1, 0.2, 0.3]), _finding([2.0, 2.1, 2.2], known={"fast": 2.2})]
    findings[1].fact = findings[1].fact.model_copy(update={"id": "g"})
    text = F.table(findings, {"f": "in-sample", "g": "holdout"})
    assert text.index("In-sample") < text.index("Holdout")
    assert "in-sample: 1 of 1 pass" in text and "holdout: 0 of 1 pass, 1 fail" in text
    assert "FAIL (known, miss 2.1 <= 2.2)" in text and "Known failures:\n  g: why" in text


def test_only_unknown_fact_is_a_user_error(capsys):
    assert main(["facts", "--only", "no_such_fact"]) == 2
    assert "no such fact" in capsys.readouterr().err
