from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def _default_time_zone() -> str:
    return settings.TIME_ZONE


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one caller: the request's fingerprint and, once done, its response.

    Unique per (principal, key): two callers may use the same key independently. Expired
    rows (24 h) are purged by a beat task and ignored before that.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        COMPLETED = "completed"

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.TextField(blank=True)
    # the body carried a secret and is stored Fernet-encrypted (core.idempotency.carries_secret)
    response_encrypted = models.BooleanField(default=False)
    response_location = models.CharField(max_length=500, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="uniq_idempotency_principal_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}] {self.state}"


class NumberSeries(models.Model):
    """A gap-free counter: order, shipment, return, invoice, credit note, payment, supplier bill
    and payment, journal entry numbers, and each EDI partner's interchange control numbers.

    `next_value` is the value the next taker gets. Numbers are taken with
    core.numbering.take (one `UPDATE … RETURNING`), which locks the row in the caller's
    transaction until commit: concurrent takers queue on it and a rolled-back transaction
    gives its numbers back (no gaps, no duplicates). `prefix` and `padding` format the
    number where the caller lets the row decide its format (sales documents).
    """

    key = models.CharField(max_length=40, unique=True)
    prefix = models.CharField(max_length=20, blank=True, default="")
    padding = models.PositiveSmallIntegerField(default=6)
    next_value = models.PositiveBigIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.key}: next {self.prefix}{self.next_value:0{self.padding}d}"


class Company(models.Model):
    """The company the books are kept for: one row (pk 1), written by `setup_company` / the
    first-run page (finance.services.setup_company) and read by documents (name, address, tax ids)
    and core.currencies.company_currency(). In core because every layer reads it.

    Before the row exists the settings (`ERP_COMPANY_NAME`, `ERP_COMPANY_CURRENCY`) stand in.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code of the book-keeping currency.")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2: the home tax jurisdiction.")
    chart_template = models.CharField(max_length=40, default="generic")
    address_line1 = models.CharField(max_length=200, blank=True, default="")
    address_line2 = models.CharField(max_length=200, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="")
    region = models.CharField(max_length=100, blank=True, default="")
    postcode = models.CharField(max_length=20, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    tax_id = models.CharField(max_length=40, blank=True, default="", help_text="VAT / sales tax id shown on documents.")
    registration_id = models.CharField(max_length=60, blank=True, default="",
                                       help_text="Company register number shown on documents.")
    time_zone = models.CharField(max_length=64, default=_default_time_zone,
                                 help_text="IANA zone of the company's business day (core.company.today()).")
    set_up_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "company"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="core_company_singleton")]

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        """The postal address as printed on documents (empty parts left out)."""
        city = " ".join(p for p in (self.postcode, self.city) if p)
        return [p for p in (self.address_line1, self.address_line2, city, self.region, self.country) if p]


# The outbox tables (defined in core.messaging, registered with the core app here).
# The document archive and outbound log (defined in core.documents).
from core.documents.models import ArchivedDocument, OutboundDocument  # noqa: E402,F401
from core.messaging.models import ConsumedEvent, ConsumerFailure, OutboxEvent  # noqa: E402,F401


class UserPreference(models.Model):
    """A user's language and time zone for the staff UI (core.middleware.UserLocaleMiddleware).

    Blank means "not chosen": the language then follows the browser (Accept-Language), then
    settings.LANGUAGE_CODE; the time zone follows settings.TIME_ZONE.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(_("language"), max_length=10, blank=True, default="", choices=settings.LANGUAGES)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or '-'} {self.time_zone or '-'}"
