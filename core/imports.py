"""Imports of master data and opening balances from CSV and XLSX, with a preview (issue 20).

The platform half: the registry of import kinds, reading a file into a tablib Dataset, and
running one kind's django-import-export Resource over it in ONE transaction, so that a file
with one bad row writes nothing. Each owning app defines its Resources next to its models
(`inventory/resources.py`, `sales/resources.py`, `finance/resources.py`) and registers its
kinds in AppConfig.ready; core imports no app. The `import` management command and the web
UI's import page (ops.web) both call `run_import`.

Why django-import-export: maintained, reads/writes CSV and XLSX through tablib, matches rows
to existing records by natural key (re-import updates instead of duplicating), reports
validation errors per field, and the same Resource exports the data (export → import
round-trips). What it does not do — stop at nothing written when one row fails on
PostgreSQL, where a failed statement poisons the transaction — `ImportResource` adds: every
row runs in its own savepoint, rolled back when that row fails, so every bad row is
reported, and the whole file is rolled back when any row failed.

Row numbers in reports are the spreadsheet's: the header is row 1, the first data row 2.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import resources, widgets
from import_export.formats.base_formats import CSV, XLSX
from import_export.results import RowResult

from core import currencies
from core.exceptions import DomainError, ValidationFailed

FORMATS = {"csv": CSV, "xlsx": XLSX}
MAX_ROWS = 50_000


class ImportFileError(ValidationFailed):
    code = "import_file"
    title = gettext_lazy("The file cannot be read")


class UnknownImportKind(ValidationFailed):
    code = "unknown_import_kind"
    title = gettext_lazy("Unknown import kind")


# --- cell widgets: a bad cell raises ValueError, which import-export files under its column ------

class DecimalCell(widgets.Widget):
    """A decimal with at most `places` decimal places (Excel numbers arrive as floats: their
    shortest repr is taken, so 12.5 stays 12.5). Blank → None."""

    def __init__(self, places: int = 2, *, min_value: Decimal | None = Decimal("0"), **kw):
        super().__init__(**kw)
        self.places, self.min_value = places, min_value

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            raise ValueError(_("%(value)r is not a number.") % {"value": value}) from None
        if not number.is_finite():
            raise ValueError(_("%(value)r is not a number.") % {"value": value})
        if number != number.quantize(Decimal(1).scaleb(-self.places)):
            raise ValueError(_("At most %(n)d decimal places.") % {"n": self.places})
        if self.min_value is not None and number < self.min_value:
            raise ValueError(_("Must be at least %(min)s.") % {"min": self.min_value})
        return number

    def render(self, value, obj=None, **kwargs):
        """Without trailing zeros past the cents: 12, 0.45, 1.05, 0.0425."""
        if value is None:
            return ""
        text = format(Decimal(value).normalize(), "f")
        return text + "0" if "." in text and len(text.split(".")[1]) == 1 else text


class IntCell(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(_("%(value)r is not a whole number.") % {"value": value}) from None
        if number != number.to_integral_value() or number < 0:
            raise ValueError(_("%(value)r is not a whole number ≥ 0.") % {"value": value})
        return int(number)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class BoolCell(widgets.Widget):
    TRUE, FALSE = {"1", "true", "yes", "y", "x"}, {"0", "false", "no", "n", ""}

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False if text else None
        raise ValueError(_("%(value)r is not yes/no.") % {"value": value})

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else ("yes" if value else "no")


class DateCell(widgets.Widget):
    """ISO dates (2026-01-31); a spreadsheet date cell arrives as a datetime."""

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValueError(_("%(value)r is not a date (YYYY-MM-DD).") % {"value": value}) from None

    def render(self, value, obj=None, **kwargs):
        return value.isoformat() if value else ""


class CodeCell(widgets.ForeignKeyWidget):
    """A reference by code (unit, warehouse, price list …): an unknown code names itself."""

    def __init__(self, model, field: str = "code", *, label: str = "", **kw):
        super().__init__(model, field=field, **kw)
        self.label = label or model._meta.verbose_name

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        obj = self.get_queryset(value, row, **kwargs).filter(**{self.field: text}).first()
        if obj is None:
            raise ValueError(_("Unknown %(label)s %(code)r.") % {"label": self.label, "code": text})
        return obj


class CurrencyCell(widgets.Widget):
    """An ISO 4217 code (any case); blank → None, so the field's default (the company's) applies."""

    def clean(self, value, row=None, **kwargs):
        code = text_cell(value).upper()
        if not code:
            return None
        if not currencies.is_known(code):
            raise ValueError(_("%(value)r is not an ISO 4217 currency.") % {"value": code})
        return code

    def render(self, value, obj=None, **kwargs):
        return value or ""


class TextCell(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        return text_cell(value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


def text_cell(value) -> str:
    """A cell as trimmed text ('' for empty); whole floats from spreadsheets lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- the base Resource ----------------------------------------------------------------------------

