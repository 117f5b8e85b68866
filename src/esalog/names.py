"""Names shared by several layers, held once: the module, the mail log type and its dataset, the summary
action, sourcetypes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ECS ``event.module`` of every event
MODULE = "cisco_esa"
#: The log type of text mail logs (a pack's default ``log_type``) and its ``event.dataset``, the only
#: dataset with sessions
MAIL_LOGS = "mail_logs"
MAIL_DATASET = f"{MODULE}.{MAIL_LOGS}"
#: ``event.action`` (and ``cisco.esa.kind``) of the one summary event per message
SUMMARY_ACTION = "message-summary"

#: Splunk sourcetypes: line events as esalog's JSON, the original line (Cisco's add-on), summaries.
LINE_SOURCETYPE = "cisco:esa:json"
RAW_SOURCETYPE = "cisco:esa:textmail"
SUMMARY_SOURCETYPE = "cisco:esa:message"


def is_summary(record: Any) -> bool:
    """Whether a record (or nested event) is a message summary."""
    try:
        action = record.action
    except AttributeError:  # a nested event
        action = (record.get("event") or {}).get("action")
    return bool(action == SUMMARY_ACTION)


def sourcetype_of(record: Any, by_dataset: Mapping[str, str] | None = None) -> str:
    """The sourcetype a line event or summary is indexed with in esalog's JSON form: summaries apart,
    lines by their dataset (each pack names its sourcetype, see ``LineParser.sourcetypes``)."""
    if is_summary(record):
        return SUMMARY_SOURCETYPE
    if by_dataset:
        return by_dataset.get(record.dataset, LINE_SOURCETYPE)
    return LINE_SOURCETYPE
