"""Organization reports without notebooks: numbers, disclosure, layout, CLI (stseval.org_reports)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stseval import org_reports
from stseval._report_tables import study_ids
from stseval.cli import main
from stseval.disclosure import DisclosureError
from stseval.org_reports import change_interval, org_report_tables, write_org_reports
from stseval.privacy import assert_no_leaks

VOID = {"meta", "br", "img", "hr", "input", "link", "circle", "line", "rect"}


class _Structure(HTMLParser):
    """Checks that tags nest and close, collects section ids and table cells by header."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.sections, self.tables = [], [], [], []
        self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        if tag == "tr":
            self._row = []
        if tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else None}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._row is not None:
            self._row.append("".join(self._cell or []).strip())
            self._cell = None
        if tag == "tr" and self.tables:
            t = self.tables[-1]
            (t["rows"] if t["head"] else t["head"]).append(self._row)
            if not t["rows"] and t["head"] and isinstance(t["head"][0], list):
                t["head"] = t["head"][0]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Structure:
    p = _Structure()
    p.feed(html)
    p.close()
    assert not p.errors, p.errors[:5]
    assert p.stack == [], f"unclosed tags: {p.stack}"
    return p


def _counts_in(parsed: _Structure) -> list[str]:
    """Every cell of a column headed 'staff'."""
    cells = []
    for t in parsed.tables:
        head = t["head"]
        if "staff" in head:
            i = head.index("staff")
            cells += [r[i] for r in t["rows"]]
    return cells


# -- the change interval ------------------------------------------------------------------
def test_change_interval_is_the_paired_t_interval_when_everyone_answered_twice():
    rng = np.random.default_rng(3)
    a = rng.normal(40, 10, 30)
    b = a - 2 + rng.normal(0, 4, 30)
    got = change_interval(a, b, pairs=(a, b), confidence=0.9)
    ci = stats.ttest_rel(b, a).confidence_interval(0.9)
    assert got["change"] == pytest.approx(b.mean() - a.mean())
    assert got["ci_low"] == pytest.approx(ci.low)
    assert got["ci_high"] == pytest.approx(ci.high)


def test_change_interval_without_pairs_is_the_two_sample_variance():
    a = np.array([10.0, 12, 9, 14, 11, 13])
    b = np.array([8.0, 9, 12, 7, 10, 6, 9, 11])
    got = change_interval(a, b)
    se = np.sqrt(a.var(ddof=1) / 6 + b.var(ddof=1) / 8)
    q = stats.t.ppf(0.975, 5)  # min(n_a, n_b) - 1
    assert got["se"] == pytest.approx(se)
    assert got["ci_high"] - got["change"] == pytest.approx(q * se)
    assert np.isnan(change_interval([1.0], b)["ci_low"])


# -- all organizations of the small study -------------------------------------------------
@pytest.fixture(scope="module")
def written(small_study_dir, tmp_path_factory):
    from stseval.study import Study

    study = Study.from_dir(small_study_dir)
    out = tmp_path_factory.mktemp("orgrep")
    table = write_org_reports(study, out, pdf=True)
    return study, out, table


def test_every_organization_gets_html_and_pdf(written):
    study, out, table = written
    assert list(table["org_id"]) == list(study.orgs["org_id"].astype(str))
    assert (table["status"] == "ok").all(), table[table["status"] != "ok"]
    for rec in table.to_dict("records"):
        html = (out / "orgs" / rec["org_id"] / "org_report.html").read_text(encoding="utf-8")
        assert html.startswith("<!DOCTYPE html>")
        assert (out / "orgs" / rec["org_id"] / "org_report.pdf").read_bytes()[:5] == b"%PDF-"


def test_no_identifier_leaks_and_only_the_own_name(written):
    study, out, table = written
    names = dict(zip(study.orgs["org_id"].astype(str), study.orgs["name"], strict=True))
    team_ids = set(study.workers["team_id"].astype(str))
    for org in table["org_id"]:
        path = out / "orgs" / org / "org_report.html"
        with (
            pytest.warns(UserWarning, match="shorter than min_id_length")
            if any(len(i) < 3 for i in study_ids(study, keep_org=org))
            else _nullcontext()
        ):
            assert_no_leaks(path, ids=study_ids(study, keep_org=org), min_id_length=3)
        text = path.read_text(encoding="utf-8")
        assert names[org] in text
        others = [n for o, n in names.items() if o != org]
        assert not any(n in text for n in others)
        tokens = set(re.findall(r"[A-Za-z0-9_-]+", re.sub(r"<[^>]+>", " ", text)))
        assert not tokens & {t for t in team_ids if len(t) >= 3}


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_no_count_from_1_to_min_cell_minus_1_is_published(written):
    study, out, table = written
    small = {str(i) for i in range(1, study.min_cell)}
    for org in table["org_id"]:
        parsed = _parse((out / "orgs" / org / "org_report.html").read_text(encoding="utf-8"))
        counts = _counts_in(parsed)
        assert counts, "every report has a staff column"
        assert not small & set(counts), (org, counts)
        rep = org_report_tables(study, org)
        for t in (rep.outcomes, rep.bands, rep.profile):
            n = pd.to_numeric(t["n"], errors="coerce").dropna()
            assert not ((n >= 1) & (n < study.min_cell)).any(), (org, t)


