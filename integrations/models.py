from __future__ import annotations

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, AppendOnlyQuerySet
from core.encryption import EncryptedTextField

# --- webhooks out -----------------------------------------------------------------------------


class WebhookEndpoint(models.Model):
    """A URL that receives signed event deliveries (Standard Webhooks).

    Owned by a partner customer (partner-managed, receives only events about that customer
    and public ones) or by staff (`customer` null: receives every subscribed event).
    `secret` signs deliveries; during a rotation `previous_secret` keeps signing too until
    `previous_secret_expires_at`, so the receiver can switch without losing a delivery.
    Both are encrypted at rest (core.encryption) and kept out of the history table.
    """

    customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="webhook_endpoints")
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=300, blank=True)
    event_types = models.JSONField(default=list, help_text="Event types to deliver; ['*'] for all allowed.")
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    ordered_by_subject = models.BooleanField(
        default=True, help_text="Deliver events of one subject in order (a later one waits for an earlier).")
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts (None while healthy); drives auto-disable.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["failing_since", "updated_at", "secret", "previous_secret"])

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.url}"

    def signing_secrets(self, now=None) -> list[str]:
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    """One event to one endpoint. Unique per (event, endpoint); the retry schedule lives here
    (next_attempt_at, jitter included), not in Celery countdowns. `leased_until` marks the
    worker holding it so two workers never post the same delivery at once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (retry scheduled)"
        DEAD = "dead", "Dead (no more attempts)"

    # event and endpoint lookups use the leading columns of the unique (event, endpoint) and of
    # the (endpoint, subject, position) indexes; single-column indexes would only cost inserts
    event = models.ForeignKey("core.OutboxEvent", on_delete=models.DO_NOTHING, to_field="event_id",
                              db_constraint=False, db_index=False, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, db_index=False,
                                 related_name="deliveries")
    # Denormalised from the event so ordering and listing need no join (and survive pruning).
    event_type = models.CharField(max_length=120)
    subject = models.CharField(max_length=200)
    event_position = models.BigIntegerField()
    # The event's time: on PostgreSQL the month partition key (core.partitions), so an event's
    # deliveries share its month and (event, endpoint) stays unique with the key added.
    event_time = models.DateTimeField(default=timezone.now)
    correlation_id = models.CharField(max_length=128)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0, help_text="Attempts since creation or last replay.")
    attempts_total = models.PositiveIntegerField(default=0, help_text="All attempts, replays included.")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    replay_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="uniq_delivery_event_endpoint")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["endpoint", "subject", "event_position"], name="delivery_subject_order_idx"),
            models.Index(fields=["correlation_id"], name="delivery_correlation_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} {self.event_type} → endpoint {self.endpoint_id} ({self.status})"


class WebhookAttempt(AppendOnlyModel):
    """One HTTP attempt of a delivery (append-only; removed only with its delivery)."""

    # not enforced by the database: deliveries are partitioned (core.partitions); an attempt is
    # written only for a delivery it has leased, and goes with its delivery's month
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts",
                                 db_constraint=False)
    number = models.PositiveIntegerField()
    event_time = models.DateTimeField(default=timezone.now, help_text="The delivery's event time (partition key).")
    started_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_body = models.TextField(blank=True, help_text="First 2 KB of the response.")
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.status_code or self.error}"


# --- channels in ------------------------------------------------------------------------------


class ChannelConfig(models.Model):
    """An eCommerce shop that sends us orders (Shopify or WooCommerce).

    `shop_domain` identifies the shop in incoming webhooks (X-Shopify-Shop-Domain, the host
    of X-WC-Webhook-Source); `webhook_secret` verifies their HMAC. An order is booked to
    the one of the shop's `customers` whose email the shopper typed, else to
    `default_customer`; never to any other customer (an e-mail typed in a shop is not proof
    of being that B2B customer). The WooCommerce REST credentials drive the hourly backfill pull.
    The secret and the credentials are encrypted at rest (core.encryption) and kept out of
    the history table.
    """

    class Kind(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    shop_domain = models.CharField(max_length=200)
    webhook_secret = EncryptedTextField()
    default_customer = models.ForeignKey("sales.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    customers = models.ManyToManyField("sales.Customer", blank=True, related_name="+",
                                       help_text="Customers who buy through this shop: a shop order is "
                                                 "matched to one of them by e-mail.")
    api_base_url = models.URLField(blank=True, help_text="WooCommerce: https://shop.example.com")
    api_key = EncryptedTextField(blank=True)
    api_secret = EncryptedTextField(blank=True)
    fulfillment_policy = models.CharField(max_length=20, default="ship_partial")
    is_active = models.BooleanField(default=True)
    last_backfill_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(excluded_fields=["last_backfill_at", "webhook_secret", "api_key", "api_secret"])

    class Meta:
        ordering = ["kind", "shop_domain"]
        constraints = [models.UniqueConstraint(fields=["kind", "shop_domain"], name="uniq_channel_shop")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.shop_domain}"

    @property
    def channel(self) -> str:
        return self.kind


class EdiPartner(models.Model):
    """An EDI X12 trading partner: its interchange id, our id towards it, and the customer its
    850s are for. Customers with a partner get 855/856/810 written to its outbox folder."""

    code = models.SlugField(max_length=40, unique=True, help_text="Folder name under EDI_OUTBOX_DIR.")
    customer = models.OneToOneField("sales.Customer", on_delete=models.PROTECT, related_name="edi_partner")
    isa_qualifier = models.CharField(max_length=2, default="ZZ")
    isa_id = models.CharField(max_length=15, help_text="The partner's ISA06/ISA08 id.")
    our_qualifier = models.CharField(max_length=2, default="ZZ")
    our_id = models.CharField(max_length=15, default="NORTHWIND")
    gs_id = models.CharField(max_length=15, blank=True, help_text="GS02/GS03 id; ISA id when blank.")
    our_gs_id = models.CharField(max_length=15, blank=True)
    usage = models.CharField(max_length=1, default="P", help_text="ISA15: P production, T test.")
    send_855 = models.BooleanField(default=True)
    send_856 = models.BooleanField(default=True)
    send_810 = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()  # control numbers: core.NumberSeries "edi.control.<id>"

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["isa_qualifier", "isa_id"], name="uniq_edi_partner_isa")]

    def __str__(self) -> str:
        return self.code


class EdiDocument(models.Model):
    """An outbound X12 interchange we wrote (855, 856, 810, 997), kept with its file name."""

    partner = models.ForeignKey(EdiPartner, on_delete=models.PROTECT, related_name="documents")
    transaction_set = models.CharField(max_length=3)
    control_number = models.PositiveIntegerField()
    filename = models.CharField(max_length=300)
    content = models.TextField()
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    reference = models.CharField(max_length=120, blank=True, help_text="PO, shipment or invoice number.")
    event_id = models.UUIDField(null=True, blank=True)
    # not enforced by the database (inbound messages are partitioned, core.partitions): the
    # retention clears it when the message's month is dropped
    inbound_message = models.ForeignKey("InboundMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="edi_documents", db_constraint=False)
    correlation_id = models.CharField(max_length=128, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["partner", "control_number"], name="uniq_edi_doc_control")]

    def __str__(self) -> str:
        return self.filename


class InboundMessage(models.Model):
    """Every message a channel sends us, stored raw before it is processed (in its own
    transaction), so nothing received is lost. Append-only apart from its processing state.

    (channel, external_id) is unique among originals; a repeat is stored with
    `duplicate_of` set and status `ignored`. `rejected` means it failed authentication
    (bad HMAC, unknown shop, wrong trading partner) and was never processed: of a rejected
    message only its SHA-256, size and safe headers are kept, never the body, so anonymous
    senders cannot fill the database (issue 14).
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored (duplicate or not an order)"
        REJECTED = "rejected", "Rejected (authentication or size)"

    channel = models.CharField(max_length=40)
    source = models.CharField(max_length=200, blank=True, help_text="Shop domain, EDI sender id, file name…")
    external_id = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    body_sha256 = models.CharField(max_length=64, blank=True,
                                   help_text="SHA-256 (hex) of the body as received; empty on rows older than it.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="Per-row / per-segment errors.")
    result = models.JSONField(default=dict, blank=True, help_text="Orders created: [{order_id, number, …}].")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True,
                                      help_text="The (first) resulting order.")
    # not enforced by the database (partitioned, core.partitions): may name a message whose
    # month the retention has dropped
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="duplicates", db_constraint=False)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=128, db_index=True)
    received_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="uniq_inbound_channel_external",
                                    condition=models.Q(duplicate_of__isnull=True) & ~models.Q(external_id="")
                                    & ~models.Q(status="rejected")),
        ]
        indexes = [models.Index(fields=["channel", "status"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id or self.pk} ({self.status})"

    @property
    def text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")


class CsvImportProfile(models.Model):
    """How one partner lays out its CSV order files (issue 20): which of its columns means which
    canonical field, how it writes dates and units, and its item numbers. Chosen for a file by
    the partner sending it (`customer_code`) or by the file name (`filename_pattern`, a glob such
    as ``acme_po_*.csv``). integrations.channels.csv_profiles applies it."""

    CANONICAL = ("external_ref", "customer", "sku", "gtin", "quantity", "uom", "unit_price", "currency",
                 "requested_ship_date", "fulfillment_policy", "ship_to_name", "ship_to_line1", "ship_to_line2",
                 "ship_to_city", "ship_to_region", "ship_to_postcode", "ship_to_country")

    name = models.CharField(max_length=100, unique=True)
    customer_code = models.CharField(max_length=40, blank=True, db_index=True,
                                     help_text="The partner's customer code: files it sends use this profile, and "
                                               "its orders are placed for this customer.")
    filename_pattern = models.CharField(max_length=200, blank=True,
                                        help_text="Glob on the file name (e.g. acme_po_*.csv), case-insensitive.")
    delimiter = models.CharField(max_length=1, default=",")
    columns = models.JSONField(default=dict, help_text="Partner column → canonical field, e.g. "
                                                       '{"PO Number": "external_ref", "EAN": "gtin", "Qty": "quantity"}.')
    date_format = models.CharField(max_length=40, default="%Y-%m-%d", help_text="strftime format of its dates.")
    decimal_comma = models.BooleanField(default=False, help_text="Numbers are written 1.234,50.")
    units = models.JSONField(default=dict, blank=True, help_text='Its unit codes → ours, e.g. {"CA": "CS12"}.')
    items = models.JSONField(default=dict, blank=True,
                             help_text="Its item numbers or GTINs → our SKUs (when products carry no GTIN).")
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
