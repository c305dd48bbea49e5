"""Command line: ``flask --app wsgi <command>``. Thin commands over the use cases, queries and
renderers; each command that changes data is one transaction (``@command_transaction``)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from questions import QuestionnaireError

from .exceptions import SetupError
from .extensions import db
from .infrastructure.tables import TableError
from .input_guard import MAX_ID
from .migrate import upgrade_database
from .models import Round, Unit
from .models.types import utcnow
from .models.user import ROLES
from .queries import export
from .renderers.qr import channel_posters, channel_url, poster_pdf, qr_png, qr_svg
from .transactions import command_transaction
from .usecases import demo, fieldwork, privacy, response_import, round_setup, users
from .usecases.questionnaires import import_questionnaire_file
from .usecases.units import import_population, import_units


def register(app: Flask) -> None:
    for command in (init_db, demo_command, create_admin, import_questionnaire, export_responses,
                    posters, qr_codes, import_units_command, import_population_command,
                    purge_technical_data, delete_round_command, interviewer_codes, import_responses):
        app.cli.add_command(command)


@click.command("init-db")
@with_appcontext
@command_transaction
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations). While no
    account exists, also print a new one-time setup code for the first
    administrator's page (/console/welcome); earlier codes stop working."""
    upgrade_database(current_app)
    click.echo("Database is at the latest schema.")
    code = users.issue_setup_code(db.session)
    if code is not None:
        base = current_app.config["PUBLIC_BASE_URL"]
        click.echo(f"No account exists yet. Open {base}/console/welcome and enter this one-time setup code:")
        click.echo(f"    {code}")
        click.echo("(or create the account here with: flask --app wsgi create-admin USERNAME)")


@click.command("demo")
@with_appcontext
@click.option("--days", default=30, show_default=True, help="How long the demo round stays open.")
@click.option("--responses", default=0, show_default=True, help="Also store this many simulated responses.")
@command_transaction
def demo_command(days: int, responses: int) -> None:
    """Load the standard questionnaire, a demo district (with population figures)
    and an open drill round; print each channel's respondent URL, one per line."""
    upgrade_database(current_app)
    round_ = demo.load_demo(db.session, open_for=timedelta(days=days))
    demo.load_demo_population(db.session)
    if not round_.quotas:  # interviewers see their quota per gender x age cell
        suggestion = round_setup.suggest_quotas(db.session, round_, "allocate", total=40 * len(round_.channels),
                                                minimum=20)
        round_setup.set_quotas(db.session, None, round_, suggestion.quotas)
    if responses:
        demo.simulate_responses(db.session, round_, responses, seed=round_.id)
    base = current_app.config["PUBLIC_BASE_URL"]
    for channel in round_.channels:
        click.echo(channel_url(base, channel))


@click.command("create-admin")
@with_appcontext
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.option("--unit", "unit_code", help="Staff only: the code of the unit whose data they may see.")
@command_transaction
def create_admin(username: str, password: str, role: str, unit_code: str | None) -> None:
    """Create an office account: an administrator by default, or a viewer, or
    unit staff with --unit CODE. Same rules and audit entry as the Accounts page."""
    unit = None
    if unit_code is not None and role != "staff":
        raise click.ClickException("--unit is for unit staff (--role staff) only")
    if unit_code is not None:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code.strip()))
        if unit is None:
            raise click.ClickException(f"no unit with code {unit_code!r}")
    try:
        users.create_user(db.session, None, username=username, password=password, role=role, unit=unit)
    except users.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {role} {username!r}" + (f" for {unit.name}." if unit is not None else "."))


@click.command("import-questionnaire")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@command_transaction
def import_questionnaire(file: Path) -> None:
    """Validate a questionnaire file and store it as a version."""
    try:
        version, created = import_questionnaire_file(db.session, file)
    except QuestionnaireError as exc:
        raise click.ClickException("the questionnaire has problems:\n" + str(exc)) from exc
    except SetupError as exc:
        raise click.ClickException(str(exc)) from exc
    state = "imported" if created else "unchanged"
    click.echo(f"{version.questionnaire.code} version {version.version}: {state} (id {version.id}).")


