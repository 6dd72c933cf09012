"""Write the kit's notebooks (``notebooks/*.ipynb``) from the cell text below, without outputs.

The notebooks are thin: a ``parameters`` cell (one comment per parameter), imports,
a handful of ``stseval`` calls, figures, and prose. Edit the cells here and run

    .venv/bin/python scripts/make_notebooks.py          # rewrite the notebooks
    .venv/bin/python scripts/make_notebooks.py --check  # exit 1 if a notebook differs

``tests/test_notebooks.py`` runs ``--check`` so the committed notebooks and this file
never drift apart, and checks that no committed notebook holds outputs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, *, tags=()):
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(text: str):
    for line in text.strip().splitlines():
        if not line.startswith("#") and line.count("=") != 1:
            raise ValueError(
                f"papermill cannot parse a parameter line with more than one '=': {line!r}"
            )
    return code(text, tags=["parameters"])


SETUP = """
import warnings

from IPython.display import Markdown, display

import stseval
from stseval import plots, report

warnings.filterwarnings("ignore")
plots.set_theme()
"""

# -----------------------------------------------------------------------------------
AREA = [
    md("""
# Evaluating one guidance area

Did the organizations that changed practice in one area of the STS guidance (a) raise their
practice level in that area, as rated by their staff, and (b) see lower secondary traumatic
stress (STS) and burnout and higher compassion satisfaction among staff, compared with
organizations that changed nothing? And (c) did monthly turnover and absence move after the
start?

Run it for one area at a time (`stseval report` runs it for every area). Every table is an
aggregate; groups smaller than the minimum cell size are suppressed and marked.
"""),
    params("""
# Parameters (papermill: -p NAME VALUE)
study_dir = "data/synthetic/small"  # study folder (relative: from here or the repository root)
area = "supervision"  # one of stseval.areas.AREA_KEYS (policies, training, ..., monitoring)
out_dir = ""  # folder for estimates.csv and the figures; empty: a new temporary folder
confidence = 0.95  # two-sided confidence level of every interval
min_cell = None  # smallest group shown; None: the study's own min_cell (study.yaml)
"""),
    code(SETUP),
    code("""
study = report.load_study(study_dir)
min_cell = study.min_cell if min_cell is None else int(min_cell)
out = report.output_dir(out_dir)
display(Markdown(report.study_overview(study, area, min_cell=min_cell)))
"""),
    md("""
## Who took part

*Invited* are the workers listed for the organizations of this comparison; *responded* means
any answer in that survey wave; *analysed* are the workers with a score at both waves, the
sample of the main estimate.
"""),
    code("""
flow = report.participant_flow(study, area, min_cell=min_cell)
fig = plots.consort(flow, min_cell=min_cell)
plots.save(fig, out / "participant_flow.png")
plots.show(fig)
display(report.html_table(flow, digits={"pct_of_invited": 1}, caption="Participant flow by arm"))
"""),
    md("""
Workers lost between the waves can bias a comparison when those who leave differ from those
who stay. The What Works Clearinghouse rates attrition from its overall and differential
(between-arm) rates.
"""),
    code("""
attrition, attrition_text = report.attrition_summary(study, area, min_cell=min_cell)
display(report.html_table(attrition, digits=1,
                          caption="Attrition by arm (baseline means of the STS score)"))
display(Markdown(attrition_text))
"""),
    md("""
## Practice and staff outcomes by arm and wave

Means with their intervals (descriptive: the intervals ignore clustering by organization).
The area's own practice scale is the kit-authored Organizational Guidance Inventory, rated by
staff from 1 (not at all) to 5 (completely).
"""),
    code("""
summary = report.outcome_summary(study, area, confidence=confidence, min_cell=min_cell)
fig = plots.arm_wave(summary)
plots.save(fig, out / "outcomes_by_arm_wave.png")
plots.show(fig)
"""),
    code("""
display(report.html_table(summary, digits=2, caption="Mean score by arm and wave"))
"""),
    md("""
## Estimates

The main estimate for staff outcomes is the ANCOVA (post score adjusted for the pre score,
intervention against comparison organizations, cluster-robust standard errors by
organization). For the practice score it is the comparison of organization mean changes, and
for turnover and absence the interrupted time series. The other rows are sensitivity
analyses; `paired_change` has no comparison group and also picks up change that happened
everywhere.
"""),
    code("""
