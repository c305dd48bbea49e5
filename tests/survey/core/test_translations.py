"""The Chinese catalog is complete and the compiled .mo matches the .po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "survey" / "translations"


def test_every_interface_string_has_chinese(tmp_path, monkeypatch):
    pot = tmp_path / "messages.pot"
    monkeypatch.chdir(ROOT)  # pybabel extract, in this process
    assert CommandLineInterface().run(["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l",
                                       "-k", "lazy_gettext", "--ignore-dirs=.*", "-o", str(pot), "."]) in (0, None)
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = {m.id: m.string for m in read_po(fh) if m.id}
    missing = sorted(str(m) for m in wanted if not catalog.get(m))
    assert not missing, f"untranslated (run scripts/update-translations): {missing}"


def test_compiled_catalog_is_current():
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        source = {m.id: m.string for m in read_po(fh) if m.id and m.string}
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    assert compiled == source, "run scripts/update-translations to compile the catalog"
