"""Property tests (hypothesis) for the validation every input goes through."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agora.services.errors import AgoraError, Invalid, TooLarge
from agora.services.sanitize import VISIBLE_TEXT_PATTERN, clean_html, clean_line, clean_text, render_text

ANY_TEXT = st.one_of(
    st.text(max_size=6000), st.binary(max_size=200), st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=3)
)


@given(ANY_TEXT)
@settings(max_examples=400)
def test_clean_text_accepts_or_refuses_clearly(raw):
    try:
        text = clean_text(raw, max_chars=5000)
    except (Invalid, TooLarge) as error:
        assert error.message
        return
    assert text and text == text.strip() and len(text) <= 5000
    assert not any(ord(c) < 32 and c not in "\t\n" for c in text)
    assert clean_text(text, max_chars=5000) == text  # idempotent


SPACES_AND_CONTROLS = st.text(st.characters(categories=("Zs", "Zl", "Zp", "Cc", "Cf")), max_size=20)


@given(
    st.one_of(
        st.text(max_size=200), SPACES_AND_CONTROLS, st.tuples(SPACES_AND_CONTROLS, st.text(max_size=3)).map("".join)
    )
)
@settings(max_examples=500)
def test_the_api_pattern_for_a_view_says_exactly_which_texts_are_accepted(raw):
    """The OpenAPI document's pattern for a view's text matches when cleaning leaves something."""
    import re

    try:
        clean_text(raw, max_chars=5000)
        kept = True
    except Invalid as error:
        assert error.code == "empty", error.message
        kept = False
    assert bool(re.search(VISIBLE_TEXT_PATTERN, raw)) == kept, repr(raw)


@given(st.text(max_size=2000))
@settings(max_examples=300)
def test_rendered_text_never_contains_markup_from_the_input(raw):
    html = str(render_text(raw))
    # The only tags render_text may produce are its own links and line breaks.
    import re

    tags = set(re.findall(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9-]*)", html))
    assert tags <= {"a", "br"}
    assert "javascript:" not in "".join(re.findall(r'href="([^"]*)"', html)).lower()


@given(st.text(max_size=3000))
@settings(max_examples=300)
def test_clean_html_never_lets_scripts_svg_or_mathml_through(raw):
    cleaned = clean_html(raw).lower()
    for forbidden in ("<script", "<svg", "<math", "<iframe", "<style", "<object", "<embed", " on"):
        if forbidden == " on":
            import re

            assert not re.search(r"<[^>]+\son[a-z]+\s*=", cleaned)
        else:
            assert forbidden not in cleaned


@given(st.text(max_size=300))
@settings(max_examples=200)
def test_single_line_fields_have_no_newlines(raw):
    try:
        line = clean_line(raw, max_chars=200, field="name")
    except AgoraError:
        return
    assert "\n" not in line and line == line.strip()


@pytest.fixture
def open_consultation(app, make):
    return make.consultation("Property consultation"), make.user(email="prop@example.org")


@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=50)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_submit_service_stores_or_refuses_never_crashes(app, open_consultation, text):
    from agora.extensions import db
    from agora.models import Submission, User
    from agora.services.participation import submissions

    consultation_id, user_id = open_consultation
    with app.app_context():
        before = db.session.query(Submission).count()
        try:
            submission, created = submissions.submit(consultation_id, db.session.get(User, user_id), text)
        except AgoraError:
            db.session.rollback()
            assert db.session.query(Submission).count() == before
            return
        assert created and submission.state in ("published", "held")
        assert db.session.query(Submission).count() == before + 1
