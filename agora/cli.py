"""flask agora … commands: the demo, accounts, imports and model work. Each prints what it did."""

import json

import click
from flask.cli import AppGroup

agora_cli = AppGroup("agora", help="Agora's own commands.")


@agora_cli.group("demo", invoke_without_command=True)
@click.pass_context
def demo_command(ctx):
    """Load the demo consultations (idempotent: loading twice adds nothing); `demo hearing --live`
    then plays its hearing."""
    if ctx.invoked_subcommand is None:
        from agora.services import demo

        demo.load(progress=click.echo)


DEFAULT_SERVER = "http://127.0.0.1:5000"  # where `python -m agora serve` listens unless told otherwise


def _server_answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url.rstrip("/") + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


@demo_command.command("hearing")
@click.option("--live", is_flag=True, help="Act at a human pace (see --pace); without it, every action at once.")
@click.option(
    "--url",
    default=None,
    help=f"A running Agora server to play through with real Socket.IO clients "
    f"(default: {DEFAULT_SERVER} if it answers; else this process acts through the services).",
)
@click.option("--no-server", is_flag=True, help="Act through the services in this process even if a server answers.")
@click.option("--hearing", "hearing_id", type=int, default=None, help="The hearing (default: the demo's live hearing).")
@click.option(
    "--count", type=click.IntRange(1, 10_000), default=None, help="Stop after this many actions (default 30)."
)
@click.option("--duration", type=click.FloatRange(min=1), default=None, help="Stop after this many seconds.")
@click.option(
    "--pace",
    type=click.FloatRange(min=0),
    default=4.0,
    show_default=True,
    help="Seconds between actions, on average (with --live).",
)
@click.option(
    "--people", type=click.IntRange(1, 18), default=8, show_default=True, help="How many simulated participants."
)
@click.option("--seed", type=int, default=None, help="Repeat the same run.")
def demo_hearing_command(live, url, no_server, hearing_id, count, duration, pace, people, seed):
    """Play the demo's live hearing: simulated participants post, vote and ask for the floor in the
    six UN languages, printing what they do; it ends by itself (Ctrl-C stops it at once)."""
    from flask import current_app

    from agora.services import demo_live
    from agora.services.errors import AgoraError

    try:
        hid = demo_live.live_hearing_id(hearing_id)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    cast = demo_live.personas(people)
    demo_live.ensure_accounts(cast)
    if no_server:
        url = None
    elif url is None and not current_app.config.get("REDIS_URL") and _server_answers(DEFAULT_SERVER):
        url = DEFAULT_SERVER
    if url:
        stage = demo_live.SocketStage(url, hid, echo=click.echo)
        click.echo(
            f"Playing hearing #{hid} through {url} with {len(cast)} Socket.IO clients; watch it at {url.rstrip('/')}/hearings/{hid}"
        )
    else:
        stage = demo_live.ServiceStage(hid)
        click.echo(f"Playing hearing #{hid} through the services with {len(cast)} participants.")
        if not current_app.config.get("REDIS_URL"):
            click.echo(
                "  No server answered and AGORA_REDIS_URL is not set: pages open elsewhere see this on reload; "
                "give --url to play through a running server."
            )
    if count is None and duration is None:
        count = 30
    try:
        tally = demo_live.play(
            stage, cast, count=count, duration=duration, pace=pace if live else 0, seed=seed, echo=click.echo
        )
    except demo_live.PlayerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Done: {tally.posted} messages published, {tally.held} held for a moderator, {tally.votes} votes, "
        f"{tally.floor} requests for the floor, {tally.refused} refused."
    )


@agora_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", default="Secretariat")
@click.password_option()
def create_admin(email, name, password):
    """Create a secretariat (admin) account."""
    from agora.services.accounts import accounts
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
    from agora.services.accounts import accounts
    from agora.services.errors import AgoraError
    from agora.services.participation import consultations

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
    from agora.services.moderation import screening

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
        click.echo(
            f"Audit log intact: {check.entries} entries, chain verified (keyed), {check.anchors} anchors matched, "
            f"every submission's state matches its last decision; head {check.head}."
        )
    else:
        for _where, problem in check.problems:
            click.echo(f"  - {problem}", err=True)
        raise click.ClickException(f"Audit log broken ({len(check.problems)} problems); first: {check.problem}")


@moderation_cli.command("checkpoint-audit")
def checkpoint_audit_command():
    """Append the audit chain's signed head and length to the checkpoint file and print it (run it
    periodically, e.g. hourly from cron, and publish the lines)."""
    from agora.services import audit

    click.echo(json.dumps(audit.checkpoint(), sort_keys=True))


@moderation_cli.command("seal-audit")
def seal_audit_command():
    """Key an audit log written before the chain was keyed (checks the old chain first; run once)."""
    from agora.services import audit
    from agora.services.errors import AgoraError

    try:
        changed = audit.seal()
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    line = audit.checkpoint()
    click.echo(
        f"Audit log sealed: {changed} entries re-keyed; checkpoint {line['entries']} entries, head {line['head']}."
    )


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


