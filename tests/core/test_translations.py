"""#20: the German catalogue is complete for what is marked, and the compiled .mo is current.

Marking a new string without translating it fails here: run makemessages (Makefile, `messages`),
translate the new entries in locale/de/LC_MESSAGES/django.po, then `make messages`."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|\{\w*\}")


def catalog(lang: str):
    with open(LOCALE / lang / "LC_MESSAGES" / "django.po", "rb") as f:
        return read_po(f)


def test_every_second_language_has_a_catalogue():
    assert [code for code, _ in settings.LANGUAGES] == ["en", "de"]
    assert (LOCALE / "de" / "LC_MESSAGES" / "django.po").exists()


def test_the_german_catalogue_has_no_untranslated_or_fuzzy_entry():
    cat = catalog("de")
    messages = [m for m in cat if m.id]
    assert len(messages) > 500  # the templates, forms, e-mails, PDFs and API titles are marked
    untranslated = [m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"
    assert not cat.fuzzy


def test_translations_keep_every_placeholder():
    wrong = []
    for m in catalog("de"):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if any(sorted(PLACEHOLDER.findall(ids[0])) != sorted(PLACEHOLDER.findall(s)) for s in strings):
            wrong.append(m.id)
    assert not wrong, wrong


def test_the_compiled_catalogue_matches_the_po_file():
    """`make install` compiles it (make messages, pybabel); a stale .mo means pages show old words."""
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    with open(LOCALE / "de" / "LC_MESSAGES" / "django.mo", "rb") as f:
        compiled = {key(m.id): key(m.string) for m in read_mo(f) if m.id}
    source = {key(m.id): key(m.string) for m in catalog("de") if m.id}
    assert compiled == source, "locale/de/LC_MESSAGES/django.mo is stale: run `make messages`"
