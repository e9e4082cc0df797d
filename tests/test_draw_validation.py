"""A draw is checked in proportion to what it changes (uncertainty.instance_at), never less.

Only the drawn numbers and the models on the way from them up to the instance go through the
schema again; every rule still runs on the drawn instance. Known answers: the drawn instance is
equal (==, the same dump and the same fields set, model by model) to the one validated from the
whole of the data, over hundreds of draws of the bundled diabetes instance's 19 parameters and
of the national benchmark instance; each drawn number is the point value times its multiplier
(or the drawn value), computed here; models the draw leaves alone are the base's own objects;
and a draw that breaks the schema or a rule gets exactly the error the whole data gets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import planner
import planner.uncertainty as uncertainty
from bench.generate import national
from planner.errors import InputError, Problem
from planner.load import Document
from planner.schema import Instance, Intervention, SupplyOption
from planner.uncertainty import (
    Certain,
    Parameter,
    _certain,
    _changed_data,
    _changes,
    _plain,
    _rebuild,
    _revalidated,
    draw_values,
    instance_at,
    resolve,
)
from tests.conftest import Data, instance, item, outcome, write
from tests.test_uncertainty import min_units_drawn_above_max, one_intervention, with_uncertainty

DIABETES = Path(__file__).resolve().parent.parent / "instances" / "diabetes_lewisham.yaml"


def whole(
    base: Certain,
    parameters: Sequence[Parameter],
    x: Sequence[float],
    document: Document,
    seed: int,
    k: int,
) -> Instance:
    """The draw validated from the whole of its data: a copy of the certain instance's data with
    the drawn numbers set, through Instance.model_validate and every rule (as before the
    per-change validation)."""
    return _rebuild(_changed_data(base.data, _changes(parameters, x)), document, seed, k)


def same(a: Any, b: Any, where: str = "instance") -> None:
    """Equal models, model by model: the same type, fields, values and fields set."""
    assert type(a) is type(b), where
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        for name in type(a).model_fields:
            same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (one, other) in enumerate(zip(a, b, strict=True)):
            same(one, other, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.fixture
def per_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """instance_at may not fall back to the whole data (it does only for a refused draw)."""

    def refused(*args: Any) -> Instance:
        raise AssertionError("instance_at validated the whole data")

    monkeypatch.setattr(uncertainty, "_rebuild", refused)


def resolved(document: Document) -> tuple[list[Parameter], Certain]:
    """The instance's uncertain parameters, and what its draws start from."""
    checked = planner.validate(document)
    parameters, problems = resolve(checked, document)
    assert problems == []
    return parameters, _certain(checked)


@pytest.mark.usefixtures("per_change")
def test_diabetes_draws_equal_the_whole_validation() -> None:
    document = planner.load(DIABETES)
    parameters, base = resolved(document)
    assert len(parameters) == 19
    for seed, draws in ((2014, 300), (7, 100)):
        for k in range(draws):
            values = draw_values(parameters, seed, k)
            x = [values[p.pid] for p in parameters]
            drawn = instance_at(base, parameters, x, document, seed, k)
            reference = whole(base, parameters, x, document, seed, k)
            assert drawn == reference, (seed, k)
            assert drawn.model_dump() == reference.model_dump(), (seed, k)
            same(drawn, reference)


@pytest.mark.usefixtures("per_change")
def test_a_draw_sets_the_drawn_numbers_and_shares_what_it_leaves_alone() -> None:
    document = planner.load(DIABETES)
    parameters, base = resolved(document)
    values = draw_values(parameters, 2014, 0)
    x = [values[p.pid] for p in parameters]
    drawn = instance_at(base, parameters, x, document, 2014, 0)
    # absolute: the drawn value itself; relative: the point value times the multiplier
    education = drawn.interventions["structured_education"]
    assert education.unit_cost == values["education_cost"]
    point = base.instance.interventions["structured_education"].tranches
    assert point is not None and education.tranches is not None
    assert [t.health_gain for t in education.tranches] == [
        0.039 * values["education_gain"],  # the instance's tranche gains, 0.039 and 0.025
        0.025 * values["education_gain"],
    ]
    assert [t.health_gain for t in point] == [0.039, 0.025]
    option = drawn.interventions["community_clinic"].supply.options["gp_practices"]  # type: ignore[union-attr]
    assert option.unit_price == values["gp_clinic_price"]
    admissions = drawn.outcomes["emergency_admissions"]
    given = base.instance.outcomes["emergency_admissions"].health_gain_per_event
    assert admissions.health_gain_per_event == given * values["admission_health_loss"]
    # models no parameter touches are the certain instance's own; the touched ones are new
    for pid, partner in drawn.partners.items():
        assert partner is base.instance.partners[pid]
    assert drawn.envelope is base.instance.envelope
    assert drawn.floors["admissions_2016"] is base.instance.floors["admissions_2016"]
    assert education is not base.instance.interventions["structured_education"]
    assert drawn.uncertainty is None and base.instance.uncertainty is None


