"""The typed schema of an instance (with its pathway model merged in).

Every field has a type, a unit and a one-line description; unknown keys are errors. The field
reference in docs/fields.md is generated from these classes, so the two cannot drift.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError


def _no_bool(kind: str) -> BeforeValidator:
    """Refuse true/false (and YAML's yes/no/on/off) where a number is due: pydantic would read
    them as 1 and 0, a number nobody wrote."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticCustomError(kind, "Input should be a number, not a boolean")
        return value

    return BeforeValidator(check)


# Every number is smaller than this in size: HiGHS refuses a matrix entry from 1e15 on (its
# large_matrix_value) and takes a cost or bound from 1e20 on as infinite, so a larger number
# would come back as an unbounded plan or a solver error instead of a problem in the input.
LARGEST = 1e15
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
Whole = Annotated[int, _no_bool("int_type")]
Money = Annotated[float, Field(ge=0, lt=LARGEST, allow_inf_nan=False), _no_bool("float_type")]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), _no_bool("float_type")]
Number = Annotated[
    float, Field(gt=-LARGEST, lt=LARGEST, allow_inf_nan=False), _no_bool("float_type")
]
NonNegative = Annotated[float, Field(ge=0, lt=LARGEST, allow_inf_nan=False), _no_bool("float_type")]
Positive = Annotated[float, Field(gt=0, lt=LARGEST, allow_inf_nan=False), _no_bool("float_type")]
CURRENCY_SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€"}


def field(description: str, unit: str = "", **kwargs: Any) -> Any:
    """A schema field with its description and unit recorded for the docs."""
    return Field(description=description, json_schema_extra={"unit": unit}, **kwargs)


_GIVEN: dict[frozenset[str], set[str]] = {}  # one set of given field names per distinct set


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def model_post_init(self, context: Any, /) -> None:
        """Share the set of field names given (pydantic's `model_fields_set`) among models that
        gave the same names: pydantic makes one per model, about 450 bytes, half of a national
        instance's memory; a frozen model never changes it (`model_copy` copies it first)."""
        given = self.__pydantic_fields_set__
        object.__setattr__(
            self, "__pydantic_fields_set__", _GIVEN.setdefault(frozenset(given), given)
        )


class Effect(Strict):
    """Change in an outcome per unit of an intervention, `lag` years after the units are bought."""

    per_unit: Number = field("change in the outcome per unit bought", "outcome units per unit")
    lag: Whole = field("years between buying a unit and its effect", "years", default=0, ge=0)


class Tranche(Strict):
    """A block of units with its own health gain (diminishing returns)."""

    units: NonNegative | None = field(
        "size of the tranche; leave out on the last tranche for no limit", "units", default=None
    )
    health_gain: Number = field("health gain per unit in this tranche", "health unit per unit")


class Ramp(Strict):
    """How fast a service may grow or shrink from one year to the next."""

    max_increase: NonNegative | None = field("most extra units a year", "units", default=None)
    max_decrease: NonNegative | None = field("most units cut a year", "units", default=None)
    max_increase_share: NonNegative | None = field(
        "most growth a year, as a share of the previous year's units", "share", default=None
    )
    max_decrease_share: Share | None = field(
        "most cut a year, as a share of the previous year's units", "share", default=None
    )


class SupplyOption(Strict):
    """One way to provide an intervention in the plan years: made in-house or bought."""

    name: str | None = field("readable name", "text", default=None)
    provider: Id | None = field(
        "partner paid for the units (default: the shared service's host)", "partner", default=None
    )
    mode: Literal["make", "buy"] = field(
        "make: run by the commissioners' own organisation; buy: commissioned from a provider", ""
    )
    unit_price: Money = field("price per unit paid out of the envelope", "currency per unit")
    fixed_cost: Money = field(
        "paid in every plan year the option is used (staff, premises, block contract)",
        "currency a year",
        default=0.0,
    )
    setup_cost: Money = field(
        "paid once, in the year the option starts to be used", "currency", default=0.0
    )
    capacity: NonNegative | None = field("most units a year", "units", default=None)
    min_volume: NonNegative | None = field(
        "fewest units a year if used (minimum contract volume)", "units", default=None
    )
    first_year: Whole | None = field(
        "first plan year it can supply (default: the first plan year)", "year", default=None
    )
    last_year: Whole | None = field(
        "last plan year it can supply, such as a contract's end (default: the last plan year)",
        "year",
        default=None,
    )
    available: bool = field(
        "false: not on offer (for scenarios, and for comparing forced choices)", "", default=True
    )
    shared: Id | None = field(
        "shared service the option draws on (its fixed cost is paid once for all users)",
        "shared service",
        default=None,
    )
    source: str | None = field("evidence behind the numbers", "text", default=None)
    notes: str | None = field("anything else a reader should know", "text", default=None)


