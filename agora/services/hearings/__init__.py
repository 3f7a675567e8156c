"""Live hearings: the session, its thread, the speakers' queue, the chair's controls and summaries.

One module per job, each importing only the ones listed before it (no circles):

- ``delivery``: the people present and the frames batched to a hearing's room;
- ``payloads``: what pages and sockets are sent, and the reads a hearing's state needs;
- ``lifecycle``: create, find, appoint chairs, open and close, the chair's settings;
- ``live_themes``: the chair's live summary (balance and themes, computed off the event loop);
- ``messages``: the thread (messages, chair's summaries, votes, pins), replay and transcript;
- ``speakers``: the speakers' queue and the record of who spoke.

Adapters keep calling ``hearings.X``: the public names are re-exported here.
"""

from agora.services.errors import Closed, Conflict, Forbidden, Invalid, NotFound
from agora.services.hearings.delivery import (
    NAMESPACE,
    PRESENCE_SECONDS,
    PROCESS_ID,
    Batcher,
    Presence,
    batch_seconds,
    cursor,
    flush,
    presence,
)
from agora.services.hearings.lifecycle import (
    SLOW_MODE_MAX,
    TIME_LIMIT_RANGE,
    ConsultationHearings,
    appoint_chair,
    chairs_of,
    close_hearing,
    create,
    get,
    live_now,
    of_consultation,
    open_hearing,
    public_list,
    require_chair,
    set_rotation,
    set_slow_mode,
    set_time_limit,
)
from agora.services.hearings.live_themes import (
    LIVE_THEMES_UP_TO,
    THEME_QUOTES,
    THEMES_MIN_INTERVAL,
    THEMES_MIN_TEXTS,
    balance,
    compute_themes,
    refresh_summary,
    summary,
    theme_inputs,
)
from agora.services.hearings.messages import (
    MESSAGE_MAX_CHARS,
    REPLAY_LIMIT,
    SUMMARY_MAX_CHARS,
    announce,
    pin,
    post_chair_summary,
    post_message,
    replay,
    retract,
    thread,
    transcript,
    vote,
)
from agora.services.hearings.payloads import message_payload, publish_state, request_payload, state_payload
from agora.services.hearings.speakers import (
    TOPIC_MAX_CHARS,
    SpeakerRecord,
    end_turn,
    grant_floor,
    reorder,
    request_floor,
    skip,
    speakers_record,
    withdraw_floor,
)

__all__ = [
    "LIVE_THEMES_UP_TO",
    "MESSAGE_MAX_CHARS",
    "NAMESPACE",
    "PRESENCE_SECONDS",
    "PROCESS_ID",
    "REPLAY_LIMIT",
    "SLOW_MODE_MAX",
    "SUMMARY_MAX_CHARS",
    "THEMES_MIN_INTERVAL",
    "THEMES_MIN_TEXTS",
    "THEME_QUOTES",
    "TIME_LIMIT_RANGE",
    "TOPIC_MAX_CHARS",
    "Batcher",
    "Closed",
    "Conflict",
    "ConsultationHearings",
    "Forbidden",
    "Invalid",
    "NotFound",
    "Presence",
    "SpeakerRecord",
    "announce",
    "appoint_chair",
    "balance",
    "batch_seconds",
    "chairs_of",
    "close_hearing",
    "compute_themes",
    "create",
    "cursor",
    "end_turn",
    "flush",
    "get",
    "grant_floor",
    "live_now",
    "message_payload",
    "of_consultation",
    "open_hearing",
    "pin",
    "post_chair_summary",
    "post_message",
    "presence",
    "public_list",
    "publish_state",
    "refresh_summary",
    "reorder",
    "replay",
    "request_floor",
    "request_payload",
    "require_chair",
    "retract",
    "set_rotation",
    "set_slow_mode",
    "set_time_limit",
    "skip",
    "speakers_record",
    "state_payload",
    "summary",
    "theme_inputs",
    "thread",
    "transcript",
    "vote",
    "withdraw_floor",
]
