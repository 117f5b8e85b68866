"""``esalog report``: a digest of message summaries for a person (terminal, JSON, one HTML page)."""

from __future__ import annotations

import html
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from esalog.names import SUMMARY_ACTION, is_summary
from esalog.parsers.record import Record
from esalog.tracking.aborts import ADVICE, CATEGORIES
from esalog.tracking.summary import DISPOSITIONS
from esalog.tracking.verdicts import AFFECTED_ACTION

#: Rows kept for the tables of messages later found malicious and of configuration commits.
MAX_ROWS = 200
#: Histogram bucket widths to choose from (seconds), the first giving at most MAX_BUCKETS buckets wins.
BUCKET_WIDTHS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 48
_DIMENSIONS = (
    ("source_ips", ("source", "ip")),
    ("source_domains", ("source", "domain")),
    ("sender_groups", ("cisco", "esa", "sender_group")),
)
_COLORS = {
    "connection_lost": "#d62728",
    "inbound_timeout": "#ff7f0e",
    "sender_quit": "#9467bd",
    "receiving_aborted": "#8c564b",
    "policy_drop": "#1f77b4",
    "policy_bounce": "#17becf",
    "other": "#7f7f7f",
    "delivered": "#2ca02c",
    "partially_delivered": "#98df8a",
    "bounced": "#17becf",
    "dropped": "#1f77b4",
    "quarantined": "#bcbd22",
    "aborted": "#d62728",
    "deferred": "#ff7f0e",
    "unknown": "#c7c7c7",
}


