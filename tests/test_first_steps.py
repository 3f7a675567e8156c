"""Registration returns to the page that sent you (a path on this site only) and saves the optional
profile offered with it; the profile's languages are named; a vote answered as JSON carries the
header's tally in words."""

import re

from agora.extensions import db
from agora.models import User
from tests.conftest import csrf_from


def _register(client, next_="", **extra):
    token = csrf_from(client, "/account/register" + (f"?next={next_}" if next_ else ""))
    data = {
        "display_name": "Wanjiru",
        "email": "wanjiru@example.org",
        "password": "correct horse battery",
        "confirm": "correct horse battery",
        "csrf_token": token,
        "next": next_,
        **extra,
    }
    return client.post("/account/register", data=data)


def test_registration_returns_to_the_consultation_and_keeps_the_profile(client, make, app):
    slug = make.slug(make.consultation("Agua y saneamiento para todos"))
    response = _register(client, f"/consultations/{slug}", constituency="youth", country="KE")
    assert response.status_code == 302 and response.headers["Location"] == f"/consultations/{slug}"
    with app.app_context():
        user = db.session.query(User).filter_by(email="wanjiru@example.org").one()
        assert (user.constituency, user.country, user.gender) == ("youth", "KE", None)


def test_registration_ignores_a_next_address_off_the_site(client):
    response = _register(client, "//evil.example/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/profile")


def test_a_profile_option_not_offered_is_refused_and_no_account_is_made(client, app):
    response = _register(client, constituency="overlords")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.query(User).filter_by(email="wanjiru@example.org").count() == 0


def test_profile_languages_are_chosen_by_name_and_stored_as_codes(signed_in, app):
    page = signed_in.get("/account/profile?lang=zh").get_data(as_text=True)
    assert "斯瓦希里语" in page and 'value="sw"' in page  # Swahili, named in the reader's language
    token = csrf_from(signed_in, "/account/profile")
    response = signed_in.post(
        "/account/profile", data={"display_name": "Nadia", "languages": ["sw", "fr"], "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, signed_in.user_id).languages == "sw,fr"
    page = signed_in.get("/account/profile?lang=en").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="sw"', page) and not re.search(r'<input checked[^>]*value="ar"', page)
