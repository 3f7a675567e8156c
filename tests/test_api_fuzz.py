"""Fuzzing the JSON API with schemathesis from its own OpenAPI document: for every operation,
a few hundred generated requests (valid and invalid): never a 500, every response as documented."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, NegativeDataRejectionConfig
from schemathesis.specs.openapi.checks import ignored_auth

from agora.extensions import db, limiter


@pytest.fixture
def api_schema(app, make):
    """The live OpenAPI document, with real data behind it (a consultation, views, a frozen report)."""
    from agora.models import Consultation, User
    from agora.services.accounts import accounts
    from agora.services.reporting import reports
    from tests.conftest import civic_statements

    cid = make.consultation("Fuzzed consultation")
    for text in civic_statements(3):
        make.submission(cid, make.user(), text)
    closed = make.consultation("Closed and reported", status="open")
    make.submission(closed, make.user(), civic_statements(4)[3])
    with app.app_context():
        db.session.get(Consultation, closed).status = "closed"
        db.session.commit()
        reports.freeze(reports.create_draft(closed, None).id, None)
        _, secret = accounts.create_token(db.session.get(User, make.user(email="fuzzer@example.org")), "fuzz")
    app.config["RATELIMIT_ENABLED"] = False
    limiter.enabled = False
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The WSGI client does not decompress: ask for plain bodies (compression is tested elsewhere).
    schema.config.headers = {"Authorization": f"Bearer {secret}", "Accept-Encoding": "identity"}
    # A text over the length limit is refused with 413 "too_large", as the document says; the
    # negative-data check's default list of refusals does not include 413.
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
    )
    yield schema
    limiter.enabled = True
    app.config["RATELIMIT_ENABLED"] = True


@schemathesis.serializer("application/zip")
def _zip_bytes(ctx, value):
    """Generated package uploads: whatever bytes the strategy produced (mostly not a valid zip)."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case):
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
    )
    # The token is injected for every request, so schemathesis's "send without auth" probe would
    # still carry it; refusing unauthenticated writes is asserted in test_api.py and test_authz.py.
    case.validate_response(response, excluded_checks=[ignored_auth])
