"""The compiled core against the Python path: byte-identical NDJSON on every corpus, every pack example,
generated logs and Hypothesis-made input (invalid UTF-8, binary, huge lines, CRLF, no final newline).

Each case is converted twice in this process, once by a pipeline with the core and once by the same
pipeline with the core taken out (the pure-Python path). ``MODES`` lists the pipelines the core serves:
stateless, where it writes the NDJSON itself, and stateful (with message summaries or not), where it makes
the records the session tracker reads and writes the NDJSON of the records it enriched (events and
summaries must come out the same, in the same order).
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esalog import native
from esalog.connectors.es import EsConfig, EsSink
from esalog.connectors.hec import SUMMARY_SOURCETYPE, HecConfig, HecSink
from esalog.encode import encode_line, encode_lines
from esalog.integrations.convert import convert
from esalog.integrations.filter import FilterConfig, run_filter
from esalog.parsers.config import ParseConfig
from esalog.parsers.engine import CompiledPack, builtin_log_types
from esalog.parsers.pack import Pack
from esalog.parsers.parser import LineParser
from esalog.pipeline import Pipeline, PipelineConfig, build_pipeline, build_stages, native_core
from esalog.schemas import is_declared
from esalog.sources.reader import Source, SourceConfig
from esalog.testing.examples import EXAMPLE_TODAY
from esalog.testing.generate import write_corpus
from esalog.tracking.config import TrackingConfig

# These tests are of the compiled core, which make test builds (with PCRE2: make system-deps installs its
# headers). A core that did not build fails here instead of skipping; the pure-Python rerun
# (ESALOG_PURE=1) leaves this module out.
if native.core() is None:
    pytest.fail(f"the compiled core is not available: {native.core_status()}", pytrace=False)

ROOT = Path(__file__).resolve().parents[2]
LOGS = sorted([*ROOT.glob("tests/corpus/**/*.log"), *ROOT.glob("tests/fixtures/**/*.log")])
#: The pipelines the compiled core reads for (the others run the Python path whole).
MODES = {"stateless": TrackingConfig(stateless=True), "stateful": TrackingConfig(),
         "summaries": TrackingConfig(summaries=True)}


def _now() -> datetime:
    return datetime(2026, 11, 27, tzinfo=UTC)


def config_for(path: Path, tracking: TrackingConfig, **parse: object) -> PipelineConfig:
    """How a fixture is read (golden.render's clock; a log type folder forces its pack)."""
    config = ParseConfig(today=EXAMPLE_TODAY, now=_now, **parse)  # type: ignore[arg-type]
    if path.parent.name in builtin_log_types():
        config = replace(config, log_type=path.parent.name)
    return PipelineConfig(config, tracking)


@cache
def _parts(config: PipelineConfig) -> tuple[LineParser, object]:
    """The parser (packs loaded once per configuration) and its core."""
    parser = build_pipeline(replace(config, tracking=TrackingConfig())).parser
    return parser, native_core(parser, config.tracking)


def with_core(pipeline: Pipeline, core: object, tracking: TrackingConfig) -> Pipeline:
    """*pipeline* with *core* where *tracking* has it read (as build_pipeline plugs it)."""
    if tracking.stateless:
        pipeline.core = core
    else:
        pipeline.record_core = core
    return pipeline


def both(path: Path, config: PipelineConfig) -> tuple[bytes | str, bytes | str]:
    """The NDJSON of *path* with the core and on the pure-Python path (or the error that ended it)."""
    parser, core = _parts(config)
    assert core is not None
    outputs: list[bytes | str] = []
    for on in (True, False):
        pipeline = with_core(Pipeline(parser, build_stages(config.tracking), config.parse), core if on else None,
                             config.tracking)
        out = io.BytesIO()
        outputs.append(_stopped(partial(convert, pipeline, (str(path),), out.write)) or out.getvalue())
    return outputs[0], outputs[1]


def _stopped(run: Callable[[], object]) -> str:
    """The error that ended *run* ('' when none): orjson refuses an integer over 64 bits, the Python path
    too (a known limit), and both paths must stop alike."""
    try:
        run()
    except TypeError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def filtered(data: bytes, config: PipelineConfig, protocol: str = "lines") -> tuple[bytes | str, bytes | str]:
    """What ``esalog filter --protocol PROTOCOL`` answers to *data*, with the core and on the pure-Python path."""
    parser, core = _parts(config)
    outputs: list[bytes | str] = []
    for on in (True, False):
        pipeline = with_core(Pipeline(parser, build_stages(config.tracking), config.parse), core if on else None,
                             config.tracking)
        out = io.BytesIO()
        outputs.append(_stopped(partial(run_filter, FilterConfig(protocol), pipeline, io.BytesIO(data), out))
                       or out.getvalue())
    return outputs[0], outputs[1]


def assert_same(path: Path, config: PipelineConfig) -> bytes | str:
    core, pure = both(path, config)
    assert core == pure, _first_difference(core, pure)
    return core


def _first_difference(core: bytes | str, pure: bytes | str) -> str:
    if isinstance(core, str) or isinstance(pure, str):
        return f"core: {core[:300]!r}, pure: {pure[:300]!r}"
    for number, (a, b) in enumerate(zip(core.splitlines(), pure.splitlines(), strict=False), 1):
        if a != b:
            return f"event {number} differs:\ncore {a[:2000]!r}\npure {b[:2000]!r}"
    return f"{len(core.splitlines())} events from the core, {len(pure.splitlines())} from the Python path"


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("path", LOGS, ids=[str(p.relative_to(ROOT)) for p in LOGS])
def test_corpus_and_fixture_files(path: Path, mode: str) -> None:
    assert_same(path, config_for(path, MODES[mode]))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_shared_corpus(corpus: Path, mode: str) -> None:
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.name.endswith((".log", ".s")))
    assert files
    for path in files:
        assert_same(path, config_for(path, MODES[mode]))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_pack_example(tmp_path: Path, mode: str) -> None:
    """All examples of a pack as one file of that log type, read by its name and with the pack forced."""
    pipeline = build_pipeline()
    for log_type, pack in pipeline.parser.packs.items():
        lines = [example.line for rule in pack.rules for example in rule.source.examples]
        path = tmp_path / f"{log_type}.log"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        by_name = assert_same(path, config_for(path, MODES[mode]))
        assert isinstance(by_name, bytes) and _line_events(by_name) == len(lines)
        assert_same(path, config_for(path, MODES[mode], log_type=log_type))