def test_band_shares_cannot_be_completed_by_subtraction(written):
    study, _, table = written
    for org in table["org_id"]:
        b = org_report_tables(study, org).bands
        for _, g in b[b["band"] != "Total"].groupby(["outcome", "wave"]):
            hidden = g["n"].isna().sum()
            assert hidden != 1, (org, g)  # one hidden band would follow from the total


def test_audit_rows_for_every_organization_and_rerun_replaces_them(written, tmp_path):
    study, out, table = written
    audit = pd.read_csv(out / "disclosure_audit.csv")
    assert list(audit.columns) == ["table", "cell", "rule"]
    for name in study.orgs["name"]:
        assert audit["table"].str.startswith(f"org report {name}:").any()
    before = len(audit)
    write_org_reports(study, out, orgs=[table["org_id"].iloc[0]], pdf=False)
    assert len(pd.read_csv(out / "disclosure_audit.csv")) == before


def test_pdf_has_no_near_empty_last_page(written):
    from weasyprint import HTML

    _, out, table = written
    for org in table["org_id"].iloc[:3]:
        doc = HTML(filename=str(out / "orgs" / org / "org_report.html")).render()
        chars = [
            sum(len(getattr(b, "text", "") or "") for b in p._page_box.descendants())
            for p in doc.pages
        ]
        assert len(chars) == 1 or chars[-1] >= 0.3 * max(chars), chars


# -- bands of other organizations, suppressed panels ---------------------------------------
def test_other_organizations_only_as_bands_when_enough_of_them(small_study):
    org = str(small_study.orgs["org_id"].iloc[0])
    n_others = small_study.orgs["org_id"].nunique() - 1
    shown = org_report_tables(small_study, org, min_orgs=n_others)
    assert shown.profile["band_low"].notna().all()
    # edges rounded outward to one decimal, never equal to an organization's value
    assert np.allclose(shown.profile["band_low"], shown.profile["band_low"].round(1))
    assert shown.profile["percentile"].dropna().apply(float.is_integer).all()
    assert shown.outcomes["all_orgs_mean"].notna().all()
    hidden = org_report_tables(small_study, org, min_orgs=n_others + 1)
    assert hidden.profile["band_low"].isna().all()
    assert hidden.profile["percentile"].isna().all()
    assert hidden.outcomes["all_orgs_mean"].isna().all()
    from stseval._org_html import render_html

    parsed = _parse(render_html(hidden))
    prof = [t for t in parsed.tables if "others' middle half" in t["head"]][0]
    assert {r[3] for r in prof["rows"]} == {"not shown"}
    assert "all organizations' mean" not in sum((t["head"] for t in parsed.tables), [])


def _shrunk(study, keep: int):
    """The study with its first organization reduced to ``keep`` respondents."""
    org = str(study.orgs["org_id"].iloc[0])
    workers = study.workers[study.workers["org_id"] == org]["worker_id"].iloc[:keep]
    r = study.responses
    mine = r["worker_id"].isin(study.workers.loc[study.workers["org_id"] == org, "worker_id"])
    kept = r[~mine | r["worker_id"].isin(workers)].copy()
    with pytest.warns(UserWarning, match="have no survey response"):
        return study.replace(responses=kept), org


def test_suppressed_panels_keep_the_layout_whole(small_study, tmp_path):
    from stseval._org_html import render_html

    study, org = _shrunk(small_study, keep=3)
    rep = org_report_tables(study, org)
    assert rep.outcomes["mean"].isna().all() and rep.profile["mean"].isna().all()
    html = render_html(rep)
    parsed = _parse(html)
    assert parsed.sections == ["outcomes", "bands", "profile"]
    assert html.count('class="notice"') >= 2
    before_profile = html.split('id="profile"')[0]  # no chart of the hidden outcomes
    assert 'class="change"' not in before_profile and "<circle" not in before_profile
    assert not {"1", "2", "3", "4"} & set(_counts_in(parsed))
    table = write_org_reports(study, tmp_path, orgs=[org], pdf=True)
    assert table["status"].tolist() == ["ok"]
    assert (tmp_path / "orgs" / org / "org_report.pdf").is_file()


def test_a_cell_that_cannot_be_protected_is_not_written(small_study, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise DisclosureError("cannot protect every small cell", ["a cell"])

    monkeypatch.setattr("stseval._org_tables.protect_tables", refuse)
    org = str(small_study.orgs["org_id"].iloc[0])
    table = write_org_reports(small_study, tmp_path, orgs=[org], pdf=False)
    assert table["status"].tolist() == ["refused"]
    assert not (tmp_path / "orgs" / org).exists()
    audit = pd.read_csv(tmp_path / "disclosure_audit.csv")
    assert audit["rule"].str.startswith("refused").any()


# -- the command ---------------------------------------------------------------------------
def _run_folder(tmp_path, study_dir):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"study": {"folder": str(study_dir)}}))
    return run