class Supply(Strict):
    """How an intervention can be provided in the plan years: its make-or-buy options."""

    choice: Literal["exclusive", "split"] = field(
        "exclusive: one option a year supplies all units; split: options may share the units",
        "",
        default="exclusive",
    )
    in_house_only: bool = field(
        "only make options may be used (a function only the members themselves can do)",
        "",
        default=False,
    )
    options: dict[Id, SupplyOption] = field("the options by id", "", min_length=1)


class SharedService(Strict):
    """A service one partner hosts for several interventions (say, consortia): one fixed cost."""

    name: str = field("readable name", "text")
    provider: Id = field("partner that hosts the service and is paid its costs", "partner")
    fixed_cost: Money = field(
        "paid in every plan year any option draws on it", "currency a year", default=0.0
    )
    setup_cost: Money = field("paid once, in the year it opens", "currency", default=0.0)
    capacity: NonNegative | None = field(
        "most units a year across every option drawing on it", "units", default=None
    )
    first_year: Whole | None = field(
        "first plan year it can open (default: the first plan year)", "year", default=None
    )
    source: str | None = field("evidence behind the numbers", "text", default=None)
    notes: str | None = field("anything else a reader should know", "text", default=None)


class Intervention(Strict):
    """Something the pathway funds, measured in units a year."""

    name: str = field("readable name", "text")
    unit: str = field("what one unit is (patient-year, contact, attendance, case)", "text")
    unit_cost: Money = field(
        "price per unit paid out of the envelope (today's price where supply options are given)",
        "currency per unit",
    )
    full_cost: Number | None = field(
        "net economic cost per unit for the net-benefit objective, if not the unit cost "
        "(negative where cost offsets exceed the cost)",
        "currency per unit",
        default=None,
    )
    health_gain: Number = field("health gain per unit", "health unit per unit", default=0.0)
    tranches: list[Tranche] | None = field(
        "diminishing returns: blocks of units with falling health gain (replaces health_gain)",
        "list",
        default=None,
    )
    effects: dict[Id, Number | Effect | list[Effect]] = field(
        "effect per unit on each outcome (a number, or per_unit and lag)", "by outcome", default={}
    )
    delivered_by: Id | dict[Id, Share] | None = field(
        "partner paid for the units, or shares of the units by partner (today's, where supply "
        "options are given)",
        "partner",
        default=None,
    )
    supply: Supply | None = field(
        "make-or-buy options for the plan years (replace unit_cost and delivered_by there)",
        "",
        default=None,
    )
    indivisible: bool = field(
        "all or nothing: each plan year either max_units or none", "", default=False
    )
    resource_use: dict[Id, NonNegative] = field(
        "use of each resource per unit", "resource units per unit", default={}
    )
    baseline_units: NonNegative = field("units a year today (baseline year)", "units", default=0.0)
    min_units: NonNegative | None = field("fewest units in any plan year", "units", default=None)
    max_units: NonNegative | None = field(
        "most units in any plan year (capacity, or need)", "units", default=None
    )
    ramp: Ramp | None = field("most growth or cut from one year to the next", "", default=None)
    source: str | None = field("evidence behind the numbers", "text", default=None)
    notes: str | None = field("anything else a reader should know", "text", default=None)

    def effect_list(self, outcome: str) -> list[Effect]:
        """Effects on `outcome` as a list of (per unit, lag)."""
        raw = self.effects.get(outcome, [])
        if isinstance(raw, float | int):
            return [Effect(per_unit=float(raw))]
        return [raw] if isinstance(raw, Effect) else list(raw)

    def offered(self) -> dict[str, SupplyOption]:
        """Supply options on offer (available), by id; empty without supply options."""
        if self.supply is None:
            return {}
        return {oid: o for oid, o in self.supply.options.items() if o.available}

    def partner_shares(self) -> dict[str, float]:
        """Partner -> share of this intervention's income (today's, where supply is given)."""
        if self.delivered_by is None:
            return {}
        return {self.delivered_by: 1.0} if isinstance(self.delivered_by, str) else self.delivered_by