def _get(event: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Report:
    """Counts what the summaries say; memory grows with distinct sources and minutes, not messages."""

    def __init__(self, top: int = 5) -> None:
        self.top = top
        self.lines = 0
        self.messages = 0
        self.incomplete = 0
        self.continued = 0
        self.dispositions: Counter[str] = Counter()
        self.categories: Counter[str] = Counter()
        self.confidence: dict[str, Counter[str]] = {}
        self.sources: dict[str, dict[str, Counter[str]]] = {}
        self.minutes: dict[int, Counter[str]] = {}
        self.first: str | None = None
        self.last: str | None = None
        self.later_malicious = 0
        self.malicious_rows: list[dict[str, Any]] = []
        self.failed_logins: Counter[tuple[str, str]] = Counter()
        self.logins: Counter[str] = Counter()
        self.commits: Counter[str] = Counter()
        self.last_commits: list[dict[str, str]] = []

    def add_record(self, record: Record) -> None:
        """Count one pipeline record: summaries and retrospective-verdict events are digested, appliance
        audit lines (logins, configuration commits) counted, every other line counted as a line."""
        if record.document is not None and is_summary(record):
            self.add(record.document)
            return
        action = record.action
        if action == AFFECTED_ACTION and record.document is not None:
            self._affected(record.document)
            return
        self.lines += 1
        if record.dataset == "cisco_esa.authentication":
            user = record.get_str("user.name") or "-"
            if action == "login-failed":
                self.failed_logins[(user, record.get_str("source.ip") or "-")] += 1
            elif action == "logged-in":
                self.logins[user] += 1
        elif action == "configuration-committed":
            user = record.get_str("user.name") or "-"
            self.commits[user] += 1
            if len(self.last_commits) >= MAX_ROWS:
                self.last_commits.pop(0)
            self.last_commits.append({"at": record.timestamp, "user": user,
                                      "comment": record.get_str("cisco.esa.commit.comment") or ""})

    def _affected(self, event: dict[str, Any]) -> None:
        esa = event["cisco"]["esa"]
        verdict = esa.get("retrospective", {})
        if verdict.get("result") != "malicious":
            return
        self.later_malicious += 1
        if len(self.malicious_rows) < MAX_ROWS:
            email = event.get("email", {})
            self.malicious_rows.append({
                "mid": esa.get("mid"),
                "delivered_at": esa.get("delivered_at"),
                "sender": ", ".join(email.get("from", {}).get("address", [])),
                "recipients": list(email.get("to", {}).get("address", [])),
                "subject": email.get("subject"),
                "sha256": event.get("file", {}).get("hash", {}).get("sha256"),
                "threat_name": verdict.get("threat_name"),
                "verdict_at": verdict.get("at"),
            })

    def add(self, event: dict[str, Any]) -> None:
        """Count one pipeline event (line events count as lines; summaries are digested)."""
        ev = event.get("event", {})
        if ev.get("action") != SUMMARY_ACTION:
            self.lines += 1
            return
        self.messages += 1
        esa = event["cisco"]["esa"]
        summary = esa.get("summary", {})
        disp = esa.get("disposition", "unknown")
        if disp == "unknown" and summary.get("continued_in"):
            self.continued += 1  # split or rewritten: its fate is told by the new MIDs
        else:
            self.dispositions[disp] += 1
        if not summary.get("complete", False):
            self.incomplete += 1
        start, end = ev.get("start"), ev.get("end")
        if start and (self.first is None or start < self.first):
            self.first = start
        if end and (self.last is None or end > self.last):
            self.last = end
        abort = esa.get("abort")
        if not abort:
            return
        category = abort.get("category", "other")
        self.categories[category] += 1
        self.confidence.setdefault(category, Counter())[abort.get("confidence", "unknown")] += 1
        dims = self.sources.setdefault(category, {name: Counter() for name, _ in _DIMENSIONS})
        for name, path in _DIMENSIONS:
            value = _get(event, path)
            if value:
                dims[name][value] += 1
        when = end or event.get("@timestamp")
        if when:
            minute = int(datetime.fromisoformat(when).timestamp()) // 60
            self.minutes.setdefault(minute, Counter())[category] += 1

    def digest(self) -> dict[str, Any]:
        """Everything the renderers show, as plain JSON-able data."""
        aborts = []
        for category in CATEGORIES:
            count = self.categories.get(category, 0)
            if not count:
                continue
            dims = self.sources[category]
            entry: dict[str, Any] = {
                "category": category,
                "count": count,
                "confidence": dict(self.confidence[category]),
                "advice": ADVICE[category],
            }
            for name, _ in _DIMENSIONS:
                entry[f"top_{name}"] = [[k, n] for k, n in dims[name].most_common(self.top)]
            aborts.append(entry)
        return {
            "lines": self.lines,
            "messages": self.messages,
            "incomplete_messages": self.incomplete,
            "continued_messages": self.continued,
            "first": self.first,
            "last": self.last,
            "dispositions": {d: self.dispositions[d] for d in DISPOSITIONS if self.dispositions.get(d)},
            "aborts": aborts,
            "abort_histogram": self._histogram(),
            "delivered_later_malicious": {"messages": self.later_malicious, "rows": self.malicious_rows},
            "appliance_audit": {
                "failed_logins": [{"user": u, "source_ip": ip, "count": n}
                                  for (u, ip), n in self.failed_logins.most_common(self.top * 4)],
                "logins": [{"user": u, "count": n} for u, n in self.logins.most_common(self.top * 4)],
                "commits_by_user": [{"user": u, "count": n} for u, n in self.commits.most_common(self.top * 4)],
                "last_commits": list(self.last_commits),
            },
        }

    def _histogram(self) -> dict[str, Any]:
        if not self.minutes:
            return {"bucket_seconds": 0, "buckets": []}
        lo, hi = min(self.minutes), max(self.minutes)
        span = (hi - lo + 1) * 60
        width = next((w for w in BUCKET_WIDTHS if span / w <= MAX_BUCKETS), 0)
        if not width:  # over 48 weeks (a stray stamp years away): whole weeks, still about MAX_BUCKETS of them
            week = BUCKET_WIDTHS[-1]
            width = -(-span // (MAX_BUCKETS * week)) * week
        start = lo * 60 // width * width
        n = (hi * 60 - start) // width + 1
        buckets: list[Counter[str]] = [Counter() for _ in range(n)]
        for minute, counts in self.minutes.items():
            buckets[(minute * 60 - start) // width].update(counts)
        return {
            "bucket_seconds": width,
            "buckets": [
                {"start": _iso(start + i * width), "total": sum(c.values()), "counts": dict(c)}
                for i, c in enumerate(buckets)
            ],
        }


def to_json(digest: dict[str, Any]) -> str:
    """The digest as indented JSON."""
    return json.dumps(digest, indent=2, ensure_ascii=False) + "\n"


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return out


def _bar(count: int, most: int, width: int = 30) -> str:
    return "#" * max(1, round(width * count / most)) if count and most else ""


def render_text(digest: dict[str, Any]) -> str:
    """Terminal tables."""
    out = [
        f"esalog report: {digest['lines']} lines, {digest['messages']} messages "
        f"({digest['incomplete_messages']} incomplete, {digest['continued_messages']} continued under new MIDs), "
        f"{digest['first'] or '-'} .. {digest['last'] or '-'}",
        "",
    ]
    disp = digest["dispositions"]
    most = max(disp.values(), default=0)
    out.append("Messages by disposition")
    out += _table([(d, str(n), _bar(n, most)) for d, n in disp.items()], ("disposition", "messages", ""))
    out.append("")
    aborts = digest["aborts"]
    out.append("Abort categories")
    if not aborts:
        out.append("(no aborted messages)")
    else:
        most = max(a["count"] for a in aborts)
        out += _table(
            [
                (
                    a["category"],
                    str(a["count"]),
                    ", ".join(f"{k} {v}" for k, v in sorted(a["confidence"].items())),
                    _bar(a["count"], most),
                )
                for a in aborts
            ],
            ("category", "messages", "confidence", ""),
        )
    for a in aborts:
        out += ["", f"== {a['category']} ({a['count']})"]
        for name, label in (
            ("top_source_ips", "source IPs"),
            ("top_source_domains", "reverse DNS"),
            ("top_sender_groups", "sender groups"),
        ):
            items = ", ".join(f"{k} ({n})" for k, n in a[name]) or "-"
            out.append(f"  {label + ':':15} {items}")
        out.append(f"  {'advice:':15} {a['advice']}")
    hist = digest["abort_histogram"]
    if hist["buckets"]:
        out += ["", f"Aborts over time (one row per {hist['bucket_seconds'] // 60} min, UTC)"]
        most = max(b["total"] for b in hist["buckets"])
        for b in hist["buckets"]:
            out.append(f"  {b['start']}  {b['total']:>6}  {_bar(b['total'], most, 40)}")
    out += _text_later_malicious(digest["delivered_later_malicious"])
    out += _text_audit(digest["appliance_audit"])
    return "\n".join(out) + "\n"


def _text_later_malicious(section: dict[str, Any]) -> list[str]:
    out = ["", f"Delivered, later found malicious ({section['messages']} messages)"]
    if not section["rows"]:
        return [*out, "(no retrospective malicious verdict for a delivered message)"]
    rows: list[tuple[str, ...]] = [
        (str(r["mid"]), r["delivered_at"] or "-", r["sender"] or "-", ", ".join(r["recipients"]) or "-",
         (r["subject"] or "")[:40], r["threat_name"] or "-", (r["sha256"] or "")[:16] + "...")
        for r in section["rows"]]
    return out + _table(rows, ("MID", "delivered", "sender", "recipients", "subject", "threat", "sha256"))


def _text_audit(audit: dict[str, Any]) -> list[str]:
    out = ["", "Appliance audit"]
    if not any(audit.values()):
        return [*out, "(no authentication or system log lines)"]
    if audit["failed_logins"]:
        out += ["  failed logins:"] + [f"    {r['count']:>5}  {r['user']} from {r['source_ip']}"
                                      for r in audit["failed_logins"]]
    if audit["logins"]:
        out += ["  logins:"] + [f"    {r['count']:>5}  {r['user']}" for r in audit["logins"]]
    if audit["commits_by_user"]:
        out += ["  configuration commits:"] + [f"    {r['count']:>5}  {r['user']}" for r in audit["commits_by_user"]]
        out += [f"    {c['at']}  {c['user']}: {c['comment'] or '(no comment)'}" for c in audit["last_commits"][-5:]]
    return out


def _html_table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    e = html.escape
    if not rows:
        return "<p>none</p>"
    return ("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
            + "</table>")


def _svg_bars(items: list[tuple[str, int]], width: int = 560) -> str:
    """Horizontal bar chart as inline SVG."""
    if not items:
        return "<p>none</p>"
    most = max(n for _, n in items)
    row, label_w = 24, 170
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(items) + 4}" role="img">']
    for i, (name, n) in enumerate(items):
        w = max(1, round((width - label_w - 60) * n / most))
        y = i * row + 2
        parts.append(
            f'<text x="0" y="{y + 16}" class="l">{html.escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 6}" '
            f'fill="{_COLORS.get(name, "#4c72b0")}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 16}" class="n">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_histogram(hist: dict[str, Any], width: int = 760, height: int = 220) -> str:
    """Stacked columns of aborts per category over time, inline SVG."""
    buckets = hist["buckets"]
    if not buckets:
        return "<p>no aborts</p>"
    most = max(b["total"] for b in buckets)
    col = (width - 40) / len(buckets)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 40}" role="img">']
    for i, b in enumerate(buckets):
        y = float(height)
        for category in CATEGORIES:
            n = b["counts"].get(category, 0)
            if not n:
                continue
            h = (height - 10) * n / most
            y -= h
            parts.append(
                f'<rect x="{40 + i * col:.1f}" y="{y:.1f}" width="{max(col - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{_COLORS[category]}"><title>{html.escape(b["start"])} {category}: {n}</title></rect>'
            )
    parts.append(f'<text x="0" y="14" class="n">{most}</text><text x="0" y="{height}" class="n">0</text>')
    parts.append(f'<text x="40" y="{height + 20}" class="n">{html.escape(buckets[0]["start"])}</text>')
    parts.append(
        f'<text x="{width}" y="{height + 20}" class="n" text-anchor="end">'
        f"{html.escape(buckets[-1]['start'])}</text></svg>"
    )
    return "".join(parts)


def render_html(digest: dict[str, Any]) -> str:
    """One self-contained page (inline CSS and SVG, no scripts, no network)."""
    e = html.escape
    aborts = digest["aborts"]
    rows = []
    for a in aborts:
        tops = "".join(
            f"<td>{'<br>'.join(f'{e(str(k))} ({n})' for k, n in a[name]) or '-'}</td>"
            for name in ("top_source_ips", "top_source_domains", "top_sender_groups")
        )
        conf = ", ".join(f"{e(k)} {v}" for k, v in sorted(a["confidence"].items()))
        rows.append(
            f'<tr><td><span class="sw" style="background:{_COLORS[a["category"]]}"></span>'
            f'{e(a["category"])}</td><td class="num">{a["count"]}</td><td>{conf}</td>{tops}'
            f'<td class="adv">{e(a["advice"])}</td></tr>'
        )
    table = (
        (
            "<table><tr><th>category</th><th>messages</th><th>confidence</th><th>top source IPs</th>"
            "<th>top reverse DNS</th><th>top sender groups</th><th>Cisco's advice</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        if rows
        else "<p>No aborted messages.</p>"
    )
    width = digest["abort_histogram"]["bucket_seconds"] // 60
    later, audit = digest["delivered_later_malicious"], digest["appliance_audit"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>esalog report</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}}
h1{{font-size:1.4em}} h2{{font-size:1.1em;margin-top:1.6em}}
table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
.num{{text-align:right}} .adv{{max-width:320px;font-size:12px}}
.sw{{display:inline-block;width:10px;height:10px;margin-right:6px}}
svg .l,svg .n{{font:12px system-ui,sans-serif;fill:#222}}
</style></head><body>
<h1>esalog report</h1>
<p>{digest["lines"]} lines, {digest["messages"]} messages ({digest["incomplete_messages"]} incomplete,
{digest["continued_messages"]} continued under new MIDs),
{e(digest["first"] or "-")} to {e(digest["last"] or "-")} (UTC).</p>
<h2>Messages by disposition</h2>
{_svg_bars(list(digest["dispositions"].items()))}
<h2>Abort categories</h2>
{_svg_bars([(a["category"], a["count"]) for a in aborts])}
{table}
<h2>Aborts over time ({width} min per column)</h2>
{_svg_histogram(digest["abort_histogram"])}
<h2>Delivered, later found malicious ({later["messages"]} messages)</h2>
{_html_table(("MID", "delivered", "sender", "recipients", "subject", "threat", "SHA-256", "verdict at"),
             [(r["mid"], r["delivered_at"], r["sender"], ", ".join(r["recipients"]), r["subject"] or "",
               r["threat_name"] or "", r["sha256"], r["verdict_at"]) for r in later["rows"]])}
<h2>Appliance audit</h2>
<h3>Failed logins</h3>
{_html_table(("user", "source IP", "attempts"),
             [(r["user"], r["source_ip"], r["count"]) for r in audit["failed_logins"]])}
<h3>Configuration commits</h3>
{_html_table(("user", "commits"), [(r["user"], r["count"]) for r in audit["commits_by_user"]])}
{_html_table(("at", "user", "comment"), [(c["at"], c["user"], c["comment"]) for c in audit["last_commits"]])}
</body></html>
"""
