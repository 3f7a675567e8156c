"""Organisations, accreditation with a public log, submitting on behalf, networks' joint statements."""

from sqlalchemy import select

from agora.extensions import db
from agora.models import (
    Accreditation,
    AccreditationDecision,
    Endorsement,
    Organisation,
    OrganisationMember,
    Submission,
    User,
)
from agora.services.accounts import organisations
from tests.conftest import civic_statements, csrf_from, login


def _register(client, name="Water Justice Kenya", constituency="ngo", country="KE", is_network=False):
    token = csrf_from(client, "/organisations/new")
    data = {
        "name": name,
        "constituency": constituency,
        "country": country,
        "website": "waterjustice.example.org",
        "description": "A federation of village water committees, funded by member dues.",
        "csrf_token": token,
    }
    if is_network:
        data["is_network"] = "y"
    return client.post("/organisations/new", data=data)


def _org(app, name):
    with app.app_context():
        return db.session.scalar(select(Organisation).where(Organisation.name == name))


def _user(app, email):
    return db.session.scalar(select(User).where(User.email == email))


def test_register_makes_the_user_its_admin_and_shows_the_page(client, make, app):
    make.user(email="amina@example.org")
    login(client, "amina@example.org")
    response = _register(client)
    assert response.status_code == 302
    org = _org(app, "Water Justice Kenya")
    assert (org.constituency, org.country, org.website, org.is_network) == (
        "ngo",
        "KE",
        "https://waterjustice.example.org",
        False,
    )
    with app.app_context():
        member = db.session.scalar(select(OrganisationMember).where(OrganisationMember.organisation_id == org.id))
        assert member.role == "admin" and member.user.email == "amina@example.org"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Water Justice Kenya" in page and "NGO / civil society" in page
    assert "Ask for accreditation" in page  # its admin may ask
    assert "Water Justice Kenya" in client.get("/organisations/").get_data(as_text=True)


def test_duplicate_names_are_refused_whatever_their_case_and_spacing(client, make, app):
    make.user(email="amina@example.org")
    login(client, "amina@example.org")
    assert _register(client).status_code == 302
    again = _register(client, name="  water   JUSTICE kenya ")
    assert again.status_code == 409
    html = again.get_data(as_text=True)
    assert "An organisation with this name is already registered" in html
    assert 'aria-describedby="name-error"' in html
    with app.app_context():
        assert len(db.session.scalars(select(Organisation)).all()) == 1


def test_registering_needs_a_signed_in_user_and_a_constituency(client, make, app):
    assert client.get("/organisations/new").status_code == 302  # to the sign-in page
    make.user(email="amina@example.org")
    login(client, "amina@example.org")
    response = _register(client, constituency="")
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(Organisation)).all() == []


def test_accreditation_request_decision_and_public_log(client, make, app):
    cid = make.consultation("Water for all")
    make.user(email="amina@example.org")
    make.user(email="secretariat@example.org", role="admin")
    login(client, "amina@example.org")
    _register(client)
    org = _org(app, "Water Justice Kenya")
    token = csrf_from(client, f"/organisations/{org.id}")
    asked = client.post(
        f"/organisations/{org.id}/accreditations",
        data={
            "consultation_id": str(cid),
            "motivation": "We represent 40 village water committees.",
            "csrf_token": token,
        },
    )
    assert asked.status_code == 302
    with app.app_context():
        accreditation = db.session.scalar(select(Accreditation))
        assert accreditation.state == "requested"
    # The organisation's own admin is not the secretariat: deciding is refused.
    denied = client.post(
        f"/organisations/accreditation/{accreditation.id}/decide",
        data={
            f"a{accreditation.id}-decision": "accredit",
            f"a{accreditation.id}-reason": "Self-approved",
            f"a{accreditation.id}-criteria": ["works_on_issue"],
            "csrf_token": token,
        },
    )
    assert denied.status_code == 403
    assert client.get("/organisations/accreditation").status_code == 403

    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "secretariat@example.org")
    queue = client.get("/organisations/accreditation").get_data(as_text=True)
    assert "Water Justice Kenya" in queue and "We represent 40 village water committees." in queue
    token = csrf_from(client, "/organisations/accreditation")
    missing_reason = client.post(
        f"/organisations/accreditation/{accreditation.id}/decide",
        data={
            f"a{accreditation.id}-decision": "accredit",
            f"a{accreditation.id}-criteria": ["works_on_issue"],
            "csrf_token": token,
        },
    )
    assert missing_reason.status_code == 422
    decided = client.post(
        f"/organisations/accreditation/{accreditation.id}/decide",
        data={
            f"a{accreditation.id}-decision": "accredit",
            f"a{accreditation.id}-criteria": ["works_on_issue", "legal_or_recognised", "discloses_funding"],
            f"a{accreditation.id}-reason": "Registered association; funding published on its website.",
            "csrf_token": token,
        },
    )
    assert decided.status_code == 302
    with app.app_context():
        assert db.session.get(Accreditation, accreditation.id).state == "accredited"
        entry = db.session.scalar(select(AccreditationDecision))
        assert entry.criteria == "works_on_issue,legal_or_recognised,discloses_funding"
    again = client.post(
        f"/organisations/accreditation/{accreditation.id}/decide",
        data={
            f"a{accreditation.id}-decision": "refuse",
            f"a{accreditation.id}-criteria": ["works_on_issue"],
            f"a{accreditation.id}-reason": "Changed my mind",
            "csrf_token": token,
        },
    )
    assert again.status_code == 409

    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    log = client.get("/organisations/accreditation-log")
    html = log.get_data(as_text=True)
    assert log.status_code == 200
    assert "Water Justice Kenya" in html and "Water for all" in html and "Accredited" in html
    assert "Registered association; funding published on its website." in html
    assert organisations.CRITERIA["discloses_funding"] in html
    assert ">Accreditation decisions</caption>" in html  # the caption names the table's scrolling region (its id)
    criteria = client.get("/organisations/accreditation-criteria").get_data(as_text=True)
    for text in organisations.CRITERIA.values():
        assert text in criteria