class ImportResource(resources.Resource):
    """Base for every registered kind: per-row savepoints, and a service's DomainError on a row
    turned into a validation error naming the row's column (`column_for` maps a service's
    field name, e.g. ``lines.0.sku``, to the file's column)."""

    #: service error field -> column of the file
    error_columns: dict[str, str] = {}

    def column_for(self, name: str) -> str:
        if name in self.error_columns:
            return self.error_columns[name]
        for f in self.fields.values():
            if f.attribute == name:
                return f.column_name
        tail = name.rsplit(".", 1)[-1]
        return self.error_columns.get(tail, tail)

    def import_row(self, row, instance_loader, **kwargs):
        sid = transaction.savepoint()
        try:
            result = super().import_row(row, instance_loader, **kwargs)
        except BaseException:
            transaction.savepoint_rollback(sid)
            raise
        if result.import_type in (RowResult.IMPORT_TYPE_ERROR, RowResult.IMPORT_TYPE_INVALID):
            transaction.savepoint_rollback(sid)
        else:
            transaction.savepoint_commit(sid)
        return result

    def domain_error(self, exc: DomainError) -> ValidationError:
        if exc.errors:
            return ValidationError({self.column_for(k): v for k, v in exc.errors.items()})
        return ValidationError({NON_FIELD_ERRORS: [exc.detail]})


class ImportModelResource(ImportResource, resources.ModelResource):
    """A ModelResource that validates each instance (model full_clean) before saving it."""

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            super().save_instance(instance, is_create, row, **kwargs)
        except DomainError as exc:
            raise self.domain_error(exc) from exc


# --- the registry -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str                              # "products", the CLI's KIND
    label: str                             # shown in the web UI
    resource: Callable[[], resources.Resource]
    order: int                             # the order a new company imports them in
    help: str = ""
    write_resource: str = "admin.setup"    # core.access resource whose write right the import needs

    def columns(self) -> list[str]:
        """The file's columns, in the order export writes them (docs/importing.md lists them)."""
        return [f.column_name for f in self.resource().get_export_fields()]


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    _KINDS[kind.name] = kind


def kinds() -> list[Kind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.name))


