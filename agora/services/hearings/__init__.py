"""Live hearings (being split into one module per job; this step only moves the file)."""
from agora.services.errors import Closed, Conflict, Forbidden, Invalid, NotFound
from agora.services.hearings.messages import (  # noqa: F401
    _MISSED, _row_payload,
    NAMESPACE, MESSAGE_MAX_CHARS, TOPIC_MAX_CHARS, SUMMARY_MAX_CHARS, REPLAY_LIMIT, SLOW_MODE_MAX, TIME_LIMIT_RANGE,
    THEMES_MIN_TEXTS, THEMES_EVERY, THEMES_MIN_INTERVAL, PROCESS_ID, PRESENCE_SECONDS, batch_seconds, create, get,
    public_list, appoint_chair, chairs_of, require_chair, open_hearing, close_hearing, post_message,
    post_chair_summary, vote, pin, set_slow_mode, set_time_limit, set_rotation, retract, announce, replay, cursor,
    thread, transcript, SpeakerRecord, speakers_record, request_floor, withdraw_floor, grant_floor, end_turn, skip,
    reorder, message_payload, request_payload, state_payload, publish_state, Presence, presence, Batcher, flush,
    balance, THEME_QUOTES, compute_themes, theme_inputs, LIVE_THEMES_UP_TO, summary, refresh_summary,
)
