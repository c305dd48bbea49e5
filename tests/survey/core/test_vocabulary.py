"""The app's coded values have their words once (survey.vocabulary): the models'
codes, the pages (in either language), the forms, the PDF and the workbook
all read the same terms."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import render_template_string
from flask_babel import refresh

from analysis.integrity import FLAGS
from survey import vocabulary
from survey.console.forms import ExclusionsForm, RoundForm, UserForm
from survey.models import Round
from survey.models.response import RESPONSE_STATUSES
from survey.models.round import ROUND_KINDS
from survey.models.unit import UNIT_LEVELS
from survey.models.user import ROLES
from survey.renderers import report_pdf, report_words
from survey.vocabulary import EXCLUSION_REASONS, VERDICTS, label

ROOT = Path(__file__).resolve().parents[3]


def test_every_code_the_database_allows_has_words():
    assert set(vocabulary.ROLES) == set(ROLES)
    assert set(vocabulary.ROUND_KINDS) == set(ROUND_KINDS)
    assert vocabulary.RESPONSE_STATUSES.codes == RESPONSE_STATUSES
    assert (vocabulary.STATUS_COMPLETE, vocabulary.STATUS_SCREENED_OUT) == RESPONSE_STATUSES
    assert vocabulary.UNIT_LEVELS.codes == UNIT_LEVELS
    for group in (vocabulary.ROLES, vocabulary.ROUND_KINDS, vocabulary.ROUND_STATES, vocabulary.RESPONSE_STATUSES,
                  vocabulary.UNIT_LEVELS):
        for term in group.values():
            assert term.zh and term.en and not term.zh.isascii(), term


def test_every_state_a_round_can_be_in_has_words():
    opens = datetime(2026, 5, 1)
    round_ = Round(opens_at=opens, closes_at=opens + timedelta(days=1))
    states = {round_.state_at(opens + timedelta(hours=h)) for h in (-1, 1, 25)}
    assert states == set(vocabulary.ROUND_STATES)


def test_every_reason_a_response_is_left_out_has_words():
    assert set(EXCLUSION_REASONS) == {vocabulary.STATUS_SCREENED_OUT, vocabulary.VOIDED.code,
                                      vocabulary.INTERVIEWER_EXCLUDED.code, *FLAGS}


def test_every_way_a_response_is_collected_has_words():
    from survey.models.response import RESPONSE_MODES

    assert vocabulary.RESPONSE_MODES.codes == RESPONSE_MODES
    for term in vocabulary.RESPONSE_MODES.values():
        assert term.zh and term.en and not term.zh.isascii(), term


def test_the_report_files_print_the_vocabulary_s_chinese():
    for code, term in EXCLUSION_REASONS.items():
        assert report_words.exclusion_word(code) == term.zh
    assert report_words.exclusion_word("something_new") == "something_new"
    for code, term in VERDICTS.items():
        assert report_words.verdict_word(code) == term.zh
    assert report_words.verdict_word(None) == "—"
    for code, term in vocabulary.ROUND_KINDS.items():
        assert report_words.round_kind_word(code) == term.zh
    for code, term in vocabulary.INTERVAL_METHODS.items():
        assert report_words.interval_method_words(code) == term.detail


def test_the_pdf_writes_verdicts_in_the_colour_the_chart_writes_them():
    for verdict in (*VERDICTS, None):
        assert report_pdf._verdict_colour(verdict).hexval()[2:] == vocabulary.verdict_term(verdict).ink[1:]


def test_the_page_badges_use_the_vocabulary_s_colours():
    css = (ROOT / "survey" / "static" / "console.css").read_text(encoding="utf-8")
    for code, term in VERDICTS.items():
        rule = re.search(r"\.v\." + code + r"\{([^}]*)\}", css)
        assert rule, f"no badge style for {code}"
        assert f"background:{term.tint}" in rule.group(1) and f"color:{term.ink}" in rule.group(1), code


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_show_labels_in_the_interface_language(app, lang):
    template = ("{{ round_kinds['drill'] | label }}|{{ roles['staff'] | label }}|{{ round_states['not_open'] | label }}"
                "|{{ verdicts['insufficient'] | label }}|{{ exclusion_reasons.get('too_fast') | label('too_fast') }}"
                "|{{ exclusion_reasons.get('new_flag') | label('new_flag') }}|{{ none | label }}")
    with app.test_request_context(f"/?lang={lang}"):
        refresh()
        shown = render_template_string(template).split("|")
        words = [getattr(t, lang) for t in (vocabulary.ROUND_KINDS["drill"], vocabulary.ROLES["staff"],
                                            vocabulary.ROUND_STATES["not_open"], VERDICTS["insufficient"],
                                            vocabulary.QUALITY_FLAGS["too_fast"])]
        assert shown == [*words, "new_flag", "—"]
        assert label(vocabulary.VOIDED) == getattr(vocabulary.VOIDED, lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_forms_offer_the_vocabulary_s_codes_and_words(app, lang):
    with app.test_request_context(f"/?lang={lang}"):
        refresh()
        role = UserForm(meta={"csrf": False}).role
        assert {c.value for c in role.iter_choices()} == set(ROLES)
        assert [str(c.label) for c in role.iter_choices()] == [getattr(vocabulary.ROLES[c.value], lang)
                                                                for c in role.iter_choices()]
        kind = RoundForm(meta={"csrf": False}).kind
        assert [(c.value, str(c.label)) for c in kind.iter_choices()] == [
            (code, getattr(t, lang)) for code, t in vocabulary.ROUND_KINDS.items()]
        flags = ExclusionsForm(meta={"csrf": False}).excluded_flags
        assert [c.value for c in flags.iter_choices()] == list(FLAGS)


def _code_and_templates():
    for folder, pattern in (("survey", "*.py"), ("templates", "*.html")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            if path.name != "vocabulary.py" and "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


def test_no_page_or_form_translates_a_coded_value_s_words_itself():
    groups = (vocabulary.ROLES, vocabulary.ROUND_KINDS, vocabulary.ROUND_STATES, vocabulary.RESPONSE_STATUSES,
              VERDICTS, vocabulary.QUALITY_FLAGS, vocabulary.INTERVAL_METHODS)
    msgids = {term.en for group in groups for term in group.values()} | {vocabulary.VOIDED.en}
    pattern = re.compile(r'\b_l?\(\s*"(' + "|".join(re.escape(m) for m in msgids) + r')"')
    found = [(str(p.relative_to(ROOT)), m.group(1)) for p, text in _code_and_templates() for m in pattern.finditer(text)]
    assert not found, found


def test_no_module_writes_the_role_kind_or_state_words_in_chinese():
    terms = [*vocabulary.ROLES.values(), *vocabulary.ROUND_KINDS.values(), *vocabulary.ROUND_STATES.values(),
             vocabulary.RESPONSE_STATUSES[vocabulary.STATUS_SCREENED_OUT], vocabulary.VOIDED]
    # A word of its own (a literal, a table cell), not part of a sentence ("为经审核作废与否").
    alone = {t.zh: re.compile(r"(?<![\u4e00-\u9fff])" + re.escape(t.zh) + r"(?![\u4e00-\u9fff])") for t in terms}
    found = [(str(p.relative_to(ROOT)), zh) for p, text in _code_and_templates() for zh, rx in alone.items()
             if rx.search(text)]
    assert not found, found


def test_the_pdf_s_sentences_take_their_verdict_words_from_the_vocabulary():
    source = (ROOT / "survey" / "renderers" / "report_pdf.py").read_text(encoding="utf-8")
    assert [term.zh for term in VERDICTS.values() if term.zh in source] == []
