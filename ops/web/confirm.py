"""The confirmation step of an irreversible action: a required reason and an explicit "yes".

The form is checked on the server (no JavaScript needed); the reason goes into the changed
object's history row (django-simple-history's `history_change_reason`) through
`record_reason`, after the owning service has saved the object, so the services keep their
signatures.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.utils import update_change_reason


class ConfirmForm(forms.Form):
    reason = forms.CharField(label=_("Reason (kept in the history)"), max_length=100, min_length=3, strip=True)
    confirm = forms.BooleanField(label=_("Yes, I understand this cannot be undone"))


def confirmed(request: HttpRequest, what: str) -> str | None:
    """The reason when the POST carries a reason and the confirmation, else None after telling
    the user what is missing (the action is then not done)."""
    form = ConfirmForm(request.POST)
    if form.is_valid():
        return form.cleaned_data["reason"]
    missing = []
    if "reason" in form.errors:
        missing.append(str(_("a reason")))
    if "confirm" in form.errors:
        missing.append(str(_("the confirmation tick")))
    messages.error(request, _("Not done: %(what)s needs %(missing)s.") % {"what": what, "missing": " and ".join(missing)})
    return None


def record_reason(obj, reason: str) -> None:
    """Put `reason` on the newest history row of `obj` (written by the service just now)."""
    if obj is not None and hasattr(obj, "history"):
        update_change_reason(obj, reason[:100])
