"""Write the example survey exports in data/synthetic/exports from data/synthetic/small.

Usage: ``python scripts/make_exports.py [--study DIR] [--out DIR]``

What a user of REDCap or Qualtrics would download for the small synthetic
study (synthetic people: invented names, e-mails and IP addresses that the
importer must drop), plus the mapping files that import them back:

* ``redcap_records.csv`` (raw codes, longitudinal: baseline / follow-up events),
  ``redcap_records_labels.csv`` (label export of the same project),
  ``redcap_data_dictionary.csv``, ``redcap_mapping.yaml``;
* ``redcap_repeating_records.csv`` (a classic project with repeating survey
  instruments), ``redcap_repeating_data_dictionary.csv``,
  ``redcap_repeating_mapping.yaml``;
* ``qualtrics_numeric.csv`` and ``qualtrics_choice_text.csv`` (three header rows),
  ``qualtrics_mapping.yaml``;
* ``orgs.csv``, ``interventions.csv``, ``org_metrics.csv`` (side files the mappings name).

The functions doing the work are :func:`stseval.importers.export_redcap` and
:func:`stseval.importers.export_qualtrics`; ``tests/test_importers.py`` checks
that importing these files gives back the study's scores exactly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stseval.importers import export_qualtrics, export_redcap
from stseval.study import Study

ROOT = Path(__file__).resolve().parents[1]

README = """# Example survey exports (synthetic)

Made by `scripts/make_exports.py` from `data/synthetic/small`: what REDCap and
Qualtrics exports of that study would look like. **Not real data**: the names,
e-mail addresses, IP addresses and locations are invented so that the importer
has identifiers to drop. Field labels and question texts are the kit's own short
item labels, never the instruments' wording.

| file | what |
|---|---|
| `redcap_records.csv` | REDCap records export, raw codes, longitudinal project (events `baseline_arm_1`, `follow_up_arm_1`); missing-data code `-99` |
| `redcap_records_labels.csv` | the same as a label export (field labels as headers, choice labels as answers) |
| `redcap_data_dictionary.csv` | its data dictionary (CSV-download headers) |
| `redcap_mapping.yaml` | mapping for both (`stseval import`) |
| `redcap_repeating_*` | a classic project whose surveys are repeating instruments (instance 1 = pre) |
| `qualtrics_numeric.csv`, `qualtrics_choice_text.csv` | Qualtrics exports (three header rows; numeric values or choice text); one survey-preview response |
| `qualtrics_mapping.yaml` | mapping for both |
| `orgs.csv`, `interventions.csv`, `org_metrics.csv` | side files named by the mappings |

Try:

```bash
export STSEVAL_KEY=$(python -c "import secrets; print(secrets.token_hex(32))")
stseval import data/synthetic/exports/redcap_records.csv \\
    --dictionary data/synthetic/exports/redcap_data_dictionary.csv \\
    --mapping data/synthetic/exports/redcap_mapping.yaml --out /tmp/my_study
stseval check /tmp/my_study
stseval import data/synthetic/exports/qualtrics_numeric.csv --template   # a starter mapping
```
"""


def make_exports(study_dir: Path, out: Path) -> list[Path]:
    """Write every example export of the study in ``study_dir`` into ``out``."""
    study = Study.from_dir(study_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    written += export_redcap(study, out, seed=11).values()
    written.append(export_redcap(study, out, labels=True, seed=11)["records"])
    written += export_redcap(
        study, out, layout="repeating", seed=12, prefix="redcap_repeating"
    ).values()
    written += export_qualtrics(study, out, seed=13).values()
    written.append(export_qualtrics(study, out, choice_text=True, seed=13)["responses"])
    (out / "README.md").write_text(README, encoding="utf-8")
    written.append(out / "README.md")
    return sorted(set(written))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--study", type=Path, default=ROOT / "data" / "synthetic" / "small")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "synthetic" / "exports")
    args = parser.parse_args(argv)
    for path in make_exports(args.study, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
