"""Write the corpus of malformed inputs in this folder (one sub-folder per case).

Usage: ``python tests/data/bad/make_corpus.py`` (rewrites every case folder).

Each case folder holds the input file(s), ``args.txt`` (the ``stseval``
command line; ``{dir}`` is the case folder, ``{out}`` a fresh output folder)
and ``expected.txt`` (lines that must all appear in the output). Cases whose
name starts with ``ok_`` must *work* (exit 0, the lines appear on stdout);
all others must exit 2 with the lines on stderr and no traceback.
``tests/test_bad_inputs.py`` runs them and checks that no input file changes.
Plain Python only, so the corpus does not depend on the code it tests.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True
import corpus_imports  # noqa: E402  (the import/mapping cases added for issue 13)

STSS = [f"stss_{i}" for i in range(1, 18)]
IMPORT = "import {dir}/export.csv --mapping {dir}/mapping.yaml --out {out} --no-pseudonymize"
MAPPING = """worker_id: worker
org_id: agency
team_id: team
wave: wave
date: date
items:
  stss: {prefix: stss_}
"""


def rows(n_workers: int = 6) -> list[dict]:
    """A small valid wide export: workers x (pre, post), 17 STSS items each."""
    out = []
    for w in range(1, n_workers + 1):
        for j, (wave, date) in enumerate((("pre", "2024-03-01"), ("post", "2025-03-01"))):
            rec = {
                "worker": f"P{w:02d}",
                "agency": "A1" if w <= n_workers // 2 else "A2",
                "team": f"T{1 + w % 2}",
                "wave": wave,
                "date": date,
            }
            for i, col in enumerate(STSS):
                rec[col] = str((w + i + j) % 5 + 1)
            out.append(rec)
    return out


def csv_text(records: list[dict], sep: str = ",") -> str:
    cols = list(records[0])
    lines = [sep.join(cols)] + [sep.join(str(r.get(c, "")) for c in cols) for r in records]
    return "\n".join(lines) + "\n"


class Corpus:
    def __init__(self):
        self.names: list[str] = []

    def case(self, name: str, args: str, expected: str | list[str], files: dict):
        folder = HERE / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        for fname, content in files.items():
            path = folder / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_bytes(content.encode("utf-8"))
        (folder / "args.txt").write_text(args + "\n", encoding="utf-8")
        lines = [expected] if isinstance(expected, str) else expected
        (folder / "expected.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.names.append(name)

    def export_case(self, name, expected, records=None, mapping=MAPPING, args=IMPORT, **extra):
        files = {
            "export.csv": csv_text(records if records is not None else rows()),
            "mapping.yaml": mapping,
            **extra,
        }
        self.case(name, args, expected, files)


def study_files(**changes) -> dict:
    """A tiny valid study folder (stss only); ``changes`` replace or drop (None) files."""
    recs = rows()
    workers = ["worker_id,org_id,team_id"] + sorted(
        {f"{r['worker']},{r['agency']},{r['agency']}-{r['team']}" for r in recs}
    )
    responses = csv_text(
        [
            {
                "worker_id": r["worker"],
                "wave": r["wave"],
                "date": r["date"],
                **{f"stss_{i:02d}": r[f"stss_{i}"] for i in range(1, 18)},
            }
            for r in recs
        ]
    )
    files = {
        "study/study.yaml": "name: tiny\nwaves: [pre, post]\ninstruments: [stss]\nmin_cell: 2\n"
        "provenance: {note: test corpus}\n",
        "study/workers.csv": "\n".join(workers) + "\n",
        "study/responses.csv": responses,
        "study/orgs.csv": "org_id,name,size\nA1,Agency one,3\nA2,Agency two,3\n",
        "study/interventions.csv": "org_id,area,start_date\nA1,supervision,2024-06-01\n",
        "study/org_metrics.csv": "org_id,month,headcount,separations,absence_days\n",
    }
    for key, value in changes.items():
        path = f"study/{key}"
        if value is None:
            files.pop(path, None)
        else:
            files[path] = value
    return files


def edit(records, index, **values):
    out = [dict(r) for r in records]
    out[index].update(values)
    return out


def build() -> list[str]:
    c = Corpus()
    base = rows()
    check = "check {dir}/study"

    # -- answers ----------------------------------------------------------------------
    c.export_case(
        "out_of_range",
        [
            "column stss_3, rows 4",
            "out of range for stss item 3 (e.g. 7)",
            "expected whole numbers 1 to 5",
        ],
        edit(base, 2, stss_3="7"),
    )
    c.export_case(
        "non_numeric",
        [
            "unknown answer label(s) for stss: 'abc' x1 (stss_5 x1)",
            "Expected numbers (whole numbers 1 to 5)",
        ],
        edit(base, 0, stss_5="abc"),
    )
    recs = edit(
        edit(edit(base, 1, stss_2="Sometimes"), 3, stss_2="sometimes "), 5, stss_4="Sometimes"
    )
    c.export_case(
        "unknown_label_counts",
        [
            "'Sometimes' x2 (stss_2 x1, stss_4 x1)",
            "'sometimes' x1 (stss_2 x1)",
            "Never, Rarely, Occasionally, Often, Very often",
        ],
        recs,
    )
    c.export_case(
        "negative_code_unlisted",
        ["(e.g. -99)", "list them under missing_codes"],
        edit(base, 4, stss_9="-99"),
    )
    c.export_case(
        "decimal_answer", ["out of range for stss item 1 (e.g. 2.5)"], edit(base, 6, stss_1="2.5")
    )
    # -- keys: wave, worker, org, duplicates, dates ------------------------------------
    c.export_case(
        "unknown_wave",
        ["column wave", "unknown wave value(s) 'mid' x2", "expected one of pre, post"],
        edit(edit(base, 1, wave="mid"), 3, wave="mid"),
    )
    c.export_case(
        "duplicate_worker_wave",
        ["1 worker x wave combination(s) appear more than once: P01 x pre (lines 2, 14)"],
        base + [dict(base[0])],
    )
    c.export_case(
        "worker_without_org",
        ["1 worker(s) without an organization (P02)", "rows 4, 5"],
        edit(edit(base, 2, agency=""), 3, agency=""),
    )
    c.export_case(
        "worker_in_two_orgs",
        ["different org_id values on different rows", "P01: A1, A2"],
        edit(base, 1, agency="A2"),
    )
    c.export_case(
        "blank_worker_id",
        ["1 row(s) with answers have no worker ID", "rows 7"],
        edit(base, 5, worker=""),
    )
    c.export_case(
        "unparseable_date",
        ["column date", "2 date(s) could not be read", "'31/02/2024'", "expected YYYY-MM-DD"],
        edit(edit(base, 0, date="31/02/2024"), 2, date="yesterday"),
    )
    c.export_case(
        "date_wrong_format",
        ["expected the format '%d/%m/%Y' given in the mapping"],
        base,
        mapping=MAPPING.replace("date: date", "date: {column: date, format: '%d/%m/%Y'}"),
    )
    c.export_case(
        "tenure_not_number",
        ["tenure must be a finite, non-negative number of years", "'ten'"],
        [dict(r, tenure="ten" if r["worker"] == "P03" else "2") for r in base],
        mapping=MAPPING + "tenure_years: tenure\n",
    )
    # -- files: empty, delimiter, encoding ---------------------------------------------
    c.case("empty_file", IMPORT, "the file is empty", {"export.csv": "", "mapping.yaml": MAPPING})
    c.case(
        "header_only",
        IMPORT,
        "the file has a header but no data rows",
        {"export.csv": csv_text(base).splitlines()[0] + "\n", "mapping.yaml": MAPPING},
    )
    c.case(
        "space_delimited",
        IMPORT,
        [
            "the file was read as a single column ('worker agency",
            "check its delimiter (comma, semicolon or tab)",
        ],
        {"export.csv": csv_text(base, sep=" "), "mapping.yaml": MAPPING},
    )
    quoted = "".join(f'"{line}"\n' for line in csv_text(base).splitlines())
    c.case(
        "lines_wrapped_in_quotes",
        IMPORT,
        ["only one column was found", "the delimiter looks wrong"],
        {"export.csv": quoted, "mapping.yaml": MAPPING},
    )
    ragged = csv_text(base).replace("\nP02,A1", "\nP02,A1,extra,cells", 1)
    c.case(
        "ragged_rows",
        IMPORT,
        ["could not parse as a delimited table", "line 4"],
        {"export.csv": ragged, "mapping.yaml": MAPPING},
    )
    c.case(
        "utf16_without_bom",
        IMPORT,
        ["holds NUL bytes", "save it as CSV UTF-8"],
        {"export.csv": csv_text(base).encode("utf-16-le"), "mapping.yaml": MAPPING},
    )
    many = edit(
        edit(edit(edit(base, 0, stss_3="8"), 1, wave="mid"), 4, date="not a date"),
        6,
        stss_7="Sometimes",
    )
    c.export_case(
        "many_problems_at_once",
        [
            "(4 problem(s))",
            "column stss_3, rows 2",
            "unknown wave value(s) 'mid' x1",
            "'not a date'",
            "'Sometimes' x1 (stss_7 x1)",
        ],
        many,
    )
    c.case(
        "excel_not_excel",
        IMPORT.replace("export.csv", "export.xlsx"),
        "could not read the Excel file",
        {"export.xlsx": csv_text(base), "mapping.yaml": MAPPING},
    )
    c.case(
        "spss_not_spss",
        IMPORT.replace("export.csv", "export.sav"),
        "could not read the SPSS file",
        {
            "export.sav": b"$FL2 this is not really an SPSS file" + bytes(64),
            "mapping.yaml": MAPPING,
        },
    )
    c.case(
        "unsupported_type",
        IMPORT.replace("export.csv", "export.json"),
        "unsupported file type '.json'",
        {"export.json": "[]", "mapping.yaml": MAPPING},
    )
    c.case(
        "source_missing",
        IMPORT.replace("export.csv", "nothere.csv"),
        "nothere.csv does not exist",
        {"mapping.yaml": MAPPING},
    )
    # -- mapping -------------------------------------------------------------------------
    c.export_case(
        "mapping_missing_column",
        ["names column 'agencyy' for org_id", "did you mean 'agency'?"],
        mapping=MAPPING.replace("org_id: agency", "org_id: agencyy"),
    )
    c.export_case(
        "mapping_wrong_case",
        ["names column 'Worker' for worker_id", "names are case-sensitive"],
        mapping=MAPPING.replace("worker_id: worker", "worker_id: Worker"),
    )
    c.export_case(
        "instrument_no_items",
        ["instrument stss has no item columns", "no column is named sts_<number>"],
        mapping=MAPPING.replace("prefix: stss_", "prefix: sts_"),
    )
    c.export_case(
        "instrument_partial_items",
        ["instrument stss: 7 of 17 items have no source column (item(s) 11-17)"],
        mapping=MAPPING.replace("{prefix: stss_}", "{columns: [" + ", ".join(STSS[:10]) + "]}"),
    )
    c.export_case(
        "item_number_out_of_range",
        ["instrument stss has items 1-17", "item number(s) [18]"],
        mapping=MAPPING.replace(
            "stss: {prefix: stss_}",
            "stss: {"
            + ", ".join(f"{col}: {i}" for i, col in enumerate(STSS[:16], 1))
            + ", stss_17: 18}",
        ),
    )
    c.export_case(
        "malformed_yaml",
        ["the mapping file could not be read", "not valid YAML at line"],
        mapping="worker_id: worker\norg_id: agency\n  wave: wave\nitems: [\n",
    )
    c.export_case(
        "mapping_unknown_key",
        ["unknown mapping key 'worker'", "did you mean 'worker_id'?"],
        mapping=MAPPING.replace("worker_id: worker", "worker_id: worker\nworker: x"),
    )
    c.export_case(
        "mapping_without_items",
        "the mapping must list the instrument items",
        mapping=MAPPING.split("items:")[0],
    )
    c.export_case(
        "mapping_unknown_instrument",
        ["items.stsss", "unknown instrument 'stsss'"],
        mapping=MAPPING.replace("stss: {", "stsss: {"),
    )
    c.export_case(
        "mapping_wave_not_in_waves",
        "wave(s) mid are not in waves (pre, post)",
        mapping=MAPPING.replace(
            "wave: wave", "waves: [pre, post]\nwave: {column: wave, values: {pre: pre, post: mid}}"
        ),
    )
    c.export_case(
        "mapping_is_a_list",
        "the mapping must be a YAML mapping of fields",
        mapping="- worker\n- agency\n",
    )
    c.export_case(
        "identifier_as_role",
        ["column 'email' is an identifier", "cannot be used as the role"],
        [dict(r, email=f"{r['worker'].lower()}@example.org") for r in base],
        mapping=MAPPING + "identifiers: [email]\nrole: email\n",
    )
    c.export_case(
        "identifier_missing_column",
        "lists 'e_mail' under identifiers, but the export has no such column",
        mapping=MAPPING + "identifiers: [e_mail]\n",
    )
    # -- privacy -----------------------------------------------------------------------
    c.export_case(
        "no_key",
        ["no pseudonymization key", "STSEVAL_KEY", "--no-pseudonymize"],
        args=IMPORT.replace(" --no-pseudonymize", ""),
    )
    c.export_case(
        "email_worker_ids_unpseudonymized",
        "worker IDs look like e-mail addresses",
        [dict(r, worker=f"{r['worker'].lower()}@example.org") for r in base],
    )
    # -- side files ----------------------------------------------------------------------
    c.export_case(
        "intervention_unknown_area",
        [
            "interventions.csv",
            "column area",
            "unknown area(s) 'coaching' x1",
            "valid areas are policies",
        ],
        mapping=MAPPING + "interventions_file: interventions.csv\n",
        **{
            "interventions.csv": "org_id,area,start_date\nA1,coaching,2024-05-01\n"
            "A2,training,2024-05-01\n"
        },
    )
    c.export_case(
        "intervention_unknown_org",
        "name organizations that have no workers in the export and are not in the orgs file: A9",
        mapping=MAPPING + "interventions_file: interventions.csv\n",
        **{"interventions.csv": "org_id,area,start_date\nA9,training,2024-05-01\n"},
    )
    c.export_case(
        "side_file_missing",
        "names the organizations file",
        mapping=MAPPING + "orgs_file: nope.csv\n",
    )
    c.export_case(
        "side_file_missing_column",
        ["missing column start_date", "the interventions needs org_id, area, start_date"],
        mapping=MAPPING + "interventions_file: interventions.csv\n",
        **{"interventions.csv": "org_id,area,start\nA1,training,2024-05-01\n"},
    )
    # -- REDCap / Qualtrics / long ---------------------------------------------------------
    red = [
        {
            "record_id": r["worker"],
            "redcap_event_name": ("baseline_arm_1" if r["wave"] == "pre" else "followup_arm_2"),
            "agency": r["agency"],
            "survey_date": r["date"],
            **{c2: r[c2] for c2 in STSS},
            "stss_complete": "2",
        }
        for r in base
    ]
    dictionary = (
        "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
        '"Choices, Calculations, OR Slider Labels",Field Note,Identifier?\n'
        "record_id,staff,,text,Record ID,,,\nagency,staff,,text,Agency,,,\n"
        "survey_date,staff,,text,Survey date,,,\n"
        + "".join(
            f'{col},stss,,radio,item {i},"1, Never | 2, Rarely | 3, '
            f'Occasionally | 4, Often | 5, Very often",,\n'
            for i, col in enumerate(STSS, 1)
        )
    )
    red_map = (
        "format: redcap\nworker_id: record_id\norg_id: agency\nwave: {column: "
        "redcap_event_name, values: {baseline_arm_1: pre, followup_arm_1: post}}\n"
        "date: survey_date\nitems:\n  stss: {prefix: stss_}\n"
    )
    red_args = (
        "import {dir}/records.csv --dictionary {dir}/dictionary.csv --mapping "
        "{dir}/mapping.yaml --out {out} --no-pseudonymize"
    )
    c.case(
        "redcap_unknown_event",
        red_args,
        ["unknown wave value(s) 'followup_arm_2' x6", "map them under wave.values"],
        {"records.csv": csv_text(red), "dictionary.csv": dictionary, "mapping.yaml": red_map},
    )
    c.case(
        "redcap_without_dictionary",
        red_args.replace(" --dictionary {dir}/dictionary.csv", ""),
        ["needs its data dictionary", "--dictionary"],
        {"records.csv": csv_text(red), "mapping.yaml": red_map},
    )
    c.case(
        "redcap_not_a_dictionary",
        red_args,
        "does not look like a REDCap data dictionary",
        {"records.csv": csv_text(red), "dictionary.csv": csv_text(base), "mapping.yaml": red_map},
    )
    head = [
        "StartDate",
        "Status",
        "ResponseId",
        "RecipientEmail",
        "staff",
        "org",
        "wave",
        *[f"Q1_{i}" for i in range(1, 18)],
    ]
    labels = ["Never", "Rarely", "Occasionally", "Often", "Very often"]
    q_rows = [
        ",".join(head),
        ",".join(
            [
                "Start Date",
                "Response Type",
                "Response ID",
                "Recipient Email",
                "staff",
                "org",
                "wave",
                *[f"STSS - item {i}" for i in range(1, 18)],
            ]
        ),
        ",".join('"{""ImportId"":""' + h + '""}"' for h in head),
    ]
    for k, r in enumerate(base):
        answers = [labels[int(r[c2]) - 1] for c2 in STSS]
        if k in (1, 2, 7):
            answers[3] = "Sometimes"
        q_rows.append(
            ",".join(
                [
                    r["date"] + " 10:00:00",
                    "0",
                    f"R_{k:015d}",
                    f"{r['worker'].lower()}@example.org",
                    r["worker"],
                    r["agency"],
                    r["wave"],
                    *answers,
                ]
            )
        )
    c.case(
        "qualtrics_unknown_label",
        "import {dir}/survey.csv --mapping {dir}/mapping.yaml --out {out} --no-pseudonymize",
        ["unknown answer label(s) for stss: 'Sometimes' x3 (Q1_4 x3)", "rows 5, 6, 11"],
        {
            "survey.csv": "\n".join(q_rows) + "\n",
            "mapping.yaml": "worker_id: staff\norg_id: org\nwave: wave\ndate: StartDate\n"
            "items:\n  stss: {prefix: Q1_}\n",
        },
    )
    long = ["worker,agency,wave,item,value"]
    for r in base:
        long += [f"{r['worker']},{r['agency']},{r['wave']},{c2},{r[c2]}" for c2 in STSS]
    long.append(long[5])
    c.case(
        "long_duplicate_cell",
        IMPORT,
        "worker x wave x item combination(s) appear more than once: P01 x pre (lines 6, 206)",
        {
            "export.csv": "\n".join(long) + "\n",
            "mapping.yaml": "layout: long\nworker_id: worker\norg_id: agency\nwave: wave\n"
            "items:\n  stss: {prefix: stss_}\n",
        },
    )
    # -- output folder -----------------------------------------------------------------
    c.case(
        "out_not_empty",
        IMPORT.replace("{out}", "{dir}"),
        ["is not empty", "--overwrite"],
        {"export.csv": csv_text(base), "mapping.yaml": MAPPING},
    )
    c.case(
        "out_would_overwrite_input",
        IMPORT.replace("export.csv", "workers.csv").replace("{out}", "{dir}") + " --overwrite",
        "would overwrite the input file",
        {"workers.csv": csv_text(base), "mapping.yaml": MAPPING},
    )
    # -- study folders (stseval check) --------------------------------------------------
    c.case(
        "check_missing_study_yaml",
        check,
        "missing table: study.yaml is required",
        study_files(**{"study.yaml": None}),
    )
    c.case(
        "check_missing_table",
        check,
        ["missing table: responses.csv is required"],
        study_files(**{"responses.csv": None}),
    )
    c.case(
        "check_workers_missing_column",
        check,
        ["workers.csv", "missing column team_id"],
        study_files(
            **{"workers.csv": "worker_id,org_id\nP01,A1\nP02,A1\nP03,A1\nP04,A2\nP05,A2\nP06,A2\n"}
        ),
    )
    resp = study_files()["study/responses.csv"]
    c.case(
        "check_unknown_worker",
        check,
        ["responses.csv", "name workers not in workers.csv: P99"],
        study_files(**{"responses.csv": resp.replace("P06,post", "P99,post")}),
    )
    c.case(
        "check_intervention_unknown_area",
        check,
        ["interventions.csv", "unknown area(s) coaching"],
        study_files(**{"interventions.csv": "org_id,area,start_date\nA1,coaching,2024-06-01\n"}),
    )
    c.case(
        "check_unknown_wave",
        check,
        ["unknown wave(s) mid", "study.yaml lists waves pre, post"],
        study_files(**{"responses.csv": resp.replace("P03,post", "P03,mid")}),
    )
    c.case(
        "check_out_of_range",
        check,
        ["column stss_01", "not allowed (e.g. 9"],
        study_files(
            **{"responses.csv": resp.replace("P01,pre,2024-03-01,2,", "P01,pre,2024-03-01,9,")}
        ),
    )
    c.case(
        "check_duplicate_response",
        check,
        "worker x wave listed more than once: P02 x pre",
        study_files(**{"responses.csv": resp + resp.splitlines()[3] + "\n"}),
    )
    c.case(
        "check_bad_date",
        check,
        ["column date", "could not be read (e.g. 2024-13-45)"],
        study_files(**{"responses.csv": resp.replace("P04,pre,2024-03-01", "P04,pre,2024-13-45")}),
    )
    c.case(
        "check_worker_without_org",
        check,
        ["workers.csv", "blank org_id"],
        study_files(
            **{
                "workers.csv": "worker_id,org_id,team_id\nP01,A1,A1-T1\nP02,,A1-T2\n"
                "P03,A1,A1-T1\nP04,A2,A2-T2\nP05,A2,A2-T1\n"
                "P06,A2,A2-T2\n"
            }
        ),
    )
    c.case(
        "check_bad_study_yaml",
        check,
        "study.yaml: not valid YAML",
        study_files(**{"study.yaml": "name: tiny\nwaves: [pre, post\n"}),
    )
    c.case("check_not_a_folder", "check {dir}/nothere", "does not exist or is not a folder", {})
    c.case(
        "check_empty_responses",
        check,
        ["responses.csv", "the file is empty"],
        study_files(**{"responses.csv": ""}),
    )
    # -- inputs that must work ----------------------------------------------------------
    c.case(
        "ok_utf8_bom",
        IMPORT,
        [
            "Imported 6 workers in 2 organizations, 12 survey responses",
            "Text encoding of the export: utf-8 with BOM",
        ],
        {"export.csv": b"\xef\xbb\xbf" + csv_text(base).encode("utf-8"), "mapping.yaml": MAPPING},
    )
    c.case(
        "ok_latin1",
        IMPORT,
        ["Imported 6 workers in 2 organizations", "Text encoding of the export: latin-1"],
        {
            "export.csv": csv_text(
                [dict(r, team="Équipe Süd" if r["worker"] < "P04" else "Équipe Nord") for r in base]
            ).encode("latin-1"),
            "mapping.yaml": MAPPING,
        },
    )
    c.case(
        "ok_semicolon_crlf",
        IMPORT,
        ["Imported 6 workers", "pre 6, post 6"],
        {"export.csv": csv_text(base, sep=";").replace("\n", "\r\n"), "mapping.yaml": MAPPING},
    )
    c.case(
        "ok_labels_with_numbers",
        IMPORT,
        ["Imported 6 workers"],
        {
            "export.csv": csv_text(
                [
                    dict(
                        r,
                        stss_1=f"{r['stss_1']} - "
                        + ["Never", "Rarely", "Occasionally", "Often", "Very often"][
                            int(r["stss_1"]) - 1
                        ],
                        stss_2=["never", " RARELY", "Occasionally ", "often", "very  often"][
                            int(r["stss_2"]) - 1
                        ],
                    )
                    for r in base
                ]
            ),
            "mapping.yaml": MAPPING,
        },
    )
    c.case(
        "ok_utf16_tab",
        IMPORT,
        ["Imported 6 workers", "pre 6, post 6", "Text encoding of the export: utf-16"],
        {
            "export.csv": b"\xff\xfe"
            + csv_text(base, sep="\t").replace("\n", "\r\n").encode("utf-16-le"),
            "mapping.yaml": MAPPING,
        },
    )
    c.case("ok_check_valid_study", check, ["valid", "Respondents per arm and wave"], study_files())
    corpus_imports.build(c, base, csv_text, edit, MAPPING)
    return c.names


if __name__ == "__main__":
    names = build()
    keep = set(names)
    for folder in HERE.iterdir():
        if folder.is_dir() and folder.name not in keep and not folder.name.startswith("_"):
            shutil.rmtree(folder)
    print(f"{len(names)} cases ({sum(not n.startswith('ok_') for n in names)} must fail)")
