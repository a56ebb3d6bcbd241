"""The document types the apps register (core imports no app: each owner plugs its own in).

A `DocumentType` names its template and a `build(object_id)` that returns the `Document`
(number, template context, default recipient). `archive` types (issued invoices and credit
notes) are rendered once and kept (core.documents.services.document_pdf).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.exceptions import NotFound


@dataclass
class Document:
    number: str
    context: dict[str, Any]
    recipient: str = ""             # default e-mail address (customer's billing e-mail, supplier's e-mail)
    final: bool = False             # a final document of an archived type is rendered once and kept
    extra_context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentType:
    name: str                                   # "invoice": the log's document_type
    title: Any                                  # gettext_lazy("Invoice")
    template: str                               # "documents/invoice.html"
    build: Callable[[Any], Document]            # object key (id or code) -> Document; raises NotFound
    archive: bool = False                       # final documents are archived once (never change)


_types: dict[str, DocumentType] = {}


def register(doc_type: DocumentType) -> DocumentType:
    """Register (or replace, on a second ready()) a document type under its name."""
    _types[doc_type.name] = doc_type
    return doc_type


def get(name: str) -> DocumentType:
    try:
        return _types[name]
    except KeyError:
        raise NotFound(f"Unknown document type {name!r}.") from None


def names() -> list[str]:
    return sorted(_types)
