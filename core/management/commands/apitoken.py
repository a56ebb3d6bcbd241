"""Manage API keys: `manage.py apitoken issue|list|revoke|rotate` (docs/operations.md "API keys").

    issue USERNAME [--days N]                 print a new key (only the key, on stdout)
    list [USERNAME]                           key ids (first 15 characters), created, expiry
    revoke USERNAME (--key ID | --all)        delete keys: refused from the next request on
    rotate USERNAME [--grace-minutes M] [--days N]
                                              print a new key; the others stop at once or after M minutes
--days: lifetime of the new key (default API_TOKEN_TTL_DAYS; 0 = never expires).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import tokens


class Command(BaseCommand):
    help = "Issue, list, revoke or rotate API keys (the key is printed once, only its hash is stored)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="print a new key for the user")
        issue.add_argument("username")
        issue.add_argument("--days", type=int, default=None, help="lifetime in days (0: never expires)")
        listing = sub.add_parser("list", help="list keys (never the keys themselves)")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="revoke keys")
        revoke.add_argument("username")
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("--key", help="the key id shown by `list` (or the key itself)")
        which.add_argument("--all", action="store_true", help="every key of the user")
        rotate = sub.add_parser("rotate", help="print a new key and retire the user's others")
        rotate.add_argument("username")
        rotate.add_argument("--grace-minutes", type=int, default=0,
                            help="the old keys keep working this long (default 0: stop at once)")
        rotate.add_argument("--days", type=int, default=None, help="lifetime of the new key (0: never expires)")

    def _user(self, username):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def _days(self, days):
        if days is not None and days < 0:
            raise CommandError("--days must be 0 (never expires) or more")
        return days

    def handle(self, *args, action: str, **options):
        if action == "issue":
            self.stdout.write(tokens.issue_token(user=self._user(options["username"]),
                                                 days=self._days(options["days"])))
        elif action == "list":
            user = self._user(options["username"]) if options["username"] else None
            now = timezone.now()
            for token in tokens.list_tokens(user=user):
                state = "expired" if token.expiry and token.expiry <= now else "active"
                expiry = token.expiry.isoformat() if token.expiry else "never"
                self.stdout.write(f"{token.user.username}\t{token.token_key}\t{token.created.isoformat()}\t"
                                  f"{expiry}\t{state}")
        elif action == "revoke":
            n = tokens.revoke_tokens(user=self._user(options["username"]),
                                     token_key=None if options["all"] else options["key"])
            if not n:
                raise CommandError("no such key")
            self.stderr.write(f"revoked {n} key(s)")
        else:
            if options["grace_minutes"] < 0:
                raise CommandError("--grace-minutes must be 0 or more")
            self.stdout.write(tokens.rotate_token(user=self._user(options["username"]),
                                                  grace_minutes=options["grace_minutes"],
                                                  days=self._days(options["days"])))
