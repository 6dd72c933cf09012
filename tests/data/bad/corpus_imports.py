"""More broken exports and mappings for the corpus (issue 13): headers, encodings, folders,
answer codes that cannot be decided, mapping ``codes``/``synonyms`` mistakes, and a few
exports that must now import (reverse-ordered REDCap choices, "Prefer not to say").

Called from ``make_corpus.py``; plain Python only, like it.
"""

from __future__ import annotations

IMPORT = "import {dir}/export.csv --mapping {dir}/mapping.yaml --out {out} --no-pseudonymize"
RED_ARGS = (
    "import {dir}/records.csv --dictionary {dir}/dictionary.csv --mapping "
    "{dir}/mapping.yaml --out {out} --no-pseudonymize"
)
ANCHORS = ["Never", "Rarely", "Occasionally", "Often", "Very often"]
RED_MAP = (
    "format: redcap\nworker_id: record_id\norg_id: agency\nwave: {column: "
    "redcap_event_name, values: {baseline_arm_1: pre, followup_arm_1: post}}\n"
    "items:\n  stss: {prefix: stss_}\n"
)


def _header_swap(text: str, old: str, new: str) -> str:
    head, rest = text.split("\n", 1)
    return head.replace(old, new, 1) + "\n" + rest


def _set(text: str, line: int, column: str, value: str) -> str:
    """``text`` (CSV) with the cell of ``column`` on spreadsheet line ``line`` replaced."""
    lines = text.split("\n")
    pos = lines[0].split(",").index(column)
    cells = lines[line - 1].split(",")
    cells[pos] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines)


def _dictionary(choices: str) -> str:
    head = (
        "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"
        '"Choices, Calculations, OR Slider Labels",Field Note,Identifier?\n'
        "record_id,staff,,text,Record ID,,,\nagency,staff,,text,Agency,,,\n"
    )
    return head + "".join(f'stss_{i},stss,,radio,item {i},"{choices}",,\n' for i in range(1, 18))


def _records(base, code_of=lambda v: v, event=("baseline_arm_1", "followup_arm_1")) -> str:
    cols = ["record_id", "redcap_event_name", "agency", *[f"stss_{i}" for i in range(1, 18)]]
    lines = [",".join(cols)]
    for r in base:
        ev = event[0] if r["wave"] == "pre" else event[1]
        items = [str(code_of(r[f"stss_{i}"])) for i in range(1, 18)]
        lines.append(",".join([r["worker"], ev, r["agency"], *items]))
    return "\n".join(lines) + "\n"


def build_headers(c, base, csv_text, mapping):
    text = csv_text(base)
    c.export_case(
        "header_duplicate_item",
        ["column stss_3, rows 1", "'stss_3', 'stss_3' at column numbers 8, 9 appears more than"],
        None,
        **{"export.csv": _header_swap(text, "stss_4", "stss_3")},
    )
    c.export_case(
        "header_equal_after_trimming",
        ["'stss_3', 'stss_3 '", "same name after trimming spaces and ignoring case"],
        **{"export.csv": _header_swap(text, "stss_4", '"stss_3 "')},
    )
    c.export_case(
        "header_equal_ignoring_case",
        ["'agency', 'Agency'", "same name after trimming spaces and ignoring case"],
        **{"export.csv": _header_swap(text, "team", "Agency")},
    )
    c.export_case(
        "header_empty_name_over_data",
        ["column #3, rows 1", "1 column(s) have no name in the header (column number(s) 3)"],
        **{"export.csv": _header_swap(text, "team", "")},
    )
    c.export_case(
        "header_spaces_only_name",
        ["have no name in the header (column number(s) 4)"],
        **{"export.csv": _header_swap(text, "wave", "   ")},
    )
    wide = ",".join(f"c{i}" for i in range(25_000)) + "\n" + ",".join("1" for _ in range(25_000))
    c.export_case(
        "header_25000_columns",
        ["the header has 25,000 columns (at most 20,000 are read)"],
        **{"export.csv": wide + "\n"},
    )
    c.export_case(
        "header_only_byte_order_mark",
        ["the file is empty (it holds only a byte-order mark or spaces)"],
        **{"export.csv": b"\xef\xbb\xbf\r\n"},
    )
    c.export_case(
        "nul_bytes_after_4k",
        ["holds NUL bytes", "save it as CSV UTF-8"],
        **{"export.csv": (text * 8).encode("utf-8") + b"\x00\x00garbage\n"},
    )
    c.export_case(
        "zip_renamed_csv",
        ["holds NUL bytes"],
        **{
            "export.csv": b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(40) + b"[Content_Types].xml"
        },
    )
    c.export_case(
        "html_saved_as_csv",
        ["the file was read as a single column", "check its delimiter"],
        **{"export.csv": "<html>\n<body>\n<p>Session expired</p>\n</body>\n</html>\n"},
    )
    c.export_case(
        "export_dictionary_swapped",
        ["names column 'worker' for worker_id, but the export has no such column"],
        **{"export.csv": _dictionary("1, Never | 2, Rarely")},
    )