def test_refusal_is_logged_and_the_organisation_may_ask_again(app, make, ctx):
    cid = make.consultation()
    owner = db.session.get(User, make.user(email="amina@example.org"))
    admin = db.session.get(User, make.user(email="secretariat@example.org", role="admin"))
    org = organisations.register(owner, organisations.OrganisationInput("Acme Mining", "private_sector", "ZA"))
    request = organisations.request_accreditation(org.id, cid, owner, "We mine near the river.")
    organisations.decide(request.id, admin, "refuse", ["discloses_funding"], "No information on funding was given.")
    again = organisations.request_accreditation(org.id, cid, owner, "Our annual report lists our funding.")
    assert again.id == request.id and again.state == "requested"
    [entry] = organisations.accreditation_log()
    assert (entry.decision, entry.criteria, entry.organisation.name) == (
        "refused",
        ["discloses_funding"],
        "Acme Mining",
    )


def test_member_submits_on_behalf_and_the_view_says_so(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    make.user(email="amina@example.org")
    make.user(email="baraka@example.org")
    login(client, "amina@example.org")
    _register(client)
    org = _org(app, "Water Justice Kenya")
    token = csrf_from(client, f"/organisations/{org.id}")
    added = client.post(
        f"/organisations/{org.id}/members", data={"email": "baraka@example.org", "role": "member", "csrf_token": token}
    )
    assert added.status_code == 302
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "baraka@example.org")
    page = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "On behalf of Water Justice Kenya" in page
    text = civic_statements(1)[0]
    response = client.post(
        f"/consultations/{slug}/submissions",
        data={"text": text, "organisation_id": str(org.id), "csrf_token": csrf_from(client, f"/consultations/{slug}")},
    )
    assert response.status_code == 302
    with app.app_context():
        submission = db.session.scalar(select(Submission))
        assert submission.organisation_id == org.id and submission.author.email == "baraka@example.org"
    assert "on behalf of Water Justice Kenya" in client.get(f"/consultations/{slug}").get_data(as_text=True)


def test_non_member_cannot_submit_on_behalf(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    owner_id = make.user(email="amina@example.org")
    with app.app_context():
        org = organisations.register(
            db.session.get(User, owner_id), organisations.OrganisationInput("Water Justice Kenya", "ngo")
        )
        org_id = org.id
    make.user(email="mallory@example.org")
    login(client, "mallory@example.org")
    response = client.post(
        f"/consultations/{slug}/submissions",
        data={
            "text": civic_statements(1)[0],
            "organisation_id": str(org_id),
            "csrf_token": csrf_from(client, f"/consultations/{slug}"),
        },
    )
    assert response.status_code == 403
    assert "You can only submit on behalf of an organisation you are a member of." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Submission)).all() == []
    # Nor may a non-admin add members.
    token = csrf_from(client, f"/organisations/{org_id}")
    assert (
        client.post(
            f"/organisations/{org_id}/members",
            data={"email": "mallory@example.org", "role": "admin", "csrf_token": token},
        ).status_code
        == 403
    )


