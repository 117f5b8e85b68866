"""``esalog parse --workers N``: same output whatever N, each input's events in its own line order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from esalog.testing import read_ndjson
from esalog.testing.generate import write_corpus
from tests.conftest import run_cli
from tests.reliability.conftest import wait_until


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four files of different sizes and forms (file and syslog), as separate appliances would write."""
    base = tmp_path_factory.mktemp("workers")
    files = []
    for n, (lines, form) in enumerate([(3000, "file"), (500, "syslog"), (1, "file"), (2000, "file")]):
        path = base / f"mail-{n}.log"
        write_corpus(path, lines, form, seed=n)
        files.append(path)
    return files


def events_of(stdout: bytes) -> list[dict]:
    return read_ndjson(stdout)


def test_output_is_the_same_for_any_number_of_workers(inputs: list[Path]) -> None:
    """--workers 1, 2 and 3 write byte-identical NDJSON for the same files."""
    outputs = []
    for workers in ("1", "2", "3"):
        result = run_cli("parse", "-q", "--workers", workers, *map(str, inputs))
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


def test_workers_keep_each_input_in_order_and_inputs_in_the_order_given(inputs: list[Path]) -> None:
    """The events follow the lines of file 1, then file 2, ...: one event per line, nothing lost."""
    order = [inputs[3], inputs[0], inputs[2], inputs[1]]
    result = run_cli("parse", "-q", "--workers", "2", *map(str, order))
    assert result.returncode == 0, result.stderr
    originals = [event["event"]["original"] for event in events_of(result.stdout)]
    expected = [line for path in order for line in path.read_text().splitlines()]
    assert originals == expected


def test_workers_match_parsing_each_file_alone(inputs: list[Path]) -> None:
    """Each input is independent: the output equals the files parsed one by one and concatenated."""
    alone = b"".join(run_cli("parse", "-q", str(path)).stdout for path in inputs)
    result = run_cli("parse", "-q", "--workers", "2", *map(str, inputs))
    assert result.stdout == alone


def test_workers_count_every_line_in_the_summary(inputs: list[Path]) -> None:
    """The closing summary adds up the lines of all inputs."""
    result = run_cli("parse", "--workers", "2", *map(str, inputs), "-o", "/dev/null")
    total = sum(len(path.read_text().splitlines()) for path in inputs)
    assert f"esalog: {total} lines" in result.stderr.decode()


def test_workers_refuse_stdin() -> None:
    """Workers need files; stdin is a usage error (exit 2), not a silent fallback."""
    result = run_cli("parse", "--workers", "2", "-", input=b"")
    assert result.returncode == 2
    assert b"--workers reads files" in result.stderr


def test_bulk_reader_gives_the_same_events_from_file_gzip_and_stdin(inputs: list[Path], tmp_path: Path) -> None:
    """The block reader behind ``parse`` reads plain files, gzip files and a pipe alike."""
    import gzip

    source = inputs[0]
    packed = tmp_path / "mail-0.log.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    plain = run_cli("parse", "-q", str(source)).stdout
    assert plain == run_cli("parse", "-q", str(packed)).stdout
    assert plain == run_cli("parse", "-q", "-", input=source.read_bytes()).stdout
    assert len(plain.splitlines()) == len(source.read_text().splitlines())


def test_a_worker_that_dies_ends_the_command(inputs: list[Path], tmp_path: Path) -> None:
    """A worker that dies (killed here while it waits on a FIFO) fails the command with exit 1 and names the
    file; the parent does not wait for it forever."""
    fifo = tmp_path / "mail-fifo.log"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "esalog", "parse", "-q", "--workers", "2", str(fifo),
                             str(inputs[2])], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        wait_until(lambda: len(children.read_text().split()) == 2, what="two workers")
        os.kill(int(children.read_text().split()[0]), signal.SIGKILL)  # the first: the FIFO's reader
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert f"the worker reading {fifo} stopped".encode() in stderr


def test_a_number_over_64_bits_is_a_conversion_error_not_a_dead_worker(inputs: list[Path], tmp_path: Path) -> None:
    """A MID of 23 digits (orjson cannot write it, nor Elasticsearch keep it as a long) is a tagged conversion
    error in its event; the worker reading it goes on and the command succeeds."""
    bad = tmp_path / "mail-bad.log"
    bad.write_text("Mon Nov  2 08:00:00 2026 Info: MID 99999999999999999999999 ICID 2 From: <a@b>\n")
    result = run_cli("parse", "-q", "--workers", "2", str(inputs[2]), str(bad), timeout=60)
    assert result.returncode == 0, result.stderr
    event = read_ndjson(result.stdout)[-1]
    assert event["error"]["type"] == "conversion" and "does not fit in 64 bits" in event["error"]["message"]


