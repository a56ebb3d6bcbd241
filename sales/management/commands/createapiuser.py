"""createapiuser: a sales command (binding a partner user to a customer is sales' business;
core knows nothing of customers)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from core import roles
from core.exceptions import DomainError
from sales.services import bind_partner_user


class Command(BaseCommand):
    help = ("Create (or update) an API user in a role and print only its token. "
            "Partners must be bound to a customer with --customer CODE.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=roles.ALL_ROLES)
        parser.add_argument("--customer", help="customer code a partner user is bound to")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, role: str, customer: str | None, email: str, **options):
        if role == roles.PARTNER and not customer:
            raise CommandError("a partner user must be bound to a customer: --customer CODE")
        if customer and role != roles.PARTNER:
            raise CommandError("--customer is only for the partner role")
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
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
