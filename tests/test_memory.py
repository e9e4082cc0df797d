"""What the memory work of issue 6 changed must read back as before (bench/README.md, Memory).

The registry stores its rows column-wise and makes each Rule when it is read; FastHiGHS hands
the matrix over in C arrays and writes the solution back in chunks; planner.solve lets HiGHS's
copy of the model go once it is read. None of it may change a number: the Rules are the ones
the families wrote, the duals are the rows' own, and the read-back is pulp.HiGHS's bit for bit.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

import pulp
import pytest

import planner
import planner.highs
from bench.generate import national
from planner.build import EXPRESSIONS, MONEY_SCALE, Rule
from planner.expressions import Expressions
from planner.highs import _NO_SIDES, FastHiGHS
from planner.load import Document
from planner.solve import quiet_stdout
from tests.conftest import Data, instance, item, outcome, write
from tests.test_bench import SIZE, _solved


def small() -> Data:
    """One plan year (2021). Education: £10 a patient for 0.05 QALY, at most 100 patients;
    a £500 envelope; admissions (baseline 30) fall by 0.1 per patient educated and must be at
    most 28. The envelope buys 50 patients (2.5 QALY); admissions 30 - 5 = 25."""
    effects = {"admissions": {"per_unit": -0.1}}
    education = item(10, 0.05, name="Education", max_units=100, effects=effects)
    return instance(
        envelope={"amounts": {2021: 500}},
        interventions={"education": education},
        outcomes={"admissions": outcome(30, name="Admissions", unit="admission")},
        floors={"fewer": {"outcome": "admissions", "bound": "upper", "value": 28}},
    )


def _model(tmp_path: Path) -> planner.Model:
    return planner.build(planner.check_instance(write(tmp_path, small())))


def test_registry_reads_back_every_rule_as_written(tmp_path: Path) -> None:
    model = _model(tmp_path)
    registry = model.registry
    assert list(registry) == [
        ("envelope", (2021,)),
        ("outcome_floor", ("fewer", 2021)),
        ("outcome_nonnegative", ("admissions", 2021)),
        ("capacity", ("education", 2021)),
    ]
    money = model.money()
    envelope = Rule("envelope", (2021,), "envelope__2021", "<=", "spend in 2021 within the "
                    "envelope plus savings carried in", "envelope", 2021, money, MONEY_SCALE,
                    500.0)  # fmt: skip
    capacity = Rule("capacity", ("education", 2021), "capacity__education__2021", "<=",
                    "Education: at most 100 patient in 2021", "education", 2021, "patient",
                    1.0, 100.0)  # fmt: skip
    nonnegative = Rule("outcome_nonnegative", ("admissions", 2021),
                       "nonnegative__admissions__2021", ">=",
                       "Admissions cannot fall below zero in 2021", "admissions", 2021,
                       "admission", 1.0, 0.0)  # fmt: skip
    assert registry[("envelope", (2021,))][0] == envelope
    assert registry[("capacity", ("education", 2021))][0] == capacity
    assert registry[("outcome_nonnegative", ("admissions", 2021))][0] == nonnegative
    assert registry[("outcome_floor", ("fewer", 2021))][0].rhs == 28.0
    # every read makes an equal Rule and a handle on the row PuLP holds under that name
    for key, (rule, row) in registry.items():
        assert registry[key][0] == rule
        assert row.name == rule.name
    assert [rule for rule, _ in registry.values()] == list(registry.rules())  # no handles made
    assert len(registry) == model.problem.numConstraints() == 4


def test_registry_behaves_as_the_dict_it_replaced(tmp_path: Path) -> None:
    model = _model(tmp_path)
    registry = model.registry
    key = ("outcome_floor", ("fewer", 2021))
    assert key in registry and ("outcome_floor", ("fewer", 2022)) not in registry
    assert "envelope" not in registry and 3 not in registry
    rule, row = registry[key]
    # a rule written again stays in its place, with what was written (a name of its own, no
    # year, words outside ASCII)
    moved = replace(rule, rhs=27.5, per=2.0, rule="Admissions ≤ 27.5 (£)", year=None,
                    name="my_own_name")  # fmt: skip
    registry[key] = (moved, row)
    assert list(registry)[1] == key
    assert registry[key][0] == moved
    assert registry[key][1].name == "floor__fewer__2021"  # the row itself is PuLP's
    # a new key goes last
    extra = model.problem.addConstraint(model.units[("education", 2021)] >= 1, "extra__x")
    new = Rule("extra", ("x",), "extra__x", ">=", "at least one", "x", None, "patient", 1.0, 1.0)
    registry[("extra", ("x",))] = (new, extra)
    assert list(registry)[-1] == ("extra", ("x",))
    assert registry[("extra", ("x",))][0] == new
    assert registry[("extra", ("x",))][1].name == "extra__x"
    assert len(registry) == 5
    with pytest.raises(ValueError, match="not its own key"):
        registry[("extra", ("y",))] = (new, extra)
    with pytest.raises(TypeError, match="not removed"):
        del registry[key]
    with pytest.raises(KeyError):
        registry[("extra", ("y",))]


def test_duals_are_the_rows_prices_and_highs_lets_go(tmp_path: Path, solver: str) -> None:
    model = _model(tmp_path)
    solution = planner.solve(model, solver)  # type: ignore[arg-type]
    # £500 buys 50 patients: 2.5 QALY; another £1 buys 0.1 patient, 0.005 QALY (0.005 x
    # 100,000 = 500 QALY per £100k); capacity (100) and the floor (25 <= 28) are slack
    assert solution.objective == pytest.approx(2.5)
    assert solution.values["units__education__2021"] == pytest.approx(50.0)
    assert list(solution.duals) == list(model.registry)
    assert solution.duals[("envelope", (2021,))] == pytest.approx(0.005)
    assert solution.duals[("capacity", ("education", 2021))] == pytest.approx(0.0)
    assert solution.duals[("outcome_floor", ("fewer", 2021))] == pytest.approx(0.0)
    flip = -1.0 if solver == "cbc" else 1.0  # PuLP hands CBC the maximisation negated
    for key, (_, row) in model.registry.items():
        assert solution.duals[key] == flip * (row.pi or 0.0)
    if solver == "highs":  # HiGHS's own copy of the model is gone once its answer is read
        assert model.problem.solverModel is None


def test_fast_highs_reads_back_in_chunks_what_pulp_highs_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 3,184 rows and 1,025 columns written back 100 at a time: chunk edges inside both
    monkeypatch.setattr(planner.highs, "CHUNK", 100)
    lp = planner.validate(Document(data=national(SIZE, 0)))
    options = {"msg": False, "mip": False, "gapRel": 0.0}
    with quiet_stdout():
        slow = _solved(planner.build(lp), pulp.HiGHS(**options))
        fast = _solved(planner.build(lp), FastHiGHS(**options))
    assert fast == slow


def test_fast_highs_reads_the_rows_again_when_it_did_not_hand_them_over() -> None:
    # without the sides FastHiGHS noted while handing the rows over (a handoff by PuLP's own
    # code), the read-back takes each row's constant and sense from PuLP: the same numbers
    model = planner.build(planner.validate(Document(data=national(SIZE, 0))))
    backend = FastHiGHS(msg=False, mip=False, gapRel=0.0)
    with quiet_stdout():
        model.problem.solve(backend)
    first = [(c.name, c.pi, c.slack) for c in model.problem.constraints()]
    assert backend._sides is _NO_SIDES  # used once, then dropped
    for constraint in model.problem.constraints():
        constraint.slack = constraint.pi = -1.0
    backend.findSolutionValues(model.problem)
    assert [(c.name, c.pi, c.slack) for c in model.problem.constraints()] == first


def test_fast_highs_counts_the_model_as_pulp_does() -> None:
    # the statistics count PuLP's model itself, not a Python object per row: the same counts
    # (1,025 columns, 3,184 rows; the diabetes MILP 11 yes/no choices among its columns)
    for case in [
        planner.validate(Document(data=national(SIZE, 0))),
        planner.check_instance(planner.DEFAULT_INSTANCE),
    ]:
        mip = not case.name.startswith("national")
        counts = []
        for backend in (pulp.HiGHS, FastHiGHS):
            model = planner.build(case)
            with quiet_stdout():
                stats = model.problem.solve(backend(msg=False, mip=mip, gapRel=0.0))
            assert model.problem.numConstraints() == len(model.problem.constraints())
            counts.append((stats.num_variables, stats.num_constraints, stats.is_mip,
                           stats.objective))  # fmt: skip
        assert counts[0] == counts[1]
        if not mip:
            assert counts[0][:2] == (1_025, 3_184)


def _terms(expression: pulp.LpAffineExpression) -> tuple[list[tuple[str, float]], float]:
    return [(v.name, c) for v, c in expression.items()], expression.constant


def _as_built(model: planner.Model) -> None:
    """The model as the families built it: its expressions PuLP's own."""