def build_folders(c, base, csv_text, mapping):
    text = csv_text(base)
    c.case(
        "source_is_a_folder",
        IMPORT.replace("export.csv", "export"),
        ["export is a folder; give the export file itself"],
        {"export/readme.txt": "the export is inside", "mapping.yaml": mapping},
    )
    c.case(
        "mapping_is_a_folder",
        IMPORT.replace("mapping.yaml", "mapping"),
        ["mapping is a folder; --mapping needs the mapping YAML file"],
        {"export.csv": text, "mapping/readme.txt": "x"},
    )
    c.case(
        "dictionary_is_a_folder",
        RED_ARGS.replace("dictionary.csv", "dictionary"),
        ["dictionary is a folder; a input file is expected here"],
        {"records.csv": _records(base), "dictionary/x.txt": "x", "mapping.yaml": RED_MAP},
    )
    c.export_case(
        "side_file_is_a_folder",
        ["orgs, which is a folder, not a file"],
        mapping=mapping + "orgs_file: orgs\n",
        **{"orgs/readme.txt": "x"},
    )


def build_redcap_codes(c, base):
    full = " | ".join(f"{i}, {lab}" for i, lab in enumerate(ANCHORS, 1))
    c.case(
        "redcap_choice_between_anchors_unknown",
        RED_ARGS,
        [
            "column stss_1, stss_2, stss_3",
            "the answer codes cannot be decided: choice(s) 3 'Sometimes'",
            "1, Never | 2, Rarely | 3, Sometimes",
            "synonyms",
        ],
        {
            "records.csv": _records(base),
            "dictionary.csv": _dictionary(full.replace("Occasionally", "Sometimes")),
            "mapping.yaml": RED_MAP,
        },
    )
    c.case(
        "redcap_choices_in_another_language",
        RED_ARGS,
        ["none of the source's labels is an answer of the instrument", "1, Nie | 2, Selten"],
        {
            "records.csv": _records(base),
            "dictionary.csv": _dictionary("1, Nie | 2, Selten | 3, Manchmal | 4, Oft | 5, Immer"),
            "mapping.yaml": RED_MAP,
        },
    )
    c.case(
        "redcap_two_codes_one_anchor",
        RED_ARGS,
        ["codes 1 and 6 both stand for the answer 1"],
        {
            "records.csv": _records(base),
            "dictionary.csv": _dictionary(full + " | 6, NEVER!"),
            "mapping.yaml": RED_MAP,
        },
    )
    c.case(
        "redcap_code_without_choice",
        RED_ARGS,
        ["column stss_2, rows 4", "out of range for stss item 2 (e.g. 6)", "without a label"],
        {
            "records.csv": _set(_records(base), 4, "stss_2", "6"),
            "dictionary.csv": _dictionary(full),
            "mapping.yaml": RED_MAP,
        },
    )
    c.case(
        "redcap_dictionary_field_twice",
        RED_ARGS,
        ["column field_name", "listed more than once in the data dictionary: stss_3"],
        {
            "records.csv": _records(base),
            "dictionary.csv": _dictionary(full).replace("stss_4,stss", "stss_3,stss"),
            "mapping.yaml": RED_MAP,
        },
    )
    c.case(
        "redcap_records_field_twice",
        RED_ARGS,
        ["'stss_5', 'stss_5' at column numbers", "appears more than once"],
        {
            "records.csv": _header_swap(_records(base), "stss_6", "stss_5"),
            "dictionary.csv": _dictionary(full),
            "mapping.yaml": RED_MAP,
        },
    )
    c.case(
        "redcap_dictionary_empty",
        RED_ARGS,
        ["dictionary.csv", "the file is empty"],
        {"records.csv": _records(base), "dictionary.csv": "\n\n", "mapping.yaml": RED_MAP},
    )
    reverse = " | ".join(f"{i}, {lab}" for i, lab in enumerate(reversed(ANCHORS), 1))
    c.case(
        "ok_redcap_reversed_with_prefer_not_to_say",
        RED_ARGS,
        [
            "Imported 6 workers",
            "stss: items 1-17: 1->5, 2->4, 3->3, 4->2, 5->1 (source labels)",
            "9 'Prefer not to say' -> missing",
            "labels run opposite to the instrument's anchors",
        ],
        {
            "records.csv": _set(_records(base, code_of=lambda v: 6 - int(v)), 7, "stss_1", "9"),
            "dictionary.csv": _dictionary(reverse + " | 9, Prefer not to say"),
            "mapping.yaml": RED_MAP,
        },
    )


