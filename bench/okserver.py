"""A minimal HEC and ``_bulk`` endpoint for the shipping benchmark: reads each body and answers success.

Unlike the test kit's fakes it keeps nothing, checks nothing and decompresses nothing, so what is
measured is esalog's side. ``python bench/okserver.py PORT`` serves on 127.0.0.1 until killed; it
counts the bodies' newlines it received and prints the count on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

HEC_OK = b'{"text":"Success","code":0}'
BULK_HEAD = b'{"took":1,"errors":false,"items":['
BULK_ITEM = b'{"index":{"status":201}}'  # one per action (esalog counts them: items left out are sent again)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # an answer is one small write: no wait for the client's delayed ACK
    received = 0

    def _answer(self, body: bytes) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)

    def do_GET(self) -> None:  # health checks: HEC's /services/collector/health, Elasticsearch's /
        self._answer(b"{}")

    def do_HEAD(self) -> None:
        self._answer(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        Handler.received += len(body)
        if self.path.startswith("/_bulk"):  # NDJSON: an action line and a source line per document
            self._answer(BULK_HEAD + b",".join([BULK_ITEM] * (body.count(b"\n") // 2)) + b"]}")
        else:
            self._answer(HEC_OK)

    def do_PUT(self) -> None:  # index template, data stream
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(b'{"acknowledged":true}')

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True

    def stop(signum: int, frame: FrameType | None) -> None:
        print(f"received {Handler.received} bytes", flush=True)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