@click.command("export-responses")
@with_appcontext
@click.argument("round_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--codebook", type=click.Path(dir_okay=False, path_type=Path), help="Also write the codebook (CSV) here.")
def export_responses(round_id: int, fmt: str, output: Path | None, codebook: Path | None) -> None:
    """Export a round's responses, one row per response, one column per question."""
    round_ = _round_or_fail(round_id)
    if output is None:
        export.write_responses_csv(db.session, round_, sys.stdout)
    else:
        with output.open("w", encoding="utf-8-sig", newline="") as fh:
            export.write_responses_csv(db.session, round_, fh)
    if codebook is not None:
        with codebook.open("w", encoding="utf-8-sig", newline="") as fh:
            export.write_codebook_csv(round_, fh)


def _round_or_fail(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"no round with id {round_id}")
    return round_


@click.command("posters")
@with_appcontext
@click.argument("round_id", type=int)
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def posters(round_id: int, output: Path) -> None:
    """Write every channel's A4 poster of a round into one PDF."""
    round_ = _round_or_fail(round_id)
    if not round_.channels:
        raise click.ClickException(f"round {round_id} has no channels")
    output.write_bytes(poster_pdf(channel_posters(current_app.config["PUBLIC_BASE_URL"], round_.channels)))
    click.echo(f"{len(round_.channels)} posters written to {output}")


@click.command("interviewer-codes")
@with_appcontext
@command_transaction
@click.argument("round_id", type=int)
@click.option("--count", required=True, type=int, help="How many one-time sign-up codes to make.")
@click.option("--units", "unit_codes", default="", help="Codes of the units they interview in, comma-separated "
              "(default: the round's whole area).")
@click.option("--practice", is_flag=True, help="Practice interviewers: every answer they send is practice.")
def interviewer_codes(round_id: int, count: int, unit_codes: str, practice: bool) -> None:
    """Make interviewer sign-up codes for a round; print one sign-up URL per line."""
    round_ = _round_or_fail(round_id)
    try:
        made = fieldwork.create_signup_codes(db.session, None, round_, count,
                                             [c for c in unit_codes.split(",") if c.strip()],
                                             practice_only=practice, now=utcnow())
    except fieldwork.FieldworkRefused as exc:
        raise click.ClickException(str(exc)) from exc
    base = current_app.config["PUBLIC_BASE_URL"]
    for interviewer in made:
        click.echo(fieldwork.signup_url(base, interviewer.signup_code))


@click.command("import-responses")
@with_appcontext
@command_transaction
@click.argument("round_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would be stored; store nothing.")
@click.option("--unit-column", help="The column that names each row's community (code or name).")
@click.option("--unit", "fixed_unit", help="The code of one community for every row of the file.")
def import_responses(round_id: int, file: Path, dry_run: bool, unit_column: str | None,
                     fixed_unit: str | None) -> None:
    """Import answers from a 问卷星 download, Minyi's export or a filled-in sheet: all rows or none."""
    round_ = _round_or_fail(round_id)
    now = utcnow()
    try:
        plan = response_import.plan_import(db.session, round_, file.name, file.read_bytes(), unit_column=unit_column,
                                           fixed_unit=fixed_unit, now=now)
    except response_import.ImportRefused as exc:
        raise click.ClickException("\n".join(exc.problems)) from exc
    unmatched = plan.unmatched_columns()
    click.echo(f"{file.name}: {len(plan.rows)} new rows, {plan.duplicates} already imported"
               + (f"; columns not matched to a question: {', '.join(h for _, h in unmatched)}" if unmatched else ""))
    if plan.problems:
        raise click.ClickException("nothing imported:\n" + "\n".join(plan.problems))
    if dry_run:
        click.echo("dry run: nothing stored")
        return
    record = response_import.run_import(db.session, None, round_, plan, now)
    click.echo(f"imported {record.stored} responses into round {round_.id} (import {record.id})")


