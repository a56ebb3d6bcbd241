from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command

FIXTURES = Path(__file__).parent / "fixtures"
KINDS = ["suppliers", "products", "price_lists", "customers", "opening_stock", "opening_balances"]


def setup_company(**kw) -> str:
    out = StringIO()
    args = {"name": "Nordlicht GmbH", "currency": "EUR", "country": "DE", "year": 2026, **kw}
    call_command("setup_company", *[f"--{k.replace('_', '-')}={v}" for k, v in args.items()], stdout=out)
    return out.getvalue()


def run_import(kind: str, path, *, dry_run: bool = False) -> tuple[str, str]:
    """(stdout, stderr) of `manage.py import`; raises CommandError when the file was refused."""
    out, err = StringIO(), StringIO()
    args = [kind, str(path)] + (["--dry-run"] if dry_run else [])
    try:
        call_command("import", *args, stdout=out, stderr=err)
    except CommandError as exc:
        exc.stderr = err.getvalue()
        raise
    return out.getvalue(), err.getvalue()