def get_kind(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(k.name for k in kinds())
        raise UnknownImportKind(f"Unknown import kind {name!r}; known: {known}.",
                                errors={"kind": [f"Known kinds: {known}."]}) from None


# --- reading ------------------------------------------------------------------------------------

def format_of(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in FORMATS:
        raise ImportFileError(f"{filename}: only .csv and .xlsx files can be imported.",
                              errors={"file": [_("Only .csv and .xlsx files can be imported.")]})
    return ext


def read_dataset(content: bytes, filename: str) -> tablib.Dataset:
    """The file's rows (first row: the column names). CSV is UTF-8 (a BOM is fine)."""
    fmt = format_of(filename)
    try:
        if fmt == "csv":
            text = content.decode("utf-8-sig")
            dataset = CSV().create_dataset(text)
        else:
            dataset = XLSX().create_dataset(io.BytesIO(content).read())
    except UnicodeDecodeError:
        raise ImportFileError(f"{filename}: not UTF-8 text.", errors={"file": [_("Save the CSV as UTF-8.")]}) from None
    except Exception as exc:  # tablib/openpyxl raise many kinds for a damaged file
        raise ImportFileError(f"{filename}: cannot be read ({exc.__class__.__name__}).",
                              errors={"file": [_("The file cannot be read as %(fmt)s.") % {"fmt": fmt.upper()}]}
                              ) from None
    if dataset.headers is None or not any(dataset.headers):
        raise ImportFileError(f"{filename}: the first row must name the columns.",
                              errors={"file": [_("The first row must name the columns.")]})
    dataset.headers = [str(h or "").strip() for h in dataset.headers]
    # spreadsheets leave trailing empty rows; they are no data
    empty = [i for i, r in enumerate(dataset) if all(v in (None, "") for v in r)]
    for i in reversed(empty):
        del dataset[i]
    if len(dataset) > MAX_ROWS:
        raise ImportFileError(f"{filename}: more than {MAX_ROWS} rows.", errors={"file": [f"At most {MAX_ROWS} rows."]})
    return dataset


def export_dataset(kind: str, fmt: str = "csv") -> bytes:
    """Everything of `kind` in the import layout (export → import round-trips)."""
    dataset = get_kind(kind).resource().export()
    out = FORMATS[fmt]().export_data(dataset)
    return out.encode("utf-8") if isinstance(out, str) else out


# --- running ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    row: int        # spreadsheet row (header = 1); 0 for the file as a whole
    column: str     # the file's column name; "" when the error is about the whole row
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    total_rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)   # new / update / skip
    errors: list[RowError] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)      # {row, action, values}
    headers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        if self.errors:
            return f"{self.kind}: {len(self.errors)} error(s), nothing written"
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n) or "no rows"
        return f"{self.kind}: {counts}{' (dry run, nothing written)' if self.dry_run else ''}"


def _messages(value) -> list[str]:
    if isinstance(value, ValidationError):
        return value.messages
    return [str(m) for m in (value if isinstance(value, list | tuple) else [value])]


def run_import(kind: str, dataset: tablib.Dataset, *, dry_run: bool) -> ImportReport:
    """Import `dataset` as `kind` in one transaction; rolled back when `dry_run` or any row is bad."""
    spec = get_kind(kind)
    resource = spec.resource()
    headers = list(dataset.headers or [])
    report = ImportReport(kind=kind, dry_run=dry_run, total_rows=len(dataset), headers=headers)
    known = {f.column_name for f in resource.get_import_fields()}
    unknown = [h for h in headers if h and h not in known]
    if unknown:
        report.errors.extend(RowError(1, h, _("Unknown column; known: %(cols)s.") % {"cols": ", ".join(sorted(known))})
                             for h in unknown)
        return report
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=dry_run, raise_errors=False, use_transactions=True,
                                      rollback_on_validation_errors=True, collect_failed_rows=False)
        for err in result.base_errors:
            report.errors.append(RowError(0, "", str(err.error)))
        for number, errors in result.row_errors():
            for err in errors:
                exc = err.error
                if isinstance(exc, DomainError) and exc.errors:
                    report.errors.extend(RowError(number + 1, resource.column_for(k), m)
                                         for k, msgs in exc.errors.items() for m in msgs)
                else:
                    report.errors.append(RowError(number + 1, "", getattr(exc, "detail", None) or str(exc)))
        for invalid in result.invalid_rows:
            for column, msgs in invalid.error_dict.items():
                col = "" if column == NON_FIELD_ERRORS else resource.column_for(column)
                report.errors.extend(RowError(invalid.number + 1, col, m) for m in _messages(msgs))
        for n, row in enumerate(result.rows, start=2):
            if row.import_type in (RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE, RowResult.IMPORT_TYPE_SKIP):
                report.counts[row.import_type] = report.counts.get(row.import_type, 0) + 1
            if len(report.preview) < 200:
                report.preview.append({"row": n, "action": row.import_type,
                                       "values": [dataset[n - 2][i] for i in range(len(headers))]})
        report.errors.sort(key=lambda e: (e.row, e.column))
        if report.errors or dry_run:
            transaction.set_rollback(True)
    return report
