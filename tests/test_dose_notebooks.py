"""The issue-11 notebooks: declared parameters, committed without outputs, and they run.

``dose_response.ipynb`` and ``individual_evaluation.ipynb`` are executed with papermill
on the shipped ``dose`` and ``individual`` studies (their stored defaults) and must write
their CSV tables with the documented columns.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from stseval import dose
from stseval._notebook_runner import check_parameters, notebook_parameters, run_notebook
from stseval.errors import UsageError
from stseval.individual import STATEMENT_COLUMNS
from stseval.synthetic import StudyDesign, simulate

ROOT = Path(__file__).resolve().parents[1]
DOSE_NB = ROOT / "notebooks" / "dose_response.ipynb"
IND_NB = ROOT / "notebooks" / "individual_evaluation.ipynb"

pytestmark = pytest.mark.xdist_group("nbval")


@pytest.mark.parametrize("path", [DOSE_NB, IND_NB], ids=lambda p: p.name)
def test_stored_without_outputs_and_parameters_declared(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {i}"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    declared = notebook_parameters(path)
    assert {"study_dir", "out_dir", "confidence", "min_cell"} <= set(declared)
    assert declared["study_dir"].strip("'\"").startswith("data/synthetic/")
    assert (ROOT / declared["study_dir"].strip("'\"")).is_dir()


def test_check_parameters_accepts_the_pipeline_call_and_refuses_unknown():
    check_parameters(
        DOSE_NB,
        {"study_dir": "x", "area": "supervision", "out_dir": "o"},
        required=("study_dir", "out_dir"),
    )
    check_parameters(
        IND_NB,
        {"study_dir": "x", "statement": "skills", "out_dir": "o"},
        required=("study_dir", "out_dir"),
    )
    with pytest.raises(UsageError, match="unknown parameter"):
        check_parameters(DOSE_NB, {"study_dir": "x", "areas": "supervision"}, required=())


def test_dose_notebook_runs_on_the_shipped_dose_study(tmp_path):
    out = tmp_path / "dose"
    run_notebook(
        DOSE_NB,
        tmp_path / "dose.ipynb",
        {"out_dir": str(out), "n_boot": 200},
        cwd=ROOT / "notebooks",
    )
    org = pd.read_csv(out / "dose_org.csv")
    assert list(org.columns) == dose.DOSE_COLUMNS
    assert set(org["area"]) == {"supervision", "workforce_support"}
    assert {"dose_org", "dose_org_corrected", "dose_bin"} <= set(org["estimator"])
    med = pd.read_csv(out / "mediation.csv")
    assert med["note"].str.contains("sequential ignorability").all()
    worker = pd.read_csv(out / "dose_worker.csv")
    assert set(worker["estimator"]) == {"dose_between", "dose_within", "dose_worker"}


def test_individual_notebook_runs_on_the_shipped_individual_study(tmp_path):
    out = tmp_path / "ind"
    run_notebook(IND_NB, tmp_path / "ind.ipynb", {"out_dir": str(out)}, cwd=ROOT / "notebooks")
    table = pd.read_csv(out / "statements.csv")
    assert list(table.columns) == STATEMENT_COLUMNS
    assert set(table["area"]) == {"skills", "self_monitoring"}
    ancova = table[table["estimator"] == "ancova"]
    assert ancova["estimate"].notna().all()


def test_dose_notebook_adjusts_for_a_caseload_column(tmp_path):
    design = StudyDesign.preset("dose").with_overrides({"dose_confounder": 0.4})
    folder = tmp_path / "study"
    simulate(design, seed=3).to_dir(folder)
    out = tmp_path / "out"
    params = {
        "study_dir": str(folder),
        "area": "supervision",
        "out_dir": str(out),
        "n_boot": 200,
        "covariates": "caseload",
    }
    run_notebook(DOSE_NB, tmp_path / "dose.ipynb", params, cwd=ROOT / "notebooks")
    org = pd.read_csv(out / "dose_org.csv")
    assert set(org["area"]) == {"supervision"}
    slope = org[org["estimator"] == "dose_org"]
    assert slope["method"].str.contains("change in caseload").all()
    med = pd.read_csv(out / "mediation.csv")
    assert med["method"].str.contains("adjusted for the change in caseload").all()
