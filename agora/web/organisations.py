"""Organisation pages: register, members, networks, accreditation requests and the secretariat's
decisions, the public accreditation criteria and log, joint statements and their endorsements."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from agora import permissions
from agora.extensions import limiter
from agora.models.user import CONSTITUENCIES
from agora.services import geography
from agora.services.accounts import organisations
from agora.services.errors import AgoraError, Forbidden
from agora.services.participation import consultations
from agora.web.ratelimits import SUBMIT_LIMIT, user_or_ip

bp = Blueprint("organisations", __name__, url_prefix="/organisations")

WRITE_LIMIT = "20 per minute; 200 per day"


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name of the organisation"), validators=[DataRequired(), Length(max=200)])
    constituency = SelectField(_l("Constituency"), validators=[DataRequired()])
    country = SelectField(_l("Country (where it is based)"), validators=[Optional()])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])
    description = TextAreaField(
        _l("What it does, who it represents, how it is funded"), validators=[Optional(), Length(max=2000)]
    )
    is_network = BooleanField(_l("This is a network that federates other organisations"))
    submit = SubmitField(_l("Register the organisation"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.constituency.choices = [("", _l("Choose…"))] + [
            (k, _l(v)) for k, v in CONSTITUENCIES.items() if k != "individual"
        ]
        self.country.choices = [("", _l("Not stated"))] + geography.choices()


class MemberForm(FlaskForm):
    email = EmailField(_l("Email of the person's account"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(
        _l("Role in the organisation"),
        choices=[("member", _l("Member: may submit on its behalf")), ("admin", _l("Admin: may also manage it"))],
    )
    submit = SubmitField(_l("Add member"))


class AccreditationRequestForm(FlaskForm):
    consultation_id = SelectField(_l("Consultation"), validators=[DataRequired()])
    motivation = TextAreaField(
        _l("Why the organisation should be accredited (see the criteria)"),
        validators=[DataRequired(), Length(max=3000)],
    )
    submit = SubmitField(_l("Ask for accreditation"))


class JoinNetworkForm(FlaskForm):
    network_id = SelectField(_l("Network"), validators=[DataRequired()])
    submit = SubmitField(_l("Join the network"))


class StatementForm(FlaskForm):
    consultation_id = SelectField(_l("Consultation"), validators=[DataRequired()])
    text = TextAreaField(_l("Joint statement"), validators=[DataRequired(), Length(max=20000)])
    submit = SubmitField(_l("Publish the joint statement"))


class EndorseForm(FlaskForm):
    organisation_id = SelectField(_l("Endorse as"), validators=[DataRequired()])
    submit = SubmitField(_l("Endorse this statement"))


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("accredit", _l("Accredit")), ("refuse", _l("Refuse"))])
    criteria = SelectMultipleField(
        _l("Criteria the decision rests on (met, to accredit; not met, to refuse)"),
        choices=[(k, _l(v)) for k, v in organisations.CRITERIA.items()],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[Optional()],
    )
    reason = TextAreaField(_l("Reason (public)"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Record the decision"))


def _open_consultation_choices():
    return [("", _("Choose…"))] + [(str(c.id), c.title) for c in consultations.public_list(status="open")]


def _apply_error(form, error: AgoraError, default: str) -> int:
    target = getattr(form, error.field or default, None) or getattr(form, default)
    target.errors = list(target.errors) + [error.message]
    return error.status


@bp.get("/")
def index():
    found = organisations.public_list()
    return render_template(
        "organisations/index.html",
        organisations=found,
        member_counts=organisations.count_members(o.id for o in found),
        mine=organisations.organisations_of(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip, methods=["POST"])
def new():
    form = OrganisationForm()
    status = 200
    if form.validate_on_submit():
        try:
            organisation = organisations.register(
                current_user,
                organisations.OrganisationInput(
                    name=form.name.data,
                    constituency=form.constituency.data,
                    country=form.country.data or None,
                    website=form.website.data,
                    description=form.description.data or "",
                    is_network=form.is_network.data,
                ),
            )
        except AgoraError as error:
            status = _apply_error(form, error, "name")
        else:
            flash(_("The organisation is registered; you are its admin."), "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
    elif request.method == "POST":
        status = 422
    return render_template("organisations/new.html", form=form), status


def _render_show(organisation, status=200, **forms):
    is_admin = organisations.is_org_admin(current_user, organisation.id)
    member = organisations.membership(current_user, organisation.id)
    forms.setdefault("member_form", MemberForm())
    forms.setdefault("accreditation_form", AccreditationRequestForm())
    forms.setdefault("join_form", JoinNetworkForm())
    forms.setdefault("statement_form", StatementForm())
    choices = _open_consultation_choices()
    forms["accreditation_form"].consultation_id.choices = choices
    forms["statement_form"].consultation_id.choices = choices
    forms["join_form"].network_id.choices = [("", _("Choose…"))] + [
        (str(n.id), n.name) for n in organisations.networks() if n.id != organisation.id
    ]
    statements = organisations.statements_of(organisation.id) if organisation.is_network else []
    return render_template(
        "organisations/show.html",
        organisation=organisation,
        is_org_admin=is_admin,
        member=member,
        members=organisations.members(organisation.id) if member else [],
        member_count=organisations.count_members([organisation.id]).get(organisation.id, 0),
        network_members=organisations.network_members(organisation.id) if organisation.is_network else [],
        networks=organisations.networks_of(organisation.id),
        accreditations=organisations.accreditations_of(organisation.id),
        statements=statements,
        endorsements=organisations.endorsements([s.id for s in statements]),
        country=geography.country(organisation.country),
        **forms,
    ), status


@bp.get("/<int:organisation_id>")
def show(organisation_id):
    return _render_show(organisations.get(organisation_id))


def _org_admin_form(organisation_id, make_form, form_key: str, default_field: str, action):
    """The organisation admins' forms: role first (before reading what was sent), then the form,
    then the service; form and service errors re-render the organisation page with the form.
    Returns (organisation, result, error_response)."""
    organisation = organisations.get(organisation_id)
    organisations.require_org_admin(current_user, organisation.id)
    form = make_form()
    if not form.validate_on_submit():
        return organisation, None, _render_show(organisation, 422, **{form_key: form})
    try:
        return organisation, action(organisation, form), None
    except Forbidden:
        raise
    except AgoraError as error:
        return (
            organisation,
            None,
            _render_show(organisation, _apply_error(form, error, default_field), **{form_key: form}),
        )


def _accreditation_form():
    form = AccreditationRequestForm()
    form.consultation_id.choices = _open_consultation_choices()
    return form


def _join_form():
    form = JoinNetworkForm()
    form.network_id.choices = [("", "")] + [(str(n.id), n.name) for n in organisations.networks()]
    return form


def _statement_form():
    form = StatementForm()
    form.consultation_id.choices = _open_consultation_choices()
    return form


@bp.post("/<int:organisation_id>/members")
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip)
def add_member(organisation_id):
    organisation, _added, failed = _org_admin_form(
        organisation_id,
        MemberForm,
        "member_form",
        "email",
        lambda org, form: organisations.add_member(org.id, current_user, form.email.data, form.role.data),
    )
    if failed is not None:
        return failed
    flash(_("Member added."), "success")
    return redirect(url_for("organisations.show", organisation_id=organisation.id, _anchor="members"))


@bp.post("/<int:organisation_id>/accreditations")
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip)
def request_accreditation(organisation_id):
    organisation, _requested, failed = _org_admin_form(
        organisation_id,
        _accreditation_form,
        "accreditation_form",
        "motivation",
        lambda org, form: organisations.request_accreditation(
            org.id, int(form.consultation_id.data), current_user, form.motivation.data
        ),
    )
    if failed is not None:
        return failed
    flash(
        _("Your request is sent to the secretariat; its decision will appear in the public accreditation log."),
        "success",
    )
    return redirect(url_for("organisations.show", organisation_id=organisation.id, _anchor="accreditation"))


@bp.post("/<int:organisation_id>/networks")
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip)
def join_network(organisation_id):
    organisation, _joined, failed = _org_admin_form(
        organisation_id,
        _join_form,
        "join_form",
        "network_id",
        lambda org, form: organisations.join_network(int(form.network_id.data), org.id, current_user),
    )
    if failed is not None:
        return failed
    flash(_("The organisation is now a member of the network."), "success")
    return redirect(url_for("organisations.show", organisation_id=organisation.id, _anchor="networks"))


@bp.post("/<int:organisation_id>/statements")
@login_required
@limiter.limit(SUBMIT_LIMIT, key_func=user_or_ip)
def publish_statement(organisation_id):
    _organisation, statement, failed = _org_admin_form(
        organisation_id,
        _statement_form,
        "statement_form",
        "text",
        lambda org, form: organisations.publish_joint_statement(
            org.id,
            int(form.consultation_id.data),
            current_user,
            form.text.data,
            max_chars=current_app.config["SUBMISSION_MAX_CHARS"],
        ),
    )
    if failed is not None:
        return failed
    if statement.state == "published":
        flash(_("The joint statement is published; member organisations can now endorse it."), "success")
    else:
        flash(_("The joint statement is saved and will be published once a moderator has reviewed it."), "info")
    return redirect(url_for("organisations.statement", submission_id=statement.id))


def _render_statement(statement, status=200, form=None):
    summary = organisations.endorsements([statement.id]).get(statement.id)
    network = organisations.get(statement.organisation_id)
    endorsed = {o.id for o in summary.organisations} if summary else set()
    mine = [
        o
        for o in organisations.organisations_of(current_user, admin_only=True)
        if o.id in {m.id for m in organisations.network_members(network.id)} and o.id not in endorsed
    ]
    form = form or EndorseForm()
    form.organisation_id.choices = [(str(o.id), o.name) for o in mine]
    return render_template(
        "organisations/statement.html",
        statement=statement,
        network=network,
        summary=summary,
        consultation=consultations.get(statement.consultation_id),
        form=form,
        can_endorse=bool(mine),
    ), status


@bp.get("/statements/<int:submission_id>")
def statement(submission_id):
    return _render_statement(organisations.get_statement(submission_id, current_user))


@bp.post("/statements/<int:submission_id>/endorse")
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip)
def endorse(submission_id):
    statement = organisations.get_statement(submission_id)
    form = EndorseForm()
    form.organisation_id.choices = [
        (str(o.id), o.name) for o in organisations.organisations_of(current_user, admin_only=True)
    ]
    if not form.organisation_id.choices:
        raise Forbidden("Only an admin of a member organisation of the network can endorse its joint statement.")
    if not form.validate_on_submit():
        return _render_statement(statement, 422, form)
    organisations.endorse(statement.id, int(form.organisation_id.data), current_user)
    flash(_("Your organisation's endorsement is recorded."), "success")
    return redirect(url_for("organisations.statement", submission_id=statement.id))


@bp.get("/accreditation-criteria")
def criteria():
    return render_template("organisations/criteria.html", criteria=organisations.CRITERIA)


@bp.get("/accreditation-log")
def accreditation_log():
    return render_template(
        "organisations/log.html", entries=organisations.accreditation_log(), criteria=organisations.CRITERIA
    )


@bp.get("/accreditation")
@login_required
def accreditation_requests():
    if not permissions.is_admin(current_user):
        raise Forbidden("Only the secretariat decides on accreditation.")
    return _render_requests()


def _render_requests(status=200, failed_id=None, failed_form=None):
    requests_ = organisations.pending_requests()
    forms = {a.id: (failed_form if a.id == failed_id else DecisionForm(prefix=f"a{a.id}")) for a in requests_}
    return render_template(
        "organisations/requests.html", requests=requests_, forms=forms, criteria=organisations.CRITERIA
    ), status


@bp.post("/accreditation/<int:accreditation_id>/decide")
@login_required
@limiter.limit(WRITE_LIMIT, key_func=user_or_ip)
def decide(accreditation_id):
    if not permissions.is_admin(current_user):
        raise Forbidden("Only the secretariat decides on accreditation.")
    form = DecisionForm(prefix=f"a{accreditation_id}")
    if not form.validate_on_submit():
        return _render_requests(422, accreditation_id, form)
    try:
        entry = organisations.decide(
            accreditation_id, current_user, form.decision.data, form.criteria.data or [], form.reason.data
        )
    except AgoraError as error:
        if error.status in (403, 404):
            raise
        return _render_requests(_apply_error(form, error, "reason"), accreditation_id, form)
    flash(
        _("Decision recorded (%(decision)s) and published in the accreditation log.", decision=entry.decision),
        "success",
    )
    return redirect(url_for("organisations.accreditation_log", _anchor=f"d{entry.id}"))
