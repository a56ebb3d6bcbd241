"""Carry the correlation id from whoever enqueues a task into the task itself.

before_task_publish copies the current correlation id into the message headers;
task_prerun binds it for the task's run (logs, outbox rows, records it creates) and
task_postrun clears it.
"""

from __future__ import annotations

from celery.signals import before_task_publish, task_postrun, task_prerun

from . import context

# On a real broker Celery fills the request's `correlation_id` from the AMQP property of the
# same name (the task id), which hides our header; this second header name is never clobbered.
ERP_HEADER = "erp_correlation_id"


@before_task_publish.connect
def _add_correlation_header(headers=None, **_kwargs):
    cid = context.get_correlation_id()
    if headers is not None and cid and "correlation_id" not in headers:
        headers["correlation_id"] = cid
    if headers is not None and cid and ERP_HEADER not in headers:
        headers[ERP_HEADER] = headers["correlation_id"]


@task_prerun.connect
def _bind_correlation(task=None, task_id=None, **_kwargs):
    cid = getattr(task.request, ERP_HEADER, None) if task is not None else None
    if cid is None and task is not None:
        cid = getattr(task.request, "correlation_id", None)
        cid = None if cid == task_id else cid  # the broker's own correlation_id is the task id
    if cid is None and task is not None:
        cid = (getattr(task.request, "headers", None) or {}).get("correlation_id")
    task.request.correlation_id = cid
    task.request._erp_prev_cid = context.get_correlation_id()
    if cid:
        context.set_correlation_id(cid)
    context.set_request_id(task_id)


@task_postrun.connect
def _unbind_correlation(task=None, **_kwargs):
    prev = getattr(task.request, "_erp_prev_cid", None) if task is not None else None
    context.set_correlation_id(prev)
    context.set_request_id(None)