def _line_events(ndjson: bytes) -> int:
    """How many events of *ndjson* are a line's (not a message summary)."""
    return sum(b'"kind":"state"' not in event for event in ndjson.splitlines())


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("form", ["file", "syslog"])
def test_generated_corpora(tmp_path: Path, form: str, mode: str) -> None:
    for seed in (1, 2):
        path = tmp_path / f"mail-{form}-{seed}.log"
        write_corpus(path, 5000, form, seed=seed)
        assert_same(path, config_for(path, MODES[mode]))
        assert_same(path, config_for(path, MODES[mode], keep_original=False))
        core, pure = filtered(path.read_bytes(), config_for(path, MODES[mode]))
        assert core == pure and isinstance(core, bytes) and _line_events(core) == 5000
        core, pure = filtered(path.read_bytes(), config_for(path, MODES[mode]), "rsyslog-mmexternal")
        assert core == pure and isinstance(core, bytes) and core.count(b'{"$!":{"esa":') == 5000
    if form == "syslog":  # the realistic mix: verdict lines, three appliances interleaved
        path = tmp_path / "mail-realistic.log"
        write_corpus(path, 5000, form, seed=9, verdicts=True, appliances=3)
        assert_same(path, config_for(path, MODES[mode]))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_filter_json_objects(tmp_path: Path, mode: str) -> None:
    """JSON objects carrying the line (``{"message": ...}`` with the host's keys, which go to passthrough, or
    alone; ASCII-escaped; blanks before it; one without the line; one whose key collides) answer what the
    Python path answers."""
    path = tmp_path / "mail-syslog.log"
    write_corpus(path, 3000, "syslog", seed=4, verdicts=True, appliances=2)
    objects = []
    lines = path.read_text("utf-8").splitlines()
    lines[1000:1000] = [f"<22>Nov  2 08:00:05 esa1 mail_logs: Info: MID {n} Subject 'caf\u00e9 \u2615 \u65e5\u672c'"
                        for n in range(8)]
    for number, line in enumerate(lines):
        obj: dict[str, object] = {"message": line} if number % 3 else {"@version": "1", "message": line, "n": number}
        if number % 101 == 0:
            obj = {"host": "relay", "msg": line}  # no line under --field
        elif number % 103 == 0:
            obj["passthrough"] = {"kept": True}
        objects.append(orjson.dumps(obj) if number % 2 else json.dumps(obj).encode())  # json: \\uXXXX escapes
        if number % 211 == 0:
            objects[-1] = b"  " + objects[-1]  # blanks before the object
    core, pure = filtered(b"\n".join(objects) + b"\n", config_for(path, MODES[mode]))
    assert core == pure, _first_difference(core, pure)
    assert isinstance(core, bytes) and core.count(b'"passthrough":{"@version":"1"') >= 900