estimates = stseval.evaluate_area(study, area, confidence=confidence, min_cell=min_cell)
report.save_estimates(estimates, out / "estimates.csv")
display(report.html_table(report.estimates_table(estimates), digits=3,
                          columns=["measure", "estimator", "estimate", "interval", "p_adjusted",
                                   "effect_size", "workers", "orgs", "note"],
                          caption="All estimates (score points; turnover and absence in "
                                  "percentage points)"))
"""),
    md("### In plain words"),
    code("""
display(Markdown(report.plain_language(estimates, confidence=confidence)))
"""),
    md("""
## Monthly turnover and absence

Average monthly rates of the organizations in each arm, by month counted from the start of the
change (comparison organizations use the median start date of the intervention organizations).
"""),
    code("""
series = report.indicator_summary(study, area)
if len(series):
    fig = plots.indicator_series(series)
    plots.save(fig, out / "indicators.png")
    plots.show(fig)
else:
    display(Markdown("This study has no monthly indicators (org_metrics.csv)."))
"""),
    md("""
## Reliability of each scale on these data

Cronbach's alpha (Feldt interval) and McDonald's omega at the first wave, beside the published
alpha where there is one. Low reliability weakens every comparison above. The Organizational
Guidance Inventory is kit-authored and not yet validated: read its reliability here first.
"""),
    code("""
reliability = report.reliability_table(study, confidence=confidence)
display(report.html_table(reliability, digits=2, count_cols=("k", "n"),
                          caption="Reliability at the first wave"))
"""),
    code("""
display(Markdown(f"Written to `{out}`: " + ", ".join(sorted(p.name for p in out.iterdir()))))
"""),
]

# -----------------------------------------------------------------------------------
FUNDER = [
    params("""
# Parameters (papermill: -p NAME VALUE)
study_dir = "data/synthetic/small"  # study the estimates came from (flow, monthly indicators)
results_dir = ""  # folder holding areas/<area>/estimates.csv; empty: estimate here
areas = None  # list of area keys to report; None: every area with results
confidence = 0.95  # confidence level the intervals were computed at
min_cell = None  # smallest group shown; None: the study's own min_cell (study.yaml)
"""),
    code(SETUP),
    code("""
study = report.load_study(study_dir)
min_cell = study.min_cell if min_cell is None else int(min_cell)
estimates = report.load_estimates(results_dir, study, areas=areas, confidence=confidence,
                                  min_cell=min_cell)
display(Markdown(report.funder_title(study, estimates, min_cell=min_cell)))
"""),
    md("""
## Summary

Each line gives, for one area of the guidance, how many of the staff outcomes improved with an
interval that excludes zero, and the result for secondary traumatic stress. The sections that
follow say what each area asks for, what changed and how sure we can be.
"""),
    code("""
display(Markdown(report.summary_bullets(estimates, confidence=confidence)))
"""),
    md("""
## Effects across areas and outcomes

