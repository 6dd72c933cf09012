"""The shared table reader (stseval._io.read_table): headers, encodings, size guards, folders.

``stseval import`` and ``stseval check`` both read through it, so each refusal here is
also checked once through ``check`` on a study folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stseval._io import MAX_COLUMNS, MAX_LINE, read_table
from stseval.cli import main
from stseval.errors import DataValidationError, UsageError

TINY = Path(__file__).resolve().parent / "data" / "bad" / "ok_check_valid_study" / "study"


def _write(tmp_path, text, name="t.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        ("id,stss_3,stss_3", "stss_3", "appears more than once"),
        ('id,stss_3,"stss_3 "', "stss_3, stss_3 ", "after trimming spaces and ignoring case"),
        ("id,Stss_3,stss_3", "Stss_3, stss_3", "after trimming spaces and ignoring case"),
    ],
)
def test_repeated_header_names_are_errors_listing_the_columns(tmp_path, header, column, words):
    path = _write(tmp_path, header + "\n1,2,3\n")
    with pytest.raises(DataValidationError) as err:
        read_table(path)
    failures = err.value.failures
    assert failures["column"].tolist() == [column]
    assert failures["rows"].tolist() == ["1"]
    assert words in failures["problem"].iloc[0]
    assert "column numbers 2, 3" in failures["problem"].iloc[0]


def test_empty_header_name_over_data_is_an_error_but_a_trailing_empty_column_is_dropped(tmp_path):
    with pytest.raises(
        DataValidationError, match=r"no name in the header \(column number\(s\) 2\)"
    ):
        read_table(_write(tmp_path, "id,,x\n1,2,3\n"))
    frame = read_table(_write(tmp_path, "id,x,\n1,3,\n2,4,\n", name="u.csv"))
    assert list(frame.columns) == ["id", "x"]
    assert frame.attrs["notes"] == ["1 empty column(s) without a name were ignored"]


def test_a_5_mb_single_line_is_refused_with_a_clear_error(tmp_path):
    path = _write(tmp_path, ("a," * 2_500_000) + "\n")
    with pytest.raises(DataValidationError, match="line 1 is 5,000,000 characters long"):
        read_table(path)
    assert MAX_LINE < 5_000_000


def test_too_many_columns_are_refused_before_parsing(tmp_path):
    n = MAX_COLUMNS + 1
    path = _write(tmp_path, ",".join(f"c{i}" for i in range(n)) + "\n")
    with pytest.raises(DataValidationError, match=f"the header has {n:,} columns"):
        read_table(path)


def test_a_folder_is_said_to_be_a_folder(tmp_path):
    (tmp_path / "export.csv").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        read_table(tmp_path / "export.csv")
    with pytest.raises(UsageError, match="does not exist"):
        read_table(tmp_path / "nothere.csv")


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("id,name\n1,Zoë\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "id,name\n1,Zoë\n".encode(), "utf-8 with BOM"),
        ("id,name\n1,Zoë\n".encode("latin-1"), "latin-1 (windows-1252)"),
        (b"\xff\xfe" + "id,name\n1,Zoë\n".encode("utf-16-le"), "utf-16"),
    ],
)
def test_encoding_is_detected_and_reported(tmp_path, raw, encoding):
    frame = read_table(_write(tmp_path, raw))
    assert frame.attrs["encoding"] == encoding
    assert frame.loc[2, "name"] == "Zoë"
    assert list(frame.columns) == ["id", "name"]


def test_numbered_duplicates_are_linear_and_left_for_the_caller(tmp_path):
    path = _write(tmp_path, "a,Complete?,b,Complete?,Complete?\n1,2,3,4,5\n")
    frame = read_table(path, duplicates="number")
    assert list(frame.columns) == ["a", "Complete?", "b", "Complete?.1", "Complete?.2"]
    assert len(frame.attrs["header_problems"]) == 1


def test_check_refuses_a_repeated_header_too(tmp_path, capsys):
    study = tmp_path / "study"
    shutil.copytree(TINY, study)
    text = (study / "responses.csv").read_text(encoding="utf-8")
    head, rest = text.split("\n", 1)
    (study / "responses.csv").write_text(
        head.replace("stss_04", "stss_03 ") + "\n" + rest, encoding="utf-8"
    )
    assert main(["check", str(study)]) == 2
    err = capsys.readouterr().err
    assert "responses.csv" in err and "'stss_03', 'stss_03 '" in err
    assert "Traceback" not in err
