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