class Outcome(Strict):
    """A quantity that moves with interventions: level = baseline + effects x change in units."""

    name: str = field("readable name", "text")
    unit: str = field("what one event is (attendance, admission, patient)", "text")
    baseline: NonNegative = field("level a year today (baseline year)", "events a year")
    maximum: NonNegative | None = field(
        "natural most the level can reach (people on the register, say)",
        "events a year",
        default=None,
    )
    tariff: Money = field(
        "price paid out of the envelope per event (paid activity such as an A&E attendance)",
        "currency per event",
        default=0.0,
    )
    paid_to: Id | dict[Id, Share] | None = field(
        "partner paid the tariff, or shares of the events by partner (several acute trusts)",
        "partner",
        default=None,
    )
    health_gain_per_event: Number = field(
        "health gain per event (negative for a harm such as an amputation)",
        "health unit per event",
        default=0.0,
    )
    external_costs: dict[Id, Money] = field(
        "cost per event to a partner outside the envelope (such as social care)",
        "currency per event by partner",
        default={},
    )
    source: str | None = field("evidence behind the numbers", "text", default=None)
    notes: str | None = field("anything else a reader should know", "text", default=None)

    def payee_shares(self) -> dict[str, float]:
        """Partner -> share of this outcome's tariff income."""
        if self.paid_to is None:
            return {}
        return {self.paid_to: 1.0} if isinstance(self.paid_to, str) else self.paid_to


class Envelope(Strict):
    """The joint budget: a baseline shrinking at a compound rate, or amounts per year."""

    baseline: Money | None = field("envelope in the baseline year", "currency", default=None)
    reduction: Share | None = field(
        "reduction each year, compounding (0.02 for 2%)", "share a year", default=None
    )
    amounts: dict[Whole, Money] | None = field(
        "envelope for each plan year, instead of baseline and reduction",
        "currency by year",
        default=None,
    )


class Savings(Strict):
    """What happens to money left unspent in a year."""

    rule: Literal["carry_forward", "share"] = field(
        "carry_forward: reinvested in the pathway next year; share: paid to partners by shares",
        "",
        default="carry_forward",
    )
    shares: dict[Id, Share] = field(
        "with rule share: each partner's share of the savings (they sum to 1)",
        "share by partner",
        default={},
    )


class RefusedOutcome(Strict):
    """A poor outcome the commissioner will not pay for: the responsible partner bears its cost."""

    responsible: Id = field("partner that bears the tariff of each event", "partner")


class Partner(Strict):
    """An organisation that receives pathway money."""

    name: str = field("readable name", "text")
    baseline_income: Money | None = field(
        "pathway income in the baseline year (default: baseline units and levels at prices)",
        "currency",
        default=None,
    )
    max_loss: Money | None = field(
        "most income it may lose in any plan year", "currency", default=None
    )
    max_loss_share: Share | None = field(
        "most income it may lose in any plan year, as a share of baseline income",
        "share",
        default=None,
    )
    max_gain: Money | None = field(
        "most income it may gain in any plan year", "currency", default=None
    )
    max_gain_share: NonNegative | None = field(
        "most income it may gain in any plan year, as a share of baseline income",
        "share",
        default=None,
    )
    notes: str | None = field("anything else a reader should know", "text", default=None)

    def limits(self, baseline_income: float) -> tuple[float | None, float | None]:
        """(most loss, most gain) in money a year, or None where there is no limit."""
        loss, gain = self.max_loss, self.max_gain
        if self.max_loss_share is not None:
            loss = self.max_loss_share * baseline_income
        if self.max_gain_share is not None:
            gain = self.max_gain_share * baseline_income
        return loss, gain


class Floor(Strict):
    """A bound on an outcome's level: absolute or relative to baseline; one year or every year."""

    outcome: Id = field("the outcome bounded", "outcome")
    bound: Literal["upper", "lower"] = field("upper: at most; lower: at least", "")
    value: NonNegative | None = field("the bound as a level", "events a year", default=None)
    relative: NonNegative | None = field(
        "the bound as a multiple of the baseline level (0.97 for 3% below)", "ratio", default=None
    )
    year: Whole | None = field(
        "the plan year it applies to (default: every plan year)", "year", default=None
    )
    description: str | None = field("the rule in words", "text", default=None)


class Group(Strict):
    """Interventions that together meet a need (at least) or share one need (substitutes)."""

    members: list[Id] = field(
        "interventions in the group (same unit)", "interventions", min_length=1
    )
    rule: Literal["meet_need", "share_need"] = field(
        "meet_need: their units together at least the need; share_need: at most the need", ""
    )
    need: NonNegative = field("the need, in the members' unit", "units a year")
    description: str | None = field("the rule in words", "text", default=None)