@pytest.mark.usefixtures("per_change")
def test_bench_instance_draws_equal_the_whole_validation() -> None:
    data = national(1_000, uncertainty=True)
    document = Document(data=data)
    parameters, base = resolved(document)
    # 5 parameters moving 136 numbers: tranche gains, effects given as a number and as
    # per_unit and lag, outcome tariffs, unit costs, in 17 areas
    assert sum(len(p.targets) for p in parameters) == 136
    for k in range(40):
        values = draw_values(parameters, 0, k)
        x = [values[p.pid] for p in parameters]
        drawn = instance_at(base, parameters, x, document, 0, k)
        reference = whole(base, parameters, x, document, 0, k)
        assert drawn == reference, k
        same(drawn, reference)


def effects_in_every_form() -> Data:
    """Effects given as a number, as per_unit and lag, and as a list of them."""
    data = instance(
        interventions={
            "a": item(10.0, 1.0, max_units=100, effects={
                "o": -0.5,
                "p": {"per_unit": 0.2, "lag": 1},
                "q": [{"per_unit": -0.1}, {"per_unit": -0.3, "lag": 1}],
            }),
        },
        outcomes={"o": outcome(50), "p": outcome(50), "q": outcome(50)},
    )  # fmt: skip
    data["horizon"] = 2
    return with_uncertainty(
        data,
        seed=4,
        number={"field": "interventions.a.effects.o", "relative": True,
                "distribution": "range", "low": 0.5, "high": 1.5},
        mapping={"field": "interventions.a.effects.p.per_unit", "distribution": "normal",
                 "se": 0.05},
        listed={"fields": ["interventions.a.effects.q[0].per_unit",
                           "interventions.a.effects.q[1].per_unit"],
                "relative": True, "distribution": "lognormal", "sigma": 0.3},
    )  # fmt: skip


@pytest.mark.usefixtures("per_change")
def test_effects_in_every_form_are_drawn_as_the_whole_data_draws_them(tmp_path: Path) -> None:
    document = planner.load(write(tmp_path, effects_in_every_form()))
    parameters, base = resolved(document)
    for k in range(50):
        values = draw_values(parameters, 4, k)
        x = [values[p.pid] for p in parameters]
        drawn = instance_at(base, parameters, x, document, 4, k)
        same(drawn, whole(base, parameters, x, document, 4, k))
        effects = drawn.interventions["a"].effects
        assert effects["o"] == -0.5 * values["number"]
        assert effects["p"] == planner.schema.Effect(per_unit=values["mapping"], lag=1)
        assert [e.per_unit for e in effects["q"]] == [  # type: ignore[union-attr]
            -0.1 * values["listed"],
            -0.3 * values["listed"],
        ]


def problems_of(
    base: Certain, parameters: Sequence[Parameter], document: Document, seed: int, k: int
) -> tuple[list[Problem], list[Problem]]:
    """The problems instance_at raises for draw k, and those the whole data raises."""
    values = draw_values(parameters, seed, k)
    x = [values[p.pid] for p in parameters]
    found = []
    for check in (instance_at, whole):
        with pytest.raises(InputError) as caught:
            check(base, parameters, x, document, seed, k)
        found.append(caught.value.problems)
    return found[0], found[1]


def test_a_draw_the_schema_refuses_gets_the_whole_data_error(tmp_path: Path) -> None:
    # draws are truncated to what the schema allows (a health gain under 1e15 in size: no
    # solver could take more), so a normal with se 4e14 never draws past it (untruncated, 1.2%
    # of draws would: about 5 of these 400); a value past it (given here as the draw) is
    # refused by the schema, with the whole data's error
    data = with_uncertainty(
        one_intervention(),
        seed=2,
        gain={"field": "interventions.a.health_gain", "distribution": "normal", "se": 4e14},
    )
    document = planner.load(write(tmp_path, data))
    parameters, base = resolved(document)
    draws = [draw_values(parameters, 2, k)["gain"] for k in range(400)]
    assert max(abs(value) for value in draws) < 1e15
    found = []
    for check in (instance_at, whole):
        with pytest.raises(InputError) as caught:
            check(base, parameters, [-2e15], document, 2, 7)
        found.append(caught.value.problems)
    fast, reference = found
    assert fast == reference
    (problem,) = fast
    assert problem.path == ("interventions", "a", "health_gain")
    assert problem.message == (
        "draw 7 (seed 2) breaks the schema: Input should be greater than -1000000000000000"
    )
    assert problem.fix == (
        "narrow the distribution; or make the numbers move together (one parameter with fields "
        "and relative: true), or narrow their distributions"
    )


