"""Convert the Uganda health benefits package LPs (Mohan et al. 2023) into planner's own format.

The source files in ../shared/validation hold the authors' raw figures (`source_data`) next to
the LP their R code builds. The case is built from the raw figures the way a user would: one
intervention per Uganda intervention code measured in cases, costed per case, with DALYs averted
per case, minutes of each health-worker cadre per case and the cases in need. Only the structure
the raw figures cannot give is read from the LP: which interventions are substitutes (the
`substitutes_*` rows) and which are nested complements with what ratio (the `nested_complement_*`
rows, whose notes state the ratio).

Task shifting: each intervention can be delivered in four modes, each a planner intervention with
the same gain and costs; the minutes of the shifted cadres are done by nursing staff instead,
minute for minute. The cases in need are then shared by the four modes of each code.

Run `python -m tests.validation.uganda` from the repository root to regenerate the four files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT.parent / "shared" / "validation"
SOURCE_FILES = ("uganda_hbp_2023_base.yaml", "uganda_hbp_2023_taskshifting.yaml")

NURSING = "nursing_staff"
MODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "m1": ("as is", ()),
    "m2": ("pharmaceutical-staff tasks done by nursing staff", ("pharmaceutical_staff",)),
    "m3": ("nutrition-staff tasks done by nursing staff", ("nutrition_staff",)),
    "m4": (
        "pharmaceutical- and nutrition-staff tasks done by nursing staff",
        ("pharmaceutical_staff", "nutrition_staff"),
    ),
}
"""Delivery mode -> (description, cadres whose minutes nursing staff do instead)."""


def read_source(source: Path) -> dict[str, Any]:
    """The parsed source file."""
    with source.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def is_task_shifting(data: dict[str, Any]) -> bool:
    """Whether the source is the task-shifting scenario."""
    return bool(data["parameters"]["task_shifting"])


def file_names(data: dict[str, Any]) -> tuple[str, str]:
    """(model, instance) file stems for a source."""
    if is_task_shifting(data):
        return "uganda_hbp_taskshifting", "uganda_hbp_taskshifting"
    return "uganda_hbp", "uganda_hbp_base"


def intervention_id(code: str, mode: str | None = None) -> str:
    """Planner id of an intervention code (and delivery mode): `i001`, `i001_m2`."""
    return f"i{code}" if mode is None else f"i{code}_{mode}"


def cadre_minutes(data: dict[str, Any], item: dict[str, Any]) -> dict[str, float]:
    """Minutes per case of each cadre: the sum of its staff columns (unlisted columns dropped)."""
    sd = data["source_data"]
    minutes = dict(zip(sd["hr_minutes_per_case_columns"], item["hr_minutes_per_case"], strict=True))
    return {
        cadre: float(sum(minutes[column] for column in columns))
        for cadre, columns in sd["cadre_aggregation"].items()
    }


def shift(minutes: dict[str, float], cadres: tuple[str, ...]) -> dict[str, float]:
    """Minutes per case when nursing staff do the tasks of `cadres`, minute for minute."""
    shifted = dict(minutes)
    for cadre in cadres:
        shifted[NURSING] += shifted[cadre]
        shifted[cadre] = 0
    return shifted


def substitutes(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """Codes of each substitute group, from the names of the `substitutes_*` rows."""
    return [
        tuple(row["name"].split("_")[1:])
        for row in data["constraints"]
        if row["name"].startswith("substitutes_")
    ]


def complements(data: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(dependent code, required code, ratio) of each nested complement, from the rows' notes."""
    found = []
    for row in data["constraints"]:
        named = re.fullmatch(r"nested_complement_(\w+)_within_(\w+)", row["name"])
        if named is None:
            continue
        pattern = r"cases covered by (\w+) <= ([0-9.]+) x cases covered by (\w+)"
        stated = re.fullmatch(pattern, row["note"])
        if stated is None or (stated[1], stated[3]) != named.groups():
            raise ValueError(f"unexpected note on {row['name']}: {row['note']!r}")
        found.append((named[1], named[2], float(stated[2])))
    return found


