"""Registration, sign-in, profile and personal API tokens."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from markupsafe import Markup

from agora.extensions import limiter
from agora.services.accounts import accounts
from agora.services.errors import AgoraError
from agora.web.forms import CodeForm, DeleteForm, LoginForm, PasswordForm, ProfileForm, RegisterForm, TokenForm
from agora.web.ratelimits import SIGNIN_LIMIT, SIGNUP_LIMIT
from agora.web.redirects import safe_next

bp = Blueprint("auth", __name__, url_prefix="/account")


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("main.index"))


def _landing(user) -> str:
    """Where signing in leads when no page asked for it: the secretariat to what needs them."""
    return url_for("admin.index") if user.is_admin else url_for("main.index")


def _start_session(user, remember=False):
    session.clear()  # a fresh session on sign-in: no fixation
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without a request (idle timeout)
    accounts.start_session(user)  # a server-side record, which signing out deletes
    login_user(user, remember=remember)


def _disconnect_live(user_id: int) -> None:
    """Signing out, changing the password or deleting the account ends that user's live sockets."""
    from agora.services import realtime

    realtime.disconnect_user(user_id)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(SIGNUP_LIMIT, methods=["POST"])
def register():
    """Create an account, with the optional profile offered at once; then back to the page that
    sent the person here (a consultation), or to the profile."""
    form = RegisterForm(next=request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.register(form.email.data, form.password.data, form.display_name.data)
            if form.constituency.data or form.country.data or form.gender.data:
                accounts.update_profile(
                    user,
                    accounts.Profile(
                        display_name=user.display_name,
                        constituency=form.constituency.data or None,
                        country=form.country.data or None,
                        gender=form.gender.data or None,
                        languages=None,
                        locale=None,
                    ),
                )
        except AgoraError as error:
            getattr(form, error.field or "email", form.email).errors.append(error.message)
            status = error.status
        else:
            _start_session(user)
            flash(_("Welcome, %(name)s. You can now submit views and vote.", name=user.display_name), "success")
            return redirect(safe_next(form.next.data, url_for("auth.profile", welcome=1)))
    elif request.method == "POST":
        status = 422
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(SIGNIN_LIMIT, methods=["POST"])
def login():
    form = LoginForm(next=request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, client=request.remote_addr or "")
        except accounts.Throttled as error:  # the same answer whether or not the account exists
            form.password.errors.append(error.message)
            return render_template("auth/login.html", form=form), 429, {"Retry-After": "900"}
        if user is None:
            form.password.errors.append(_("The email or password is not right."))
            status = 401
        elif user.totp_secret:
            session.clear()
            session["pending_2fa"] = {
                "token": accounts.session_token(user),
                "remember": bool(form.remember.data),
                "next": safe_next(form.next.data, _landing(user)),
            }
            return redirect(url_for("auth.verify_code"))
        else:
            _start_session(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, _landing(user)))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(SIGNIN_LIMIT, methods=["POST"])
def verify_code():
    """The second step for accounts with two-factor authentication."""
    pending = session.get("pending_2fa")
    if not pending:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.user_for_pending(pending["token"])
        if user is not None and user.totp_secret and accounts.verify_totp_code(user.totp_secret, form.code.data):
            _start_session(user, remember=pending.get("remember", False))
            return redirect(_safe_next(pending.get("next")))
        form.code.errors.append(_("That code is not right."))
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/code.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        _disconnect_live(current_user.id)
    accounts.end_session(session.get("_user_id"))  # a copy of this cookie no longer signs anyone in
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.index"))


@bp.get("/security")
@login_required
def security():
    return render_template(
        "auth/security.html",
        password_form=PasswordForm(),
        delete_form=DeleteForm(),
        code_form=CodeForm(),
        offers_2fa=bool(current_user.is_admin or current_user.roles),
    )


@bp.post("/security/password")
@login_required
@limiter.limit(SIGNIN_LIMIT)
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.new_password.data)
        except AgoraError as error:
            flash(error.message, "error")
            return redirect(url_for("auth.security")), 303
        _disconnect_live(current_user.id)
        _start_session(current_user._get_current_object())
        flash(_("Your password is changed; every other session has been signed out."), "success")
    else:
        flash(_("Please fill in both passwords (the new one at least 10 characters)."), "error")
    return redirect(url_for("auth.security")), 303


@bp.post("/security/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    _disconnect_live(current_user.id)
    accounts.sign_out_everywhere(current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/security/two-factor", methods=["GET", "POST"])
@login_required
def two_factor():
    """Set up TOTP: scan the QR code (or type the key) in an authenticator app, then confirm a code."""
    form = CodeForm()
    if current_user.totp_secret:
        if form.validate_on_submit():
            try:
                accounts.disable_totp(current_user, form.code.data)
            except AgoraError as error:
                flash(error.message, "error")
                return redirect(url_for("auth.security")), 303
            flash(_("Two-factor authentication is off."), "info")
        return redirect(url_for("auth.security"))
    secret = session.get("totp_setup") or accounts.new_totp_secret()
    session["totp_setup"] = secret
    status = 200
    if form.validate_on_submit():
        try:
            accounts.enable_totp(current_user, secret, form.code.data)
        except AgoraError as error:
            form.code.errors.append(error.message)
            status = 422
        else:
            session.pop("totp_setup", None)
            _start_session(current_user._get_current_object())
            flash(_("Two-factor authentication is on: you will be asked for a code when you sign in."), "success")
            return redirect(url_for("auth.security"))
    uri = accounts.totp_provisioning(current_user, secret)
    import segno

    qr = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code to scan with an authenticator app"))
    return render_template("auth/two_factor.html", form=form, secret=secret, qr=Markup(qr)), status


@bp.get("/security/export")
@login_required
def export_data():
    import json

    from flask import Response

    body = json.dumps(accounts.export_data(current_user), ensure_ascii=False, indent=2)
    return Response(
        body, mimetype="application/json", headers={"Content-Disposition": "attachment; filename=my-agora-data.json"}
    )


@bp.post("/security/delete")
@login_required
@limiter.limit(SIGNIN_LIMIT)
def delete_account():
    form = DeleteForm()
    if not form.validate_on_submit() or not form.confirm.data:
        flash(_("Tick the box and give your password to delete your account."), "error")
        return redirect(url_for("auth.security")), 303
    user_id = current_user.id
    try:
        accounts.delete_account(current_user, form.password.data)
    except AgoraError as error:
        flash(error.message, "error")
        return redirect(url_for("auth.security")), 303
    _disconnect_live(user_id)
    logout_user()
    session.clear()
    flash(_("Your account is deleted. Your views stay in the consultation without your name."), "info")
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
                    languages=",".join(form.languages.data or []) or None,
                    locale=form.locale.data or None,
                    show_constituency=bool(form.show_constituency.data),
                ),
            )
        except AgoraError as error:
            getattr(form, error.field or "display_name").errors.append(error.message)
            status = error.status
        else:
            flash(_("Your profile is saved."), "success")
            response = redirect(url_for("auth.profile"))
            # The interface language just chosen replaces an earlier choice made with the switch.
            if form.locale.data:
                response.set_cookie("lang", form.locale.data, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
            else:
                response.delete_cookie("lang")
            return response
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