@click.command("qr-codes")
@with_appcontext
@click.argument("round_id", type=int)
@click.option("--output-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def qr_codes(round_id: int, output_dir: Path) -> None:
    """Write each channel's QR code of a round as PNG and SVG files."""
    round_ = _round_or_fail(round_id)
    output_dir.mkdir(parents=True, exist_ok=True)
    base = current_app.config["PUBLIC_BASE_URL"]
    for channel in round_.channels:
        url = channel_url(base, channel)
        stem = f"{channel.unit.code}-{channel.id}" if channel.site else channel.unit.code
        (output_dir / f"{stem}.png").write_bytes(qr_png(url))
        (output_dir / f"{stem}.svg").write_bytes(qr_svg(url))
    click.echo(f"{len(round_.channels)} QR codes written to {output_dir}")


def _import_table(importer, file: Path) -> dict:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{file}: cannot read file: {exc}") from exc
    try:
        result = importer(db.session, file.name, data)
    except TableError as exc:
        raise click.ClickException("nothing imported:\n" + "\n".join(exc.problems)) from exc
    return result


@click.command("import-units")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@command_transaction
def import_units_command(file: Path) -> None:
    """Create or update units from CSV or Excel (code, name, parent code[, level])."""
    result = _import_table(import_units, file)
    click.echo(f"units: {result['created']} created, {result['updated']} updated")


@click.command("import-population")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@command_transaction
def import_population_command(file: Path) -> None:
    """Replace population figures (unit code, gender, age group, population) from CSV or Excel."""
    result = _import_table(import_population, file)
    click.echo(f"population: {result['cells']} cells for {result['units']} units")


# --- privacy: retention and deletion (messages in Chinese, for the office's operators) ---

def _beijing(moment) -> str:
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


@click.command("purge-technical-data")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Only list what would be purged; change nothing.")
@command_transaction
def purge_technical_data(dry_run: bool) -> None:
    """Clear device and network hashes of rounds closed longer ago than
    TECHNICAL_DATA_RETENTION_DAYS (run daily, e.g. from cron)."""
    days = current_app.config["TECHNICAL_DATA_RETENTION_DAYS"]
    retention = timedelta(days=days)
    purged = privacy.purge_technical_data(db.session, utcnow(), retention, dry_run=dry_run)
    rehashed = privacy.hash_raw_device_ids(db.session, current_app.config["SECRET_KEY"], dry_run=dry_run)
    verb = "将清除" if dry_run else "已清除"
    click.echo(f"保留期限：轮次关闭后 {days} 天。" + ("（试运行，未做任何更改）" if dry_run else ""))
    for item in purged:
        click.echo(f"轮次 {item.round_id}「{item.name}」（{_beijing(item.closed_at)} 关闭）："
                   f"{verb} {item.responses} 份答卷的设备与网络标识。")
    if not purged:
        click.echo("没有到期需要清除技术数据的轮次。")
    if rehashed:
        click.echo(f"{rehashed} 份答卷存有旧版本保存的原始设备标识，"
                   + ("将改存为密钥散列。" if dry_run else "已改存为密钥散列。"))


@click.command("delete-round")
@with_appcontext
@click.argument("round_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the round's data first (default: round-ID-archive-TIME.zip here).")
@command_transaction
def delete_round_command(round_id: int, yes: bool, archive: Path | None) -> None:
    """Export a closed round's data to a zip file, then delete the round with
    its responses, answers, channels and quotas (audited)."""
    round_ = db.session.get(Round, round_id) if 1 <= round_id <= MAX_ID else None
    if round_ is None:
        raise click.ClickException(f"没有编号为 {round_id} 的轮次。")
    now = utcnow()
    if round_.state_at(now) != "closed":
        raise click.ClickException(f"轮次 {round_id}「{round_.name}」尚未关闭；只能删除已关闭的轮次。")
    contents = privacy.round_contents(db.session, round_)
    if not yes:
        click.confirm(f"先导出再删除轮次 {round_id}「{round_.name}」及其 {contents.responses} 份答卷，"
                      "删除后无法恢复。继续吗？", abort=True)
    data = privacy.build_archive(db.session, round_, now)
    path = archive or Path(data.filename)
    try:
        with path.open("xb") as fh:  # never overwrite an earlier archive
            fh.write(data.data)
    except FileExistsError:
        raise click.ClickException(f"{path} 已存在，未做任何更改；请用 --archive 指定另一个文件。") from None
    except OSError as exc:
        raise click.ClickException(f"无法写入 {path}：{exc.strerror}；未做任何更改。") from None
    privacy.record_export(db.session, None, round_, data, now)
    name = round_.name
    try:
        deleted = privacy.delete_round(db.session, None, round_, confirm_name=round_.name, now=now)
    except privacy.DeletionRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已将轮次 {round_id}「{name}」的全部数据导出到 {path}（{data.responses} 份答卷）。")
    click.echo(f"已删除该轮次及其 {deleted.responses} 份答卷、{deleted.answers} 条答案、"
               f"{deleted.channels} 个二维码渠道、{deleted.quotas} 项配额。")
