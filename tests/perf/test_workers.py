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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path, sig: signal.Signals) -> None:
    """The parent killed (SIGTERM, kill -9) while its workers run: they exit too, so whoever waits for the
    command's stderr (a shell pipeline, ``subprocess.run``) sees its end. Before, a worker waiting for its
    turn blocked for ever: every worker holds copies of the parent's channel ends, so no EOF came."""
    files = []
    for n in range(2):
        path = tmp_path / f"mail-{n}.log"
        write_corpus(path, 60_000, "file", seed=n)
        files.append(path)
    out = tmp_path / "out.ndjson"
    proc = subprocess.Popen([sys.executable, "-m", "esalog", "parse", "-q", "--workers", "2", "-o", str(out),
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