def test_network_joint_statement_endorsed_by_members_counted_by_constituency(client, make, app):
    cid = make.consultation()
    slug = make.slug(cid)
    with app.app_context():
        chair = db.session.get(User, make.user(email="network@example.org"))
        network = organisations.register(
            chair, organisations.OrganisationInput("Pan-African Water Network", "ngo", is_network=True)
        )
        members = []
        for n, (name, constituency) in enumerate(
            [
                ("Village Water Committee", "indigenous_peoples"),
                ("Youth for Water", "youth"),
                ("Kisumu Women Water Group", "womens_organisation"),
                ("Maasai Water Trust", "indigenous_peoples"),
            ]
        ):
            admin = db.session.get(User, make.user(email=f"member{n}@example.org"))
            org = organisations.register(admin, organisations.OrganisationInput(name, constituency))
            organisations.join_network(network.id, org.id, admin)
            members.append(org.id)
        outsider = db.session.get(User, make.user(email="outsider@example.org"))
        outside_org = organisations.register(
            outsider, organisations.OrganisationInput("Unrelated Chamber", "private_sector")
        ).id
        network_id = network.id
    login(client, "network@example.org")
    token = csrf_from(client, f"/organisations/{network_id}")
    statement_text = civic_statements(1)[0]
    response = client.post(
        f"/organisations/{network_id}/statements",
        data={"consultation_id": str(cid), "text": statement_text, "csrf_token": token},
    )
    assert response.status_code == 302
    with app.app_context():
        statement = db.session.scalar(select(Submission))
        assert (statement.kind, statement.organisation_id, statement.state) == (
            "joint_statement",
            network_id,
            "published",
        )
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})

    for n in (0, 1, 3):
        login(client, f"member{n}@example.org")
        token = csrf_from(client, f"/organisations/statements/{statement.id}")
        endorsed = client.post(
            f"/organisations/statements/{statement.id}/endorse",
            data={"organisation_id": str(members[n]), "csrf_token": token},
        )
        assert endorsed.status_code == 302
        client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    # An organisation outside the network cannot endorse.
    login(client, "outsider@example.org")
    token = csrf_from(client, f"/organisations/statements/{statement.id}")
    refused = client.post(
        f"/organisations/statements/{statement.id}/endorse",
        data={"organisation_id": str(outside_org), "csrf_token": token},
    )
    assert refused.status_code == 403
    assert "Only member organisations of the network can endorse" in refused.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Endorsement)).all()) == 3
        summary = organisations.endorsements([statement.id])[statement.id]
        assert summary.count == 3
        assert summary.by_constituency == {"indigenous_peoples": 2, "youth": 1}
    page = client.get(f"/organisations/statements/{statement.id}").get_data(as_text=True)
    assert "Endorsed by 3 organisations" in page
    assert "<td>Indigenous peoples</td><td>2</td>" in page and "<td>Youth</td><td>1</td>" in page
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    public = client.get(f"/organisations/{network_id}").get_data(as_text=True)
    assert "Youth for Water" in public and "endorsed by 3 organisations" in public
    assert "Publish the joint statement" not in public and "Add member" not in public  # no admin forms for the public
    detail = client.get(f"/consultations/{slug}").get_data(as_text=True)
    assert "Joint statement of Pan-African Water Network" in detail
    assert "endorsed by 3 organisations (Indigenous peoples: 2, Youth: 1)" in detail


def test_endorsing_twice_and_non_network_statements_are_refused(app, make, ctx):
    from agora.services.errors import Conflict, Forbidden, Invalid

    cid = make.consultation()
    owner = db.session.get(User, make.user(email="network@example.org"))
    network = organisations.register(owner, organisations.OrganisationInput("Coalition", "ngo", is_network=True))
    plain = organisations.register(owner, organisations.OrganisationInput("Plain NGO", "ngo"))
    try:
        organisations.publish_joint_statement(plain.id, cid, owner, civic_statements(1)[0])
    except Invalid as error:
        assert "Only a network" in error.message
    else:
        raise AssertionError("a plain organisation cannot publish a joint statement")
    organisations.join_network(network.id, plain.id, owner)
    statement = organisations.publish_joint_statement(network.id, cid, owner, civic_statements(1)[0])
    organisations.endorse(statement.id, plain.id, owner)
    try:
        organisations.endorse(statement.id, plain.id, owner)
    except Conflict as error:
        assert "already endorsed" in error.message
    else:
        raise AssertionError("endorsing twice must be refused")
    stranger = db.session.get(User, make.user(email="stranger@example.org"))
    try:
        organisations.endorse(statement.id, plain.id, stranger)
    except Forbidden:
        pass
    else:
        raise AssertionError("only the organisation's admin may endorse for it")


def test_an_organisations_admin_joins_a_network_from_its_page(client, make, app):
    with app.app_context():
        chair = db.session.get(User, make.user(email="network@example.org"))
        network_id = organisations.register(
            chair, organisations.OrganisationInput("Coalition for Water", "ngo", is_network=True)
        ).id
        owner = db.session.get(User, make.user(email="amina@example.org"))
        org_id = organisations.register(owner, organisations.OrganisationInput("Water Justice Kenya", "ngo")).id
    make.user(email="mallory@example.org")
    login(client, "mallory@example.org")
    token = csrf_from(client, f"/organisations/{org_id}")
    assert (
        client.post(
            f"/organisations/{org_id}/networks", data={"network_id": str(network_id), "csrf_token": token}
        ).status_code
        == 403
    )
    client.post("/account/logout", data={"csrf_token": csrf_from(client, "/")})
    login(client, "amina@example.org")
    token = csrf_from(client, f"/organisations/{org_id}")
    assert (
        client.post(
            f"/organisations/{org_id}/networks", data={"network_id": str(network_id), "csrf_token": token}
        ).status_code
        == 302
    )
    again = client.post(f"/organisations/{org_id}/networks", data={"network_id": str(network_id), "csrf_token": token})
    assert again.status_code == 409 and "already a member of the network" in again.get_data(as_text=True)
    with app.app_context():
        assert [o.name for o in organisations.network_members(network_id)] == ["Water Justice Kenya"]
    assert "Member of:" in client.get(f"/organisations/{org_id}").get_data(as_text=True)
