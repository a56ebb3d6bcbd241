"""The signed-in user's own preferences: language and time zone (core.preferences).

Open to every signed-in user (no resource of the permission matrix: it changes only their own
row). Saving puts the choice into the session too, so the next page is already in it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from core import preferences
from core.exceptions import DomainError
from ops.web import forms
from ops.web.render import next_url, page


def preferences_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    pref = preferences.get_preference(request.user)
    initial = {"language": pref.language, "time_zone": pref.time_zone} if pref else {}
    form = forms.PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            pref = preferences.save_preference(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            preferences.remember(request.session, pref)
            # the message is shown on the next page, in the language just chosen
            with translation.override(pref.language or translation.get_language()):
                messages.success(request, _("Preferences saved."))
            return redirect(next_url(request, request.path))
    return page(request, "web/preferences.html", {"form": form, "page_title": _("Preferences")})