Each point is the difference between organizations that changed practice and comparison
organizations, in standard-deviation units of the baseline score (ANCOVA), with its interval.
Signs are turned so that **right of zero is always an improvement** (less STS or burnout, more
compassion satisfaction, more of the area's practice).
"""),
    code("""
plots.show(plots.forest(estimates))
"""),
    code("""
for area in report.areas_in(estimates):
    display(Markdown(report.area_section(estimates, area, study, confidence=confidence)))
    display(report.html_table(report.estimates_table(estimates[estimates["area"] == area],
                                                     primary_only=True),
                              columns=["measure", "estimate", "interval", "p_adjusted",
                                       "workers", "orgs", "note"],
                              digits=2, caption="Main estimates (score points)"))
"""),
    md("""
## Turnover and absence

Monthly staff turnover (separations per head) and absence (days absent per working day) of
organizations that changed practice (all areas together) and of comparison organizations, by
month from the start of the change. The table gives the interrupted-time-series estimate of the
change in level at the start, in percentage points per month, for each area.
"""),
    code("""
series = report.indicator_summary(study, pooled=True)
if len(series):
    plots.show(plots.indicator_series(series))
display(report.html_table(report.its_table(estimates), digits=2,
                          caption="Interrupted time series: change in level at the start"))
"""),
    md("""
## Who took part

Participant flow of the whole study: organizations that changed practice in any area against
those that changed nothing. Counts below the minimum cell size are suppressed and marked, and
so are the counts that would let a reader work them out.
"""),
    code("""
flow = report.participant_flow(study, min_cell=min_cell)
plots.show(plots.consort(flow, min_cell=min_cell))
display(report.html_table(flow, digits={"pct_of_invited": 1},
                          caption="Participant flow (all areas)"))
"""),
    md("""
## Methods and limitations

**Design.** Organizations chose which area to change; organizations that changed nothing are
the comparison. Staff answered the same questionnaires before and after. This is not a
randomized trial: organizations that chose to change may differ from the others in ways the
analysis cannot see, so an estimate is the difference *associated with* the change.

**Estimates.** For staff outcomes the main estimate compares the second survey between arms,
adjusted for each worker's first survey (ANCOVA), with standard errors that allow for staff of
one organization being alike (cluster-robust, small-sample corrected). Practice change is
compared between organizations' averages. Turnover and absence use an interrupted time series
of monthly rates. Mixed models, difference-in-differences and reliable-change shares are
reported as checks in each area's estimates file. p-values are adjusted for the number of
outcomes within an area (Holm) and across areas (Benjamini-Hochberg, in `estimates.csv`).

**Limitations.** Few organizations per area make intervals wide. Every area is compared with
the same comparison organizations, so a chance difference among them moves every area's estimate
the same way: results that agree across areas are less independent than they look. Outcomes are
self-reported.
Staff who left between the surveys are missing from the comparison; the area notebooks report
attrition and a multiple-imputation check. The Organizational Guidance Inventory was written for
this kit and is not yet validated.
"""),
    code("""
display(Markdown(report.methods_facts(study, min_cell=min_cell, confidence=confidence)))
display(report.html_table(report.missing_item_rules(study), count_cols=("items", "needs"),
                          caption="Missing-item rule of each scale"))
"""),
    md("""
## Appendix: main estimates of every area
"""),
    code("""
display(report.html_table(report.estimates_table(estimates, primary_only=True),
                          columns=["area", "outcome", "estimator", "estimate", "interval",
                                   "p_adjusted", "workers", "orgs"], digits=3))
"""),
    code("""
check = report.truth_check(estimates, study)
covered = int((check["covered"] == "yes").sum())
if len(check):
    display(Markdown("## Appendix: estimates against the known truth (synthetic data)"))
    display(Markdown(
        "The simulator knows the true effect of every change (the average, over the staff of "
        "the organizations that changed, of their score with minus without the change). "
        f"Here **{covered} of {len(check)}** intervals contain the truth; "
        f"with {confidence:.0%} intervals about {confidence:.0%} should, and because every "
        "area shares one comparison group, the misses tend to come together."))
    display(report.html_table(check, digits=3, caption="Main estimates and the truth"))
"""),
]

# -----------------------------------------------------------------------------------
ORG = [
    params("""
# Parameters (papermill: -p NAME VALUE)
study_dir = "data/synthetic/small"  # study folder
org_id = "O01"  # the organization this feedback is for (its ID in orgs.csv)
wave = None  # survey wave of the practice profile; None: the last wave
min_cell = None  # smallest group shown; None: the study's own min_cell (study.yaml)
"""),
    code(SETUP),
    code("""
study = report.load_study(study_dir)
min_cell = study.min_cell if min_cell is None else int(min_cell)
display(Markdown(report.org_title(study, org_id, min_cell=min_cell)))
"""),
    md("""
## Your practice profile across the seven areas

Your staff's average rating of how fully your organization practises each area of the
guidance (Organizational Guidance Inventory, 1 = not at all, 5 = completely), against the
middle half and median of all other organizations in the study. Other organizations are not
named. An area is shown for your organization only if at least the minimum number of your
staff answered.
"""),
    code("""
profile = report.practice_profile(study, org_id, wave=wave, min_cell=min_cell)
plots.show(plots.profile(profile))
display(Markdown(report.profile_reading(profile)))
display(report.html_table(profile, columns=["title", "org_mean", "workers", "others_orgs",
                                            "others_p25", "others_median", "others_p75",
                                            "percentile", "note"],
                          count_cols=("workers", "others_orgs"), digits=2,
                          rename={"title": "area"}))
"""),
    md("""
## Your staff's outcomes over time

Secondary traumatic stress, burnout and compassion satisfaction of your staff at each survey,
beside the average of all organizations. A wave where fewer than the minimum number of your
staff answered is not shown.
"""),
    code("""
trend = report.org_outcomes(study, org_id, min_cell=min_cell)
plots.show(plots.org_trend(trend))
display(report.html_table(trend, digits=2, columns=["outcome", "wave", "group", "workers",
                                                     "mean", "note"]))
"""),
    md("""
These are descriptions, not estimates of what caused what: staff ratings move for many
reasons. Use the profile to choose where to look first, and the funder report for what
changing an area did across organizations.
"""),
]

# -----------------------------------------------------------------------------------
EXPLORE = [
    md("""
# Exploring a synthetic study

The simulator knows the true effect, so you can see how well the estimators find it. Move the
controls: the effect of the chosen area on secondary traumatic stress (latent SD units;
negative = less STS), the share of outcome variance between organizations (ICC), the number of
organizations that change the area (the comparison has 4), attrition between the surveys and
item non-response. Each change re-simulates a small study, estimates the effect, sets it beside
the truth, repeats over a few seeds to show how often the 95% interval covers the truth, and
gives the analytic power of the design.
"""),
    params("""
# Parameters (papermill: -p NAME VALUE)
area = "supervision"  # area whose effect you set
replications = 3  # simulated studies per setting (more: slower, steadier coverage)
seed = 1  # seed of the first simulated study
"""),
    code(
        SETUP
        + """
import ipywidgets as widgets
"""
    ),
    md("""
## A first run with the default settings

(A static copy of this notebook shows only this run; open it in Jupyter to use the controls.)
"""),
    code("""
report.explore(area=area, replications=replications, seed=seed)
"""),
    md("""
## Your turn

Set the controls and press **Re-simulate**.
"""),
    code("""
controls = {
    "area": widgets.Dropdown(options=list(stseval.areas.AREA_KEYS), value=area, description="area"),
    "effect": widgets.FloatSlider(value=-0.3, min=-0.8, max=0.4, step=0.05,
                                  description="effect on STS"),
    "icc": widgets.FloatSlider(value=0.05, min=0.0, max=0.3, step=0.01, description="ICC (org)"),
    "orgs_per_area": widgets.IntSlider(value=4, min=2, max=12, description="orgs changing"),
    "attrition": widgets.FloatSlider(value=0.15, min=0.0, max=0.5, step=0.05,
                                     description="attrition"),
    "missingness": widgets.FloatSlider(value=0.02, min=0.0, max=0.2, step=0.01,
                                       description="item missing"),
    "replications": widgets.fixed(replications),
    "seed": widgets.fixed(seed),
}
explorer = widgets.interactive(report.explore, {"manual": True, "manual_name": "Re-simulate"},
                               **controls)
display(explorer)
"""),
    md("""
What to look for: with few organizations the intervals are wide and the ANCOVA and
difference-in-differences estimates scatter around the truth; `paired_change` drifts away from
it because it also picks up the trend every organization shares. Raising the ICC widens the
intervals more than removing workers does.
"""),
]

# -----------------------------------------------------------------------------------
PSYCHO = [
    md("""
# Psychometrics of the study's instruments

For each instrument: how staff used the answer options, Cronbach's alpha (Feldt interval) and
McDonald's omega (bootstrap interval) of each scale, and each item's corrected item-total
correlation and alpha if the item were deleted. Published instruments can be compared with
their published reliability; the **kit-authored inventories** (Organizational and Individual
Guidance Inventories) have no published values and are not yet validated, so these numbers are
the first evidence about them.
"""),
    params("""
# Parameters (papermill: -p NAME VALUE)
study_dir = "data/synthetic/small"  # study folder
wave = None  # survey wave to analyse (one answer per worker); None: the first wave
n_boot = 50  # bootstrap resamples for the omega interval (0: none; use 500+ for a final report)
confidence = 0.95  # confidence level of the intervals
"""),
    code(SETUP),
    code("""
study = report.load_study(study_dir)
wave = wave or study.waves[0]
answers = study.responses[study.responses["wave"] == wave]
reliability = report.reliability_table(study, wave=wave, confidence=confidence, n_boot=n_boot)
display(Markdown(report.study_overview(study)))
"""),
    code("""
for inst in study.instrument_objects():
    display(Markdown(report.instrument_heading(inst)))
    plots.show(plots.item_distributions(answers, inst))
    display(report.html_table(reliability[reliability["instrument"] == inst.short_name],
                              count_cols=("k", "n"), digits=2, caption="Reliability"))
    display(report.html_table(report.item_table(answers, inst), count_cols=("n",), digits=2,
                              caption="Item analysis"))
"""),
    md("""
How to read it: alpha and omega above about .80 are usual for scales used to compare groups;
an item with a corrected item-total correlation below about .30, or whose deletion raises
alpha, measures something else than the rest of its scale. Items marked (R) are reverse-keyed
and were reversed before these statistics.
"""),
]

# -----------------------------------------------------------------------------------
POWER = [
    md("""
# Planning an evaluation: how many organizations and workers?

Because an area is changed by whole organizations, the number of **organizations** limits what
an evaluation can detect far more than the number of workers. This notebook takes the
clustering (ICC), the pre/post correlation and the organization size from an existing study
(or from values you set) and gives the organizations per arm needed to detect a range of effects
with the chosen power, the power curve, and the smallest effect your own design can detect.
"""),
    params("""
# Parameters (papermill: -p NAME VALUE)
study_dir = "data/synthetic/small"  # study giving the ICC, pre/post correlation, org size
outcome = "stss_total"  # outcome the calculation is for
effect_sizes = [0.2, 0.3, 0.5]  # effects to detect, in SD units of the outcome
power = 0.8  # power wanted
confidence = 0.95  # two-sided test at 1 - confidence
icc = None  # between-organization ICC; None: estimated from the study
cluster_size = None  # respondents per organization; None: the study's average
orgs_per_arm = 8  # organizations per arm of the evaluation you are planning
"""),
    code(SETUP),
    code("""
study = report.load_study(study_dir)
inputs = report.design_inputs(study, outcome)
icc = inputs["icc"] if icc is None else icc
cluster_size = inputs["cluster_size"] if cluster_size is None else cluster_size
display(Markdown(report.design_inputs_text(inputs, icc=icc, cluster_size=cluster_size)))
"""),
    md("## Organizations needed"),
    code("""
needed = report.sample_sizes(effect_sizes, cluster_size=cluster_size, icc=icc,
                             r_prepost=inputs["r_prepost"], cv=inputs["cv"], power=power,
                             confidence=confidence)
display(report.html_table(needed, count_cols=("orgs_per_arm", "workers_per_arm", "paired_workers"),
                          caption=f"Organizations per arm for power {power:.0%}"))
"""),
    md("""
`paired_workers` is what a one-group before/after survey would need: far fewer people, but it
cannot separate the program from change that happens everywhere.
"""),
    code("""
grid = report.power_grid(effect_sizes, range(2, 31, 2), cluster_size=cluster_size, icc=icc,
                         r_prepost=inputs["r_prepost"], cv=inputs["cv"], confidence=confidence)
plots.show(plots.power_curve(grid, target=power, title="Power by organizations per arm"))
"""),
    code("""
display(Markdown(report.mde_text(orgs_per_arm, cluster_size=cluster_size, icc=icc,
                                 r_prepost=inputs["r_prepost"], cv=inputs["cv"], power=power,
                                 confidence=confidence)))
"""),
]

NOTEBOOK_CELLS = {
    "area_evaluation.ipynb": AREA,
    "funder_report.ipynb": FUNDER,
    "org_feedback.ipynb": ORG,
    "explore_synthetic.ipynb": EXPLORE,
    "psychometrics.ipynb": PSYCHO,
    "power_planning.ipynb": POWER,
}


def build(cells) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def render(cells) -> str:
    return nbformat.writes(build(cells)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if a committed notebook differs"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOK_CELLS.items():
        path = NOTEBOOKS / name
        text = render(cells)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(
            "notebooks differ from scripts/make_notebooks.py: "
            + ", ".join(stale)
            + " (run: python scripts/make_notebooks.py)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
