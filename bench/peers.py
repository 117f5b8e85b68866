"""The two reference points of the benchmark, each run as its own process on the same corpus.

* ``pygrok``: the baseline a Python user would write with grok — one full-line grok pattern per line
  kind (the same kinds and fields as the built-in pack), tried in order; the first match gives a dict,
  which is written with ``json.dumps``.
* ``floor``: read the lines and ``orjson.dumps`` a one-key dict per line — no parser can beat this.

``python bench/peers.py pygrok|floor FILE`` writes NDJSON to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys

import orjson

HEADER = r"^%{DAY} %{MONTH} +%{MONTHDAY} %{TIME} %{YEAR} %{WORD:level}: "
CUSTOM = {
    "ESAID": r"\d+",
    "RIDLIST": r"\[\d+(?:, *\d+)*\]",
    "ADDR": r"<[^>]*>|[^\s<>]+",
    "QS": r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""",
}
#: (kind, body pattern) in the order they are tried; fields as in mail_logs.yaml, dots -> underscores.
BODIES = (
    ("envelope-to", r"MID %{ESAID:mid:int} ICID %{ESAID:icid:int} RID %{ESAID:rid:int} To: ?%{ADDR:to}?"),
    ("envelope-from", r"MID %{ESAID:mid:int} ICID %{ESAID:icid:int} From: ?%{ADDR:from}?"),
    ("message-start", r"Start MID %{ESAID:mid:int} ICID %{ESAID:icid:int}"),
    ("message-id", r"MID %{ESAID:mid:int} Message-ID %{GREEDYDATA:message_id}"),
    ("message-subject", r"MID %{ESAID:mid:int} Subject ?%{GREEDYDATA:subject}"),
    ("message-ready", r"MID %{ESAID:mid:int} ready %{INT:size_bytes:int} bytes from %{ADDR:from}?"),
    ("policy-match", r"MID %{ESAID:mid:int} matched all recipients for per-recipient policy %{DATA:policy} "
                     r"in the %{WORD:policy_table} table"),
    ("message-queued", r"MID %{ESAID:mid:int} queued for delivery"),
    ("message-finished", r"Message finished MID %{ESAID:mid:int} %{WORD:finish_state}"),
    ("delivery-connection-opened", r"New SMTP DCID %{ESAID:dcid:int} interface %{IP:source_ip} address "
                                   r"%{IP:destination_ip}(?: port %{INT:destination_port:int})?"),
    ("delivery-start", r"Delivery start DCID %{ESAID:dcid:int} MID %{ESAID:mid:int} to RID %{RIDLIST:rid}"),
    ("delivery-connection-closed", r"DCID %{ESAID:dcid:int} close"),
    ("message-delivered", r"Message done DCID %{ESAID:dcid:int} MID %{ESAID:mid:int} to RID %{RIDLIST:rid}"
                          r"(?: %{GREEDYDATA:headers})?"),
    ("delivery-response", r"MID %{ESAID:mid:int} RID %{RIDLIST:rid} Response %{GREEDYDATA:response}"),
    ("connection-opened", r"New SMTP ICID %{ESAID:icid:int} interface %{DATA:interface} "
                          r"\(%{IP:destination_ip}\) address %{IP:source_ip} "
                          r"reverse dns host %{NOTSPACE:source_domain} verified %{WORD:rdns_verified}"),
    ("connection-closed", r"ICID %{ESAID:icid:int} close"),
    ("sender-group", r"ICID %{ESAID:icid:int} %{WORD:hat_action} SG %{NOTSPACE:sender_group} match "
                     r"%{DATA:hat_match} SBRS %{DATA:sbrs}(?: country %{GREEDYDATA:country})?"),
    ("tls-inbound-success", r"ICID %{ESAID:icid:int} TLS success protocol %{NOTSPACE:tls_version} "
                            r"cipher %{NOTSPACE:tls_cipher}"),
    ("message-aborted", r"Message aborted MID %{ESAID:mid:int} %{GREEDYDATA:abort_reason}"),
    ("connection-lost", r"ICID %{ESAID:icid:int} lost"),
    ("delivery-bounced", r"Bounced: DCID %{ESAID:dcid:int} MID %{ESAID:mid:int} to RID %{ESAID:rid:int} - "
                         r"%{NOTSPACE:status_code} - %{GREEDYDATA:bounce_reply}"),
    ("header-begin", r"Begin Logfile"),
    ("header-version", r"Version: %{NOTSPACE:version} SN: %{NOTSPACE:serial_number}"),
    ("header-utc-offset", r"Time offset from UTC: %{INT:utc_offset_seconds:int} seconds"),
)


def run_pygrok(path: str) -> None:
    from pygrok import Grok

    groks = [(kind, Grok(HEADER + body + "$", custom_patterns=CUSTOM)) for kind, body in BODIES]
    write = sys.stdout.write
    dumps = json.dumps
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.rstrip("\n")
            for kind, grok in groks:
                fields = grok.match(line)
                if fields is not None:
                    fields["kind"] = kind
                    break
            else:
                fields = {"kind": "unknown"}
            fields["message"] = line
            write(dumps(fields) + "\n")


def run_floor(path: str) -> None:
    write = sys.stdout.buffer.write
    dumps = orjson.dumps
    option = orjson.OPT_APPEND_NEWLINE
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            write(dumps({"message": line}, option=option))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("pygrok", "floor"))
    ap.add_argument("path")
    args = ap.parse_args()
    (run_pygrok if args.mode == "pygrok" else run_floor)(args.path)


if __name__ == "__main__":
    main()