def test_a_draw_a_rule_refuses_gets_the_whole_data_error(tmp_path: Path) -> None:
    data = min_units_drawn_above_max()  # draws of min_units above max_units 120 are refused
    document = planner.load(write(tmp_path, data))
    parameters, base = resolved(document)
    draws = [draw_values(parameters, 3, k)["low"] for k in range(20)]
    k = next(k for k, value in enumerate(draws) if value > 120)
    for j in range(k):
        drawn = instance_at(base, parameters, [draws[j]], document, 3, j)
        assert drawn.interventions["a"].min_units == draws[j] <= 120
    fast, reference = problems_of(base, parameters, document, 3, k)
    assert fast == reference
    (problem,) = fast
    assert problem.path == ("interventions", "a", "min_units")
    assert problem.message == (
        f"draw {k} (seed 3) breaks a rule: min_units {draws[k]:g} is above max_units 120"
    )


def every_kind_of_number() -> Data:
    """An instance with an uncertain number of each kind the schema bounds: a share (at most 1),
    a positive number, numbers at least 0 (some optional), a money amount, a finite number."""
    data = instance(
        objective={"kind": "net_benefit", "threshold": 20000},
        partners={"p": {"name": "P", "max_loss_share": 0.1}},
        interventions={
            "a": item(10.0, 0.0, delivered_by="p", max_units=100, effects={"o": -0.1},
                      tranches=[{"units": 50, "health_gain": 0.5}, {"health_gain": 0.2}]),
        },
        outcomes={"o": outcome(50)},
        floors={"f": {"outcome": "o", "bound": "upper", "value": 49}},
    )  # fmt: skip
    ranges = {
        "rate": ("discount_rate", 0.0, 0.1),
        "loss": ("partners.p.max_loss_share", 0.05, 0.2),
        "threshold": ("objective.threshold", 10000, 30000),
        "tranche": ("interventions.a.tranches[0].units", 40, 60),
        "cost": ("interventions.a.unit_cost", 5, 15),
        "effect": ("interventions.a.effects.o", -0.2, 0.0),
        "floor": ("floors.f.value", 45, 50),
        "baseline": ("outcomes.o.baseline", 40, 60),
    }
    parameters: dict[str, dict[str, Any]] = {
        pid: {"field": field, "distribution": "range", "low": low, "high": high}
        for pid, (field, low, high) in ranges.items()
    }
    return {**data, "uncertainty": {"seed": 11, "parameters": parameters}}


@pytest.mark.parametrize(
    ("pid", "value"),
    [("rate", 1.5), ("rate", -0.1), ("loss", 2.0), ("threshold", 0.0), ("threshold", -5.0),
     ("tranche", -1.0), ("cost", -1.0), ("cost", math.inf), ("effect", math.nan),
     ("effect", -math.inf), ("floor", -1.0), ("baseline", -3.0)],
)  # fmt: skip
def test_a_number_outside_its_field_is_refused_as_the_whole_data_refuses_it(
    tmp_path: Path, pid: str, value: float
) -> None:
    document = planner.load(write(tmp_path, every_kind_of_number()))
    parameters, base = resolved(document)
    x = [value if p.pid == pid else p.point for p in parameters]
    found = []
    for check in (instance_at, whole):
        with pytest.raises(InputError) as caught:
            check(base, parameters, x, document, 9, 5)
        found.append(caught.value.problems)
    assert found[0] == found[1]
    assert found[0][0].message.startswith("draw 5 (seed 9) breaks the schema: ")
    # at the point values the draw is the instance itself
    at_point = instance_at(base, parameters, [p.point for p in parameters], document, 9, 0)
    assert at_point == base.instance


class Pair(BaseModel):
    """A model with a validator of its own, which reads two fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    low: float = Field(ge=0)
    high: float

    @model_validator(mode="after")
    def ordered(self) -> Pair:
        if self.low > self.high:
            raise ValueError("low above high")
        return self


def test_a_model_with_validators_of_its_own_is_validated_whole() -> None:
    # the schema's models validate each field alone, except the instance (None read as {})
    assert _plain(Intervention) and _plain(SupplyOption) and not _plain(Instance)
    assert not _plain(Pair)
    pair = Pair(low=1, high=2)
    assert _revalidated(pair, {"low": 1.5}) == Pair(low=1.5, high=2)
    with pytest.raises(ValidationError, match="low above high"):
        _revalidated(pair, {"low": 3.0})  # its validator sees the changed field with the other
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        _revalidated(pair, {"low": -1.0})
    # a plain model: the changed field with its constraints, the others as they were
    option = SupplyOption(mode="buy", unit_price=10.0)
    assert _revalidated(option, {"unit_price": 12.5}) == SupplyOption(mode="buy", unit_price=12.5)
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        _revalidated(option, {"unit_price": -1.0})
