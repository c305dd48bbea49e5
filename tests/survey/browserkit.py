"""Headless Debian Chromium for the browser tests: the phone's size, the
launch arguments, and filling in a questionnaire as a thumb would. The
``browser`` fixture itself is in ``tests/survey/conftest.py``."""

from __future__ import annotations

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def answer_everything(page, questionnaire, answers):
    """Fill every question of ``questionnaire`` with ``answers`` (by question id) on ``page``."""
    for q in questionnaire.questions:
        value = answers[q.id]
        if q.kind.widget == "community":
            page.select_option(f'select[name="q_{q.id}"]', value)
        elif q.kind.widget in ("text", "number"):
            page.fill(f'[name="q_{q.id}"]', value)
        else:
            for code in value if isinstance(value, list) else [value]:
                field = page.locator(f'input[name="q_{q.id}"][value="{code}"]')
                if field.is_visible():
                    field.locator("xpath=..").tap()  # tap the option's label, as a thumb would