def test_cli_writes_the_listed_organizations(small_study_dir, tmp_path, capsys):
    run = _run_folder(tmp_path, small_study_dir)
    assert main(["org-reports", "--results", str(run), "--orgs", "O01,O02", "-q"]) == 0
    assert sorted(p.name for p in (run / "orgs").iterdir()) == ["O01", "O02"]
    assert (run / "orgs" / "O02" / "org_report.pdf").is_file()
    assert "2 of 2" in capsys.readouterr().out


def test_cli_exit_1_when_a_report_is_refused(small_study_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "stseval._org_tables.protect_tables",
        lambda *a, **k: (_ for _ in ()).throw(DisclosureError("no")),
    )
    run = _run_folder(tmp_path, small_study_dir)
    assert main(["org-reports", "--results", str(run), "--orgs", "O01", "--no-pdf", "-q"]) == 1


@pytest.mark.parametrize(
    "argv_tail, message",
    [
        (["--orgs", "O99"], "unknown organization"),
        (["--orgs", ","], "names no organization"),
        (["--study", "/nonexistent/study"], "nonexistent"),
    ],
)
def test_cli_bad_input_exit_2(small_study_dir, tmp_path, capsys, argv_tail, message):
    run = _run_folder(tmp_path, small_study_dir)
    assert main(["org-reports", "--results", str(run), "-q", *argv_tail]) == 2
    assert message in capsys.readouterr().err


def test_cli_without_a_run_folder_exit_2(tmp_path, capsys):
    assert main(["org-reports", "--results", str(tmp_path), "-q"]) == 2
    assert "run.json" in capsys.readouterr().err
    bad = tmp_path / "r"
    bad.mkdir()
    (bad / "run.json").write_text(json.dumps({"study": {"folder": str(tmp_path / "gone")}}))
    assert main(["org-reports", "--results", str(bad), "-q"]) == 2
    assert "--study" in capsys.readouterr().err


def test_estimates_of_the_run_are_quoted_for_the_changed_areas(small_study, tmp_path):
    iv = small_study.interventions
    org = str(iv["org_id"].iloc[0])
    area = iv.loc[iv["org_id"] == org, "area"].iloc[0]
    est = pd.DataFrame(
        [
            dict(area=area, outcome="stss_total", estimator="ancova", estimate=-2.5,
                 ci_low=-4.0, ci_high=-1.0, verdict="improved"),
            dict(area="none", outcome="stss_total", estimator="ancova", estimate=9.0,
                 ci_low=8.0, ci_high=10.0, verdict="worsened"),
        ]
    )  # fmt: skip
    rep = org_report_tables(small_study, org, estimates=est)
    assert rep.findings["area"].tolist() == [area]
    assert org_reports.org_report_tables is org_report_tables


@pytest.mark.parametrize("kind", ["worker", "team", "other_name"])
def test_an_identifier_in_the_html_stops_the_report(small_study, tmp_path, monkeypatch, kind):
    from stseval import _org_html
    from stseval.privacy import PrivacyLeakError

    org = str(small_study.orgs["org_id"].iloc[0])
    leak = {
        "worker": f"worker-{small_study.workers['worker_id'].iloc[-1]}.",
        "team": f"({small_study.workers['team_id'].iloc[-1]})",
        "other_name": str(small_study.orgs["name"].iloc[-1]).upper(),
    }[kind]
    real = _org_html.render_html
    monkeypatch.setattr(org_reports, "render_html", lambda rep: real(rep) + f"<p>{leak}</p>")
    with pytest.raises(PrivacyLeakError):
        write_org_reports(small_study, tmp_path, orgs=[org], pdf=False)
    assert not (tmp_path / "orgs" / org / "org_report.html").exists()


def test_change_chart_places_each_change_and_interval_on_its_scale():
    """The dot-and-whisker chart: a hand-worked scale (limit 1.1 x the widest interval end)."""
    from stseval._org_html import _PAD, _change_chart

    rows = pd.DataFrame(
        dict(
            label=["burnout (ProQOL)", "secondary traumatic stress (STSS total)"],
            wave=["post", "post"],
            change=[-2.0, 1.0],
            ci_low=[-4.0, -1.0],
            ci_high=[0.0, 3.0],
        )
    )
    html = _change_chart(rows, 0.95)
    lim = 4.0 * 1.1
    x = lambda v: _PAD + (v + lim) / (2 * lim) * (100 - 2 * _PAD)  # noqa: E731
    assert f'class="pt" style="left:{x(-2.0):.2f}%"' in html
    assert f'class="ci" style="left:{x(-4.0):.2f}%;width:{x(0.0) - x(-4.0):.2f}%"' in html
    assert f'class="zero" style="left:{x(0):.2f}%"' in html and "50.00%" in html
    assert "\u22124.4" in html and ">4.4<" in html  # the axis ends, minus sign typeset
    assert 'aria-label="Change since the first wave with 95% intervals: burnout' in html
    assert _change_chart(rows.assign(change=np.nan), 0.95) == ""
