"""`planner report`: the business-case report as one self-contained HTML file and its Markdown twin.

The findings are checked sentence by sentence on a small instance solved by hand (below), on
HiGHS and on CBC; the files are checked for their tables, inline charts, escaping, determinism
and safe writing; and the default diabetes instance for the sentences a board asks about.

The board instance, two plan years (2021, 2022), no discounting, savings shared (so no money is
carried between years and each year solves alone):

- education: £50 a place, 0.01 QALY, and each place avoids 0.01 admission (tariff £1,000), so a
  place costs £40 net: the envelope's marginal use, 0.01 / 40 = 0.00025 QALY a pound, 25 QALY per
  £100,000, £4,000 per QALY;
- outpatients: £100 for 0.001 QALY, held at their 600 minimum (worth 100 x 0.00025 - 0.001 =
  0.024 QALY an attendance); the clinic at its 500 minimum (its made contacts cost £20: 20 x
  0.00025 - 0.002 = 0.003 QALY a contact);
- the clinic is made by the GP practices (£20 + £2,000 a year = £12,000) rather than bought from the
  charity (£25 = £12,500);
- 200 medicines reviews (£20, 0.001 QALY) meet the floor of 300 informed patients (100 today):
  each further patient costs 20 x 0.00025 - 0.001 = 0.004 QALY;
- self-care leaflets (£10, 0.001 QALY, 1,000 today) are cut to 800, the council's £2,000 loss
  limit: each £ more it may lose moves 0.0001 QALY of leaflets to 0.00025 of education, 15 QALY
  per £100,000;
- coaching (£40, 0.004 QALY) is unfunded: forcing a session in costs 40 x 0.00025 - 0.004 =
  0.006 QALY.

Spend a year: outpatients 60,000 + clinic 12,000 + reviews 4,000 + leaflets 8,000 + admissions
1,000 x (100 - 0.01 x (x - 200)) + 50x = 186,000 + 40x, so the envelopes of £226,000 and £222,000
buy x = 1,000 and 900 places. Today: 100,000 + 10,000 + 15,000 + 10,000 + 100,000 admissions =
£235,000. The hospital earns 60,000 + 92,000 (2021) and 60,000 + 93,000 (2022) against 215,000:
-63,000 and -62,000 within its 30% limit of 64,500. Health: 12.6 + 11.6 = 24.2 QALY.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner import document
from planner.cli import app
from planner.document import (
    NAMESPACES,
    build_report,
    count,
    figure,
    findings,
    frontier_chart,
    md_escape,
    short,
    write_report,
    years_text,
)
from planner.report import OutputError
from tests.conftest import Data, instance, item, outcome, write

runner = CliRunner()
DIABETES = Path(__file__).resolve().parent.parent / "instances" / "diabetes_lewisham.yaml"


def board(**fields: Any) -> Data:
    """The hand-solved instance of the module docstring."""
    options = {
        "make": {"provider": "gp", "mode": "make", "unit_price": 20, "fixed_cost": 2000,
                 "source": "ASSUMPTION: practice costs"},
        "buy": {"provider": "charity", "mode": "buy", "unit_price": 25},
    }  # fmt: skip
    clinic = item(30, 0.002, name="Community clinic", unit="contact", baseline_units=500,
                  min_units=500, max_units=800, delivered_by="hospital",
                  supply={"choice": "exclusive", "options": options})  # fmt: skip
    data = instance(
        name="board",
        title="Board test pathway",
        horizon=2,
        envelope={"amounts": {2021: 226000, 2022: 222000}},
        savings={"rule": "share", "shares": {"gp": 1.0}},
        partners={
            "hospital": {"name": "Hospital trust", "max_loss_share": 0.3},
            "gp": {"name": "GP practices"},
            "council": {"name": "Council", "max_loss": 2000},
            "pharmacy": {"name": "Pharmacies"},
            "charity": {"name": "Charity"},
        },
        interventions={
            "outpatient": item(
                100,
                0.001,
                name="Outpatient follow-up",
                unit="attendance",
                baseline_units=1000,
                min_units=600,
                delivered_by="hospital",
            ),
            "education": item(
                50,
                0.01,
                name="Structured education",
                unit="place",
                baseline_units=200,
                max_units=2000,
                delivered_by="gp",
                effects={"admissions": -0.01},
                source="DESMOND trial",
            ),
            "clinic": clinic,
            "review": item(
                20,
                0.001,
                name="Medicines review",
                unit="review",
                delivered_by="pharmacy",
                effects={"informed": 1},
            ),
            "leaflets": item(
                10,
                0.001,
                name="Self-care leaflets",
                unit="pack",
                baseline_units=1000,
                delivered_by="council",
            ),
            "coaching": item(
                40,
                0.004,
                name="Health coaching",
                unit="session",
                delivered_by="gp",
                source="ASSUMPTION: no trial",
            ),
        },
        outcomes={
            "admissions": outcome(
                100, name="Emergency admissions", unit="admission", tariff=1000, paid_to="hospital"
            ),
            "informed": outcome(100, name="Informed patients", unit="patient"),
        },
        floors={
            "admissions_cap": {
                "outcome": "admissions",
                "bound": "upper",
                "relative": 1.0,
                "description": "Admissions no higher than today",
            },
            "informed_floor": {
                "outcome": "informed",
                "bound": "lower",
                "value": 300,
                "description": "At least 300 informed patients",
            },
        },
        scenarios={"cheapest": {"description": "least spend", "objective": {"kind": "min_spend"}}},
        sources=["Local finance return 2020"],
    )
    data.update(fields)
    return data


BOARD_FINDINGS = [
    "The plan buys 24.2 QALY of discounted health gain over 2021-2022, spending £448,000 of the "
    "£448,000 envelope.",
    "The envelope is £222,000 in 2022, £13,000 less than the £235,000 spent today on these "
    "services and paid activity.",
    "Money moves from Outpatient follow-up to Structured education: in 2022 the plan spends "
    "£40,000 a year less on Outpatient follow-up and £35,000 a year more on Structured education "
    "than today (£80,000 less and £75,000 more over 2021-2022).",
    "Other changes in 2022, a year against today: Medicines review +£4,000, Community clinic "
    "-£3,000 and Self-care leaflets -£2,000.",
    "What the plan buys in 2022, against today: Emergency admissions down 7 to 93 and Informed "
    "patients up 200 to 300.",
    "£100,000 more envelope in any plan year buys 25 QALY (about £4,000 per QALY).",
    "The floor “At least 300 informed patients” binds in 2021-2022: each further patient "
    "required costs 0.004 QALY.",
    "Council's loss limit binds in 2021-2022: letting it lose £100,000 more a year buys 15 QALY.",
    "Other rules at their limit, with what one more unit of each is worth: the minimum of "
    "Outpatient follow-up (2021-2022: 0.024 QALY per attendance) and the minimum of Community "
    "clinic (2021-2022: 0.003 QALY per contact).",
    "The plan has yes/no choices, so its prices come from the LP with every yes/no choice fixed "
    "at its optimal value: they hold those choices as they are (planner compare gives the value "
    "of each).",
    "Hospital trust loses £125,000 over 2021-2022, up to £63,000 a year (2021, 29.3% of its "
    "£215,000 income today), £1,500 inside its loss limit of £64,500 at the closest (2021).",
    "Council loses £4,000 over 2021-2022, £2,000 a year (20.0% of its £10,000 income today), at "
    "its loss limit of £2,000 in 2021-2022.",
    "Pharmacies gains £8,000 over 2021-2022 (£4,000 a year).",
    "GP practices gains £99,000 over 2021-2022 (£47,000 to £52,000 a year).",
    "Charity sees no change in income.",
    "For Community clinic the plan makes it in-house: GP practices (make, make) at £20.00 a "
    "contact plus £2,000 a year in 2021-2022, costing £24,000 over 2021-2022; not used: buy "
    "(Charity, buy).",
    "Health coaching is not funded in 2021-2022; it would enter if its health gain per session "
    "rose by 0.006 QALY.",
]


def solved(tmp_path: Path, solver: str, data: Data, scenario: str | None = None) -> tuple[
    planner.Plan, planner.Instance, Path
]:  # fmt: skip
    path = write(tmp_path, data, "board.yaml")
    checked = planner.check_instance(path, scenario)
    model = planner.build(checked)
    plan = planner.make_plan(model, planner.solve(model, solver), scenario)  # type: ignore[arg-type]
    return plan, checked, path


# --- the findings --------------------------------------------------------------------------------


def test_findings_of_the_hand_solved_plan(tmp_path: Path, solver: str) -> None:
    plan, checked, _ = solved(tmp_path, solver, board())
    assert findings(plan, checked) == BOARD_FINDINGS


def test_findings_of_the_cheapest_plan(tmp_path: Path, solver: str) -> None:
    # min_spend: education only as far as the admissions cap needs (200 places), leaflets at the
    # council's limit (800), outpatients and clinic at their minimums, 200 reviews: 194,000 a
    # year. Allowing one more admission lets 100 places go: 5,000 saved less 1,000 of tariff.
    plan, checked, _ = solved(tmp_path, solver, board(), "cheapest")
    found = findings(plan, checked)
    assert found[0] == (
        "The cheapest plan that meets every floor spends £388,000 of the £448,000 envelope over "
        "2021-2022 (£388,000 discounted), leaving £60,000 unspent, and buys 9.2 QALY of discounted "
        "health gain."
    )
    assert (
        "The envelope does not bind in any year: more money would not improve the plan; £60,000 "
        "of it is unspent." in found
    )
    assert (
        "The floor “Admissions no higher than today” binds in 2021-2022: each further admission "
        "avoided costs £4,000." in found
    )
    assert (
        "The floor “At least 300 informed patients” binds in 2021-2022: each further patient "
        "required costs £20.00." in found
    )
    assert (
        "Health coaching is not funded in 2021-2022; it would enter if its cost per session fell "
        "by £40.00." in found
    )


def test_diabetes_findings_name_the_clinic_the_envelope_price_and_the_acute_trust(
    solver: str,
) -> None:
    # figures of the README and the instance's comments: the clinic made by the GP consortium in
    # every year (£320,000 + £330,000 + £302,117); 9.71 QALY per £100,000 (£10,299 per QALY);
    # the acute trust loses £309,975 + £518,804 + £430,683, at most 9.9% of £5,256,740, and
    # comes within £6,870 of its 10% limit (£525,674) in 2015; today's spend is the £6,994,740
    # the instance adds up line by line
    checked = planner.check_instance(DIABETES)
    model = planner.build(checked)
    plan = planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    found = findings(plan, checked)
    assert (
        "For Community diabetes clinic / diabetes specialist nurse the plan makes it in-house: GP "
        "consortium (gp_practices, make) at £40.00 a specialist contact plus £100,000 a year in "
        "2014-2016, costing £952,117 over 2014-2016 including £50,000 to set up; not used: "
        "incumbent (Community health services provider, buy), acute_outreach (Acute trust, buy) "
        "and third_sector (Third-sector diabetes service, buy)." in found
    )
    assert (
        "£100,000 more envelope in any plan year buys 9.71 QALY (about £10,300 per QALY)." in found
    )
    assert (
        "Acute trust loses £1,259,462 over 2014-2016, up to £518,804 a year (2015, 9.9% of its "
        "£5,256,740 income today), £6,870 inside its loss limit of £525,674 at the closest "
        "(2015)." in found
    )
    assert (
        "The floor “Emergency admissions at most 98% of today by 2016” binds in 2016: each "
        "further admission avoided costs 0.36 QALY." in found
    )
    assert (
        "The envelope is £6,588,344 in 2016, £406,396 less than the £6,994,740 spent today on "
        "these services and paid activity." in found
    )


# --- the files -----------------------------------------------------------------------------------


def external_references(text: str) -> list[str]:
    """Anything in a page that would load or link outside it."""
    found = re.findall(
        r"(?:src|href)\s*=\s*(?:\"(?!#)|'(?!#)|(?![\"'#]))", text, flags=re.IGNORECASE
    )
    found += re.findall(r"<link\b|<script\b|@import|url\((?!#)", text, flags=re.IGNORECASE)
    found += [u for u in re.findall(r"https?://[^\s\"'<>)]+", text) if u not in NAMESPACES]
    return found


def test_report_files_hold_findings_tables_and_inline_charts(tmp_path: Path, solver: str) -> None:
    path = write(tmp_path, board(), "board.yaml")
    out = tmp_path / "report" / "board.html"
    run = runner.invoke(
        app, ["report", str(path), "--solver", solver, "--out", str(out), "--no-frontier"]
    )
    assert run.exit_code == 0, run.output
    assert "Wrote board.html and board.md" in run.output
    page = out.read_text(encoding="utf-8")
    text = (tmp_path / "report" / "board.md").read_text(encoding="utf-8")
    for sentence in BOARD_FINDINGS:
        assert f"<li>{sentence.replace("'", '&#x27;')}</li>" in page
        assert f"- {sentence}" in text
    # one page, nothing loaded from outside: three inline SVG charts and no links out
    assert page.startswith("<!DOCTYPE html>\n" + document.MARK)
    assert page.count("<svg") == 3 and page.count("</svg>") == 3
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert external_references(page) == []
    assert "default-src 'none'" in page
    assert len(set(re.findall(r'\bid="([^"]+)"', page))) == len(re.findall(r'\bid="', page))
    # charts carry their labels as text, and their numbers in a table beside them
    assert "Outpatient follow-up</text>" in page and "loss limit</text>" in page
    assert "Informed patients</text>" in page and "floor that binds</text>" in page
    assert "The envelope frontier is not shown: left out with --no-frontier." in page
    # the tables: today's spend, outcomes against floors, the plan's rows
    assert '<td>total</td><td></td><td></td><td class="r">£235,000</td>' in page
    assert "| Outpatient follow-up | intervention | hospital | £100,000 | 42.6% |" in text
    assert "| Emergency admissions | paid activity | hospital | £100,000 | 42.6% |" in text
    assert "| Informed patients | patient | 100 | 300 | 300 | at least 300 (2021-2022) |" in text
    assert (
        "| education | 2021 | place | 1,000 | 200 | £50.00 | £50,000 | £10,000 | +£40,000 | 10 "
        "| gp |" in text
    )
    assert "| council | 2022 | £8,000 | £10,000 | -£2,000 | -£2,000 | £2,000 | £0 | yes |" in text
    assert "| envelope | envelope | 2021 | £100,000 | 25 QALY |" in text
    assert (
        "| clinic | make | gp | make | 2021 | yes | yes | 500 | £20.00 | £2,000 | £0 | £12,000 |"
        in text
    )
    # the chart's numbers in Markdown, where the picture cannot go
    assert "**Figure 1. Spend a year by intervention: today against each plan year.**" in text
    assert "| Structured education | £10,000 | £50,000 | £45,000 | +£35,000 |" in text
    assert "| Hospital trust | -£63,000 | -£62,000 | £64,500 | £1,500 |" in text
    assert "<svg" not in text and "data:" not in text
    # provenance without a date, and the sources section says what it lists
    assert "| input | board.yaml (sha256 " in text and "| planner version | 0.1.0 |" in text
    assert "2 of the 3 source notes say ASSUMPTION" in text
    assert "| clinic.make | supply option | ASSUMPTION: practice costs | yes |" in text
    assert "- Local finance return 2020" in text


def test_input_text_is_escaped_in_html_svg_and_markdown(tmp_path: Path) -> None:
    data = board(description="<img src=x onerror=alert(1)> & more")
    data["interventions"]["leaflets"]["name"] = "<script>alert(1)</script> | Cost $5 [x](y)"
    data["partners"]["council"]["name"] = "Council <b>|</b>"
    path = write(tmp_path, data, "board.yaml")
    out = tmp_path / "board.html"
    run = runner.invoke(app, ["report", str(path), "--out", str(out), "--no-frontier"])
    assert run.exit_code == 0, run.output
    page = out.read_text(encoding="utf-8")
    text = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | Cost $5 [x](y)" in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg  # a chart label, escaped by matplotlib
    assert ">$5 [x]</text>" in svg  # a dollar stays a dollar, not mathematics (and the
    # chart's short name drops the closing "(y)")
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert r"| &lt;script&gt;alert(1)&lt;/script&gt; \| Cost $5 \[x\](y) | intervention |" in text
    assert "&lt;img src=x onerror=alert(1)&gt; & more" in text
    assert "Council &lt;b&gt;|&lt;/b&gt;'s loss limit binds" in text  # prose: a pipe is harmless


def test_two_runs_write_byte_identical_files(tmp_path: Path) -> None:
    path = write(tmp_path, board(), "board.yaml")
    first, second = tmp_path / "a" / "r.html", tmp_path / "b" / "r.html"
    for out in (first, second, second):  # the last run replaces a report planner wrote
        run = runner.invoke(app, ["report", str(path), "--out", str(out), "--no-frontier"])
        assert run.exit_code == 0, run.output
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".md").read_bytes() == second.with_suffix(".md").read_bytes()
    assert sorted(p.name for p in second.parent.iterdir()) == ["r.html", "r.md"]


@pytest.mark.parametrize(
    ("input_name", "out_name", "message"),
    [
        ("plan.html", "plan.html", "refusing to write the report over the input"),
        ("plan.md", "plan.html", "refusing to write the report over the input"),
        ("plan.yaml", "plan.txt", "the report's --out must name an .html file"),
    ],
)
def test_refuses_to_write_over_an_input(
    tmp_path: Path, input_name: str, out_name: str, message: str
) -> None:
    path = write(tmp_path, board(), input_name)
    before = path.read_bytes()
    run = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / out_name)])
    assert run.exit_code == 2
    assert message in run.output and "Traceback" not in run.output
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [input_name]


def test_refuses_a_file_planner_did_not_write(tmp_path: Path) -> None:
    path = write(tmp_path, board(), "board.yaml")
    mine = tmp_path / "business_case.md"
    mine.write_text("# My own notes\n", encoding="utf-8")
    run = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "business_case.html")])
    assert run.exit_code == 2
    assert "business_case.md already exists and planner did not write it" in run.output
    assert mine.read_text(encoding="utf-8") == "# My own notes\n"
    assert not (tmp_path / "business_case.html").exists()


def test_no_plan_writes_nothing(tmp_path: Path) -> None:
    # 99,900 reviews to inform 100,000 patients cost £2m a year: far beyond the envelope
    data = board()
    data["floors"]["informed_floor"]["value"] = 100_000
    path = write(tmp_path, data, "board.yaml")
    out = tmp_path / "out" / "report.html"
    run = runner.invoke(app, ["report", str(path), "--out", str(out)])
    assert run.exit_code == 3
    assert "No plan" in run.output
    assert not out.parent.exists()


def test_a_failed_write_leaves_the_old_report_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, checked, path = solved(tmp_path, "highs", board())
    out = tmp_path / "r.html"
    write_report(build_report(plan, checked, [path]), out, [path])
    old = (out.read_bytes(), out.with_suffix(".md").read_bytes())
    changed = build_report(plan, checked, [path], frontier_note="second run")
    calls: list[Path] = []
    real = os.replace

    def failing(source: Any, target: Any) -> None:
        calls.append(Path(target))
        if Path(target) == out.resolve() and Path(source).name.startswith(".r.html.tmp-"):
            raise OSError("disk full")
        real(source, target)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OutputError, match=r"cannot write the report to .*r\.html: disk full"):
        write_report(changed, out, [path])
    assert (out.read_bytes(), out.with_suffix(".md").read_bytes()) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.yaml", "r.html", "r.md"]
    assert (
        out.with_suffix(".md").resolve() in calls
    )  # the Markdown had been replaced, then put back


# --- the frontier --------------------------------------------------------------------------------


def frontier_points() -> pd.DataFrame:
    """Frontier.points as planner.sensitivity.envelope_frontier returns them: no plan at 70% of
    the envelope, a breakpoint at 90% and at 115%, the plan itself at 100%."""
    rows = [
        (0.7, 313600, "infeasible", False),
        (0.8, 358400, "optimal", False),
        (0.9, 403200, "optimal", True),
        (1.0, 448000, "optimal", False),
        (1.15, 515200, "optimal", True),
        (1.3, 582400, "optimal", False),
    ]
    health = {0.8: 12.0, 0.9: 18.0, 1.0: 24.2, 1.15: 30.1, 1.3: 32.0}
    return pd.DataFrame(
        [
            {
                "scale": s,
                "envelope": float(e),
                "objective": health.get(s, float("nan")),
                "objective_unit": "QALY",
                "health_gain": health.get(s, float("nan")),
                "spend": float(e) if status == "optimal" else float("nan"),
                "status": status,
                "breakpoint": b,
            }
            for s, e, status, b in rows
        ]
    )


def test_frontier_finding_chart_and_table(tmp_path: Path) -> None:
    plan, checked, path = solved(tmp_path, "highs", board())
    report = build_report(plan, checked, [path], frontier_points())
    assert report.findings[-1] == (
        "Between 80% and 130% of the envelope (£358,400 to £582,400), health gain runs from 12 to "
        "32 QALY; the mix of services changes at 90% and 115% of the envelope; below 80% there is "
        "no plan."
    )
    page, text = report.html(), report.markdown()
    assert page.count("<svg") == 4
    assert "Figure 4. Envelope frontier: health gain against envelope" in page
    svg = frontier_chart(frontier_points(), "GBP", "QALY", "Frontier")
    for label in ("this plan</text>", "no plan</text>", "90%</text>", "115%</text>"):
        assert label in svg
    assert "mix changes (breakpoint)</text>" in svg
    assert "| 70% | £313,600 |  |  | infeasible |  |" in text
    assert "| 90% | £403,200 | 18 | £403,200 | optimal | yes |" in text


def test_report_draws_the_envelope_frontier_of_planner_sensitivity(tmp_path: Path) -> None:
    # Both years scaled by s: the cheapest plan costs 194,000 a year (test above), so 2022 has a
    # plan from s = 194,000 / 222,000 = 87.39% (total 391,495), where 2021 buys (197,495 -
    # 194,000) / 40 = 87.4 places more than the minimum: 4.6 + 4.6 + 0.874 = 10.07 QALY. Then each
    # £40 buys a place until the hospital's headroom (1,500 and 2,500 of admissions tariff, 150
    # and 250 places) runs out in 2021 at s = 232,000 / 226,000 = 102.65% and in 2022 at
    # 232,000 / 222,000 = 104.5%.
    sensitivity = pytest.importorskip("planner.sensitivity")
    if not hasattr(sensitivity, "envelope_frontier"):
        pytest.skip("planner.sensitivity has no envelope_frontier yet")
    path = write(tmp_path, board(), "board.yaml")
    out = tmp_path / "board.html"
    run = runner.invoke(app, ["report", str(path), "--out", str(out)])
    assert run.exit_code == 0, run.output
    page, text = out.read_text(encoding="utf-8"), out.with_suffix(".md").read_text("utf-8")
    assert page.count("<svg") == 4 and external_references(page) == []
    assert "| 87.4% | £391,495 | 10.1 | £391,495 | optimal | yes |" in text
    assert "| 100% | £448,000 | 24.2 | £448,000 | optimal |  |" in text
    assert "| 102.7% |" in text and "| 104.5% |" in text
    assert "| 80% | £358,400 |  |  | infeasible |  |" in text
    assert "- Between 87.4% and 130% of the envelope (£391,495 to £582,400)" in text
    assert "below 87.4% there is no plan." in text


# --- numbers and words ---------------------------------------------------------------------------


def test_numbers_are_written_to_sensible_digits() -> None:
    assert [figure(v) for v in (641.1909, 9.70991, 0.359822, 0.000504, 25.0, 0.0, -4.2)] == [
        "641.2", "9.71", "0.36", "0.000504", "25", "0", "-4.2",
    ]  # fmt: skip
    assert [count(v) for v in (13400.0, 1860.576481, 30.3, 0.19)] == [
        "13,400", "1,860.6", "30.3", "0.19",
    ]  # fmt: skip
    assert years_text([2016, 2014, 2015]) == "2014-2016"
    assert years_text([2014, 2016]) == "2014 and 2016"
    assert years_text([2014, 2015, 2017]) == "2014-2015 and 2017"
    assert short("Acute trust (Lewisham-like; hosts the MDFT)") == "Acute trust"
    assert short("Emergency (non-elective) admissions") == "Emergency (non-elective) admissions"


def test_markdown_escaping() -> None:
    assert md_escape("a|b", cell=True) == r"a\|b"
    assert md_escape("line\nbreak", cell=True) == "line break"
    assert md_escape("<b>x</b> & y &amp;") == "&lt;b&gt;x&lt;/b&gt; & y &amp;amp;"
    assert md_escape("*bold* `code` [a](b)") == r"\*bold\* \`code\` \[a\](b)"
    assert md_escape("hospital_outpatient _x_") == r"hospital_outpatient \_x\_"
    assert md_escape("# not a heading") == r"\# not a heading"
    assert md_escape("1. not a list") == r"1\. not a list"
