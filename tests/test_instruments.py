"""Instrument files: schema, facts from the reference, user files, errors naming the field."""

from __future__ import annotations

import pytest
import yaml

from stseval import InstrumentDefinitionError, UsageError, list_instruments, load_instrument
from stseval.areas import AREA_KEYS, IND_STATEMENTS, ORG_AREAS, STATEMENT_KEYS
from stseval.instruments import builtin_keys

MINIMAL = {
    "key": "mine",
    "name": "Mine",
    "short_name": "M",
    "version": "1",
    "citation": "Me",
    "licence": {"status": "free", "summary": "s"},
    "response": {"min": 1, "max": 5, "anchors": {1: "never", 5: "always"}},
    "items": [{"number": 1, "label": "first"}, {"number": 2, "label": "second"}],
    "scales": {"total": {"label": "T", "items": [1, 2], "method": "sum"}},
}


def write(tmp_path, data):
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_every_builtin_loads_and_is_listed():
    table = list_instruments()
    assert list(table["key"]) == builtin_keys()
    for key in builtin_keys():
        inst = load_instrument(key)
        assert inst.key == key
        assert inst.item_columns[0] == f"{key}_01"


@pytest.mark.parametrize(
    "key,n_items,scales",
    [
        ("stss", 17, ["total", "intrusion", "avoidance", "arousal"]),
        ("proqol", 30, ["cs", "bo", "sts"]),
        (
            "stsioa",
            40,
            ["resilience", "safety", "policies", "leadership", "routine", "monitoring", "total"],
        ),
        ("brs", 6, ["total"]),
        ("pcl5", 20, ["total", "intrusion", "avoidance", "cognition_mood", "arousal"]),
        ("pss10", 10, ["total"]),
        ("scssf", 12, ["total"]),
        ("cbi", 19, ["personal", "work", "client"]),
        ("psysafety", 7, ["total"]),
        ("org_guidance", 39, list(AREA_KEYS)),
        ("ind_guidance", 28, list(STATEMENT_KEYS)),
    ],
)
def test_structure_matches_reference(key, n_items, scales):
    inst = load_instrument(key)
    assert inst.n_items == n_items
    assert list(inst.scales) == scales


def test_reference_facts():
    # shared/reference/instruments.md sections 1, 2, 4, 6, 7, 9, 10.
    stss = load_instrument("stss")
    assert stss.scales["intrusion"].items == (2, 3, 6, 10, 13)
    assert stss.scales["avoidance"].items == (1, 5, 7, 9, 12, 14, 17)
    assert stss.scales["arousal"].items == (4, 8, 11, 15, 16)
    assert stss.reverse_items == []
    assert [b.lower for b in stss.band_sets["bride_2007"].bands] == [17, 28, 38, 44, 49]
    assert load_instrument("proqol").reverse_items == [1, 4, 15, 17, 29]
    assert load_instrument("brs").reverse_items == [2, 4, 6]
    assert load_instrument("pss10").reverse_items == [4, 5, 7, 8]
    assert load_instrument("pss10").band_sets == {}  # the author publishes no cut-offs
    assert load_instrument("scssf").reverse_items == [1, 4, 8, 9, 11, 12]
    assert load_instrument("cbi").reverse_items == [13]
    assert load_instrument("psysafety").reverse_items == [1, 3, 5]
    stsioa = load_instrument("stsioa")
    assert [len(s.items) for s in stsioa.scales.values()][:6] == [7, 7, 6, 9, 7, 4]
    assert stsioa.response.not_applicable == 0


def test_unconfirmed_instrument_left_out():
    # The STS self-efficacy scale is marked unconfirmed in the reference: not shipped.
    assert not any("stse" in k for k in builtin_keys())


def test_kit_inventories_say_they_are_not_validated_and_follow_areas():
    for key, areas in [("org_guidance", ORG_AREAS), ("ind_guidance", IND_STATEMENTS)]:
        inst = load_instrument(key)
        assert inst.kit_authored and not inst.validated
        assert "NOT YET VALIDATED" in inst.validation_note
        for area_key, area in areas.items():
            items = inst.scales[area_key].items
            assert 4 <= len(items) <= 7
            assert [inst.items[i - 1].label for i in items] == list(area.elements)


def test_labels_are_short_paraphrases():
    for key in builtin_keys():
        for item in load_instrument(key).items:
            assert len(item.label.split()) <= 5 and len(item.label) <= 40


def test_user_file_loads(tmp_path):
    inst = load_instrument(write(tmp_path, MINIMAL))
    assert inst.key == "mine" and inst.missing_rule.source == "kit"


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda d: d["scales"]["total"].update(items=[1, 3]), "items that do not exist: \\[3\\]"),
        (lambda d: d["scales"]["total"].update(method="median"), "scales.total.method"),
        (lambda d: d["response"].update(max=0), "response"),
        (lambda d: d.pop("citation"), "citation: Field required"),
        (
            lambda d: d["items"][0].update(label="this label is far too long to be a short one"),
            "items\\[0\\]",
        ),
        (lambda d: d.update(colour="red"), "colour: Extra inputs"),
        (lambda d: d["items"][1].update(number=5), "numbered 1..2"),
        (lambda d: d.update(key="Bad Key"), "key: String should match"),
    ],
)
def test_malformed_file_names_the_field(tmp_path, change, field):
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    change(data)
    with pytest.raises(InstrumentDefinitionError, match=field) as info:
        load_instrument(write(tmp_path, data))
    assert str(tmp_path) in str(info.value)


def test_not_yaml_and_unknown_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: [unclosed")
    with pytest.raises(InstrumentDefinitionError, match="not valid YAML"):
        load_instrument(bad)
    with pytest.raises(UsageError, match="unknown instrument 'proqol4'"):
        load_instrument("proqol4")
    with pytest.raises(UsageError, match="does not exist"):
        load_instrument(tmp_path / "missing.yaml")


def test_instrument_objects_are_frozen():
    inst = load_instrument("stss")
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="frozen"):
        inst.key = "other"
