"""Integrity flags of a round's responses: scored by ``analysis.integrity``,
stored on each response with a reason in words, refreshed whenever responses
have arrived since the last scoring.

Flags that look at one response (too fast, straight-lined) are set at
submission; those that look across responses (bursts, device churn,
duplicate answer sets, anomalous answers) can only be decided with the
neighbours present, so the whole round is scored again when it changed.
Scoring is deterministic, so two workers doing it at once write the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import DateTime as SADateTime
from sqlalchemy import Text, bindparam, cast, func, select, type_coerce, update
from sqlalchemy.orm import Session

from analysis.integrity import FLAGS, IntegrityRules, Moments, ResponseFacts, Traffic, channel_anomalies, score
from questions import Question, Questionnaire, indicator_value

from ..models import Response, Round

_BY_WORDS = {"channel": "同一二维码", "device": "同一设备", "network": "同一网络"}


def reason_words(flag: str, figures: dict) -> str:
    """Why a flag fired, in a sentence an office worker can check."""
    if flag == "too_fast":
        return f"{figures['seconds']:g} 秒答完 {figures['answered']} 题"
    if flag == "straight_lined":
        return f"{figures['items']} 道量表题全部选择同一答案"
    if flag in ("burst", "device_churn"):
        who = _BY_WORDS[figures["by"]] if flag == "burst" else "同一网络"
        what = "份" if flag == "burst" else f"份（{figures['devices']} 台不同设备）"
        if figures["span_minutes"] <= figures["minutes"]:
            return f"{who} {figures['minutes']:g} 分钟内集中提交 {figures['count']} {what}"
        # A run of overlapping windows: say how long it lasted and its peak.
        return (f"{who} {figures['span_minutes']} 分钟内共提交 {figures['count']} {what}，"
                f"任意 {figures['minutes']:g} 分钟内最多 {figures['peak']} 份")
    if flag == "duplicate_answers":
        return f"同一二维码 1 小时内有 {figures['count']} 份答卷的全部答案完全相同"
    if flag == "channel_anomaly":
        return (f"本二维码的 {figures['count']} 份答卷中好评占 {figures['share']:.0%}，"
                f"其他二维码为 {figures['others']:.0%}，差异远超各社区之间通常的差别")
    if flag == "anomalous_answers":
        return (f"这批 {figures['count']} 份集中提交的答卷中好评占 {figures['share']:.0%}，"
                f"其余答卷为 {figures['others']:.0%}，差异超出偶然范围")
    return flag


def flags_from_text(text: str | None) -> list[str]:
    """The stored ``quality_flags`` read as JSON text (bulk reads skip the ORM);
    the common empty list without parsing."""
    return json.loads(text) if text and text != "[]" else []


def rules_from_config(config) -> IntegrityRules:
    return IntegrityRules(min_seconds_per_answer=float(config["QUALITY_MIN_SECONDS_PER_QUESTION"]))


#: Least seconds per answer of each collection mode where it is not the
#: resident's own (the rules' ``min_seconds_per_answer``): an interviewer
#: reads every question aloud and waits; a paper questionnaire typed in has
#: no answering time at all, so the speed check does not apply to it.


def seconds_by_mode(config=None) -> dict[str, float | None]:
    """Mode -> least seconds per answer (None: the rules' own, for residents)."""
    if config is None:
        from flask import current_app, has_app_context

        config = current_app.config if has_app_context() else {}
    interview = float(config.get("QUALITY_MIN_SECONDS_PER_QUESTION_INTERVIEW", 3.0))
    return {"self": None, "interviewer": interview, "paper": 0.0}


_scorers: dict[int, tuple[Questionnaire, _Scorer]] = {}


@dataclass(frozen=True)
class _Scorer:
    """What a questionnaire contributes to the facts of one response."""

    #: Counted question id -> {answer code: 1, 0 or None}: a lookup per
    #: answer keeps a 100,000-response round fast.
    counted: tuple[tuple[str, Question, dict], ...]
    scale_ids: tuple[str, ...]

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> _Scorer:
        # Kept for the last few questionnaires: an import checks thousands of rows of one.
        found = _scorers.get(id(questionnaire))
        if found is not None and found[0] is questionnaire:
            return found[1]
        counted = tuple((q.id, q, {code: indicator_value(q, code) for code in q.codes})
                        for q in questionnaire.counted_questions)
        scorer = cls(counted, tuple(q.id for q in questionnaire.questions if q.kind.is_rating_scale))
        if len(_scorers) > 16:
            _scorers.clear()
        _scorers[id(questionnaire)] = (questionnaire, scorer)
        return scorer

    def favourable(self, answers: dict) -> float:
        total = given = 0
        for qid, question, table in self.counted:
            if qid in answers:
                answer = answers[qid]
                value = table.get(answer) if isinstance(answer, str) else indicator_value(question, answer)
                if value is not None:
                    total += value
                    given += 1
        return total / given if given else float("nan")

    def scale(self, answers: dict) -> tuple:
        return tuple(answers[q] for q in self.scale_ids if q in answers)


@dataclass(frozen=True)
class SubmissionChecks:
    """What one submission is stored with: the flags it trips on its own
    (too fast, straight-lined) with reasons, and its favourable share."""

    flags: list[str]
    reasons: dict[str, str]
    favourable: float | None


def check_submission(questionnaire: Questionnaire, answers: dict, seconds: float,
                     rules: IntegrityRules, min_seconds: float | None = None) -> SubmissionChecks:
    """``min_seconds``: the least seconds per answer of the response's mode
    (None: the rules' own)."""
    scorer = _Scorer.of(questionnaire)
    favourable = scorer.favourable(answers)
    facts = ResponseFacts(ids=[0], channel=[None], network=[None], device=[None], started=[0.0],
                          submitted=[seconds], answered=[len(answers)], favourable=[favourable],
                          scale_answers=[scorer.scale(answers)], pattern=[None], min_seconds=[min_seconds])
    found = score(facts, rules).get(0, {})
    flags = [f for f in FLAGS if f in found]
    return SubmissionChecks(flags, {f: reason_words(f, found[f]) for f in flags},
                            None if favourable != favourable else favourable)


def current_rules() -> IntegrityRules:
    """The rules of the running app (its QUALITY_MIN_SECONDS_PER_QUESTION), else the defaults."""
    from flask import current_app, has_app_context

    return rules_from_config(current_app.config) if has_app_context() else IntegrityRules()


def ensure_current(session: Session, round_: Round) -> None:
    """Before reading a round's flags: score it if responses arrived since.

    The scoring is a unit of work of its own, committed at once in its own
    session, so a page that only reads (and ends in a rollback) still leaves
    the flags stored for the next reader; ``round_`` is then refreshed."""
    if _is_current(session, round_):
        return
    with Session(bind=session.get_bind()) as own, own.begin():
        fresh = own.get(Round, round_.id, with_for_update=own.get_bind().dialect.name == "postgresql")
        refresh_flags(own, fresh, current_rules())
    session.refresh(round_)


def refresh_flags(session: Session, round_: Round, rules: IntegrityRules) -> bool:
    """Score the round again if responses arrived since the last scoring:
    only the responses within reach of the new ones (every check but the
    anomaly looks at most an hour either side; the anomaly compares with the
    whole round's favourable shares, summed in the database). Flushes; the
    caller commits. Returns whether it scored."""
    if _is_current(session, round_):
        return False
    # Ids are taken at insert but commits land in any order: a response with
    # an id below the mark may have been committed after the last scoring.
    # Its time is recent all the same, so starting the look a little below
    # the mark takes it in.
    through = round_.flags_scored_through
    score_round(session, round_, rules, since_id=max(0, through - LATE_COMMIT_IDS) if through else None)
    return True


#: How far below the scoring mark to look for responses committed late.
LATE_COMMIT_IDS = 1000


def _is_current(session: Session, round_: Round) -> bool:
    """Whether every response of the round was there at the last scoring
    (the newest id and the count both as then)."""
    count, newest = session.execute(select(func.count(Response.id), func.max(Response.id))
                                    .where(Response.round_id == round_.id)).one()
    return (newest or 0) <= round_.flags_scored_through and count == round_.flags_scored_count


def _channel_flags_before(session: Session, round_: Round, before, verdicts: dict) -> list[dict]:
    """Changes to ``channel_anomaly`` on responses older than the incremental
    look: a channel's verdict covers all its responses, old ones included."""
    naive = SADateTime()
    flags_text = cast(Response.quality_flags, Text)
    marked = flags_text.like('%"channel_anomaly"%')
    anomalous = list(verdicts)
    rows = session.execute(
        select(Response.id, Response.channel_id, flags_text, cast(Response.flag_reasons, Text))
        .where(Response.round_id == round_.id, type_coerce(Response.submitted_at, naive) < before,
               (Response.channel_id.in_(anomalous) & ~marked) | (Response.channel_id.not_in(anomalous) & marked))
    ).all()
    changes = []
    for rid, channel, flags_json, reasons_json in rows:
        flags = set(json.loads(flags_json) if flags_json else [])
        reasons = json.loads(reasons_json) if reasons_json else {}
        if channel in verdicts:
            flags.add("channel_anomaly")
            reasons["channel_anomaly"] = reason_words("channel_anomaly", verdicts[channel])
        else:
            flags.discard("channel_anomaly")
            reasons.pop("channel_anomaly", None)
        changes.append({"rid": rid, "flags": [f for f in FLAGS if f in flags], "reasons": reasons})
    return changes


def score_round(session: Session, round_: Round, rules: IntegrityRules, since_id: int | None = None) -> int:
    """Score the round's responses and store what changed: all of them, or
    (``since_id``) those within reach of the responses after that id.
    Returns how many responses' flags changed."""
    naive = SADateTime()
    query = (
        select(Response.id, Response.channel_id, Response.network_hash, Response.device_id,
               type_coerce(Response.started_at, naive), type_coerce(Response.submitted_at, naive),
               cast(Response.answer_data, Text), cast(Response.quality_flags, Text),
               cast(Response.flag_reasons, Text), Response.favourable_share, Response.mode)
        .where(Response.round_id == round_.id).order_by(Response.id)
    )
    count, newest = session.execute(select(func.count(Response.id), func.max(Response.id))
                                    .where(Response.round_id == round_.id)).one()
    affected_from = None
    moments = traffic = channel_verdicts = None
    if since_id is not None:
        first_new = session.scalar(select(func.min(Response.submitted_at))
                                   .where(Response.round_id == round_.id, Response.id > since_id))
        reach = timedelta(seconds=max(rules.window_seconds, rules.duplicate_window_seconds))
        affected_from = (first_new - reach).replace(tzinfo=None)
        query = query.where(Response.submitted_at >= first_new - 2 * reach)
        n, total, squares = session.execute(
            select(func.count(Response.favourable_share), func.sum(Response.favourable_share),
                   func.sum(Response.favourable_share * Response.favourable_share))
            .where(Response.round_id == round_.id)).one()
        moments = Moments(int(n), float(total or 0.0), float(squares or 0.0))
        # Interviews and paper have no channel: no channel rule applies to them.
        with_channel = (Response.round_id == round_.id) & Response.channel_id.is_not(None)
        per_channel = dict(session.execute(select(Response.channel_id, func.count())
                                           .where(with_channel).group_by(Response.channel_id)).all())
        first, last = session.execute(select(func.min(Response.submitted_at), func.max(Response.submitted_at))
                                      .where(Response.round_id == round_.id)).one()
        traffic = Traffic(per_channel, (last - first).total_seconds())
        channel_verdicts = channel_anomalies({
            channel: Moments(int(n), float(total or 0.0), float(squares or 0.0))
            for channel, n, total, squares in session.execute(
                select(Response.channel_id, func.count(Response.favourable_share), func.sum(Response.favourable_share),
                       func.sum(Response.favourable_share * Response.favourable_share))
                .where(with_channel).group_by(Response.channel_id))
        }, moments, rules)
    rows = session.execute(query).all()
    by_mode = seconds_by_mode()
    scorer = _Scorer.of(round_.questionnaire_version.parsed)
    answers = [json.loads(r[6]) if r[6] else {} for r in rows]
    facts = ResponseFacts(
        ids=[r[0] for r in rows],
        channel=[r[1] for r in rows],
        network=[r[2] for r in rows],
        device=[r[3] for r in rows],
        started=[r[4].timestamp() for r in rows],
        submitted=[r[5].timestamp() for r in rows],
        answered=[len(a) for a in answers],
        favourable=[r[9] if r[9] is not None else scorer.favourable(a) for r, a in zip(rows, answers)],
        scale_answers=[scorer.scale(a) for a in answers],
        # The stored document's text: equal answer sets give equal text on
        # each backend (one questionnaire, one order; JSONB prints canonically).
        pattern=[r[6] for r in rows],
        min_seconds=[by_mode.get(r[10]) for r in rows],
    )
    found = score(facts, rules, moments, traffic, channel_verdicts)
    changes = []
    for row in rows:
        if affected_from is not None and row[5] < affected_from:
            continue  # read for context only: nothing new is within its reach
        figures = found.get(row[0], {})
        if not figures and row[7] in (None, "[]") and row[8] in (None, "{}"):
            continue  # unflagged and still so: the common case, without parsing
        flags = [f for f in FLAGS if f in figures]
        reasons = {f: reason_words(f, figures[f]) for f in flags}
        if flags != (json.loads(row[7]) if row[7] else []) or reasons != (json.loads(row[8]) if row[8] else {}):
            changes.append({"rid": row[0], "flags": flags, "reasons": reasons})
    if affected_from is not None:
        changes += _channel_flags_before(session, round_, affected_from, channel_verdicts)
    if changes:
        session.connection().execute(
            update(Response.__table__).where(Response.__table__.c.id == bindparam("rid"))
            .values(quality_flags=bindparam("flags"), flag_reasons=bindparam("reasons")),
            changes,
        )
        round_.flags_revision += 1
    round_.flags_scored_through = max(round_.flags_scored_through, newest or 0)
    round_.flags_scored_count = count
    session.flush()
    return len(changes)
