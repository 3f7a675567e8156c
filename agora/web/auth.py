"""Registration, sign-in, profile and personal API tokens."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from agora.extensions import limiter
from agora.services import accounts
from agora.services.errors import AgoraError
from agora.web.forms import LoginForm, ProfileForm, RegisterForm, TokenForm
from agora.web.ratelimits import SIGNIN_LIMIT, SIGNUP_LIMIT

bp = Blueprint("auth", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.index")


def _start_session(user, remember=False):
    session.clear()  # a fresh session on sign-in: no fixation
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(SIGNUP_LIMIT, methods=["POST"])
def register():
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.register(form.email.data, form.password.data, form.display_name.data)
        except AgoraError as error:
            getattr(form, error.field, form.email).errors.append(error.message)
            status = error.status
        else:
            _start_session(user)
            flash(_("Welcome, %(name)s. You can now submit views and vote.", name=user.display_name), "success")
            return redirect(url_for("auth.profile", welcome=1))
    elif request.method == "POST":
        status = 422
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(SIGNIN_LIMIT, methods=["POST"])
def login():
    form = LoginForm(next=request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("The email or password is not right."))
            status = 401
        else:
            _start_session(user, remember=form.remember.data)
            return redirect(_safe_next(form.next.data))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(
        obj=current_user,
        languages=current_app.config["LANGUAGES"],
        language_names=current_app.jinja_env.globals.get("LANGUAGE_NAMES"),
    )
    from agora.web.helpers import LANGUAGE_NAMES

    form.locale.choices = [("", _("From my browser"))] + [
        (code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]
    ]
    status = 200
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user,
                accounts.Profile(
                    display_name=form.display_name.data,
                    constituency=form.constituency.data or None,
                    country=form.country.data or None,
                    gender=form.gender.data or None,
                    languages=form.languages.data or None,
                    locale=form.locale.data or None,
                ),
            )
        except AgoraError as error:
            getattr(form, error.field or "display_name").errors.append(error.message)
            status = error.status
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "auth/profile.html", form=form, token_form=TokenForm(), tokens=accounts.tokens_of(current_user)
    ), status


@bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("Please give the token a name."), "error")
        return redirect(url_for("auth.profile"))
    token, secret = accounts.create_token(current_user, form.name.data)
    return render_template("auth/token_created.html", token=token, secret=secret)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    TokenForm().validate_on_submit()  # CSRF is checked globally; nothing else to parse
    accounts.revoke_token(current_user, token_id)
    flash(_("The token is revoked."), "info")
    return redirect(url_for("auth.profile"))