def _nonzero(minutes: dict[str, float]) -> dict[str, float]:
    return {cadre: value for cadre, value in minutes.items() if value != 0}


def _modes(code: str, shifting: bool) -> list[str]:
    return [intervention_id(code, mode) for mode in MODES] if shifting else [intervention_id(code)]


def _sources(data: dict[str, Any]) -> list[str]:
    return [data["source"]["citation"], *data["source"]["urls"], *data["source"]["data_files"]]


def instance_documents(source: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (pathway model, instance) documents for a source file, in planner's format."""
    data = read_source(source)
    shifting = is_task_shifting(data)
    model_stem, instance_stem = file_names(data)
    items = sorted(data["source_data"]["interventions"], key=lambda item: item["code"])
    cases = {item["code"]: item["cases_in_need_2020"] for item in items}
    label = {item["code"]: item["intervention"] for item in items}
    parameters = data["parameters"]
    scenario = "task-shifting scenario" if shifting else "base scenario"

    variants: list[tuple[str | None, tuple[str, tuple[str, ...]]]] = (
        list(MODES.items()) if shifting else [(None, ("", ()))]
    )
    interventions: dict[str, Any] = {}
    for item in items:
        minutes = cadre_minutes(data, item)
        for mode, (words, cadres) in variants:
            name = item["intervention"] + (f" [{mode}: {words}]" if mode else "")
            interventions[intervention_id(item["code"], mode)] = {
                "name": name,
                "unit": "case",
                "unit_cost": item["consumables_cost_per_case_usd2019"],
                "full_cost": item["cost_per_case_usd2019"],
                "health_gain": item["dalys_averted_per_patient"],
                "resource_use": _nonzero(shift(minutes, cadres)),
                "notes": f"Uganda intervention code {item['code']}, programme {item['program']}",
            }
    model = {
        "pathway": model_stem,
        "title": f"Uganda health benefits package (Mohan et al. 2023), {scenario}",
        "description": (
            "Interventions of the Uganda health benefits package, per case: DALYs averted, full "
            "cost and consumables cost (USD 2019), minutes of each health-worker cadre."
            + (
                " Each intervention comes in four delivery modes (m1 as is; m2 "
                "pharmaceutical-staff tasks, m3 nutrition-staff tasks, m4 both, done by nursing "
                "staff minute for minute)."
                if shifting
                else ""
            )
        ),
        "health_unit": "DALY averted",
        "interventions": interventions,
        "sources": _sources(data),
    }

    resources = {
        row["cadre"]: {
            "name": row["source_row_label"],
            "unit": "minute",
            "capacity": row["total_patient_facing_minutes_per_year"],
            "source": (
                f"total patient-facing minutes a year of {row['total_staff']!r} staff "
                "(3_processing/uganda_hr_data.csv)"
            ),
        }
        for row in data["source_data"]["hr_capacity"]
    }
    groups: dict[str, Any] = {}
    if shifting:
        for code in cases:
            groups[f"cases_{code}"] = {
                "members": _modes(code, True),
                "rule": "share_need",
                "need": cases[code],
                "description": f"the four delivery modes of {code} share its cases in need",
            }
    for codes in substitutes(data):
        groups["substitutes_" + "_".join(codes)] = {
            "members": [iid for code in codes for iid in _modes(code, shifting)],
            "rule": "share_need",
            "need": max(cases[code] for code in codes),
            "description": "substitutes, together at most the larger need: "
            + "; ".join(f"{code} {label[code]}" for code in codes),
        }
    links: dict[str, Any] = {}
    for dependent, required, ratio in complements(data):
        many = _modes(dependent, shifting), _modes(required, shifting)
        links[f"nested_complement_{dependent}_within_{required}"] = {
            "intervention": many[0] if shifting else many[0][0],
            "requires": many[1] if shifting else many[1][0],
            "ratio": ratio,
            "description": f"cases of {dependent} ({label[dependent]}) at most {ratio!r} x cases "
            f"of {required} ({label[required]})",
        }
    instance: dict[str, Any] = {
        "name": instance_stem,
        "title": f"Uganda health benefits package 2020 (Mohan et al. 2023), {scenario}",
        "description": (
            "Choose the cases covered by each intervention to maximise net DALYs averted at USD "
            f"{parameters['cost_effectiveness_threshold_usd_per_daly']!r} per DALY, within the "
            "consumables budget, health-worker minutes by cadre, substitutes and nested "
            "complements."
        ),
        "model": f"../models/{model_stem}.yaml",
        "currency": "USD",
        "health_unit": "DALY averted",
        "baseline_year": 2019,
        "horizon": 1,
        "discount_rate": 0.0,
        "objective": {
            "kind": "net_benefit",
            "threshold": parameters["cost_effectiveness_threshold_usd_per_daly"],
        },
        "envelope": {"amounts": {2020: parameters["consumables_budget_usd"]}},
        "resources": resources,
    }
    if not shifting:
        instance["interventions"] = {
            intervention_id(code): {"max_units": cases[code]} for code in cases
        }
    instance["groups"] = dict(sorted(groups.items()))
    instance["complements"] = dict(sorted(links.items()))
    instance["sources"] = _sources(data)
    return model, instance


def header(data: dict[str, Any], source: Path, what: str) -> str:
    """The comment at the top of a generated file: source, DOI, authors' code, how to regenerate."""
    citation = data["source"]["citation"]
    doi = re.search(r"doi:(10\.\d+/[^\s)]+?)\.?(?=\s|$)", citation)
    repo = next(url for url in data["source"]["urls"] if "github.com" in url)
    commit = re.search(r"\b[0-9a-f]{40}\b", repo)
    lines = [
        f"Uganda health benefits package, {what}.",
        f"Source: {citation}",
        f"DOI: https://doi.org/{doi[1] if doi else '?'}",
        f"Authors' code and data: {repo.split()[0]} at commit {commit[0] if commit else '?'}",
        f"Converted from {source.name} (source_data) in the shared validation set.",
        "Generated by `python -m tests.validation.uganda`: do not edit by hand.",
    ]
    wrapped: list[str] = []
    for line in lines:
        words, current = line.split(), ""
        for word in words:
            if current and len(current) + 1 + len(word) > 96:
                wrapped.append(current)
                current = "   " + word
            else:
                current = f"{current} {word}" if current else word
        wrapped.append(current)
    return "".join(f"# {line}\n" for line in wrapped)


class _Dumper(yaml.SafeDumper):
    """Short collections of scalars on one line (`[a, b]`, `{x: 1.0}`), the rest as blocks."""

    def represent_sequence(self, tag: str, sequence: Any, flow_style: bool | None = None) -> Any:
        return super().represent_sequence(tag, sequence, _short(list(sequence)))

    def represent_mapping(self, tag: str, mapping: Any, flow_style: bool | None = None) -> Any:
        return super().represent_mapping(tag, mapping, _short([*mapping, *mapping.values()]))


def _short(items: list[Any]) -> bool:
    return all(isinstance(x, str | int | float) for x in items) and len(repr(items)) < 90


def dump(document: dict[str, Any]) -> str:
    """YAML text of a document: keys in the order built, floats by repr (exact round trip)."""
    text: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return text


def render(source_dir: Path = SOURCE_DIR) -> dict[str, str]:
    """Repository-relative path -> text of each generated file."""
    files: dict[str, str] = {}
    for name in SOURCE_FILES:
        source = source_dir / name
        data = read_source(source)
        model, instance = instance_documents(source)
        model_stem, instance_stem = file_names(data)
        scenario = "task-shifting scenario" if is_task_shifting(data) else "base scenario"
        files[f"models/{model_stem}.yaml"] = header(
            data, source, f"{scenario}: pathway model (evidence per case)"
        ) + dump(model)
        files[f"instances/{instance_stem}.yaml"] = header(
            data, source, f"{scenario}: instance (need, budget, workforce, structure)"
        ) + dump(instance)
    return files


def main(argv: list[str] | None = None) -> None:
    """Write the generated files under the repository root (source directory optional)."""
    args = sys.argv[1:] if argv is None else argv
    source_dir = Path(args[0]) if args else SOURCE_DIR
    for relative, text in render(source_dir).items():
        path = ROOT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {relative}")


if __name__ == "__main__":
    main()