def test_the_core_reads_most_generated_lines_itself(tmp_path: Path) -> None:
    """The fast path is taken: the Python path reads only the lines the core hands over (aborts...)."""
    path = tmp_path / "mail.log"
    write_corpus(path, 5000, "file", seed=3)
    pipeline = build_pipeline(PipelineConfig(tracking=MODES["stateless"]))
    calls = 0
    process = pipeline.process_lines

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return process(*args, **kwargs)  # type: ignore[arg-type]

    pipeline.process_lines = counting  # type: ignore[method-assign]
    convert(pipeline, (str(path),), io.BytesIO().write)
    assert pipeline.counters.lines == 5000
    assert 0 < calls < 5000 * 0.05


def test_the_core_reads_most_lines_for_the_tracker(tmp_path: Path) -> None:
    """Stateful: the core makes the records of most lines; the Python parser reads the few it hands over."""
    path = tmp_path / "mail.log"
    write_corpus(path, 5000, "syslog", seed=3, verdicts=True, appliances=3)
    pipeline = build_pipeline(PipelineConfig(tracking=MODES["stateful"]))
    assert pipeline.core is None and pipeline.record_core is not None
    calls = 0
    parse = pipeline.parser.parse

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return parse(*args, **kwargs)  # type: ignore[arg-type]

    pipeline.parser.parse = counting  # type: ignore[method-assign]
    convert(pipeline, (str(path),), io.BytesIO().write)
    assert pipeline.counters.lines == 5000
    assert 0 < calls < 5000 * 0.05


ENCODED_LINES = [
    "Mon Nov  2 08:00:00 2026 Info: MID 1 ICID 2 From: <a@b>",
    "Mon Nov  2 08:00:00 2026 Info: New SMTP ICID 7 interface Data 1 (10.0.0.1) address 10.0.0.2 reverse dns host h "
    "verified yes",
    "Mon Nov  2 08:00:00 2026 Info: MID 5 Subject '\u00e9t\u00e9 \\\"q\\\"'",
    "Mon Nov  2 08:00:00 2026 Info: no rule reads this MID 3",
]
#: Fields stages may set after the match: objects set whole or field by field, over the rule's own, values
#: orjson alone decides on (floats, lone surrogates, integers over 64 bits), the skeleton's objects.
ENCODED_EXTRAS: list[dict[str, object]] = [
    {}, {"source": {"ip": "192.0.2.1", "geo": {"x": 1.5}}}, {"source.ip": "x", "source": "flat"},
    {"source": {"ip": "y"}, "source.port": 25}, {"cisco.esa.mid": 2**70}, {"cisco.esa.mid": 2**63},
    {"cisco.esa.score": 1.5, "tags": None}, {"email.subject": "\ud800"}, {"message.x": "1"},
    {"event": 5}, {"event.action": None, "@timestamp": "t"}, {"a.b.c.d.e.f.g.h.i.j": [1, {"x": True}]},
    {"cisco.esa.ok": False, "cisco": {"esa": {}}, "cisco.esa.after": "z"},
]