@agora_cli.command("report")
@click.argument("slug")
@click.option("--freeze", is_flag=True, help="freeze the draft at once (canonical JSON, SHA-256, package)")
@click.option(
    "--transmit-to", "forum_name", default=None, help="record the transmission to this forum (implies --freeze)"
)
def report_command(slug, freeze, forum_name):
    """Build a report of aggregated opinion for a closed consultation."""
    from agora.services.errors import AgoraError
    from agora.services.participation import consultations
    from agora.services.reporting import reports

    try:
        consultation = consultations.get_by_slug(slug)
        report = reports.create_draft(consultation.id, None, progress=lambda m: click.echo(f"  {m}"))
        click.echo(f"Draft report #{report.id} (version {report.version}) built for '{consultation.title}'.")
        if freeze or forum_name:
            report = reports.freeze(report.id, None)
            click.echo(f"Frozen: SHA-256 {report.sha256}; package {len(report.package):,} bytes.")
        if forum_name:
            forum = next((f for f in reports.forums() if f.name == forum_name), None) or reports.create_forum(
                forum_name
            )
            transmission = reports.transmit(report.id, forum.id, None)
            click.echo(f"Transmission to {forum.name} recorded ({transmission.state}).")
    except AgoraError as error:
        raise click.ClickException(error.message) from None


themes_cli = AppGroup("themes", help="Themes and opinion groups.")
agora_cli.add_command(themes_cli)


@themes_cli.command("refit")
@click.argument("slug")
@click.option("--hearing", "hearing_id", type=int, default=None, help="the themes of one hearing's messages")
@click.option("--force", is_flag=True, help="start even if a computation seems to be running")
def themes_refit_command(slug, hearing_id, force):
    """Recompute a consultation's themes and opinion groups now (in this process)."""
    from agora.services.analysis import opinions, themes
    from agora.services.errors import AgoraError
    from agora.services.participation import consultations

    try:
        consultation = consultations.get_by_slug(slug)
        click.echo(f"Themes for '{consultation.title}'" + (f", hearing #{hearing_id}" if hearing_id else "") + ":")
        snapshot = themes.refit(consultation.id, hearing_id, progress=lambda m: click.echo(f"  {m}"), force=force)
        if hearing_id is None:
            click.echo("Opinion groups:")
            opinions.refit(consultation.id, progress=lambda m: click.echo(f"  {m}"), force=force)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    if snapshot is not None and snapshot.status == "failed":
        raise click.ClickException(f"theme snapshot #{snapshot.id} failed: {snapshot.error}")


def _embed_with_progress(consultation_id: int | None) -> int:
    """Embed what has no vector yet (an import's views), in batches, with a progress bar."""
    from agora.services import embeddings
    from agora.services.analysis import themes

    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="  Embedding views (meaning, for themes and search)")
            bar.__enter__()
        bar.update(done - bar.pos)

    count = embeddings.embed_pending(consultation_id, progress=progress, then=themes.place_newly_embedded)
    if bar is not None:
        bar.__exit__(None, None, None)
    click.echo(f"  Embedded {count:,} views." if count else "  Every view already had its embedding.")
    return count


embeddings_cli = AppGroup("embeddings", help="Sentence embeddings of the views (themes, search, moderation).")
agora_cli.add_command(embeddings_cli)


@embeddings_cli.command("backfill")
@click.argument("slug", required=False)
def embeddings_backfill_command(slug):
    """Embed every view without a vector (of one consultation, or all), e.g. after an upgrade."""
    from agora.services.errors import AgoraError
    from agora.services.participation import consultations

    try:
        consultation_id = consultations.get_by_slug(slug).id if slug else None
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    _embed_with_progress(consultation_id)


polis_cli = AppGroup("polis", help="Pol.is open-data exports: import a conversation, export a consultation.")
agora_cli.add_command(polis_cli)


@polis_cli.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--title", required=True, help="title of the new consultation")
@click.option("--slug", default=None)
@click.option("--status", default="open", type=click.Choice(["open", "closed", "reported"]))
@click.option("--attribution", default=None, help="the data's licence and attribution, shown on the page")
def polis_import_command(folder, title, slug, status, attribution):
    """Import a Pol.is export folder (comments.csv + participants-votes.csv) as a new consultation."""
    from pathlib import Path

    from agora.services.errors import AgoraError
    from agora.services.participation import imports

    try:
        consultation, result = imports.import_polis_consultation(
            Path(folder),
            title=title,
            slug=slug,
            status=status,
            attribution=attribution,
            progress=lambda m: click.echo(f"  {m}"),
        )
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    click.echo(
        f"Imported {result.statements} statements, {result.participants} participants and {result.votes:,} votes "
        f"into '{consultation.title}' (/consultations/{consultation.slug}); {len(result.skipped_rows)} rows skipped."
    )
    for line in result.skipped_rows[:50]:  # each with its reason (a bad id, a text the sanitiser refused)
        click.echo(f"  skipped {line}")
    _embed_with_progress(consultation.id)


