"""Reading scenario files: safe YAML, overrides, and error messages that name file, line, key and value."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import yaml

from sim.params.loading import (
    ScenarioError,
    apply_overrides,
    load_scenario,
    load_scenario_text,
    scenario_to_yaml,
    validate_file,
)
from sim.params.scenario import Scenario


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path, overrides=()) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return str(info.value)


def problem_line(message: str, fragment: str) -> str:
    """The one problem line (after the header that names the file) that contains ``fragment``."""
    hits = [line for line in message.splitlines()[1:] if fragment in line]
    assert len(hits) == 1, f"expected one line with {fragment!r} in:\n{message}"
    return hits[0]


# --------------------------------------------------------------------------------------------- valid files
def test_minimal_file_loads_and_defaults_fill_in(tmp_path):
    path = write(tmp_path, """
        name: small county
        days: 30
        population:
          size: 20000
        """)
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == "small county"
    assert scenario.days == 30
    assert scenario.population.size == 20000
    # untouched keys keep their defaults, at every depth
    assert scenario.population.female_share == pytest.approx(0.49)
    assert scenario.population.age_shares.age_65_plus == pytest.approx(0.18)
    assert scenario.payment.model == "fee_for_service"
    assert scenario.geography.townships == "auto"
    assert scenario.insurance.reimbursement.county == pytest.approx(0.72)
    assert scenario.case_mix.catalogue == "bundled"
    assert validate_file(path) == scenario


def test_scenario_to_yaml_round_trips(tmp_path):
    scenario = load_scenario_text("name: rt\npayment: {model: drg}\n", overrides=["population.size=40000"])
    text = scenario_to_yaml(scenario)
    dumped = yaml.safe_load(text)
    assert list(dumped)[:5] == ["name", "description", "seed", "days", "replicates"]  # schema order
    assert dumped["payment"]["model"] == "drg"
    assert dumped["population"]["size"] == 40000
    assert load_scenario(write(tmp_path, text)) == scenario


def test_merge_keys_are_not_duplicates(tmp_path):
    path = write(tmp_path, """
        population:
          <<: {size: 7000, female_share: 0.5}
          size: 5000
        """)
    scenario = load_scenario(path)
    assert scenario.population.size == 5000
    assert scenario.population.female_share == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------ validation errors
def test_misspelt_top_level_key_suggests_the_right_one_with_its_line(tmp_path):
    path = write(tmp_path, """
        name: x
        days: 30

        polulation:
          size: 5000
        """)
    message = error_of(path)
    assert message.startswith(f"{path}: 1 problem\n")
    line = problem_line(message, "polulation")
    assert line.strip().startswith("line 4: polulation")
    assert "unknown key" in line
    assert "did you mean 'population'?" in line


def test_misspelt_nested_key_suggests_a_key_of_its_own_level(tmp_path):
    path = write(tmp_path, """
        population:
          size: 5000
          femal_share: 0.5
        """)
    line = problem_line(error_of(path), "femal_share")
    assert "line 3: population.femal_share = 0.5" in line
    assert "did you mean 'female_share'?" in line


def test_unknown_key_without_close_match_lists_allowed_keys(tmp_path):
    path = write(tmp_path, """
        payment:
          zzz: 1
        """)
    line = problem_line(error_of(path), "payment.zzz")
    assert "line 2:" in line
    assert "unknown key" in line
    assert "did you mean" not in line
    assert "model" in line and "fee_schedule" in line


def test_key_at_the_wrong_level_says_where_it_belongs(tmp_path):
    path = write(tmp_path, "size: 5000\n")
    line = problem_line(error_of(path), "size")
    assert "is a key of population" in line


def test_bad_value_names_path_value_line_and_allowed_range(tmp_path):
    path = write(tmp_path, """
        name: x
        insurance:
          reimbursement:
            village: 0.85
            township: 0.85
            county: 1.7
            out_of_county: 0.5
        """)
    message = error_of(path)
    assert message.startswith(f"{path}: 1 problem")
    line = problem_line(message, "insurance.reimbursement.county")
    assert "line 6:" in line
    assert "= 1.7" in line
    assert "less than or equal to 1" in line


def test_several_problems_are_all_listed_in_file_order(tmp_path):
    path = write(tmp_path, """
        days: 0
        population:
          size: 50
        polulation: {}
        """)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert str(err).startswith(f"{path}: 3 problems")
    assert [p.line for p in err.problems] == [1, 3, 4]
    assert [p.path for p in err.problems] == ["days", "population.size", "polulation"]
    assert "greater than or equal to 1" in str(err.problems[0])
    assert "greater than or equal to 100" in str(err.problems[1])


def test_invalid_payment_model_lists_allowed_values(tmp_path):
    path = write(tmp_path, """
        payment:
          model: dgr
        """)
    line = problem_line(error_of(path), "payment.model")
    assert "line 2:" in line
    assert "'dgr'" in line
    for model in ("fee_for_service", "drg", "dip", "global_budget", "capitation"):
        assert f"'{model}'" in line


def test_age_shares_not_summing_to_one_names_age_shares(tmp_path):
    path = write(tmp_path, """
        population:
          age_shares:
            age_0_4: 0.5
        """)
    line = problem_line(error_of(path), "population.age_shares")
    assert "line 2:" in line
    assert "must sum to 1" in line
    assert "1.45" in line


def test_listed_township_error_shows_the_list_index(tmp_path):
    path = write(tmp_path, """
        geography:
          listed_townships:
            - name: north
            - name: east
              villages: 3
            - name: south
              villages: 0
        """)
    message = error_of(path)
    line = problem_line(message, "geography.listed_townships[2].villages")
    assert "line 7:" in line
    assert "= 0" in line
    assert "greater than or equal to 1" in line


def test_listed_township_missing_name_points_at_the_item(tmp_path):
    path = write(tmp_path, """
        geography:
          listed_townships:
            - name: north
            - nmae: east
        """)
    message = error_of(path)
    assert "line 4: geography.listed_townships[1].name: required key is missing" in message
    assert "did you mean 'name'?" in problem_line(message, "listed_townships[1].nmae")


def test_union_value_reports_both_alternatives_once(tmp_path):
    path = write(tmp_path, """
        geography:
          townships: many
        """)
    message = error_of(path)
    assert message.startswith(f"{path}: 1 problem")
    line = problem_line(message, "geography.townships")
    assert "'many'" in line and "valid integer" in line and "'auto'" in line
    assert "constrained-int" not in line and "literal" not in line


def test_section_that_is_not_a_mapping_lists_its_keys(tmp_path):
    path = write(tmp_path, "payment: drg\n")
    line = problem_line(error_of(path), "payment")
    assert "line 1: payment = 'drg'" in line
    assert "mapping" in line and "model" in line


def test_duplicate_key_is_an_error(tmp_path):
    path = write(tmp_path, """
        days: 30
        name: a
        days: 60
        """)
    line = problem_line(error_of(path), "duplicate")
    assert "line 3: days" in line and "line 1" in line


# --------------------------------------------------------------------------------------- YAML and file errors
@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system"])
def test_python_tags_are_refused_and_nothing_runs(tmp_path, tag):
    marker = tmp_path / "executed"
    path = write(tmp_path, f"""
        name: evil
        population:
          size: {tag} ["touch {marker}"]
        """)
    message = error_of(path)
    assert str(path) in message
    assert "line 3" in message
    assert tag in message and "not allowed" in message
    assert not marker.exists()


def test_unknown_local_tag_is_refused(tmp_path):
    path = write(tmp_path, "name: !env HOME\n")
    message = error_of(path)
    assert "line 1" in message and "'!env'" in message


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, """
        name: x
        population:
          size: 5000
         days: 3
        """)
    message = error_of(path)
    assert message.startswith(f"{path}: line 4, column")
    assert "invalid YAML" in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    message = error_of(path)
    assert str(path) in message and "no such" in message


def test_folder_instead_of_file(tmp_path):
    message = error_of(tmp_path)
    assert str(tmp_path) in message and "folder" in message


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just a string\n", "string"),
                                            ("# nothing\n", "empty")])
def test_top_level_must_be_a_mapping(tmp_path, text, kind):
    path = write(tmp_path, text)
    message = error_of(path)
    assert str(path) in message
    assert kind in message
    assert "mapping" in message


# --------------------------------------------------------------------------------------------- overrides
def test_overrides_change_values_and_types(tmp_path):
    path = write(tmp_path, """
        population:
          size: 20000
        payment:
          model: fee_for_service
        """)
    overrides = ["population.size=50000", "payment.model=drg", "behaviour.resident.trust_sd=0.25"]
    scenario = load_scenario(path, overrides)
    assert scenario.population.size == 50000
    assert type(scenario.population.size) is int
    assert scenario.payment.model == "drg"
    assert scenario.behaviour.resident.trust_sd == pytest.approx(0.25)


def test_override_values_are_parsed_as_yaml():
    data = apply_overrides({}, ["a=0.5", "b=true", "c=[1, 2]", "d=drg", "e='007'", "f=", "g={x: 1}"])
    assert data == {"a": 0.5, "b": True, "c": [1, 2], "d": "drg", "e": "007", "f": None, "g": {"x": 1}}
    assert type(data["a"]) is float


def test_override_creates_nested_keys_without_mutating_input():
    data = {"population": {"size": 1000}, "name": "x"}
    before = copy.deepcopy(data)
    result = apply_overrides(data, ["population.age_shares.age_0_4=0.1", "outcomes.complication_daly=0.2"])
    assert result["population"] == {"size": 1000, "age_shares": {"age_0_4": 0.1}}
    assert result["outcomes"] == {"complication_daly": 0.2}
    assert data == before


def test_override_can_address_a_list_item():
    data = {"geography": {"listed_townships": [{"name": "a"}, {"name": "b"}]}}
    result = apply_overrides(data, ["geography.listed_townships[1].villages=4"])
    assert result["geography"]["listed_townships"][1] == {"name": "b", "villages": 4}
    assert data["geography"]["listed_townships"][1] == {"name": "b"}


def test_override_creating_nested_key_reaches_the_scenario(tmp_path):
    path = write(tmp_path, "name: x\n")
    scenario = load_scenario(path, ["behaviour.provider.profit_weight=2"])
    assert scenario.behaviour.provider.profit_weight == pytest.approx(2.0)


def test_bad_override_value_is_reported_as_coming_from_the_override(tmp_path):
    path = write(tmp_path, """
        population:
          size: 20000
        """)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, ["population.size=-5"])
    message = str(info.value)
    line = problem_line(message, "population.size")
    assert "(from --set population.size=-5)" in line
    assert "= -5" in line
    assert "greater than or equal to 100" in line
    assert "line " not in line  # the bad value is not the one on line 2 of the file
    assert info.value.problems[0].line is None
    assert info.value.problems[0].origin == "--set population.size=-5"


def test_misspelt_override_key_is_reported_with_suggestion(tmp_path):
    path = write(tmp_path, "name: x\n")
    line = problem_line(error_of(path, ["payment.modle=drg"]), "payment.modle")
    assert "(from --set payment.modle=drg)" in line
    assert "did you mean 'model'?" in line


@pytest.mark.parametrize(("override", "why"), [
    ("population.size", "no '='"),
    ("=5", "key is empty"),
    ("population..size=5", "empty part"),
    ("geography.listed_townships[x].name=a", "index"),
])
def test_malformed_override(override, why):
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, [override])
    message = str(info.value)
    assert why in message
    assert override in message
    assert "dotted.key=value" in message


def test_override_through_a_scalar_is_refused():
    with pytest.raises(ScenarioError, match="has no key 'x'"):
        apply_overrides({"name": "n"}, ["name.x=1"])


def test_override_value_with_python_tag_is_refused(tmp_path):
    marker = tmp_path / "executed"
    with pytest.raises(ScenarioError, match="not allowed"):
        apply_overrides({}, [f"name=!!python/object/apply:os.system ['touch {marker}']"])
    assert not marker.exists()


# --------------------------------------------------------------------------------------------- catalogue path
def test_relative_catalogue_is_resolved_from_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path = write(folder, """
        case_mix:
          catalogue: ../data/conditions.yaml
        """)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current folder must not matter
    from sim.params.boundary import outside_allowed

    with outside_allowed():  # ../data leaves the scenario's folder
        scenario = load_scenario(path)
    catalogue = Path(scenario.case_mix.catalogue)
    assert catalogue.is_absolute()
    assert catalogue == (tmp_path / "data" / "conditions.yaml").resolve()
    with pytest.raises(ScenarioError, match=r"line 2: case_mix.catalogue = '../data/conditions.yaml': is outside"):
        load_scenario(path)


def test_relative_scenario_path_still_gives_absolute_catalogue(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    write(folder, "case_mix: {catalogue: cat.yaml}\n")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario("scenarios/scenario.yaml")
    assert scenario.case_mix.catalogue == str((folder / "cat.yaml").resolve())


def test_bundled_and_absolute_catalogues_are_kept(tmp_path):
    assert load_scenario(write(tmp_path, "case_mix: {catalogue: bundled}\n")).case_mix.catalogue == "bundled"
    absolute = str((tmp_path / "x" / "c.yaml").resolve())
    path = write(tmp_path, f"case_mix: {{catalogue: '{absolute}'}}\n", name="abs.yaml")
    assert load_scenario(path).case_mix.catalogue == absolute


# --------------------------------------------------------------------------------------------- text input
def test_load_scenario_text_uses_the_given_name_in_errors():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text("days: -1\n", name="notebook cell")
    assert str(info.value).startswith("notebook cell: 1 problem")
    assert "line 1: days = -1" in str(info.value)
    assert load_scenario_text("days: 7\n", overrides=["days=9"]).days == 9


def test_partial_mapping_is_an_overlay_on_the_defaults():
    from sim.params.scenario import Scenario

    s = load_scenario_text("insurance:\n  reimbursement:\n    county: 0.8\n")
    default = Scenario().insurance.reimbursement
    assert s.insurance.reimbursement.county == 0.8
    assert s.insurance.reimbursement.village == default.village
    assert s.insurance.reimbursement.out_of_county == default.out_of_county
