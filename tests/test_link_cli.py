"""`stseval link`: a code-linked study folder in, a linked study folder and match rates out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import stseval
import stseval._cli_link  # noqa: F401  (registers the command until cli.py loads it)
from stseval import cli
from stseval.linking import RATE_COLUMNS, link_codes

ROOT = Path(__file__).resolve().parents[1]
CODED = ROOT / "data" / "synthetic" / "coded"


def test_link_writes_a_linked_study_and_match_rates(tmp_path, capsys):
    before = {f.name: f.read_bytes() for f in CODED.iterdir()}
    out = tmp_path / "linked"
    assert cli.main(["link", str(CODED), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rates = pd.read_csv(out / "link_rates.csv")
    assert list(rates.columns) == RATE_COLUMNS
    assert set(rates["org_id"]) - {"all"}  # per organization, then the totals
    # the overall rate printed is the matched share of the first wave, computed independently
    study = stseval.Study.from_dir(CODED)
    frame = study.responses.merge(study.workers[["worker_id", "org_id"]], on="worker_id")
    res = link_codes(frame, list(study.design.link_code_columns), waves=study.waves)
    n_from = int((frame["wave"] == study.waves[0]).sum())
    n_matched = int((res.linked["linked_id"] != res.linked["worker_id"].astype(str)).sum())
    assert f"{n_matched} of {n_from} responses matched" in printed
    assert f"({n_matched / n_from:.1%})" in printed
    # the linked folder is a valid study whose workers repeat across waves
    linked = stseval.Study.from_dir(out)
    assert linked.design.linkage == "linked"
    repeat = linked.responses.groupby("worker_id")["wave"].nunique()
    assert int((repeat == 2).sum()) == n_matched
    meta = yaml.safe_load((out / "study.yaml").read_text())
    assert meta["provenance"]["linking"]["rule"] == "exact"
    assert meta["provenance"]["linking"]["elements"] == list(study.design.link_code_columns)
    # the input folder is untouched
    assert {f.name: f.read_bytes() for f in CODED.iterdir()} == before


def test_k_of_m_matches_at_least_as_many(tmp_path, capsys):
    assert cli.main(["link", str(CODED), "--out", str(tmp_path / "a")]) == 0
    exact = pd.read_csv(tmp_path / "a" / "link_rates.csv")
    args = ["link", str(CODED), "--out", str(tmp_path / "b"), "--rule", "k_of_m", "--k", "2"]
    assert cli.main(args) == 0
    loose = pd.read_csv(tmp_path / "b" / "link_rates.csv")
    tot = lambda r: int(r.loc[r["org_id"] == "all", "n_matched"].sum())  # noqa: E731
    assert tot(loose) >= tot(exact)
    meta = yaml.safe_load((tmp_path / "b" / "study.yaml").read_text())
    assert meta["provenance"]["linking"]["k"] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["link", str(ROOT / "data" / "synthetic" / "default")], "linkage: code"),
        (["link", str(CODED), "--rule", "k_of_m"], "needs --k"),
        (["link", str(CODED), "--k", "2"], "--k goes with --rule k_of_m"),
        (["link", str(CODED), "--rule", "k_of_m", "--k", "9"], "at most"),
        (["link", "no/such/folder"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message, tmp_path, capsys):
    assert cli.main(args + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stseval link: error:") and message in err


def test_out_must_not_be_the_study_folder(tmp_path, capsys):
    src = tmp_path / "coded"
    shutil.copytree(CODED, src)
    assert cli.main(["link", str(src), "--out", str(src)]) == 2
    assert "not the study folder" in capsys.readouterr().err
