"""The session tracker's settings (defaults and checks live here; the CLI builds its options from them)."""

from __future__ import annotations

from dataclasses import dataclass

from esalog.errors import ConfigError
from esalog.settings import duration, integer, positive, setting, validate

DEFAULT_MAX_OPEN = 200_000
DEFAULT_TTL = 24 * 3600.0
DEFAULT_INBOUND_TIMEOUT = 300.0
DEFAULT_VERDICT_WINDOW = 7 * 86400.0
DEFAULT_VERDICT_MESSAGES = 100_000


@dataclass(frozen=True)
class TrackingConfig:
    """Session tracking: on by default; ``stateless`` replaces it with the one-line abort classifier."""

    stateless: bool = setting(
        False, flag="--stateless",
        help="no session state (parallel workers): abort categories from the abort line alone")
    enrich: bool = setting(
        True, flag="--no-enrich",
        help="track, but do not copy connection and recipient facts into the line events")
    summaries: bool = setting(
        False, flag="--summaries",
        help="emit one message-summary event per MID when it finishes, is evicted or input ends")
    max_open: int = setting(
        DEFAULT_MAX_OPEN, flag="--max-open", metavar="N", parse=integer, check=positive,
        help=f"most connections and messages held at once (default {DEFAULT_MAX_OPEN}); "
             "the stalest is evicted, its summary marked incomplete")
    session_ttl: float = setting(
        DEFAULT_TTL, flag="--session-ttl", metavar="DURATION", parse=duration, check=positive,
        help="forget a connection or message not seen for this long in LOG time (default 24h; e.g. 90m, 3600s)")
    inbound_timeout: float = setting(
        DEFAULT_INBOUND_TIMEOUT, flag="--inbound-timeout", metavar="DURATION", parse=duration, check=positive,
        help="the listener's 'Timeout for Unsuccessful Inbound Connections' (default 300s): "
             "an abort idle this long is inbound_timeout, shorter is connection_lost")

    verdict_window: float = setting(
        DEFAULT_VERDICT_WINDOW, flag="--verdict-window", metavar="DURATION", parse=duration, check=positive,
        help="how long (log time) a delivered message is remembered by the files it carried, so that a later "
             "AMP retrospective verdict names it (default 7d)")
    verdict_messages: int = setting(
        DEFAULT_VERDICT_MESSAGES, flag="--verdict-messages", metavar="N", parse=integer, check=positive,
        help=f"most delivered messages (and file hashes) remembered for retrospective verdicts "
             f"(default {DEFAULT_VERDICT_MESSAGES}; the oldest go first)")

    def __post_init__(self) -> None:
        validate(self)
        if self.stateless and self.summaries:
            raise ConfigError("--summaries needs session state: drop --stateless")