@polis_cli.command("export")
@click.argument("slug")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--include-moderated", is_flag=True, help="also hidden and rejected views, marked moderated = -1")
def polis_export_command(slug, folder, include_moderated):
    """Write a consultation as comments.csv + participants-votes.csv, the Pol.is open-data format."""
    from agora.services.errors import AgoraError
    from agora.services.participation import consultations, imports

    try:
        consultation = consultations.get_by_slug(slug)
        result = imports.export_polis(consultation.id, folder, include_moderated=include_moderated)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    click.echo(
        f"Wrote {result.statements} statements, {result.participants} participants and {result.votes:,} votes "
        f"to {folder}/comments.csv and {folder}/participants-votes.csv."
    )


@agora_cli.command("import")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def offline_import_command(slug, path):
    """Import offline views from a CSV file (all or nothing; a file already imported adds nothing)."""
    from pathlib import Path

    from agora.services.errors import AgoraError
    from agora.services.participation import consultations, offline

    data = Path(path).read_bytes()
    try:
        consultation = consultations.get_by_slug(slug)
        outcome = offline.import_csv(
            consultation.id, None, data, filename=Path(path).name, max_bytes=offline.MAX_CLI_BYTES
        )
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    if outcome.status == "duplicate_file":
        click.echo(
            f"{Path(path).name} was already imported into '{consultation.title}' (batch #{outcome.batch_id}): nothing added."
        )
        return
    if outcome.status == "invalid":
        for error in outcome.errors:
            click.echo(f"line {error.line}, {error.column}: {error.message}", err=True)
        raise click.ClickException(
            f"{len(outcome.errors)} error(s) in {len({e.line for e in outcome.errors})} row(s): nothing imported."
        )
    _embed_with_progress(consultation.id)
    states = ", ".join(f"{n} {state}" for state, n in sorted(outcome.states.items())) or "none new"
    click.echo(
        f"Imported {outcome.imported} of {outcome.rows_total} rows into '{consultation.title}' as batch #{outcome.batch_id} ({states})"
        + (
            f"; {len(outcome.already_imported)} already imported (lines {', '.join(map(str, outcome.already_imported))})"
            if outcome.already_imported
            else ""
        )
        + (f"; {len(outcome.empty_lines)} empty lines ignored" if outcome.empty_lines else "")
        + "."
    )


@agora_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup_command(path):
    """Copy the embedded (SQLite) database to PATH, consistently, while the app runs."""
    from agora.services import backup
    from agora.services.errors import AgoraError

    try:
        size = backup.backup_sqlite(path)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Backed up the database to {path} ({size:,} bytes).")


@agora_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def restore_command(path, yes):
    """Replace the embedded (SQLite) database with the backup at PATH (stop the server first)."""
    from agora.services import backup

    if not yes:
        click.confirm("This replaces the current database with the backup. Continue?", abort=True)
    from agora.services.errors import AgoraError

    try:
        counts = backup.restore_sqlite(path)
    except AgoraError as error:
        raise click.ClickException(error.message) from None
    click.echo("Restored: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))


mail_cli = AppGroup("mail", help="The email outbox: notifications and daily digests (agora/services/accounts/mail.py).")
agora_cli.add_command(mail_cli)


@mail_cli.command("send")
def mail_send_command():
    """Render waiting notifications, build the digests that are due and send what the outbox
    holds (run it from cron, e.g. every 15 minutes, for the daily digests)."""
    from agora.services.accounts import mail

    if not mail.current_app.config.get("SMTP_HOST"):
        click.echo("AGORA_SMTP_HOST is not set: nothing is emailed (notifications stay in the app).")
        return
    outcome = mail.process(wait=False)
    click.echo(
        ", ".join(f"{key} {value}" for key, value in outcome.items()) + f"; {mail.pending_count()} still queued."
    )


@mail_cli.command("failed")
def mail_failed_command():
    """List the emails that could not be sent, with the server's answer."""
    from agora.services.accounts import mail

    rows = mail.failed()
    for email in rows:
        click.echo(
            f"#{email.id} to user {email.user_id} <{email.to_address}>, {email.attempts} attempts: {email.last_error}"
        )
    click.echo(f"{len(rows)} failed email(s).")


@mail_cli.command("retry")
def mail_retry_command():
    """Queue every failed email again (once the mail server is fixed), then send."""
    from agora.services.accounts import mail

    click.echo(f"{mail.retry_failed()} email(s) queued again.")
    click.echo(", ".join(f"{key} {value}" for key, value in mail.process(wait=False).items()))
