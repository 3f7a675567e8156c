"""flask agora … commands: the demo, accounts, imports and model work. Each prints what it did."""
import click
from flask.cli import AppGroup

agora_cli = AppGroup("agora", help="Agora's own commands.")


@agora_cli.command("demo")
def demo_command():
    """Load the demo consultations (idempotent: loading twice adds nothing)."""
    from agora.services import demo

    demo.load(progress=click.echo)


@agora_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", default="Secretariat")
@click.password_option()
def create_admin(email, name, password):
    """Create a secretariat (admin) account."""
    from agora.services import accounts
    from agora.services.errors import AgoraError

    try:
        user = accounts.register(email, password, name)
        accounts.assign_role(user, "admin", None, None)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Admin account {user.email} created (user #{user.id}).")


@agora_cli.command("grant")
@click.argument("email")
@click.argument("role")
@click.option("--consultation", "consultation_slug", default=None, help="limit the role to one consultation")
def grant(email, role, consultation_slug):
    """Give a user a role (admin, moderator, chair, facilitator)."""
    from agora.services import accounts, consultations
    from agora.services.errors import AgoraError

    try:
        user = accounts.find_user_by_email(email)
        scope = consultations.get_by_slug(consultation_slug).id if consultation_slug else None
        accounts.assign_role(user, role, scope, None)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    where = f"consultation {consultation_slug}" if consultation_slug else "everywhere"
    click.echo(f"{email} is now {role} ({where}).")


moderation_cli = AppGroup("moderation", help="Moderation model and audit log.")
agora_cli.add_command(moderation_cli)


@moderation_cli.command("retrain")
def retrain_command():
    """Retrain with moderators' decisions; promote the model only if it does not regress."""
    from pathlib import Path

    from flask import current_app

    from agora.services import moderation

    result = moderation.retrain(str(Path(current_app.instance_path) / "models"), progress=click.echo)
    click.echo(f"before: {result.before}")
    click.echo(f"after:  {result.after}")
    click.echo(("PROMOTED " + result.version_after if result.promoted else "NOT promoted") + f" — {result.reason}")


@moderation_cli.command("rescreen")
def rescreen_command():
    """Screen the submissions left pending while the model was unavailable."""
    from agora.services import screening

    total = 0
    while True:
        done = screening.rescreen_pending()
        total += done
        if not done:
            break
        click.echo(f"screened {total} pending submissions so far")
    click.echo(f"{total} pending submissions screened.")


@moderation_cli.command("verify-audit")
def verify_audit_command():
    """Walk the audit log's hash chain and say whether it is intact."""
    from agora.services import audit

    check = audit.verify()
    if check.ok:
        click.echo(f"Audit log intact: {check.entries} entries, chain verified.")
    else:
        raise click.ClickException(f"Audit log broken at entry #{check.first_bad_id}: {check.problem}")


@moderation_cli.command("export-audit")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_audit_command(path):
    """Write the whole audit log as CSV."""
    from agora.services import moderation

    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for chunk in moderation.audit_csv(_CliAdmin()):
            handle.write(chunk)
            count += 1
    click.echo(f"Wrote {count - 1} audit entries to {path}.")


class _CliAdmin:
    """The command line acts with the secretariat's rights."""

    is_authenticated = True
    is_admin = True
    roles = ()
    id = None
