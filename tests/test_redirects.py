"""Where ``next`` may send the browser: a path on this site, judged the way browsers parse URLs
(tab, CR and LF dropped, backslash read as slash). Every route that reads ``next`` is tried."""

import pytest
from werkzeug.exceptions import BadRequest

from tests.conftest import csrf_from

# Each would take a browser to another host (or is not a path on this site).
OFFSITE = [
    "//evil.example",
    "/\t/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "\t//evil.example",
    "https:/evil.example",
    "/ /evil.example".replace(" ", "\t"),
]


@pytest.mark.parametrize("target", OFFSITE)
def test_offsite_targets_go_to_the_default(target):
    from agora.web.redirects import safe_next

    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize(
    "target", ["/", "/consultations/water?page=2", "/account/profile#tokens", "/a/b//c", "/search?q=http://x"]
)
def test_paths_on_this_site_are_kept(target):
    from agora.web.redirects import safe_next

    assert safe_next(target, "/home") == target


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: a=b", "/x\ny", "/\r"])
def test_line_breaks_are_a_bad_request(target):
    from agora.web.redirects import safe_next

    with pytest.raises(BadRequest):
        safe_next(target, "/home")


def test_the_language_switch_stays_on_this_site(app, client):
    for query in ("/%09/evil.example", "/%5Cevil.example", "//evil.example", "https://evil.example"):
        response = client.get(f"/language/fr?next={query}")
        assert response.status_code == 302
        assert response.headers["Location"] == "/", query
    assert client.get("/language/fr?next=/about%3Flang%3Den%26x%3D1").headers["Location"] == "/about?x=1"
    assert client.get("/language/fr?next=/%0d%0aSet-Cookie:%20a=b").status_code == 400


def test_sign_in_does_not_send_anyone_elsewhere(app, client, make):
    make.user(email="someone@example.org")
    assert client.get("/account/login?next=/%09/evil.example").status_code == 200
    token = csrf_from(client, "/account/login")
    response = client.post(
        "/account/login",
        data={
            "email": "someone@example.org",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/\t/evil.example",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    token = csrf_from(client, "/account/login")
    response = client.post(
        "/account/login",
        data={
            "email": "someone@example.org",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/\r\n/x",
        },
    )
    assert response.status_code == 400


def test_vote_and_flag_go_back_only_to_this_site(app, client, make, signed_in):
    cid = make.consultation()
    author = make.user()
    sid = make.submission(cid, author)
    slug = make.slug(cid)
    token = csrf_from(signed_in, f"/consultations/{slug}")
    voted = signed_in.post(
        f"/consultations/{slug}/submissions/{sid}/vote",
        data={"vote": "agree", "csrf_token": token, "next": "/\\evil.example"},
    )
    assert voted.status_code == 302 and voted.headers["Location"] == f"/consultations/{slug}#s{sid}"
    flagged = signed_in.post(
        f"/submissions/{sid}/flag", data={"reason": "spam", "csrf_token": token, "next": "/\t/evil.example"}
    )
    assert flagged.status_code == 302 and flagged.headers["Location"] == "/"