def test_record_encoder_writes_what_the_python_encoder_writes() -> None:
    """The stateful core's encoder against ``encode.encode_lines``, on records with fields set after the match."""
    pipeline = build_pipeline()
    core = pipeline.record_core
    assert core is not None
    stream = pipeline.open_stream("mail_logs.current")
    pipeline.process_lines(["Mon Nov  2 08:00:00 2026 Info: ICID 1 close"], stream)  # the header is over
    for line in ENCODED_LINES:
        for fields in ENCODED_EXTRAS:
            for tags in (None, ["esalog_x"]):
                record = pipeline.parser.parse(line, stream, tags=tags)
                for name, value in fields.items():
                    record.set(name, value)
                native = _written(partial(core.encode_records, [record], encode_line))
                assert native == _written(partial(encode_lines, [record])), (line, fields)


def _written(encode: Callable[[], bytes]) -> bytes | str:
    """What *encode* gives, or the error that stopped it (see :func:`_stopped`)."""
    out = io.BytesIO()
    return _stopped(lambda: out.write(encode())) or out.getvalue()


def shipped(path: Path, config: PipelineConfig, sink: object) -> list[bytes]:
    """What *sink* would send for *path* as ``ship`` reads it, with the core and on the pure-Python path."""
    parser, core = _parts(config)
    out = []
    for on in (True, False):
        pipeline = with_core(Pipeline(parser, build_stages(config.tracking), config.parse), core if on else None,
                             config.tracking)
        items = []
        for batch in Source(pipeline, SourceConfig(paths=(str(path),)), encoded_records=True).batches():
            items += [item.data for item in sink.encode_lines(  # type: ignore[attr-defined]
                batch.records, batch.ends, lambda line, batch=batch: f"{batch.input.key}:{batch.offsets[line]}",
                [None] * len(batch.ends))]
        out.append(b"".join(items))
    return out


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("form", ["file", "syslog"])
def test_shipping_sends_the_same(tmp_path: Path, form: str, mode: str) -> None:
    """HEC and ``_bulk`` bodies (and the document ids) are the same from the core's records (with session
    tracking: the records it makes, encoded by it once the tracker has run; summaries under their own
    sourcetype)."""
    path = tmp_path / f"mail-{form}.log"
    write_corpus(path, 3000, form, seed=5, verdicts=True)
    config = config_for(path, MODES[mode])
    hec = HecSink(HecConfig(urls=("http://127.0.0.1:1",), token="t", sourcetypes=_parts(config)[0].sourcetypes()))
    es = EsSink(EsConfig(urls=("http://127.0.0.1:1",)))
    for sink in (hec, es, HecSink(HecConfig(urls=("http://127.0.0.1:1",), token="t", mode="raw-fields"))):
        core, pure = shipped(path, config, sink)
        assert core == pure and core.count(b"\n") >= 3000
        if sink is hec and mode == "summaries":
            assert core.count(b'"sourcetype":"' + SUMMARY_SOURCETYPE.encode() + b'"') >= 20
    events = [orjson.loads(line)["event"] for line in shipped(path, config, hec)[0].splitlines()]
    parsed = assert_same(path, config)
    assert isinstance(parsed, bytes)
    at_end = b'"end_reason":"end_of_input"'  # the summaries parse adds when input ends (shipped leaves them)
    assert events == [orjson.loads(line) for line in parsed.splitlines() if at_end not in line]


