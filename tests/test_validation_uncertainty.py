"""Uncertain numbers and their distributions: every problem, word for word.

The companion of test_validation_messages.py (whose guard lists check_uncertainty as tested
here), written the same way: the instance is YAML text after the four HEAD lines (plan years
2021-2022), so its own fields start on line 5 and the line numbers in the messages are the ones
in the test.
"""

from __future__ import annotations

from tests.test_validation_messages import Check, shown

PLAN = (
    "envelope: {baseline: 1000}\n"  # 5
    "partners: {gp: {name: GP, max_loss_share: 0.1}}\n"
    "interventions:\n"
    "  a:\n"
    "    name: A\n"
    "    unit: patient\n"  # 10
    "    unit_cost: 10\n"
    "    health_gain: 0.5\n"
    "    max_units: 50\n"
    "    delivered_by: gp\n"
    "    effects: {ae: {per_unit: -0.1, lag: 1}}\n"  # 15
    "outcomes:\n"
    "  ae: {name: AE, unit: attendance, baseline: 20}\n"
    "uncertainty:\n"
    "  parameters:\n"
)


def test_check_uncertainty_each_parameter_names_real_numbers_once(check: Check) -> None:
    error = check(
        PLAN
        + '    p1: {field: "interventions.a..cost", distribution: range, low: 1, high: 2}\n'  # 20
        "    p2: {field: interventions.b.unit_cost, distribution: range, low: 1, high: 2}\n"
        "    p3: {field: interventions.a.unit_price, distribution: range, low: 1, high: 2}\n"
        "    p4: {field: interventions.a.effects.ae, distribution: range, low: 1, high: 2}\n"
        "    p5: {field: interventions.a.min_units, distribution: range, low: 1, high: 2}\n"
        "    p6: {field: interventions.a.effects.ae.lag, distribution: range, low: 0, high: 2}\n"
        "    p7: {field: interventions.a.name, distribution: range, low: 0, high: 2}\n"
        "    p8: {field: scenarios.s.envelope, distribution: range, low: 0, high: 2}\n"
        "    p9: {field: interventions.a.unit_cost, distribution: range, low: 5, high: 15}\n"
        "    p10: {fields: [interventions.a.unit_cost], relative: true, distribution: range,"
        " low: 0.5, high: 1.5}\n"
        "    p11: {field: interventions.a.health_gain, fields: [interventions.a.max_units],"  # 30
        " distribution: range, low: 0, high: 1}\n"
        "    p12: {distribution: range, low: 0, high: 1}\n"
        "    p13: {fields: [interventions.a.health_gain, interventions.a.max_units],"
        " distribution: range, low: 0, high: 1}\n"
        '    p14: {field: "interventions.a.effects.ae.per_unit[0]", distribution: range,'
        " low: 0, high: 1}\n"
        "    p15: {fields: [], distribution: range, low: 0, high: 1}\n"
    )
    assert shown(error) == [
        "instance.yaml:20: uncertainty.parameters.p1.field: 'interventions.a..cost' is not a "
        "field path\n"
        "    fix: write the field as error messages show it: names joined by dots, list "
        "positions in brackets (interventions.education.tranches[0].health_gain)",
        "instance.yaml:21: uncertainty.parameters.p2.field: names interventions.b.unit_cost, "
        "but this instance has no 'b' under interventions\n"
        "    fix: check the spelling; interventions has: a",
        "instance.yaml:22: uncertainty.parameters.p3.field: names interventions.a.unit_price, "
        "but this instance has no 'unit_price' under interventions.a\n"
        "    fix: did you mean unit_cost?",
        "instance.yaml:23: uncertainty.parameters.p4.field: names interventions.a.effects.ae, "
        "which is a set of fields, not a number\n"
        "    fix: name one number inside it (interventions.a.effects.ae.per_unit, "
        "interventions.a.effects.ae.lag)",
        "instance.yaml:24: uncertainty.parameters.p5.field: names interventions.a.min_units, "
        "which has no value in this instance\n"
        "    fix: give it a value in the instance, or remove this parameter",
        "instance.yaml:25: uncertainty.parameters.p6.field: names "
        "interventions.a.effects.ae.lag, a whole number (a year, a lag or a count): only "
        "numbers that can take any value can be uncertain\n"
        "    fix: name an effect, health gain, unit cost, baseline or another real number",
        "instance.yaml:26: uncertainty.parameters.p7.field: names interventions.a.name, which "
        "is not a number (it is 'A')\n"
        "    fix: name an effect, health gain, unit cost, baseline or another real number",
        "instance.yaml:27: uncertainty.parameters.p8.field: scenarios.s.envelope is not a "
        "number of the plan: scenarios are applied before the draws\n"
        "    fix: name a number of the instance itself, such as "
        "interventions.education.unit_cost",
        "instance.yaml:29: uncertainty.parameters.p10.fields[0]: interventions.a.unit_cost is "
        "also made uncertain by parameter p9\n"
        "    fix: give each number one parameter; to move numbers together, list them in one "
        "parameter's fields",
        "instance.yaml:30: uncertainty.parameters.p11: gives both field and fields\n"
        "    fix: keep field for one number, or fields for several that move together",
        "instance.yaml:31: uncertainty.parameters.p12: names no field\n"
        "    fix: give field: <the uncertain number, such as interventions.education.unit_cost> "
        "(or fields: [...] for numbers that move together)",
        "instance.yaml:32: uncertainty.parameters.p13.relative: is false, but the parameter "
        "names 2 fields that move together, so its numbers must be multiples of each field's "
        "value\n"
        "    fix: write relative: true and give the numbers as multiples (0.5 for half, 1 for "
        "the field's value)",
        "instance.yaml:33: uncertainty.parameters.p14.field: names "
        "interventions.a.effects.ae.per_unit[0], but interventions.a.effects.ae.per_unit is a "
        "single value\n"
        "    fix: name interventions.a.effects.ae.per_unit itself",
        "instance.yaml:34: uncertainty.parameters.p15: has an empty list of fields\n"
        "    fix: give field: <the uncertain number, such as interventions.education.unit_cost> "
        "(or fields: [...] for numbers that move together)",
    ]