@pytest.mark.parametrize("source", ["national", "diabetes_lewisham"])
def test_expressions_read_back_as_built(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    # the model's named expressions, kept as arrays, read back term for term as PuLP built
    # them (scalar, pair and triple keys; a table with none), and the unit variables with them
    if source == "national":
        checked = planner.validate(Document(data=national(SIZE), instance_file=Path("n.yaml")))
    else:
        checked = planner.check_instance(Path(f"instances/{source}.yaml"))
    kept = planner.build(checked)
    monkeypatch.setattr(importlib.import_module("planner.build"), "_keep_as_arrays", _as_built)
    built = planner.build(checked)
    for name in EXPRESSIONS:
        as_built, as_kept = getattr(built, name), getattr(kept, name)
        assert isinstance(as_kept, Expressions) and isinstance(as_built, dict)
        assert list(as_kept) == list(as_built) and len(as_kept) == len(as_built)
        for key, expression in as_built.items():
            assert _terms(as_kept[key]) == _terms(expression), (name, key)
            assert key in as_kept
    assert {n: len(getattr(kept, n)) for n in ("spend", "option_cost")} == (
        {"spend": 5, "option_cost": 0} if source == "national" else {"spend": 3, "option_cost": 11}
    )
    assert list(kept.unit_variables) == list(built.unit_variables)
    for key, variables in built.unit_variables.items():
        assert [v.name for v in kept.unit_variables[key]] == [v.name for v in variables]


def test_expressions_behave_as_a_read_only_mapping_whose_arrays_move(tmp_path: Path) -> None:
    model = _model(tmp_path)
    units, spend = model.units, model.spend
    assert isinstance(units, Expressions) and isinstance(spend, Expressions)
    assert list(units) == [("education", 2021)] and list(spend) == [2021]
    assert ("education", 2021) in units and ("education", 2022) not in units
    assert 2021 in spend and "2021" not in spend and [] not in spend  # unhashable: not there
    with pytest.raises(KeyError):
        units[("education", 2022)]
    assert _terms(spend[2021]) == ([("units__education__2021", 10.0)], 0.0)
    # planner/sweep.py moves a model's numbers by writing into the arrays
    spend.coefficients[spend.span(2021)] = 12.5
    spend.constants[spend.position(2021)] = 3.0
    assert _terms(spend[2021]) == ([("units__education__2021", 12.5)], 3.0)
    assert [v.name for v in model.unit_variables[("education", 2021)]] == ["units__education__2021"]


def test_schema_models_share_the_set_of_fields_given(tmp_path: Path) -> None:
    # one set per distinct set of names given; a copy with changes gets its own
    education = item(10, 0.05, name="Education", max_units=100)
    data = instance(interventions={"a": education, "b": dict(education)})
    checked = planner.check_instance(write(tmp_path, data))
    a, b = checked.interventions["a"], checked.interventions["b"]
    assert a.model_fields_set is b.model_fields_set
    assert a.model_fields_set == set(education)
    changed = a.model_copy(update={"max_units": 50.0})
    assert changed.model_fields_set is not a.model_fields_set
    assert b.model_fields_set == a.model_fields_set and changed.max_units == 50.0
