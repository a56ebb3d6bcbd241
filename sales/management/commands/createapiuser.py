"""createapiuser: a sales command (binding a partner user to a customer is sales' business;
core knows nothing of customers)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core import roles, tokens
from core.exceptions import DomainError
from sales.services import bind_partner_user


class Command(BaseCommand):
    help = ("Create (or update) an API user in a role and print only a new API key (shown once; "
            "the user's earlier keys keep working unless --rotate). "
            "Partners must be bound to a customer with --customer CODE.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=roles.ALL_ROLES)
        parser.add_argument("--customer", help="customer code a partner user is bound to")
        parser.add_argument("--email", default="")
        parser.add_argument("--days", type=int, default=None,
                            help="lifetime of the new key in days (default API_TOKEN_TTL_DAYS; 0: never expires)")
        parser.add_argument("--rotate", action="store_true", help="revoke the user's other keys")

    def handle(self, *args, username: str, role: str, customer: str | None, email: str, days: int | None,
               rotate: bool, **options):
        if role == roles.PARTNER and not customer:
            raise CommandError("a partner user must be bound to a customer: --customer CODE")
        if customer and role != roles.PARTNER:
            raise CommandError("--customer is only for the partner role")
        if days is not None and days < 0:
            raise CommandError("--days must be 0 (never expires) or more")
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username, defaults={"email": email})
            if created:
                user.set_unusable_password()
                user.save()
            roles.assign_role(user, role)
            if role == roles.PARTNER:
                try:
                    bind_partner_user(user=user, customer_code=customer)
                except DomainError as exc:
                    raise CommandError(exc.detail) from exc
            # only a hash is stored, so an existing key cannot be printed again: every run issues one
            key = (tokens.rotate_token(user=user, days=days) if rotate
                   else tokens.issue_token(user=user, days=days))
        self.stdout.write(key)
