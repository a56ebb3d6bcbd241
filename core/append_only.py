"""Append-only models: ledgers that are their own audit (stock moves, journal entries and
lines, webhook attempts). A row is inserted once and never changed or deleted; a correction
is a new row (a correcting move, a reversing entry).

`AppendOnlyModel` refuses, in Python, save() of an existing row and delete();
`AppendOnlyQuerySet` (as the model's manager) also refuses queryset update(), delete() and
bulk_update(). A model opts into the queryset guard separately because the journal's
queryset writes are left to reach its PostgreSQL triggers (finance migration 0003), which a
test pins. bulk_create and core.sql.insert_objects stay allowed: they only insert. On
PostgreSQL the ledgers also have triggers refusing UPDATE/DELETE, for writes that bypass the
ORM.

Each model names the error it raises (`append_only_error`, default AppendOnlyError; the
journal raises finance's PostedEntryImmutable, a 409) and a hint for what to do instead.
"""

from __future__ import annotations

from django.db import models


class AppendOnlyError(Exception):
    """A ledger row was about to be changed or deleted."""


def _refuse(model, action: str) -> Exception:
    hint = f"; {model.append_only_hint}" if model.append_only_hint else ""
    return model.append_only_error(f"{model._meta.verbose_name_plural} are append-only: a row cannot be {action}{hint}")


class AppendOnlyQuerySet(models.QuerySet):
    """The manager of an append-only model: no update(), delete() or bulk_update()."""

    def update(self, **kwargs):
        raise _refuse(self.model, "updated")

    def delete(self):
        raise _refuse(self.model, "deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise _refuse(self.model, "updated")


class AppendOnlyModel(models.Model):
    """Abstract base of a ledger row: save() inserts once, never updates; delete() refuses."""

    append_only_error: type[Exception] = AppendOnlyError
    append_only_hint = ""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise _refuse(type(self), "changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise _refuse(type(self), "deleted")