HEADERS = st.sampled_from([
    b"Mon Nov  2 08:00:00 2026 Info: ", b"Mon Nov 12 08:00:00 2026 Warning: ", b"Tue Nov  2 08:00:00 2026 Debug: ",
    b"Mon Nov  2 08:00:00 2026 Trace:  ", b"Mon Nov  2 08:00:00 2026 ", b"Mon Nov  2 08:00:00 2026: ",
    b"Mon Nov 123 08:00:00 2026 Info: ", b"Sun Nov  2 08:00:00 2026 Info:  \t",
    b"<22>Nov  2 08:10:00 esa2 mail_logs: Info: ", b"<22>Nov  2 08:10:00 esa3 mail_logs: Info: ",
    b"<13>Nov  2 08:10:01 esa2 mail_logs: Warning: ", b"<22>Nov  2 08:10:00 esa2 bounces: Info: ",
    b"Nov  2 08:10:00 esa2 amp: Info: ", b"Info: ", b"", b"Mon Nov  2 08:00:00 2026 Critical: ",
])
BODIES = st.sampled_from([
    b"MID 1 ICID 2 From: <a@b>", b"MID 1 ICID 2 RID 0 To: <a@b>", b"MID 1 ICID 2 RID 0 To:", b"Start MID 1 ICID 2",
    b"MID 5 Subject 'x\\xe9'", b"MID 5 Subject '=?UTF-8?B?w6k=?='", b"MID 5 Subject \xc3\xa9t\xc3\xa9",
    b"MID 99999999999999999999999 ICID 2 From: <a@b>", b"MID 1 ready 12 bytes from <a@b>",
    b"Message finished MID 3 done", b"Message aborted MID 3 Receiving aborted", b"ICID 4 close",
    b"New SMTP ICID 7 interface Data 1 (10.0.0.1) address 10.0.0.2 reverse dns host h verified yes",
    b"ICID 7 ACCEPT SG X match sbrs[-2.0:10.0] SBRS 1.5 country Japan", b"Time offset from UTC: 7200 seconds",
    b"Version: 15.0 SN: X", b"MID 1 RID [0, 1] Response 'ok'", b"Delivery start DCID 8 MID 7 to RID [0, 1]",
    b"MID 2 matched all recipients for per-recipient policy P in the outbound table", b"CEF:0|Cisco|x",
    b"Bounced: DCID 0 MID 8 to RID 0 - 5.1.2 - x ('550', ['no'])", b"MID \xd9\xa3 ICID 2 From: <a@b>",
])
TAILS = st.one_of(st.just(b""), st.binary(max_size=8),
                  st.sampled_from([b"\x00", b"\xff", b"\r", b" ", b"\xc2\xa0", b"\x1c", b"\t", b"\"\\"]))
