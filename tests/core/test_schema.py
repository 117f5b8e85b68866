"""The JSON Schema is the contract: in step with fields.yaml, and every event validates."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from esalog.parsers.parser import LineParser
from esalog.schemas import build_schema, field_declarations, is_declared, validator
from tests.conftest import ROOT, run_cli


def test_committed_schema_is_generated_from_fields_yaml():
    """event.schema.json equals what fields.yaml generates (run python -m esalog.schemas --write)."""
    committed = json.loads((ROOT / "src/esalog/schemas/event.schema.json").read_text())
    assert committed == build_schema()


def test_schema_is_valid_draft_2020_12():
    """The schema itself is a valid draft 2020-12 schema."""
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(build_schema())


def test_every_field_a_pack_sets_is_declared():
    """No rule captures or sets a field the schema does not declare."""
    parser = LineParser.from_options()
    undeclared = {(r.id, f) for p in parser.packs.values() for r in p.rules for f in r.fields if not is_declared(f)}
    assert undeclared == set()


def test_declarations_have_types_and_descriptions():
    """Every declared field has a known type and a description."""
    for name, decl in field_declarations().items():
        assert decl["type"] in {"keyword", "text", "long", "float", "boolean", "date", "ip", "object"}, name
        assert decl.get("description"), name


def test_schema_rejects_undeclared_fields():
    """additionalProperties is closed: an event with an unknown field fails validation."""
    errors = list(validator().iter_errors({"@timestamp": "2014-08-14T11:04:51.000Z", "cisco": {"esa": {"bogus": 1}}}))
    assert errors


def test_every_event_of_every_test_input_validates(tmp_path, corpus):
    """Events from the examples, the fixtures and the whole corpus validate against the schema."""
    inputs = [str(p) for p in sorted((ROOT / "examples/logs").glob("*.log"))]
    inputs += [str(p) for p in sorted(Path(corpus).rglob("*")) if p.is_file() and p.suffix in (".log", ".s")]
    proc = run_cli("parse", "--quiet", *inputs)
    assert proc.returncode == 0, proc.stderr
    count = 0
    for line in proc.stdout.splitlines():
        validator().validate(orjson.loads(line))
        count += 1
    assert count > 1000
