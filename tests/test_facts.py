"""The seed facts: the file is valid and complete, the runner reads measures correctly, and every fact either is
reproduced (fast version) or fails only as recorded."""

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
    findings = {f.fact.id: f for f in F.evaluate(F.load_facts(path), progress=False, workers=1)}

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
    assert findings["a"].passed and not findings["e"].passed
    for f in findings.values():
        assert f.passed == (abs(f.simulated - f.fact.observed) <= f.fact.tolerance)
        assert f.ci95[0] <= f.simulated <= f.ci95[1]


def test_fast_facts_pass_or_fail_only_as_recorded(capsys):
    """The fast version of `triangle facts`: every fact is simulated, and any fact that misses its tolerance is
    one whose miss is recorded (known_failure). A new miss fails here (and `triangle facts` exits 1)."""
    code = main(["facts", "--fast", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["fast"] is True
    ids = {f.id for f in F.load_facts()}
    assert {f["id"] for f in doc["facts"]} == ids
    for f in doc["facts"]:
        assert set(f) >= {"id", "observed", "simulated", "ci95", "pass"}
        assert f["simulated"] is not None and math.isfinite(f["simulated"]), f["id"]
        assert f["pass"] or f["known_failure"], f"{f['id']}: simulated {f['simulated']}, observed {f['observed']}"
    assert code == 0


def test_only_unknown_fact_is_a_user_error(capsys):
    assert main(["facts", "--only", "no_such_fact"]) == 2
    assert "no such fact" in capsys.readouterr().err
