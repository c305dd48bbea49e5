"""The flask commands, through Flask's CLI runner on both databases."""

from __future__ import annotations

import csv
import io

import yaml
from sqlalchemy import func, select

from questions import STANDARD_QUESTIONNAIRE_PATH
from survey.extensions import db
from survey.models import Channel, QuestionnaireVersion, Round, User
from tests.factories import complete_answers
from tests.survey.formpage import parse_form


def test_init_db_is_idempotent(runner):
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "latest schema" in result.output


def test_demo_prints_one_respondent_url_per_channel(runner, app):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    urls = result.output.split()
    channels = db.session.scalars(select(Channel)).all()
    assert len(urls) == len(channels) == 8
    assert {u.rsplit("/", 1)[1] for u in urls} == {c.token for c in channels}
    assert all(u.startswith("http://survey.example.cn/s/") for u in urls)
    round_ = db.session.scalars(select(Round)).one()
    assert round_.kind == "drill"
    assert {c.unit.level for c in channels} == {"community"}
    # Running it again reuses everything.
    again = runner.invoke(args=["demo"])
    assert sorted(again.output.split()) == sorted(urls)
    assert db.session.scalar(select(func.count()).select_from(Round)) == 1


def test_create_admin(runner, app):
    result = runner.invoke(args=["create-admin", "wang"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert user.role == "admin" and user.check_password("s3cret-pass")
    assert "s3cret-pass" not in user.password_hash
    dup = runner.invoke(args=["create-admin", "wang", "--password", "another-pass"])
    assert dup.exit_code != 0 and "已被使用" in dup.output
    short = runner.invoke(args=["create-admin", "li", "--password", "short"])
    assert short.exit_code != 0 and "至少需要8个字符" in short.output


def test_import_questionnaire(runner, app, tmp_path):
    ok = runner.invoke(args=["import-questionnaire", str(STANDARD_QUESTIONNAIRE_PATH)])
    assert ok.exit_code == 0, ok.output
    assert "imported" in ok.output
    same = runner.invoke(args=["import-questionnaire", str(STANDARD_QUESTIONNAIRE_PATH)])
    assert "unchanged" in same.output
    assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 1

    data = yaml.safe_load(STANDARD_QUESTIONNAIRE_PATH.read_text(encoding="utf-8"))
    data["questions"][3]["type"] = "stars"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bad = runner.invoke(args=["import-questionnaire", str(broken)])
    assert bad.exit_code != 0
    assert "broken.yaml" in bad.output and data["questions"][3]["id"] in bad.output and "stars" in bad.output
    missing = runner.invoke(args=["import-questionnaire", str(tmp_path / "nope.yaml")])
    assert missing.exit_code != 0 and "cannot read" in missing.output


def test_published_version_cannot_be_replaced(runner, app, tmp_path):
    runner.invoke(args=["demo"])  # publishes version 1 through the demo round
    data = yaml.safe_load(STANDARD_QUESTIONNAIRE_PATH.read_text(encoding="utf-8"))
    data["title"] = "改过的标题"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["import-questionnaire", str(changed)])
    assert result.exit_code != 0 and "new version number" in result.output
    data["version"] = 2
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert runner.invoke(args=["import-questionnaire", str(changed)]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 2


def test_export_responses_csv_and_codebook(runner, app, client, tmp_path):
    urls = runner.invoke(args=["demo"]).output.split()
    round_ = db.session.scalars(select(Round)).one()
    questionnaire = round_.questionnaire_version.parsed
    for url, choice in zip(urls[:3], range(3)):
        path = "/s/" + url.rsplit("/", 1)[1]
        channel = db.session.scalars(select(Channel).where(Channel.token == path[3:])).one()
        client.delete_cookie("minyi_device")
        form = parse_form(client.get(path).get_data(as_text=True))
        answers = complete_answers(questionnaire, channel.unit.code, choice_index=choice)
        text_q = next(q for q in questionnaire.questions if q.type == "text")
        answers[text_q.id] = "=HYPERLINK(\"http://evil\")"
        assert client.post(path, data=form.fields(answers)).status_code == 303

    result = runner.invoke(args=["export-responses", str(round_.id), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    header, body = rows[0], rows[1:]
    assert len(body) == 3
    assert [q.column for q in questionnaire.questions] == header[-len(questionnaire.questions):]
    for column in ("unit_code", "channel_id", "started_at", "submitted_at", "quality_flags", "status"):
        assert column in header
    satisfaction = next(q for q in questionnaire.questions if q.type == "satisfaction5")
    col = header.index(satisfaction.column)
    assert [r[col] for r in body] == [satisfaction.options[i].code for i in range(3)]
    assert body[0][header.index(text_q.column)].startswith("'=")  # formula neutralised

    out, book = tmp_path / "responses.csv", tmp_path / "codebook.csv"
    result = runner.invoke(args=["export-responses", str(round_.id), "--output", str(out), "--codebook", str(book)])
    assert result.exit_code == 0 and result.output == ""
    assert len(list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))) == 4
    codebook = list(csv.DictReader(io.StringIO(book.read_text(encoding="utf-8-sig"))))
    assert [r["column"] for r in codebook] == [q.column for q in questionnaire.questions]
    assert "满意" in next(r for r in codebook if r["column"] == satisfaction.column)["values"]

    missing = runner.invoke(args=["export-responses", "9999"])
    assert missing.exit_code != 0 and "no round with id 9999" in missing.output
