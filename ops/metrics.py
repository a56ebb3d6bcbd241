"""Prometheus metrics of the business, beside django-prometheus' technical ones on /metrics.

Business gauges are computed from the database at scrape time by a custom collector (so
they never drift from the data): live exceptions by kind and severity, outbox pending
events and lag, dead and late webhook deliveries, failed inbound messages, consumer
failures, and the last status of each reconciliation check.

Celery task metrics are counters and a histogram fed by Celery signals in whatever process
runs the task: the web process in eager mode, a worker otherwise. A worker exposes its own
metrics on ERP_CELERY_METRICS_PORT (prometheus_client's HTTP server) when that is set.
"""

from __future__ import annotations

import os
import time

import structlog
from django.db import DatabaseError
from django.db.models import Count, Max
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from core.messaging import selectors as messaging_selectors
from integrations import selectors as integrations_selectors
from ops.models import ExceptionItem, ReconciliationResult

log = structlog.get_logger(__name__)

CELERY_TASKS = Counter("erp_celery_tasks_total", "Celery tasks by name and outcome", ["task", "state"])
CELERY_RUNTIME = Histogram("erp_celery_task_seconds", "Celery task run time", ["task"],
                           buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
RECONCILIATION_FINDINGS = Counter("erp_reconciliation_findings_total", "Findings reported by reconciliation checks",
                                  ["check"])

_started: dict[str, float] = {}


class BusinessCollector:
    """Reads a handful of aggregates per scrape (each an indexed COUNT or MIN)."""

    def collect(self):
        try:
            yield from self._collect()
        except DatabaseError:  # a scrape must not fail while the database is away or being migrated
            log.warning("business_metrics_failed", exc_info=True)

    def describe(self):
        # Describing nothing keeps registration from running a scrape (and a query) at start-up.
        return []

    def _collect(self):
        g = GaugeMetricFamily("erp_open_exceptions", "Live (open or acknowledged) exceptions",
                              labels=["kind", "severity", "owner_role"])
        for kind, severity, role, n in (ExceptionItem.objects.filter(status__in=ExceptionItem.LIVE)
                                        .values_list("kind", "severity", "owner_role").annotate(n=Count("pk"))
                                        .order_by()):
            g.add_metric([kind, severity, role], n)
        yield g

        yield GaugeMetricFamily("erp_outbox_pending_events", "Outbox events not yet dispatched",
                                value=messaging_selectors.count_pending_events())
        yield GaugeMetricFamily("erp_outbox_lag_seconds", "Age of the oldest undispatched outbox event",
                                value=messaging_selectors.outbox_lag_seconds())
        deliveries = GaugeMetricFamily("erp_webhook_deliveries", "Webhook deliveries by status", labels=["status"])
        counts = integrations_selectors.deliveries_by_status()
        for st in ("pending", "failed", "dead"):
            deliveries.add_metric([st], counts.get(st, 0))
        yield deliveries
        yield GaugeMetricFamily("erp_webhook_dead_deliveries", "Dead-lettered webhook deliveries",
                                value=counts.get("dead", 0))
        yield GaugeMetricFamily("erp_inbound_failed_messages", "Inbound channel messages that failed",
                                value=integrations_selectors.count_failed_inbound_messages())
        yield GaugeMetricFamily("erp_consumer_failures", "Event consumers currently failing",
                                value=messaging_selectors.count_consumer_failures())

        status = GaugeMetricFamily("erp_reconciliation_check_ok",
                                   "1 if the last run of the check found nothing, 0 otherwise", labels=["check"])
        findings = GaugeMetricFamily("erp_reconciliation_check_findings", "Findings of the last run of the check",
                                     labels=["check"])
        last = GaugeMetricFamily("erp_reconciliation_check_last_run_timestamp", "When the check last ran (unix)",
                                 labels=["check"])
        latest = ReconciliationResult.objects.values("check_name").annotate(m=Max("id")).values_list("m", flat=True)
        for r in ReconciliationResult.objects.filter(id__in=list(latest)):
            status.add_metric([r.check_name], 1 if r.status == "ok" else 0)
            findings.add_metric([r.check_name], r.findings_count)
            last.add_metric([r.check_name], (r.finished_at or r.started_at).timestamp())
        yield status
        yield findings
        yield last


_collector: BusinessCollector | None = None


def register_business_collector() -> None:
    global _collector
    if _collector is not None:
        return
    _collector = BusinessCollector()
    try:
        REGISTRY.register(_collector)
    except ValueError:  # already registered (autoreload)
        pass


# --- Celery task metrics ---------------------------------------------------------------------------


def _task_name(sender=None, task=None, **_) -> str:
    t = task or sender
    return getattr(t, "name", None) or str(t)


def connect_celery_signals() -> None:
    from celery import signals

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id=None, task=None, **kw):
        _started[task_id] = time.monotonic()
        CELERY_TASKS.labels(task=_task_name(task=task), state="started").inc()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, state=None, **kw):
        began = _started.pop(task_id, None)
        name = _task_name(task=task)
        if began is not None:
            CELERY_RUNTIME.labels(task=name).observe(time.monotonic() - began)

    @signals.task_success.connect(weak=False)
    def _success(sender=None, **kw):
        CELERY_TASKS.labels(task=_task_name(sender=sender), state="succeeded").inc()

    @signals.task_failure.connect(weak=False)
    def _failure(sender=None, **kw):
        CELERY_TASKS.labels(task=_task_name(sender=sender), state="failed").inc()

    @signals.task_retry.connect(weak=False)
    def _retry(sender=None, **kw):
        CELERY_TASKS.labels(task=_task_name(sender=sender), state="retried").inc()

    @signals.worker_ready.connect(weak=False)
    def _serve(**kw):
        port = os.environ.get("ERP_CELERY_METRICS_PORT")
        if port:
            from prometheus_client import start_http_server

            start_http_server(int(port))
            log.info("celery_metrics_serving", port=port)


_connected = False


def setup() -> None:
    global _connected
    register_business_collector()
    if not _connected:
        connect_celery_signals()
        _connected = True