LINES = st.one_of(
    st.tuples(HEADERS, BODIES, TAILS).map(b"".join),
    st.tuples(HEADERS, st.binary(max_size=40)).map(b"".join),
    st.binary(max_size=60),
)
ENDINGS = st.sampled_from([b"\n", b"\r\n"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(LINES, ENDINGS), max_size=25), st.booleans(), st.sampled_from([0, 0, 0, 1, 200]))
def test_any_bytes(lines: list[tuple[bytes, bytes]], final_newline: bool, huge: int) -> None:
    """Random lines (any bytes, CRLF or LF, a huge one, the last without newline) on one stream."""
    data = b"".join(line + end for line, end in lines)
    if huge:
        data += b"Mon Nov  2 08:00:00 2026 Info: MID 1 Subject '" + b"x" * huge * 1000 + b"'\n"
    if not final_newline:
        data = data.rstrip(b"\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mail_logs.current"
        path.write_bytes(data)
        for mode in MODES.values():
            assert_same(path, config_for(path, mode))
            if not huge:  # the filter reads a line at a time: no length limit in the way
                core, pure = filtered(data, config_for(path, mode))
                assert core == pure


def test_header_lines_and_impossible_dates_are_stamped_by_the_python_path() -> None:
    """An input's leading header lines are stamped again once its time offset is known, and Feb 30 with the
    wall clock (never cached): the core leaves such lines to the Python path."""
    pipeline = build_pipeline(PipelineConfig(tracking=MODES["stateless"]))
    python_stream = pipeline.open_stream("mail_logs.current")
    stream = pipeline.core.stream(python_stream)
    first = b"Mon Nov  2 08:00:00 2026 Info: Begin Logfile"
    assert pipeline.core.encode_line(stream, first) is None
    pipeline.process_lines([first.decode(), "Mon Nov  2 08:00:00 2026 Info: ICID 3 close"], python_stream)
    good = pipeline.core.encode_line(stream, b"Mon Nov  2 08:00:00 2026 Info: ICID 4 close")
    assert good is not None and good.startswith(b'{"@timestamp":"2026-11-02T08:00:00.000Z"')
    assert pipeline.core.encode_line(stream, b"Mon Feb 30 08:00:00 2026 Info: ICID 4 close") is None
    assert pipeline.core.encode_line(stream, b"Mon Nov  2 25:00:00 2026 Info: ICID 4 close") is None


def test_pure_environment_turns_the_core_off() -> None:
    """``ESALOG_PURE=1`` is read once per process: a fresh interpreter with it set has no core."""
    from tests.conftest import run_cli

    assert run_cli("--version", env={native.PURE_ENV: "1"}).stdout.endswith(b"(pure-Python core: ESALOG_PURE=1)\n")
    assert run_cli("--version", env={native.PURE_ENV: ""}).stdout.endswith(b"(compiled core)\n")


USER_PACK = """
name: user
log_type: mail_logs
rules:
  - id: user-bounded
    match: 'MID %{MID:cisco.esa.mid:int} XUSER a{,2}b %{WORD:cisco.esa.policy}'
    set: {event.action: user-line}
    examples:
      - line: 'Mon Nov  2 08:00:00 2026 Info: MID 7 XUSER aab word'
  - id: user-plain
    match: 'MID %{MID:cisco.esa.mid:int} XPLAIN %{WORD:cisco.esa.policy}'
    set: {event.action: user-line}
    examples:
      - line: 'Mon Nov  2 08:00:00 2026 Info: MID 7 XPLAIN word'
"""


def _user_log(tmp_path: Path) -> Path:
    log = tmp_path / "mail_logs.current"
    log.write_text("Mon Nov  2 08:00:00 2026 Info: MID 6 XPLAIN first\n"  # ends the header (Python path)
                   "Mon Nov  2 08:00:00 2026 Info: MID 7 XUSER ab word\n"
                   "Mon Nov  2 08:00:00 2026 Info: MID 7 XPLAIN word\n"
                   "Mon Nov  2 08:00:00 2026 Info: ICID 4 close\n")
    return log


@pytest.mark.parametrize("mode", sorted(MODES))
def test_user_packs(tmp_path: Path, mode: str) -> None:
    """User rules (matched by the ``regex`` module within a time budget) leave their candidates' lines to
    the Python path; the output is the same."""
    pack = tmp_path / "user.yaml"
    pack.write_text(USER_PACK)
    log = _user_log(tmp_path)
    out = assert_same(log, config_for(log, MODES[mode], packs=(str(pack),)))
    assert isinstance(out, bytes) and b'"kind":"user-bounded"' in out and b'"kind":"user-plain"' in out


def test_pcre2_reads_only_rules_proven_equal(tmp_path: Path) -> None:
    """PCRE2's JIT takes a rule once its examples give the groups ``re`` gives; syntax PCRE2 reads otherwise
    (``{,2}`` is a quantifier in Python, text in PCRE2) keeps the rule on ``re``. Output stays the same."""
    assert getattr(native.core(), "HAVE_PCRE2", False), "the compiled core was built without PCRE2's headers"
    packs = {"mail_logs": CompiledPack([Pack.from_text(USER_PACK)], is_declared)}
    parser = LineParser(packs)
    core = native_core(parser, MODES["stateless"])
    log = _user_log(tmp_path)
    outputs = []
    for on in (True, False):
        pipeline = Pipeline(parser, build_stages(MODES["stateless"]))
        pipeline.core = core if on else None
        out = io.BytesIO()
        convert(pipeline, (str(log),), out.write)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert b'"kind":"user-bounded"' in outputs[0] and b'"kind":"user-plain"' in outputs[0]
    states = {crule.rule.id: crule.pcre_state for crule in core.rules}
    assert states == {"user-bounded": -1, "user-plain": 1}


STARTUP_LINE = ("Thu Aug 14 11:04:31 2014 Info: New SMTP ICID 10293 interface Management (10.0.0.5) "
                "address 192.0.2.17 reverse dns host mail.example.org verified yes")


def test_the_compiled_core_makes_a_rule_ready_when_a_line_reaches_it(tmp_path: Path) -> None:
    pipeline = build_pipeline(PipelineConfig(tracking=TrackingConfig(stateless=True)))
    core = pipeline.core
    assert core is not None, "the compiled core did not build"
    assert core.rules == [] and all("_pending" in p.__dict__ for p in pipeline.parser.packs.values())
    log = tmp_path / "mail.current"
    log.write_text(STARTUP_LINE + "\n" + STARTUP_LINE.replace("10293", "10294") + "\n")
    out = io.BytesIO()
    convert(pipeline, (str(log),), out.write)
    assert out.getvalue().count(b'"kind":"connection-opened"') == 2
    assert 0 < len(core.rules) < len(pipeline.parser.packs["mail_logs"]._compiled) // 4
    assert "connection-opened" in {crule.rule.id for crule in core.rules}


@pytest.mark.parametrize("mode", [[], ["--stateless"]], ids=["stateful", "stateless"])
def test_stdin_gives_what_the_python_path_gives(mode: list[str]) -> None:
    """``parse -`` decodes its blocks as it reads them (for the lines' origins): a damaged line's problems
    are the reader's, once, with the core as on the Python path."""
    from tests.conftest import run_cli

    data = (b"\xff\xfe not UTF-8 and no header\n"
            b"Tue Dec  1 10:00:00 2026 Info: MID 5 ICID 6 From: <\xffa@b.example>\r\n"
            b"Tue Dec  1 10:00:01 2026 Info: MID 5 ICID 6 RID 0 To: <\x00c@d.example>\n"
            b"Tue Dec  1 10:00:02 2026 Info: MID 5 Subject '\xc3\xa9t\xc3\xa9 \xe9'\n"
            b"Tue Dec  1 10:00:03 2026 Info: Message finished MID 5 done\n")
    outputs = []
    for pure in ("", "1"):
        proc = run_cli("parse", "-q", *mode, "-", input=data, env={native.PURE_ENV: pure})
        assert proc.returncode == 0, proc.stderr
        events = [orjson.loads(row) for row in proc.stdout.splitlines()]
        for event in events:
            if event["event"]["kind"] == "pipeline_error":  # stamped when read
                del event["@timestamp"], event["event"]["created"]
        outputs.append(events)
    assert outputs[0] == outputs[1]
    assert [e.get("tags") for e in outputs[0][:3]] == [
        ["esalog_invalid_utf8", "esalog_pipeline_error"], ["esalog_invalid_utf8"], ["esalog_binary"]]
