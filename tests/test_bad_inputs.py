"""The corpus of malformed inputs (tests/data/bad): exit 2, the expected message, no traceback,
inputs untouched. Cases named ok_* (BOM, Latin-1, UTF-16, semicolons, labels...) must work.

Each case folder holds its input files, ``args.txt`` (the command line) and ``expected.txt``
(lines that must all appear in the output); ``tests/data/bad/make_corpus.py`` writes them.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from stseval.cli import main

BAD = Path(__file__).resolve().parent / "data" / "bad"
CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir() and (p / "args.txt").is_file())
FAILING = [c for c in CASES if not c.startswith("ok_")]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _args(case: str, out: Path) -> list[str]:
    text = (BAD / case / "args.txt").read_text(encoding="utf-8").strip()
    return shlex.split(text.format(dir=BAD / case, out=out))


def _expected(case: str) -> list[str]:
    return [
        line
        for line in (BAD / case / "expected.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_corpus_is_large_enough():
    assert len(FAILING) >= 30
    assert {"ok_utf8_bom", "ok_latin1", "ok_semicolon_crlf"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_case_in_process(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STSEVAL_KEY", raising=False)
    before = _hashes(BAD / case)
    out = tmp_path / "out"
    code = main(_args(case, out))
    captured = capsys.readouterr()
    if case.startswith("ok_"):
        assert code == 0, captured.err
        text = captured.out
    else:
        assert code == 2, captured.out + captured.err
        text = captured.err
        assert not out.exists() or not any(out.iterdir()), "nothing is written on error"
    for line in _expected(case):
        assert line in text, f"{case}: expected {line!r} in:\n{text}"
    assert "Traceback" not in captured.err
    assert _hashes(BAD / case) == before, "an input file changed"


@pytest.mark.parametrize(
    "case", ["unknown_label_counts", "malformed_yaml", "no_key", "check_missing_table", "ok_latin1"]
)
def test_case_as_subprocess(case, tmp_path):
    """The installed command prints one message and no traceback, with exit 2."""
    before = _hashes(BAD / case)
    env = {k: v for k, v in os.environ.items() if k != "STSEVAL_KEY"}
    entry = "import sys; from stseval.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", entry, *_args(case, tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    want = 0 if case.startswith("ok_") else 2
    assert proc.returncode == want, proc.stderr
    assert "Traceback" not in proc.stderr
    text = proc.stdout if want == 0 else proc.stderr
    for line in _expected(case):
        assert line in text
    assert _hashes(BAD / case) == before


def test_every_problem_reported_at_once(tmp_path, capsys):
    code = main(_args("many_problems_at_once", tmp_path / "out"))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n  - ") == 4