NUMBERS = (
    "envelope: {baseline: 1000}\n"  # 5
    "partners: {gp: {name: GP, max_loss_share: 0.1}}\n"
    "interventions:\n"
    "  a: {name: A, unit: patient, unit_cost: 10, health_gain: 0.5, max_units: 50,"
    " delivered_by: gp, effects: {ae: -0.1}}\n"
    "  b:\n"
    "    name: B\n"  # 10
    "    unit: patient\n"
    "    unit_cost: 10\n"
    "    max_units: 50\n"
    "    delivered_by: gp\n"
    "    tranches: [{units: 10, health_gain: 0.2}, {health_gain: 0.1}]\n"  # 15
    "    supply:\n"
    "      options:\n"
    "        own: {mode: make, provider: gp, unit_price: 5, fixed_cost: 100, setup_cost: 0,"
    " capacity: 50}\n"
    "outcomes:\n"
    "  ae: {name: AE, unit: attendance, baseline: 20, paid_to: gp, tariff: 1}\n"  # 20
    "uncertainty:\n"
    "  parameters:\n"
)


def test_check_uncertainty_numbers_fit_the_kind_the_value_and_the_domain(check: Check) -> None:
    error = check(
        NUMBERS
        + "    q1: {field: interventions.a.unit_cost, distribution: range, low: 5, high: 15,"
        " se: 1}\n"
        "    q2: {field: interventions.a.health_gain, distribution: normal}\n"
        "    q3: {field: interventions.a.effects.ae, distribution: lognormal, se: 0.01,"  # 25
        " sigma: 0.2}\n"
        "    q4: {field: outcomes.ae.baseline, distribution: range, low: 30, high: 10}\n"
        "    q5: {field: outcomes.ae.tariff, distribution: range, low: 2, high: 3}\n"
        "    q6: {field: interventions.b.unit_cost, distribution: triangular, low: 5, high: 15,"
        " mode: 20}\n"
        "    q7: {field: interventions.a.max_units, distribution: range, low: -10, high: 60}\n"
        "    q8: {field: partners.gp.max_loss_share, distribution: triangular, low: 0.05,"  # 30
        " high: 1.2}\n"
        "    q9: {field: envelope.baseline, distribution: beta, se: 0.1, relative: true}\n"
        "    q10: {field: interventions.b.max_units, distribution: beta, se: 0.1, mean: 0.5}\n"
        "    q11: {field: interventions.a.baseline_units, distribution: lognormal, se: 1}\n"
        "    q12: {field: interventions.b.supply.options.own.setup_cost, distribution: range,"
        " low: 0, high: 10}\n"
        "    q13: {field: interventions.b.supply.options.own.fixed_cost, distribution: range,"  # 35
        " low: 0, high: 200}\n"
        '    q14: {field: "interventions.b.tranches[0].health_gain", distribution: range,'
        " low: 0.15, high: 0.25}\n"
        "    q15: {field: discount_rate, distribution: beta,"
        " se: 0.5, mean: 0.5}\n"
        "    q16: {field: interventions.a.effects.ae, distribution: normal, se: 0.01}\n"
        "    q17: {field: interventions.b.supply.options.own.unit_price, distribution: lognormal,"
        " se: 0.1, mean: -0.5}\n"
    )
    assert shown(error) == [
        "instance.yaml:23: uncertainty.parameters.q1.se: is not used by a range distribution\n"
        "    fix: remove it; a range distribution takes low, high",
        "instance.yaml:24: uncertainty.parameters.q2: a normal distribution needs se\n"
        "    fix: give se: the standard error (the distribution's standard deviation)",
        "instance.yaml:25: uncertainty.parameters.q3: gives both se and sigma\n"
        "    fix: give se (the standard deviation of the value) or sigma (of its natural log), "
        "not both",
        "instance.yaml:26: uncertainty.parameters.q4.low: low 30 is above high 10\n"
        "    fix: swap them, or correct one",
        "instance.yaml:27: uncertainty.parameters.q5: the field's value 1 is outside low 2 to "
        "high 3: the deterministic plan would use a number the distribution never draws\n"
        "    fix: widen low and high to include it, or correct the field's value",
        "instance.yaml:28: uncertainty.parameters.q6.mode: mode 20 is outside low 5 to high 15\n"
        "    fix: give a mode between low and high, or leave it out for the field's value",
        "instance.yaml:29: uncertainty.parameters.q7.low: low -10 would put "
        "interventions.a.max_units at -10; it must be at least 0\n"
        "    fix: choose low so that interventions.a.max_units stays at least 0",
        "instance.yaml:30: uncertainty.parameters.q8.high: high 1.2 would put "
        "partners.gp.max_loss_share at 1.2; it must be at most 1\n"
        "    fix: choose high so that partners.gp.max_loss_share stays at most 1",
        "instance.yaml:31: uncertainty.parameters.q9.relative: is true, but a beta "
        "distribution is for shares\n"
        "    fix: write relative: false and give mean and se as shares (0.3 for 30%)",
        "instance.yaml:32: uncertainty.parameters.q10: the field's value 50 is outside 0 to 1, "
        "where a beta distribution draws: the deterministic plan would use a number the "
        "distribution never draws\n"
        "    fix: use beta for a share (0.3 for 30%), or use normal or lognormal",
        "instance.yaml:33: uncertainty.parameters.q11: a lognormal distribution needs a mean "
        "other than 0 (the field's value is 0)\n"
        "    fix: give mean, or use normal or range",
        "instance.yaml:34: uncertainty.parameters.q12.field: "
        "interventions.b.supply.options.own.setup_cost is 0 here: whether it is above 0 decides "
        "if the option needs a yes/no choice, so it cannot be uncertain from 0\n"
        "    fix: give it a value above 0 in the instance, or leave it certain",
        "instance.yaml:35: uncertainty.parameters.q13.low: low 0 would put "
        "interventions.b.supply.options.own.fixed_cost at 0; it must be above 0\n"
        "    fix: choose low so that interventions.b.supply.options.own.fixed_cost stays above "
        "0 (0 would remove a yes/no choice)",
        "instance.yaml:36: uncertainty.parameters.q14: moves the health gain of b's tranche 0 "
        "but not of all 2 tranches: a draw could make the gain per unit rise from one tranche "
        "to the next\n"
        "    fix: name every tranche's health_gain in fields, with relative: true, so they move "
        "together",
        "instance.yaml:37: uncertainty.parameters.q15.se: se 0.5 is too large for a share with "
        "mean 0.5: a beta distribution needs se below 0.5\n"
        "    fix: lower se, or use a range",
        "instance.yaml:38: uncertainty.parameters.q16.field: interventions.a.effects.ae is also "
        "made uncertain by parameter q3\n"
        "    fix: give each number one parameter; to move numbers together, list them in one "
        "parameter's fields",
        "instance.yaml:39: uncertainty.parameters.q17.mean: the field's value 5 is not of the "
        "sign of the mean -0.5: a lognormal distribution draws only numbers of its mean's sign, "
        "so the deterministic plan would use a number it never draws\n"
        "    fix: give a mean of the field's sign, or use normal or range",
    ]


