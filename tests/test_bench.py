"""The benchmark's instances and its raw reference (bench/): nothing here is timed.

bench/generate.py must give the same instance for the same seed, in planner's own format and
valid as it stands; bench/matrix.py must write the same LP as planner.build, so that the
benchmark compares like with like. Its optimum is checked against planner's on both solvers.
planner/highs.py's FastHiGHS must hand HiGHS the model pulp.HiGHS hands it and read back the
same numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulp
import pytest

import planner
from bench.bench_build import bound
from bench.generate import areas_for, columns_per_area, dump, national
from bench.matrix import formulate, solve_highs, to_highs
from planner.highs import FastHiGHS
from planner.load import Document
from planner.solve import quiet_stdout

# 1,000 columns asked: 60 a year-area (12 columns a year: diabetes 7 interventions, education
# in 2 tranches; heart 4), so round((1000 - 5) / 60) = 17 areas, 17 x 60 + 5 carry = 1,025.
SIZE = 1_000
AREAS = 17
COLUMNS = 1_025


def _instance(data: dict[str, object], tmp_path: Path) -> planner.Instance:
    """Through the YAML file, as `planner solve` would read it."""
    path = tmp_path / "national.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return planner.check_instance(path)


def test_generator_is_deterministic_and_sized() -> None:
    first, again, other = national(SIZE, 3), national(SIZE, 3), national(SIZE, 4)
    assert first == again
    assert dump(first) == dump(again)  # byte-identical YAML
    assert dump(first) != dump(other)
    assert columns_per_area() == 60
    assert areas_for(SIZE) == AREAS
    assert len({key.split("_")[0] for key in first["interventions"]}) == AREAS
    assert len(first["partners"]) == 4 * AREAS  # acute, GP, community, local authority


def test_generated_instance_validates_and_builds_to_size(tmp_path: Path) -> None:
    data = national(SIZE, 0)
    instance = _instance(data, tmp_path)
    assert instance == planner.validate(Document(data=data))  # the dict and its YAML agree
    model = planner.build(instance)
    assert len(model.problem.variables()) == COLUMNS
    matrix = formulate(data)
    assert matrix.shape == (model.problem.numConstraints(), COLUMNS)


def test_uncertainty_section_validates(tmp_path: Path) -> None:
    data = national(120, 1, uncertainty=True)
    instance = _instance(data, tmp_path)
    assert instance.uncertainty is not None
    assert set(instance.uncertainty.parameters) == {
        "desmond_gain",
        "hf_nurse_admissions",
        "foot_amputations",
        "admission_tariff",
        "outpatient_price",
    }


def test_raw_formulation_has_planner_optimum(solver: str) -> None:
    data = national(SIZE, 0)
    model = planner.build(planner.validate(Document(data=data)))
    solution = planner.solve(model, solver)  # type: ignore[arg-type]
    assert solution.status is planner.Status.OPTIMAL
    _, raw = solve_highs(formulate(data))
    assert solution.objective == pytest.approx(raw, rel=1e-6)


def test_raw_and_planner_hand_highs_the_same_lp_and_take_the_same_path() -> None:
    # the premise of bench_build's bound at sizes HiGHS cannot finish: both methods give HiGHS
    # the same LP (same pattern, numbers equal but for rounding in the last digits), so a
    # complete solve takes the same simplex iterations in each
    data = national(SIZE, 0)
    model = planner.build(planner.validate(Document(data=data)))
    with quiet_stdout():
        model.problem.solve(FastHiGHS(msg=False, mip=False, gapRel=0.0))
        raw = to_highs(formulate(data))
        raw.run()
    ours, theirs = model.problem.solverModel.getLp(), raw.getLp()
    for name in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-13), name
    assert list(ours.a_matrix_.start_) == list(theirs.a_matrix_.start_)
    assert list(ours.a_matrix_.index_) == list(theirs.a_matrix_.index_)
    assert ours.a_matrix_.value_ == pytest.approx(theirs.a_matrix_.value_, rel=1e-13)
    iterations = model.problem.solverModel.getInfo().simplex_iteration_count
    assert iterations == raw.getInfo().simplex_iteration_count == 405


def test_bound_on_the_complete_ratio_when_highs_stopped_in_both() -> None:
    # planner 133 s outside HiGHS, raw 19 s, both stopped after 600 s: (133 + 600) / (19 + 600)
    def method(rest: float, ran: float, objective: float | None) -> dict[str, Any]:
        return {"total_s": rest + ran, "highs_s": ran, "objective": objective}

    stopped = {"raw": method(19.0, 600.2, None), "planner": method(133.0, 600.0, None)}
    assert bound(stopped) == pytest.approx(733.0 / 619.0)
    faster = {"raw": method(19.0, 600.0, None), "planner": method(10.0, 600.0, None)}
    assert bound(faster) == 1.0  # planner's rest below raw's: the ratio rises towards 1
    finished = {"raw": method(19.0, 30.0, 1.0), "planner": method(133.0, 600.0, None)}
    assert bound(finished) is None  # one method finished: no common lower bound on the run


def test_raw_formulation_refuses_features_it_does_not_write() -> None:
    data = national(120, 0)
    data["groups"] = {"g": {"members": ["a00001_dm_clinic"], "rule": "meet_need", "need": 1}}
    with pytest.raises(ValueError, match="groups"):
        formulate(data)


def _solved(model: planner.Model, backend: Any) -> tuple[Any, ...]:
    """Everything a solve hands to HiGHS and writes back into PuLP's variables and rows."""
    stats = model.problem.solve(backend)
    lp = model.problem.solverModel.getLp()
    handed = (lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_,
              lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_, lp.offset_,
              lp.sense_, lp.integrality_)  # fmt: skip
    back = [(v.name, v.varValue, v.dj) for v in model.problem.variables()]
    back += [(c.name, c.pi, c.slack) for c in model.problem.constraints()]
    return stats.status, stats.has_solution, [list(x) for x in handed[:8]], handed[8:], back


@pytest.mark.parametrize("mip", [False, True])
def test_fast_highs_hands_over_and_reads_back_what_pulp_highs_does(mip: bool) -> None:
    # an LP (the national instance), a MILP (the bundled diabetes plan, 11 yes/no choices) and
    # an infeasible LP: the same model handed over and the same numbers read back, bit for bit
    cases = [planner.check_instance(planner.DEFAULT_INSTANCE)] if mip else [
        planner.validate(Document(data=national(SIZE, 0))),
        planner.check_instance(planner.DEFAULT_INSTANCE, "faster_cut"),
    ]  # fmt: skip
    for instance in cases:
        options = {"msg": False, "mip": mip, "gapRel": 0.0}
        with quiet_stdout():
            slow = _solved(planner.build(instance), pulp.HiGHS(**options))
            fast = _solved(planner.build(instance), FastHiGHS(**options))
        assert fast == slow
