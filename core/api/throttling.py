"""API throttles. Both count in Django's default cache (`CACHES["default"]`): with the default
per-process local-memory cache each process counts on its own, so a deployment with several
workers sets a shared cache (docs/operations.md, "Unauthenticated receivers")."""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from core import roles


class PartnerRateThrottle(UserRateThrottle):
    """Throttle partner API users per user; staff and Celery-driven calls are not throttled."""

    scope = "partner"

    def allow_request(self, request, view):
        if not roles.is_partner(request.user):
            return True
        return super().allow_request(request, view)


class UnauthenticatedRateThrottle(AnonRateThrottle):
    """Throttle endpoints anyone may call (shop webhook receivers) per source address.

    The address is DRF's `get_ident`: REMOTE_ADDR, or the client address in X-Forwarded-For
    when `REST_FRAMEWORK["NUM_PROXIES"]` says how many proxies sit in front (set it behind a
    load balancer, or every shop shares the proxy's address). The rate is the "unauthenticated"
    entry of DEFAULT_THROTTLE_RATES (env UNAUTHENTICATED_THROTTLE_RATE); a subclass with its own
    `scope` gets its own rate and counter. Over the rate: 429 problem+json with Retry-After.
    """

    scope = "unauthenticated"

    def get_rate(self):
        # read the settings now, not at import (SimpleRateThrottle.THROTTLE_RATES is bound once)
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or super().get_rate()
