"""Reading the answer form the way a browser would (hidden fields, options)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape


@dataclass
class FormPage:
    csrf_token: str
    ticket: str
    html: str

    def fields(self, answers: dict[str, str | list[str]]) -> dict[str, object]:
        data: dict[str, object] = {"csrf_token": self.csrf_token, "ticket": self.ticket}
        for qid, value in answers.items():
            data[f"q_{qid}"] = value
        return data


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"hidden field {name} not in page"
    return unescape(match.group(1))


def parse_form(html: str) -> FormPage:
    return FormPage(csrf_token=_hidden(html, "csrf_token"), ticket=_hidden(html, "ticket"), html=html)


def checked_values(html: str, qid: str) -> list[str]:
    pattern = rf'<input type="(?:radio|checkbox)" name="q_{qid}" value="([^"]+)" checked'
    return re.findall(pattern, html)