def build_mapping_codes(c, mapping):
    def items(extra: str) -> str:
        return mapping.replace("stss: {prefix: stss_}", "stss: {prefix: stss_, " + extra + "}")

    c.export_case(
        "mapping_codes_outside_answers",
        ["items.stss.codes", "codes map to values outside stss's answers (5: 7)"],
        mapping=items("codes: {1: 1, 2: 2, 3: 3, 4: 4, 5: 7}"),
    )
    c.export_case(
        "mapping_codes_and_recode",
        ["give codes or recode, not both"],
        mapping=items("codes: {1: 1}, recode: {1: 1}"),
    )
    c.export_case(
        "mapping_codes_not_a_mapping",
        ["codes must map each source code to a value"],
        mapping=items("codes: [1, 2, 3]"),
    )
    c.export_case(
        "mapping_codes_leave_a_code_out",
        [
            "out of range for stss item",
            "the mapping's codes for stss list 1, 2, 3, 4: add this code",
        ],
        mapping=items("codes: {1: Never, 2: Rarely, 3: Occasionally, 4: Often}"),
    )
    c.export_case(
        "mapping_synonym_to_no_anchor",
        [
            "items.stss.synonyms",
            "synonym target(s) that are not stss answers: Sometimes: Frequently",
        ],
        mapping=items("synonyms: {Sometimes: Frequently}"),
    )
    c.export_case(
        "mapping_synonyms_not_a_mapping",
        ["synonyms must map LABEL: ANCHOR"],
        mapping=mapping + "synonyms: [Sometimes]\n",
    )
    c.export_case(
        "mapping_key_twice",
        ["not valid YAML at line 3", "the key 'org_id' is given twice"],
        mapping=mapping.replace("org_id: agency\n", "org_id: agency\norg_id: team\n"),
    )
    c.export_case(
        "mapping_tab_indented",
        ["not valid YAML at line"],
        mapping=mapping.replace("  stss:", "\tstss:"),
    )
    c.export_case(
        "mapping_empty_file",
        ["the mapping must be a YAML mapping of fields", "got NoneType"],
        mapping="",
    )
    c.export_case(
        "mapping_latin1",
        ["the mapping file is not UTF-8 text"],
        mapping=("study_name: Équipe\n" + mapping).encode("latin-1"),
    )
    c.export_case(
        "mapping_missing_codes_a_string",
        ["missing_codes must map each code to its reason"],
        mapping=mapping + "missing_codes: '-99'\n",
    )
    c.export_case(
        "mapping_prefix_and_columns",
        ["give exactly one of prefix, columns or COLUMN: NUMBER pairs for stss"],
        mapping=items("columns: [stss_1]"),
    )
    c.export_case(
        "mapping_wave_values_a_list",
        ["values must map source values to study values"],
        mapping=mapping.replace("wave: wave", "wave: {column: wave, values: [pre, post]}"),
    )


def build(c, base, csv_text, edit, mapping):
    """Register every case of this module on the corpus ``c``."""
    build_headers(c, base, csv_text, mapping)
    build_folders(c, base, csv_text, mapping)
    build_redcap_codes(c, base)
    build_mapping_codes(c, mapping)
    c.export_case(
        "answer_text_not_an_anchor_among_numbers",
        ["unknown answer label(s) for stss: 'Sometimes' x1 (stss_6 x1)"],
        edit(base, 3, stss_6="Sometimes"),
    )
    c.export_case(
        "answer_infinite",
        ["unknown answer label(s) for stss: 'inf' x1 (stss_2 x1)"],
        edit(base, 3, stss_2="inf"),
    )
    c.export_case(
        "answer_huge_number",
        ["unknown answer label(s) for stss: '1e400' x1 (stss_2 x1)"],
        edit(base, 3, stss_2="1e400"),
    )
    c.export_case(
        "orgs_size_infinite",
        ["orgs.csv", "column size, rows 3", "size must be a whole number of staff (got 'inf')"],
        mapping=mapping + "orgs_file: orgs.csv\n",
        **{"orgs.csv": "org_id,name,size\nA1,One,12\nA2,Two,inf\n"},
    )
    c.export_case(
        "org_metrics_headcount_overflows",
        ["org_metrics.csv", "column headcount, rows 2", "(got '1e400')"],
        mapping=mapping + "org_metrics_file: org_metrics.csv\n",
        **{
            "org_metrics.csv": "org_id,month,headcount,separations,absence_days\n"
            "A1,2024-01,1e400,1,3\nA2,2024-01,20,0,2\n"
        },
    )
    c.export_case(
        "tenure_infinite",
        ["column tenure", "tenure must be a finite, non-negative number of years", "'inf'"],
        [dict(r, tenure="inf" if r["worker"] == "P02" else "3") for r in base],
        mapping=mapping + "tenure_years: tenure\n",
    )
    c.export_case(
        "ok_not_applicable_text_is_missing",
        ["Imported 6 workers", "N/A"],
        edit(base, 3, stss_2="N/A"),
    )
