"""Loading: reading YAML safely, merging the pathway model under the instance, applying scenarios.

Every problem names the file (relative to the working directory, here the test's folder) and the
line; an instance's numbers override its model's, and a scenario's override both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner

HEAD = "name: t\nbaseline_year: 2020\nhorizon: 2\ndiscount_rate: 0\n"
YAML_FIX = "correct the YAML syntax here (indentation, a missing ':' or an unclosed quote)"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder, as the working directory (so files show by their relative names)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path | str, scenario: str | None = None) -> str:
    """The text of the InputError raised by loading and validating `path`."""
    with pytest.raises(planner.InputError) as caught:
        planner.check_instance(path, scenario)
    return str(caught.value)


# --- reading a file ------------------------------------------------------------------------------


def test_duplicate_keys_are_errors_all_reported(folder: Path) -> None:
    write(
        folder,
        "instance.yaml",
        HEAD + "interventions:\n"  # 5
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1}\n"
        "  a: {name: A2, unit: patient, unit_cost: 2, max_units: 1}\n"
        "horizon: 3\n",
    )
    assert load_error("instance.yaml") == (
        "2 problems in the input:\n"
        "instance.yaml:7: interventions.a: 'a' is written twice\n"
        "    fix: keep one entry per name (names must be unique)\n"
        "instance.yaml:8: horizon: 'horizon' is written twice\n"
        "    fix: keep one entry per name (names must be unique)"
    )


def test_duplicate_key_inside_a_flow_mapping(folder: Path) -> None:
    write(
        folder,
        "instance.yaml",
        HEAD + "interventions:\n  a: {name: A, unit: patient, unit_cost: 1, unit_cost: 2}\n",
    )
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:6: interventions.a.unit_cost: 'unit_cost' is written twice\n"
        "    fix: keep one entry per name (names must be unique)"
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(folder: Path, text: str) -> None:
    write(folder, "instance.yaml", text)
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml: (top level): is empty\n"
        "    fix: write the instance fields, see docs/"
    )


def test_a_lone_document_marker_is_an_empty_file(folder: Path) -> None:
    # BUG: "---" alone (a common YAML header) is a document holding null; read_yaml reports it as
    # "is not a mapping of fields" at line 2, a line the file does not have, instead of "is empty".
    write(folder, "instance.yaml", "---\n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml: (top level): is empty\n"
        "    fix: write the instance fields, see docs/"
    )


def test_top_level_must_be_a_mapping(folder: Path) -> None:
    write(folder, "instance.yaml", "# a list\n- name\n- horizon\n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:2: (top level): is not a mapping of fields\n"
        "    fix: the top level must be 'field: value' lines, see docs/"
    )


def test_not_utf8(folder: Path) -> None:
    # "name: caf" is 9 bytes; the Latin-1 é after it is byte 9 (counting from 0).
    write(folder, "instance.yaml", b"name: caf\xe9\nhorizon: 2\n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:1: (top level): is not UTF-8 text (byte 9)\n"
        "    fix: save the file as UTF-8 text"
    )


def test_utf8_with_a_byte_order_mark_is_read(folder: Path) -> None:
    # Excel and Notepad write a BOM; it must not become part of the first key.
    write(
        folder,
        "instance.yaml",
        "\ufeff" + HEAD + "interventions:\n  a: {name: Café, unit: patient, unit_cost: 1, "
        "max_units: 1}\n",
    )
    instance = planner.check_instance("instance.yaml")
    assert (instance.name, instance.interventions["a"].name) == ("t", "Café")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        # an indented key under a scalar
        ("name: t\n  horizon: 2\n", 2, "mapping values are not allowed here"),
        # an unclosed quote runs to the end of the file
        ('name: t\ntitle: "unclosed\nhorizon: 2\n', 4, "found unexpected end of stream"),
        # an unclosed brace: PyYAML notices at the next key
        (
            "name: t\ninterventions:\n  a: {name: A\nbaseline_year: 2020\n",
            4,
            "expected ',' or '}', but got ':'",
        ),
    ],
)
def test_invalid_yaml_names_the_line(folder: Path, text: str, line: int, reason: str) -> None:
    write(folder, "instance.yaml", text)
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        f"instance.yaml:{line}: (top level): is not valid YAML: {reason}\n"
        f"    fix: {YAML_FIX}"
    )


def test_missing_file(folder: Path) -> None:
    assert load_error("nowhere.yaml") == (
        "1 problem in the input:\n"
        "nowhere.yaml: (top level): cannot be read (No such file or directory)\n"
        "    fix: check the path"
    )


def test_file_outside_the_working_directory_shows_its_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(tmp_path, "instance.yaml", "")
    assert f"\n{path}: (top level): is empty\n" in load_error(path)


def test_lines_of_a_nested_list_item(folder: Path) -> None:
    write(
        folder,
        "instance.yaml",
        HEAD + "envelope: {baseline: 1000}\n"
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: 1\n"  # 10
        "    tranches:\n"
        "      - units: 10\n"
        "        health_gain: 2\n"
        "      - units: ten\n"  # 14
        "        health_gain: 1\n",
    )
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:14: interventions.a.tranches[1].units: must be a number (got 'ten')\n"
        "    fix: write a number such as 1200 or 0.05, no symbols or commas (unit: units)"
    )


# --- pathway model merge -------------------------------------------------------------------------

MODEL = (
    "pathway: diabetes\n"
    "title: Diabetes pathway\n"
    "description: Evidence for the diabetes pathway\n"
    "health_unit: QALY\n"
    "sources: [NICE NG28]\n"  # 5
    "interventions:\n"
    "  education:\n"
    "    name: Structured education\n"
    "    unit: participant\n"
    "    unit_cost: 100\n"  # 10
    "    health_gain: 0.04\n"
    "    effects: {ae: -0.5}\n"
    "  clinic:\n"
    "    name: Community clinic\n"
    "    unit: contact\n"  # 15
    "    unit_cost: 80\n"
    "    health_gain: 0.002\n"
    "outcomes:\n"
    "  ae: {name: A&E attendances, unit: attendance, baseline: 1000, tariff: 150}\n"
)
INSTANCE = (
    "name: local\n"
    "model: ../models/diabetes.yaml\n"
    "title: Local plan\n"
    "baseline_year: 2020\n"
    "horizon: 2\n"  # 5
    "discount_rate: 0\n"
    "envelope: {baseline: 200000, reduction: 0.02}\n"
    "interventions:\n"
    "  education: {unit_cost: 120, max_units: 500}\n"
    "outcomes:\n"  # 10
    "  ae: {baseline: 900}\n"
)


def test_model_merge_instance_overrides_model_numbers(folder: Path) -> None:
    write(folder, "models/diabetes.yaml", MODEL)
    path = write(folder, "instances/local.yaml", INSTANCE)
    instance = planner.check_instance(path)
    education = instance.interventions["education"]
    # overridden by the instance
    assert (education.unit_cost, education.max_units) == (120, 500)
    assert instance.outcomes["ae"].baseline == 900
    # kept from the model
    assert (education.name, education.health_gain) == ("Structured education", 0.04)
    assert education.effect_list("ae")[0].per_unit == -0.5
    assert instance.outcomes["ae"].tariff == 150
    assert instance.interventions["clinic"].unit_cost == 80
    # the model's description goes under `pathway`, the instance keeps its own title
    assert instance.title == "Local plan"
    assert instance.pathway.pathway == "diabetes"
    assert instance.pathway.title == "Diabetes pathway"
    assert instance.pathway.description == "Evidence for the diabetes pathway"
    assert instance.pathway.sources == ["NICE NG28"]
    assert instance.health_unit == "QALY"
    assert instance.model == "../models/diabetes.yaml"


def test_model_merge_errors_point_at_the_file_that_wrote_the_number(folder: Path) -> None:
    # The instance's -5 is reported in the instance; the model's -3 in the model.
    write(folder, "models/diabetes.yaml", MODEL.replace("unit_cost: 80", "unit_cost: -3"))
    write(
        folder,
        "instances/local.yaml",
        INSTANCE.replace("{unit_cost: 120, max_units: 500}", "{unit_cost: -5, max_units: 500}"),
    )
    assert load_error("instances/local.yaml") == (
        "2 problems in the input:\n"
        "instances/local.yaml:9: interventions.education.unit_cost: must be at least 0.0 "
        "(got -5)\n"
        "    fix: use a value at least 0.0\n"
        "models/diabetes.yaml:16: interventions.clinic.unit_cost: must be at least 0.0 "
        "(got -3)\n"
        "    fix: use a value at least 0.0"
    )


def test_model_merge_semantic_error_in_a_model_field_points_at_the_model(folder: Path) -> None:
    # The model's effect names an outcome the merged instance does not define.
    write(
        folder, "models/diabetes.yaml", MODEL.replace("effects: {ae: -0.5}", "effects: {adm: -1}")
    )
    write(folder, "instances/local.yaml", INSTANCE)
    assert load_error("instances/local.yaml") == (
        "1 problem in the input:\n"
        "models/diabetes.yaml:12: interventions.education.effects.adm: outcome 'adm' is not "
        "defined\n"
        "    fix: use one of: ae"
    )


def test_model_with_an_instance_field(folder: Path) -> None:
    write(folder, "models/diabetes.yaml", MODEL + "floors: {}\n")
    write(folder, "instances/local.yaml", INSTANCE)
    assert load_error("instances/local.yaml") == (
        "1 problem in the input:\n"
        "models/diabetes.yaml:20: floors: is not a pathway-model field\n"
        "    fix: remove it or check the spelling; a pathway model has: pathway, title, "
        "description, health_unit, interventions, outcomes, sources, uncertainty"
    )


def test_missing_model_file(folder: Path) -> None:
    write(folder, "instances/local.yaml", INSTANCE)
    assert load_error("instances/local.yaml") == (
        "1 problem in the input:\n"
        "models/diabetes.yaml: (top level): cannot be read (No such file or directory)\n"
        "    fix: check the path"
    )


def test_model_must_be_a_path(folder: Path) -> None:
    write(folder, "instance.yaml", "name: t\nmodel: [a, b]\n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:2: model: must be a file path\n"
        "    fix: give the pathway model's path relative to this file"
    )


# --- scenarios -----------------------------------------------------------------------------------

SCENARIOS = (
    HEAD + "envelope: {amounts: {2021: 10000, 2022: 10000}}\n"  # 5
    "interventions:\n"
    "  a: {name: A, unit: patient, unit_cost: 100, health_gain: 1, max_units: 50}\n"
    "  b: {name: B, unit: patient, unit_cost: 100, health_gain: 0.5}\n"
    "scenarios:\n"
    "  rich:\n"  # 10
    "    description: More money and no cap on a\n"
    "    envelope: {amounts: {2021: 20000, 2022: 20000}}\n"
    "    interventions: {a: {max_units: null}}\n"
    "  broken:\n"
    "    interventions:\n"  # 15
    "      b: {unit_cost: -1}\n"
)


def test_scenario_overrides_and_null_deletes(folder: Path) -> None:
    write(folder, "instance.yaml", SCENARIOS)
    base = planner.check_instance("instance.yaml")
    assert base.envelope is not None and base.envelope.amounts == {2021: 10000, 2022: 10000}
    assert base.interventions["a"].max_units == 50
    rich = planner.check_instance("instance.yaml", "rich")
    assert rich.envelope is not None and rich.envelope.amounts == {2021: 20000, 2022: 20000}
    assert rich.interventions["a"].max_units is None  # `null` removed it
    assert rich.interventions["a"].unit_cost == 100  # the rest of a is untouched
    assert rich.interventions["b"].health_gain == 0.5
    assert rich.description is None  # a scenario's description is not the instance's


def test_scenario_is_solved_and_named_in_the_summary(folder: Path, solver: str) -> None:
    # Base: a = 50 (its cap) and b = 50 with £10,000: 50 + 25 = 75 QALYs a year, 150 in all.
    # rich: a uncapped takes all £20,000 a year: 200 a year, 400 in all.
    write(folder, "instance.yaml", SCENARIOS)
    base = planner.solve_instance("instance.yaml", solver=solver)  # type: ignore[arg-type]
    rich = planner.solve_instance("instance.yaml", "rich", solver=solver)  # type: ignore[arg-type]
    assert base.summary["objective"] == pytest.approx(150)
    assert rich.summary["objective"] == pytest.approx(400)
    assert (base.summary["scenario"], rich.summary["scenario"]) == ("", "rich")


def test_scenario_error_points_at_the_scenario(folder: Path) -> None:
    write(folder, "instance.yaml", SCENARIOS)
    planner.check_instance("instance.yaml")  # the base is valid
    assert load_error("instance.yaml", "broken") == (
        "1 problem in the input:\n"
        "instance.yaml:16: interventions.b.unit_cost: must be at least 0.0 (got -1)\n"
        "    fix: use a value at least 0.0"
    )


def test_unknown_scenario(folder: Path) -> None:
    write(folder, "instance.yaml", SCENARIOS)
    assert load_error("instance.yaml", "poor") == (
        "1 problem in the input:\n"
        "instance.yaml:9: scenarios: has no scenario 'poor'\n"
        "    fix: use one of the scenarios this instance defines (broken, rich)"
    )


def test_unknown_scenario_when_there_are_none(folder: Path) -> None:
    write(
        folder,
        "instance.yaml",
        HEAD + "interventions:\n  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n",
    )
    assert load_error("instance.yaml", "poor") == (
        "1 problem in the input:\n"
        "instance.yaml: scenarios: has no scenario 'poor'\n"
        "    fix: use one of the scenarios this instance defines (none)"
    )


def test_scenario_overrides_a_model_number(folder: Path) -> None:
    # instance < scenario, and the model underneath both.
    write(folder, "models/diabetes.yaml", MODEL)
    write(
        folder,
        "instances/local.yaml",
        INSTANCE + "scenarios:\n  dear: {interventions: {clinic: {unit_cost: 90}}}\n",
    )
    instance = planner.check_instance("instances/local.yaml", "dear")
    assert instance.interventions["clinic"].unit_cost == 90
    assert instance.interventions["clinic"].name == "Community clinic"
    assert instance.interventions["education"].unit_cost == 120


def test_deep_merge() -> None:
    from planner.load import deep_merge

    base = {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 3}
    assert deep_merge(base, {"a": {"y": None, "z": 4}, "b": [3], "c": None}) == {
        "a": {"x": 1, "z": 4},
        "b": [3],
    }
    assert base == {"a": {"x": 1, "y": 2}, "b": [1, 2], "c": 3}  # not changed in place


# --- found by the bad-input suite (tests/test_fuzz_files.py) -------------------------------------

ONE_YEAR = "name: t\nbaseline_year: 2020\nhorizon: 1\ndiscount_rate: 0\n"


def test_a_lone_equals_sign_is_text(folder: Path) -> None:
    # was a ConstructorError traceback: YAML 1.1 tags a plain "=" as a "value"
    write(
        folder,
        "instance.yaml",
        ONE_YEAR
        + "title: =\ninterventions:\n  a: {name: =, unit: u, unit_cost: 1, max_units: 1}\n",
    )
    instance = planner.check_instance("instance.yaml")
    assert (instance.title, instance.interventions["a"].name) == ("=", "=")


def test_a_date_that_is_no_date(folder: Path) -> None:
    # was a ValueError traceback
    write(folder, "instance.yaml", ONE_YEAR + "title: 2020-13-45\n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:5: title: cannot be read as a YAML timestamp (month must be in 1..12)\n"
        "    fix: write the value plainly, in quotes if it is text"
    )


def test_true_false_yes_no_are_not_numbers(folder: Path) -> None:
    # was read silently as 1 and 0
    write(
        folder,
        "instance.yaml",
        "name: t\nbaseline_year: 2020\nhorizon: on\ndiscount_rate: 0\n"
        "interventions:\n  a: {name: A, unit: u, unit_cost: yes, max_units: no}\n"
        "envelope: {baseline: true}\n",
    )
    assert load_error("instance.yaml") == (
        "4 problems in the input:\n"
        "instance.yaml:3: horizon: must be a whole number (got True)\n"
        "    fix: write a whole number such as 2016, no symbols or commas (unit: years)\n"
        "instance.yaml:6: interventions.a.max_units: must be a number (got False)\n"
        "    fix: write a number such as 1200 or 0.05, no symbols or commas (unit: units)\n"
        "instance.yaml:6: interventions.a.unit_cost: must be a number (got True)\n"
        "    fix: write a number such as 1200 or 0.05, no symbols or commas (unit: currency per "
        "unit)\n"
        "instance.yaml:7: envelope.baseline: must be a number (got True)\n"
        "    fix: write a number such as 1200 or 0.05, no symbols or commas (unit: currency)"
    )


def test_keys_are_names_as_written(folder: Path) -> None:
    # `yes:` was the boolean True ("Keys should be strings" at "[1]"), `~:` the text "None"
    write(
        folder,
        "instance.yaml",
        ONE_YEAR + "interventions:\n  yes: {name: A, unit: u, unit_cost: 1, max_units: 1}\n"
        "  ~: {name: B, unit: u, unit_cost: 1, max_units: 1}\n",
    )
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:7: interventions.~: '~' is not a valid name\n"
        "    fix: use letters, digits and underscores, starting with a letter (e.g. self_care)"
    )


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        (
            ONE_YEAR.encode() + b"title: a\x00b\n",
            "instance.yaml:5",
            "holds a NUL byte (byte 64): it is not a text file, or it is UTF-16 text without a "
            "byte-order mark",
        ),
        (
            ONE_YEAR.encode("utf-16"),
            "instance.yaml",
            "is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8",
        ),
        (
            ONE_YEAR.encode("utf-16-le"),
            "instance.yaml:1",
            "holds a NUL byte (byte 1): it is not a text file, or it is UTF-16 text without a "
            "byte-order mark",
        ),
    ],
)
def test_nul_bytes_and_utf16(folder: Path, raw: bytes, where: str, message: str) -> None:
    # was "not valid YAML: unacceptable character #x0000 ... in "<unicode string>", position 7"
    write(folder, "instance.yaml", raw)
    assert load_error("instance.yaml") == (
        f"1 problem in the input:\n{where}: (top level): {message}\n"
        "    fix: save the file as UTF-8 text"
    )


def test_a_control_character_names_its_line(folder: Path) -> None:
    write(folder, "instance.yaml", ONE_YEAR + "title: a\x07b\n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:5: (top level): holds the character U+0007, which YAML text cannot hold\n"
        "    fix: remove it; if the file is not plain text, give the instance's YAML file instead"
    )


def test_a_blank_file_is_empty(folder: Path) -> None:
    # was "is not valid YAML: found character '\t' that cannot start any token"
    write(folder, "instance.yaml", "  \n\t\n   \n")
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml: (top level): is empty\n"
        "    fix: write the instance fields, see docs/"
    )


def test_an_escape_that_writes_no_character(folder: Path) -> None:
    # a lone surrogate loaded silently, and could not be written to any output
    write(folder, "instance.yaml", ONE_YEAR + 'title: "\\ud800"\n')
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:5: title: holds the character U+D800, which is not text\n"
        "    fix: remove the escape that writes it (such as \\0 or \\ud800)"
    )


def test_a_merge_key_is_refused(folder: Path) -> None:
    # was a ConstructorError traceback
    write(
        folder,
        "instance.yaml",
        ONE_YEAR + "partners:\n  a: &p {name: A}\n  b:\n    <<: *p\n    max_loss: 1\n",
    )
    assert load_error("instance.yaml") == (
        "1 problem in the input:\n"
        "instance.yaml:8: partners.b: has a merge key (<<), which planner does not read\n"
        "    fix: write the fields out in full (an alias *name alone copies a whole entry)"
    )