class Complement(Strict):
    """Interventions that only make sense alongside others: units of A <= ratio x units of B."""

    intervention: Id | list[Id] = field("the dependent intervention(s) A", "interventions")
    requires: Id | list[Id] = field("the intervention(s) B it depends on", "interventions")
    ratio: NonNegative = field("most units of A per unit of B", "ratio", default=1.0)
    description: str | None = field("the rule in words", "text", default=None)

    def sides(self) -> tuple[list[str], list[str]]:
        """(A, B) as lists."""
        a, b = self.intervention, self.requires
        return ([a] if isinstance(a, str) else a), ([b] if isinstance(b, str) else b)


class Resource(Strict):
    """Workforce or another resource used by interventions, with a capacity each year."""

    name: str = field("readable name", "text")
    unit: str = field("unit of the resource (hour, minute, FTE, slot)", "text")
    capacity: NonNegative = field("available each plan year", "resource units a year")
    source: str | None = field("where the capacity comes from", "text", default=None)


class Objective(Strict):
    """What the plan optimises."""

    kind: Literal["health_gain", "min_spend", "net_benefit"] = field(
        "health_gain: maximise discounted health gain; min_spend: minimise discounted spend "
        "meeting every floor; net_benefit: maximise health gain minus cost / threshold",
        "",
        default="health_gain",
    )
    threshold: Positive | None = field(
        "with net_benefit: cost-effectiveness threshold", "currency per health unit", default=None
    )


class PathwayInfo(Strict):
    """Where the reusable evidence came from (filled in from the pathway model file)."""

    pathway: str | None = field("pathway id", "text", default=None)
    title: str | None = field("pathway title", "text", default=None)
    description: str | None = field("what the pathway covers", "text", default=None)
    sources: list[str] | dict[str, str] | None = field("sources used", "text", default=None)


_described = field  # UncertainParameter has a field named `field`, which hides the helper there


class UncertainParameter(Strict):
    """Uncertain numbers of the plan (one, or several that move together) and their distribution."""

    # The value written at the field is the point value: the deterministic plan uses it, and a
    # distribution's mean or mode defaults to it. With `relative: true` the numbers below are
    # multiples of each field's value (1 is the value, 0.5 half of it). docs/uncertainty.md.

    field: str | None = _described(
        "the uncertain number, as a field path (interventions.education.unit_cost)",
        "field path",
        default=None,
    )
    fields: list[str] | None = _described(
        "several numbers that move together (perfectly correlated), with relative: true",
        "field paths",
        default=None,
    )
    distribution: Literal["range", "normal", "lognormal", "beta", "triangular"] = _described(
        "range: uniform from low to high; normal: mean and se; lognormal: mean and se (or "
        "sigma, on the log scale); beta: a share with mean and se; triangular: low, mode, high",
        "",
    )
    relative: bool = _described(
        "the numbers below are multiples of each field's value (1 = the value)", "", default=False
    )
    low: Number | None = _described(
        "least value (range, triangular)", "field unit, or multiple", default=None
    )
    high: Number | None = _described(
        "greatest value (range, triangular)", "field unit, or multiple", default=None
    )
    mode: Number | None = _described(
        "most likely value (triangular; default: the field's value)",
        "field unit, or multiple",
        default=None,
    )
    mean: Number | None = _described(
        "mean (normal, lognormal, beta; default: the field's value)",
        "field unit, or multiple",
        default=None,
    )
    se: NonNegative | None = _described(
        "standard error: the distribution's standard deviation (normal, lognormal, beta); 0 for "
        "none",
        "field unit, or multiple",
        default=None,
    )
    sigma: NonNegative | None = _described(
        "lognormal only, instead of se: standard deviation of the natural log", "", default=None
    )
    source: str | None = _described("evidence behind the distribution", "text", default=None)
    notes: str | None = _described("anything else a reader should know", "text", default=None)


class Uncertainty(Strict):
    """Uncertain numbers of the plan, for `planner uncertainty` (draws of the evidence)."""

    seed: Annotated[Whole, Field(ge=0)] = _described(
        "seed of the random draws: the same seed, the same draws", "", default=0
    )
    parameters: dict[Id, UncertainParameter] = _described(
        "the uncertain numbers by id", "", default={}
    )