def test_check_uncertainty_accepts_every_kind_and_zero_width(check: Check) -> None:
    # each kind once, valid, and one with zero width; a real mistake elsewhere shows that the
    # section itself raised nothing
    error = check(
        NUMBERS
        + "    r1: {field: interventions.a.unit_cost, distribution: range, low: 5, high: 15}\n"
        "    r2: {field: interventions.a.health_gain, distribution: normal, se: 0}\n"
        "    r3: {field: interventions.a.effects.ae, distribution: lognormal, se: 0.01}\n"  # 25
        "    r4: {field: partners.gp.max_loss_share, distribution: beta, se: 0.05}\n"
        '    r5: {fields: ["interventions.b.tranches[0].health_gain",'
        ' "interventions.b.tranches[1].health_gain"], relative: true,'
        " distribution: triangular, low: 0.5, high: 1}\n"
        "    r6: {field: interventions.b.supply.options.own.fixed_cost, distribution: lognormal,"
        " relative: true, sigma: 0.3}\n"
        "floors: {f: {outcome: ae, bound: upper}}\n"
    )
    assert shown(error) == [
        "instance.yaml:29: floors.f: needs exactly one of value and relative\n"
        "    fix: give value (a level) or relative (a multiple of baseline, 0.97 for 3% below)"
    ]
