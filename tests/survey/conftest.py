"""Fixtures of the app's tests beyond tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.survey.browserkit import CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (never a downloaded browser), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()