class Instance(Strict):
    """One local plan: a pathway model's evidence plus local money, partners, floors, limits."""

    name: str = field("short name of the plan", "text")
    title: str | None = field("title shown on outputs", "text", default=None)
    description: str | None = field("what the plan is for", "text", default=None)
    model: str | None = field(
        "path of the pathway model file, relative to this file", "path", default=None
    )
    pathway: PathwayInfo = field("from the pathway model", "", default=PathwayInfo())
    currency: Literal["GBP", "USD", "EUR"] = field(
        "currency of every money field", "", default="GBP"
    )
    health_unit: str = field("unit of health gain (QALY, DALY averted)", "text", default="QALY")
    population: Annotated[Whole, Field(gt=0)] | None = field(
        "people covered", "persons", default=None
    )
    baseline_year: Whole = field("the observed year the baseline figures describe", "year")
    horizon: Annotated[Whole, Field(ge=1, le=50)] = field(
        "number of plan years after the baseline", "years"
    )
    discount_rate: Share = field(
        "annual discount rate for health gain and money (first plan year undiscounted)",
        "share a year",
        default=0.035,
    )
    objective: Objective = field("what to optimise", "", default=Objective())
    envelope: Envelope | None = field(
        "the joint budget (leave out for no budget limit)", "", default=None
    )
    savings: Savings = field("what happens to money left unspent", "", default=Savings())
    refused_outcomes: dict[Id, RefusedOutcome] = field(
        "outcomes the commissioner will not pay for", "by outcome", default={}
    )
    partners: dict[Id, Partner] = field("organisations that receive pathway money", "", default={})
    interventions: dict[Id, Intervention] = field("what the pathway can fund", "", min_length=1)
    outcomes: dict[Id, Outcome] = field("what moves when interventions move", "", default={})
    resources: dict[Id, Resource] = field("workforce and other capacities", "", default={})
    shared_services: dict[Id, SharedService] = field(
        "services one partner hosts for several interventions", "", default={}
    )
    floors: dict[Id, Floor] = field("bounds on outcomes", "", default={})
    groups: dict[Id, Group] = field("needs met together, or shared by substitutes", "", default={})
    complements: dict[Id, Complement] = field(
        "interventions that need others alongside", "", default={}
    )
    scenarios: dict[Id, dict[str, Any]] = field(
        "named overrides of any field above (plus a description)", "", default={}
    )
    uncertainty: Uncertainty | None = field(
        "uncertain numbers and their distributions (planner uncertainty)", "", default=None
    )
    sources: list[str] | dict[str, str] | None = field(
        "sources of the local figures", "text", default=None
    )

    @field_validator(
        "interventions", "outcomes", "partners", "resources", "shared_services", mode="before"
    )
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def plan_years(self) -> list[int]:
        """Calendar labels of the plan years, baseline year + 1 onwards."""
        return [self.baseline_year + t for t in range(1, self.horizon + 1)]

    def envelope_by_year(self) -> dict[int, float] | None:
        """Envelope for each plan year, or None if there is no budget limit."""
        if self.envelope is None:
            return None
        if self.envelope.amounts is not None:
            return {year: float(self.envelope.amounts[year]) for year in self.plan_years}
        base = self.envelope.baseline or 0.0
        rate = self.envelope.reduction or 0.0
        return {year: base * (1 - rate) ** t for t, year in enumerate(self.plan_years, start=1)}

    @property
    def currency_symbol(self) -> str:
        return CURRENCY_SYMBOL[self.currency]

    def floor_bound(self, floor_id: str) -> float:
        """A floor's bound as a level: its value, or its ratio times the outcome's baseline."""
        floor = self.floors[floor_id]
        if floor.value is not None:
            return floor.value
        return (floor.relative or 0.0) * self.outcomes[floor.outcome].baseline

    def option_provider(self, option: SupplyOption) -> str | None:
        """The partner paid for an option's units: its own provider, else its shared host's."""
        if option.provider is not None or option.shared is None:
            return option.provider
        host = self.shared_services.get(option.shared)
        return host.provider if host is not None else None

    def option_years(self, first_year: int | None, last_year: int | None = None) -> list[int]:
        """Plan years from `first_year` to `last_year` (None: no limit on that side)."""
        return [
            y
            for y in self.plan_years
            if (first_year is None or y >= first_year) and (last_year is None or y <= last_year)
        ]

    def supply_years(self, option: SupplyOption) -> list[int]:
        """Plan years an option can supply: from its first year (and its shared service's) to
        its last year."""
        service = self.shared_services.get(option.shared or "")
        firsts = [option.first_year, service.first_year if service is not None else None]
        first = max((y for y in firsts if y is not None), default=None)
        return self.option_years(first, option.last_year)

    def discount(self, year: int) -> float:
        """Discount factor of a plan year: 1 in the first plan year."""
        return float((1 + self.discount_rate) ** -(year - self.baseline_year - 1))
