"""Render a registered document to PDF; archive a final one once (see core.documents.services)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction

from core.documents import registry
from core.documents.models import ArchivedDocument
from core.documents.rendering import render_pdf


@dataclass(frozen=True)
class RenderedDocument:
    document_type: str
    number: str
    content: bytes
    sha256: str
    archived: bool

    @property
    def filename(self) -> str:
        return f"{self.number}.pdf"


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _storage():
    return storages["default"]


def document_pdf(*, document_type: str, key, params: dict | None = None) -> RenderedDocument:
    """The document's PDF. Archived types: the stored bytes once final (rendered and stored on
    first use). Raises NotFound for an unknown type or object."""
    doc_type = registry.get(document_type)
    key = str(key)
    if doc_type.archive:
        archived = ArchivedDocument.objects.filter(document_type=document_type, object_key=key).first()
        if archived is not None:
            return _read_archive(archived)
    doc = doc_type.build(key, **(params or {}))
    content = render_pdf(doc_type.template, doc.context)
    if doc_type.archive and doc.final:
        return _archive(document_type=document_type, key=key, number=doc.number, content=content)
    return RenderedDocument(document_type, doc.number, content, _sha256(content), archived=False)


def _read_archive(archived: ArchivedDocument) -> RenderedDocument:
    with _storage().open(archived.storage_name, "rb") as fh:
        content = fh.read()
    if _sha256(content) != archived.sha256:
        raise RuntimeError(f"Archived {archived} does not match its sha256: the stored file was altered.")
    return RenderedDocument(archived.document_type, archived.number, content, archived.sha256, archived=True)


def _archive(*, document_type: str, key: str, number: str, content: bytes) -> RenderedDocument:
    """Store the first rendering. Two first downloads at once: both store a file, one row wins
    on the unique (type, key); the loser removes its file and serves the winner's bytes."""
    digest = _sha256(content)
    storage = _storage()
    name = storage.save(f"documents/{document_type}/{number}-{digest[:16]}.pdf", ContentFile(content))
    try:
        with transaction.atomic():
            archived = ArchivedDocument.objects.create(
                document_type=document_type, object_key=key, number=number, storage_name=name,
                sha256=digest, size=len(content))
    except IntegrityError:
        storage.delete(name)
        return _read_archive(ArchivedDocument.objects.get(document_type=document_type, object_key=key))
    return RenderedDocument(document_type, archived.number, content, digest, archived=True)
