"""Seeded national-scale instances in planner's own format, for benchmarks.

`national(variables, seed)` returns the instance as a dict (what `planner.load` reads from YAML;
it passes planner's validation unchanged) whose built LP has close to `variables` columns:
areas x pathways x interventions (x tranches) x years, plus one carry-forward column a year.

Planner has one envelope per instance, so a national instance is ONE ICB-style joint budget over
many areas and two pathways (adult diabetes; heart failure and coronary heart disease). Each area
has its own partners (acute trust, GP consortium, community provider, local authority), its own
outcomes and floors; the areas share the envelope and nothing else. At 1e6 columns there are
~16,700 areas, far more than England's ~1,250 primary care networks: the sizes are for timing,
the structure is what a national plan looks like.

Magnitudes (per person on the pathway's register, scaled from the Lewisham-like instances of
/work/shared/domain-data.md sections 8 and 9):
- unit costs, QALYs per unit and effects are the data sheet's figures: DESMOND's 0.039 QALY
  (S), RAPSID's £15 (S), the £148 A&E and £2,700 / £2,514 admission tariffs (S), HF nurses'
  -0.14 admissions per patient-year (0.40 readmission rate x 35%, S); the rest are the sheet's
  ASSUMPTIONs (outpatients £140, community contacts £75, most effects);
- per area: population uniform 150,000-400,000 (ASSUMPTION around Lewisham's 275,900, S);
  diabetes register 4-10% of it (the QOF range between CCGs, S); heart failure + CHD register
  2.4-4.2% (ASSUMPTION around the sheet's 0.8% + 2.3%); baseline activity the Lewisham rates
  per registered person times a factor 0.85-1.15 (ASSUMPTION); unit costs times a local cost
  factor 0.95-1.10 (ASSUMPTION, like the market forces factor); effects times 0.8-1.2
  (ASSUMPTION);
- the envelope starts at 1% above today's total spend and falls 2% a year, compounding (sheet
  sec. 8: 2%, ASSUMPTION anchored to Lewisham CCG's £8m on £407m); savings are carried forward;
- partners' limits: the acute trust may lose 10-14% of its pathway income a year (the Lewisham
  instance needs 10%), the GP consortium 5% and the community provider and local authority 10%;
  GP consortium and community provider may gain at most 30% and 50% (ASSUMPTIONs);
- floors (ASSUMPTIONs anchored on the sheet's 3% BCF cut): A&E attendances and emergency
  admissions no higher than today in any year, diabetes admissions 1.5% lower in the last year
  (the BCF's 3% is out of reach within these capacities), amputations no higher than today,
  informed patients 2% more in the last year;
- an amputation costs the local authority £5,000 a year of social care (the diabetes model's
  ASSUMPTION) and 0.5 QALY (ASSUMPTION, from EQ-5D 0.31 after a major amputation, S);
- structured education has two tranches (the second at half DESMOND's gain: ASSUMPTION of
  diminishing returns); some effects come a year later (lags, ASSUMPTION); outpatients, education
  and HF nurses have ramps (ASSUMPTION).

With `uncertainty=True` an `uncertainty` section makes the national evidence uncertain, one
parameter moving the same number in every area (it is one piece of evidence): DESMOND's gain
(triangular, half to all of it, sheet sec. 10), HF nurses' and foot protection's effect on
admissions and amputations, the admission tariffs and the outpatient price (ASSUMPTION spreads).

Run `python bench/generate.py --variables 10000 --seed 1 --out x.yaml` to write one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

YEARS = 5  # plan years
BASELINE_YEAR = 2025
PARTNERS = ("acute", "gp", "community", "la")

# Per pathway: interventions as (id, name, unit, £ a unit, QALY a unit or tranches, effects,
# partner(s), baseline units per registered person, most units per registered person, least
# units per registered person or None, ramp or None). Effects: outcome -> per unit, or a list
# of (per unit, lag).
Effects = dict[str, float | list[tuple[float, int]]]
DIABETES: list[tuple[Any, ...]] = [
    ("self_care", "Self-care information and peer support", "patient-year", 15.0, 0.0005,
     {"ae": -0.002, "nel": -0.0015, "informed": 1.0}, "la", 0.448, 1.0, None, None),
    ("education", "Structured education (DESMOND / X-PERT)", "participant", 120.0,
     [(0.10, 0.039), (None, 0.0195)],
     {"ae": -0.011, "nel": [(-0.004, 0), (-0.004, 1)], "informed": 1.0},
     "community", 0.0597, 0.187, None, {"max_increase_share": 0.5}),
    ("gp_review", "GP annual review and care plan", "patient-year", 70.0, 0.005,
     {"ae": -0.005, "nel": -0.005, "amputations": -0.0005, "informed": 0.5},
     "gp", 0.970, 1.0, 0.9, None),
    ("clinic", "Community diabetes clinic / DSN", "specialist contact", 75.0, 0.003,
     {"ae": -0.002, "nel": -0.002}, "community", 0.373, 0.448, None, None),
    ("outpatient", "Hospital diabetic-medicine outpatient", "specialist contact", 140.0, 0.002,
     {"nel": -0.001}, "acute", 0.672, 0.746, None,
     {"max_decrease_share": 0.25, "max_increase_share": 0.10}),
    ("screening", "Diabetic eye screening", "screen", 35.0, 0.0015, {}, "acute", 0.828, 1.0,
     0.80, None),
    ("foot", "Foot protection + MDFT", "high-risk patient-year", 300.0, 0.02,
     {"ae": -0.01, "nel": -0.03, "amputations": [(-0.009, 1)]},
     {"community": 0.5, "acute": 0.5}, 0.112, 0.149, None, None),
]  # fmt: skip
HEART: list[tuple[Any, ...]] = [
    ("hf_nurse", "Heart failure specialist nurse caseload", "patient-year", 395.0, 0.02,
     {"nel": -0.14, "ae": -0.05}, "community", 0.035, 0.070, None, {"max_increase_share": 0.3}),
    ("rehab", "Cardiac rehabilitation", "programme", 520.0, 0.05,
     {"nel": [(-0.05, 1)], "ae": -0.02}, {"acute": 0.5, "community": 0.5}, 0.0234, 0.041,
     None, None),
    ("gp_review", "GP heart failure / CHD review", "patient-year", 70.0, 0.003,
     {"nel": -0.005, "ae": -0.005}, "gp", 0.994, 1.0, 0.9, None),
    ("outpatient", "Cardiology outpatient", "attendance", 140.0, 0.002, {"nel": -0.002},
     "acute", 0.702, 0.702, None, {"max_decrease_share": 0.25}),
]  # fmt: skip
# Outcomes per pathway: (id, name, unit, baseline per registered person, tariff £, paid to,
# health gain per event, maximum per registered person or None, external cost to the LA).
DIABETES_OUTCOMES: list[tuple[Any, ...]] = [
    ("ae", "A&E attendances", "attendance", 0.140, 148.0, "acute", 0.0, None, 0.0),
    ("nel", "Emergency admissions", "admission", 0.0858, 2700.0, "acute", 0.0, None, 0.0),
    ("amputations", "Amputations", "amputation", 0.00261, 0.0, None, -0.5, None, 5000.0),
    ("informed", "Informed and confident to self-manage", "patient", 0.79, 0.0, None, 0.0, 1.0,
     0.0),
]  # fmt: skip
HEART_OUTCOMES: list[tuple[Any, ...]] = [
    ("nel", "Heart failure / CHD emergency admissions", "admission", 0.0702, 2514.0, "acute",
     0.0, None, 0.0),
    ("ae", "Heart failure / CHD A&E attendances", "attendance", 0.175, 148.0, "acute", 0.0, None,
     0.0),
]  # fmt: skip
# Floors per pathway: (id, outcome, bound, relative, last year only).
DIABETES_FLOORS = [
    ("ae", "ae", "upper", 1.0, False),
    ("nel", "nel", "upper", 1.0, False),
    ("nel_cut", "nel", "upper", 0.985, True),
    ("amputations", "amputations", "upper", 1.0, False),
    ("informed", "informed", "lower", 1.02, True),
]
HEART_FLOORS = [("nel", "nel", "upper", 1.0, False), ("ae", "ae", "upper", 1.0, False)]
PATHWAYS = {
    "dm": (DIABETES, DIABETES_OUTCOMES, DIABETES_FLOORS),
    "hf": (HEART, HEART_OUTCOMES, HEART_FLOORS),
}
LIMITS = {  # partner: (name, most loss share or (low, high) drawn, most gain share)
    "acute": ("Acute trust", (0.10, 0.14), None),
    "gp": ("GP consortium", 0.05, 0.30),
    "community": ("Community provider", 0.10, 0.50),
    "la": ("Local authority (public health and social care)", 0.10, None),
}
ENVELOPE_MARGIN = 1.01  # the envelope starts 1% above today's spend (ASSUMPTION)
REDUCTION = 0.02


def columns_per_area() -> int:
    """LP columns one area adds: every intervention (each tranche) in every plan year."""
    per_year = sum(
        len(row[4]) if isinstance(row[4], list) else 1
        for items, _, _ in PATHWAYS.values()
        for row in items
    )
    return per_year * YEARS


def areas_for(variables: int) -> int:
    """Number of areas whose LP has closest to `variables` columns (at least one)."""
    return max(1, round((variables - YEARS) / columns_per_area()))


def _round(value: float, digits: int = 6) -> float:
    """A float with `digits` significant digits, as a plain Python float (stable YAML)."""
    return float(f"{value:.{digits}g}")


def _effects(effects: Effects, factor: float, prefix: str) -> dict[str, Any]:
    """Effects scaled by `factor`, on the outcomes of the same area and pathway."""
    out: dict[str, Any] = {}
    for name, effect in effects.items():
        oid = f"{prefix}_{name}"
        if isinstance(effect, list):
            listed = [{"per_unit": _round(e * factor, 4), "lag": lag} for e, lag in effect]
            out[oid] = listed[0] if len(listed) == 1 else listed
        else:
            out[oid] = _round(effect * factor, 4)
    return out


def national(variables: int, seed: int = 0, uncertainty: bool = False) -> dict[str, Any]:
    """A national instance (planner's YAML format, as a dict) whose LP has about `variables`
    columns, drawn from a numpy Generator seeded with `seed`: the same seed, the same dict."""
    if variables < 1:
        raise ValueError("variables must be at least 1")
    rng = np.random.default_rng(seed)
    n = areas_for(variables)
    population = rng.integers(150_000, 400_001, size=n)
    registers = {
        "dm": np.round(population * rng.uniform(0.04, 0.10, size=n)),
        "hf": np.round(population * rng.uniform(0.024, 0.042, size=n)),
    }
    cost_factor = rng.uniform(0.95, 1.10, size=n)
    acute_loss = rng.uniform(*LIMITS["acute"][1], size=n)  # type: ignore[misc]
    activity = {p: rng.uniform(0.85, 1.15, size=(n, len(items))) for p, (items, _, _) in
                PATHWAYS.items()}  # fmt: skip
    evidence = {p: rng.uniform(0.8, 1.2, size=(n, len(items))) for p, (items, _, _) in
                PATHWAYS.items()}  # fmt: skip

    partners: dict[str, Any] = {}
    interventions: dict[str, Any] = {}
    outcomes: dict[str, Any] = {}
    floors: dict[str, Any] = {}
    spend = 0.0
    last = BASELINE_YEAR + YEARS
    for a in range(n):
        area = f"a{a + 1:05d}"
        for pid, (name, loss, gain) in LIMITS.items():
            partner: dict[str, Any] = {"name": f"{name}, area {a + 1}"}
            partner["max_loss_share"] = _round(acute_loss[a] if pid == "acute" else loss, 4)  # type: ignore[arg-type]
            if gain is not None:
                partner["max_gain_share"] = gain
            partners[f"{area}_{pid}"] = partner
        for p, (items, outcome_rows, floor_rows) in PATHWAYS.items():
            register = float(registers[p][a])
            for j, (
                iid,
                name,
                unit,
                cost,
                gain,
                effects,
                who,
                base,
                most,
                least,
                ramp,
            ) in enumerate(items):
                price = _round(cost * cost_factor[a], 5)
                baseline = float(np.round(base * register * activity[p][a, j]))
                entry: dict[str, Any] = {"name": name, "unit": unit, "unit_cost": price}
                if isinstance(gain, list):
                    entry["tranches"] = [
                        {"units": float(np.round(size * register))} if size else {}
                        for size, _ in gain
                    ]
                    for tranche, (_, g) in zip(entry["tranches"], gain, strict=True):
                        tranche["health_gain"] = g
                else:
                    entry["health_gain"] = gain
                entry["effects"] = _effects(effects, float(evidence[p][a, j]), f"{area}_{p}")
                entry["delivered_by"] = (
                    f"{area}_{who}"
                    if isinstance(who, str)
                    else {f"{area}_{k}": share for k, share in who.items()}
                )
                entry["baseline_units"] = baseline
                entry["max_units"] = max(baseline, float(np.round(most * register)))
                if least is not None:
                    entry["min_units"] = min(baseline, float(np.round(least * register)))
                if ramp is not None:
                    entry["ramp"] = dict(ramp)
                interventions[f"{area}_{p}_{iid}"] = entry
                spend += price * baseline
            for oid, name, unit, base, tariff, paid, hpe, maximum, external in outcome_rows:
                level = float(np.round(base * register))
                outcome: dict[str, Any] = {"name": name, "unit": unit, "baseline": level}
                if maximum is not None:
                    outcome["maximum"] = float(np.round(maximum * register))
                if tariff:
                    outcome["tariff"] = _round(tariff * cost_factor[a], 5)
                    outcome["paid_to"] = f"{area}_{paid}"
                    spend += outcome["tariff"] * level
                if hpe:
                    outcome["health_gain_per_event"] = hpe
                if external:
                    outcome["external_costs"] = {f"{area}_la": external}
                outcomes[f"{area}_{p}_{oid}"] = outcome
            for fid, oid, bound, relative, last_only in floor_rows:
                floor: dict[str, Any] = {
                    "outcome": f"{area}_{p}_{oid}",
                    "bound": bound,
                    "relative": relative,
                }
                if last_only:
                    floor["year"] = last
                floors[f"{area}_{p}_{fid}"] = floor

    data: dict[str, Any] = {
        "name": f"national_{variables}_{seed}",
        "title": f"National joint budget, {n} areas x 2 pathways, {BASELINE_YEAR + 1}-{last}",
        "description": (
            "Synthetic national instance for benchmarks (bench/generate.py): one joint envelope "
            "over many areas' diabetes and heart failure / CHD pathways, each area with its own "
            "partners, outcomes and floors. Magnitudes from /work/shared/domain-data.md; see "
            "the generator's docstring for which are ASSUMPTIONs."
        ),
        "health_unit": "QALY",
        "baseline_year": BASELINE_YEAR,
        "horizon": YEARS,
        "discount_rate": 0.035,
        "objective": {"kind": "health_gain"},
        "envelope": {"baseline": _round(spend * ENVELOPE_MARGIN, 9), "reduction": REDUCTION},
        "savings": {"rule": "carry_forward"},
        "partners": partners,
        "interventions": interventions,
        "outcomes": outcomes,
        "floors": floors,
    }
    if uncertainty:
        data["uncertainty"] = _uncertainty(n, seed)
    return data


def _uncertainty(n: int, seed: int) -> dict[str, Any]:
    """National evidence made uncertain: each parameter moves one number in every area."""
    areas = [f"a{a + 1:05d}" for a in range(n)]
    return {
        "seed": seed,
        "parameters": {
            "desmond_gain": {
                "fields": [
                    f"interventions.{area}_dm_education.tranches[{k}].health_gain"
                    for area in areas
                    for k in (0, 1)
                ],
                "relative": True,
                "distribution": "triangular",
                "low": 0.5,
                "high": 1.0,
                "source": "DESMOND lifetime gain may be half the trial's (data sheet sec. 10)",
            },
            "hf_nurse_admissions": {
                "fields": [
                    f"interventions.{area}_hf_hf_nurse.effects.{area}_hf_nel" for area in areas
                ],
                "relative": True,
                "distribution": "normal",
                "se": 0.15,
                "source": "BHF evaluation, 35% fewer readmissions (sheet sec. 6); spread "
                "ASSUMPTION",
            },
            "foot_amputations": {
                "fields": [
                    f"interventions.{area}_dm_foot.effects.{area}_dm_amputations.per_unit"
                    for area in areas
                ],
                "relative": True,
                "distribution": "lognormal",
                "se": 0.3,
                "source": "Salford foot protection, amputations down two-thirds (sheet sec. 6); "
                "spread ASSUMPTION",
            },
            "admission_tariff": {
                "fields": [f"outcomes.{area}_{p}_nel.tariff" for area in areas for p in PATHWAYS],
                "relative": True,
                "distribution": "normal",
                "se": 0.05,
                "source": "reference costs (sheet sec. 5); spread ASSUMPTION",
            },
            "outpatient_price": {
                "fields": [
                    f"interventions.{area}_{p}_outpatient.unit_cost"
                    for area in areas
                    for p in PATHWAYS
                ],
                "relative": True,
                "distribution": "range",
                "low": 0.9,
                "high": 1.1,
                "source": "ASSUMPTION around the £120 all-specialty average (sheet sec. 5)",
            },
        },
    }


def dump(data: dict[str, Any]) -> str:
    """The instance as YAML text (key order kept; the same dict, the same bytes)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a seeded national benchmark instance.")
    parser.add_argument("--variables", type=int, default=10_000, help="LP columns, about")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uncertainty", action="store_true", help="add an uncertainty section")
    parser.add_argument("--out", type=Path, required=True, help="YAML file to write")
    args = parser.parse_args(argv)
    text = dump(national(args.variables, args.seed, args.uncertainty))
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(args.out)  # written whole or not at all
    print(f"wrote {args.out} ({len(text):,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