@pytest.mark.parametrize("mode", [[], ["--stateless"]], ids=["whole-files", "parts"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path, sig: signal.Signals, mode: list[str]) -> None:
    """The parent killed (SIGTERM, kill -9) while its workers run: they exit too, so whoever waits for the
    command's stderr (a shell pipeline, ``subprocess.run``) sees its end. Before, a worker waiting for its
    turn blocked for ever: every worker held copies of the parent's channel ends, so no EOF came."""
    files = []
    for n in range(2):
        path = tmp_path / f"mail-{n}.log"
        write_corpus(path, 60_000, "file", seed=n)
        files.append(path)
    out = tmp_path / "out.ndjson"
    proc = subprocess.Popen([sys.executable, "-m", "esalog", "parse", "-q", *mode, "--workers", "2", "-o", str(out),
                             *map(str, files)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: out.exists() and out.stat().st_size > 0, what="the first events written")
        proc.send_signal(sig)
        proc.wait(timeout=30)
        assert proc.stderr is not None
        stderr = _read_to_end(proc.stderr, timeout=30)  # EOF only once every worker has exited
        assert b"Traceback" not in stderr, stderr.decode()
    finally:
        proc.kill()


def _read_to_end(stream: IO[bytes], timeout: float) -> bytes:
    """Everything *stream* gives until its end; fails when it does not end within *timeout* seconds."""
    data: list[bytes] = []
    reader = threading.Thread(target=lambda: data.append(stream.read()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert not reader.is_alive(), "a worker still holds the command's stderr: it outlived its parent"
    return data[0]


# ------------------------------------------------------------------ --stateless: plain files read in parts


def _header(offset: int, serial: str) -> str:
    return ("Mon Nov  2 08:00:00 2026 Info: Begin Logfile\n"
            f"Mon Nov  2 08:00:00 2026 Info: Version: 15.5.1-055 SN: {serial}\n"
            f"Mon Nov  2 08:00:00 2026 Info: Time offset from UTC: {offset} seconds\n")


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory, inputs: list[Path]) -> list[Path]:
    """Plain files whose parts must not be read alone: two logs concatenated (a second header, with another
    time offset and serial number, in the middle), CRLF line ends, a line longer than a part, invalid UTF-8,
    empty lines, no newline at the end; and a gzip file, which is read whole."""
    import gzip

    base = tmp_path_factory.mktemp("awkward")
    body = inputs[0].read_bytes()
    lines = body.splitlines(keepends=True)
    concatenated = base / "mail.concatenated.log"
    concatenated.write_bytes(_header(3600, "AAAA-1111").encode() + b"".join(lines[3:800])
                             + _header(-18000, "BBBB-2222").encode() + b"".join(lines[800:1600]))
    odd = base / "mail.odd.log"
    odd.write_bytes(b"".join(lines[:200]).replace(b"\n", b"\r\n") + b"Mon Nov  2 08:00:09 2026 Info: MID 7 "
                    + b"x" * 9000 + b"\n\n\xff\xfe broken utf-8\n" + b"".join(lines[200:400]) + b"no newline")
    packed = base / "mail.packed.log.gz"
    packed.write_bytes(gzip.compress(b"".join(lines[:300])))
    return [concatenated, odd, packed, inputs[1]]


def _converted(paths: list[Path], workers: int, part_bytes: int, out: Path) -> bytes:
    """``parse --stateless --workers N`` in this process, with parts of *part_bytes* and a fixed clock (the
    time of lines that carry none)."""
    from datetime import UTC, datetime

    from esalog.integrations.convert import convert_parallel
    from esalog.parsers.config import ParseConfig
    from esalog.pipeline import PipelineConfig
    from esalog.tracking.config import TrackingConfig

    config = PipelineConfig(ParseConfig(now=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
                            TrackingConfig(stateless=True))
    with out.open("wb") as output:
        done = convert_parallel(config, tuple(map(str, paths)), workers, output, part_bytes=part_bytes)
    assert done.counters.lines == done.counters.events == out.read_bytes().count(b"\n")
    return out.read_bytes()


@pytest.mark.parametrize("part_bytes", [40, 1000, 7777, 64 * 1024])
def test_stateless_parts_give_the_output_of_one_worker(awkward: list[Path], part_bytes: int, tmp_path: Path) -> None:
    """With --stateless, plain files are cut in parts that the workers read side by side: a part that began
    with another time offset or appliance than the part before it left (the second header of the
    concatenated log), or that the header reached into (parts shorter than the header), is read again, so
    the output is byte-identical to one worker's whatever the parts."""
    alone = _converted(awkward, 1, part_bytes, tmp_path / "out-1.json")
    assert b'"serial_number":"BBBB-2222"' in alone  # the second header did change the stream
    assert alone.count(b"\n") == sum(len(p.read_bytes().splitlines()) for p in awkward if p.suffix != ".gz") + 300
    for workers in (2, 3):
        assert _converted(awkward, workers, part_bytes, tmp_path / f"out-{workers}.json") == alone


def test_stateless_workers_on_a_file_of_several_parts(tmp_path: Path) -> None:
    """The command itself: a file of several parts gives with --workers 2 what one worker gives."""
    from esalog.integrations.convert import PART_BYTES

    big = tmp_path / "mail.big.log"
    write_corpus(big, 90_000, "syslog", seed=5, appliances=2)
    assert big.stat().st_size > 2 * PART_BYTES
    one = run_cli("parse", "-q", "--stateless", str(big))
    two = run_cli("parse", "-q", "--stateless", "--workers", "2", str(big))
    assert one.returncode == two.returncode == 0
    assert two.stdout == one.stdout
    assert two.stdout.count(b"\n") == 90_000
