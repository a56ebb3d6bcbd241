from rest_framework.throttling import UserRateThrottle

from core import roles


class PartnerRateThrottle(UserRateThrottle):
    """Throttle partner API users per user; staff and Celery-driven calls are not throttled."""

    scope = "partner"

    def allow_request(self, request, view):
        if not roles.is_partner(request.user):
            return True
        return super().allow_request(request, view)
