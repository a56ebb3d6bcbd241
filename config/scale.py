"""Settings helpers for running beyond one machine (docs/deployment.md): read by config/settings.py.

Nothing here imports Django's storage or database machinery: settings load before apps.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured


def storage_from_url(url: str, *, default_dir: Path, env: dict | None = None) -> dict:
    """The STORAGES["default"] entry STORAGE_URL describes: unset or file:///abs/path -> a local
    folder (core.storage.AtomicFileSystemStorage), s3://bucket/prefix -> django-storages' S3Storage
    (AWS_* variables for keys, region, endpoint), memory:// -> InMemoryStorage (tests)."""
    env = os.environ if env is None else env
    if not url:
        return {"BACKEND": "core.storage.AtomicFileSystemStorage", "OPTIONS": {"location": str(default_dir)}}
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ImproperlyConfigured(f"STORAGE_URL {url!r}: a file:// URL needs an absolute path.")
        return {"BACKEND": "core.storage.AtomicFileSystemStorage", "OPTIONS": {"location": parts.path}}
    if parts.scheme == "memory":
        return {"BACKEND": "django.core.files.storage.InMemoryStorage"}
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ImproperlyConfigured(f"STORAGE_URL {url!r}: name the bucket (s3://bucket/prefix).")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        options = {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "default_acl": None,          # the bucket's policy decides; nothing is public
            "querystring_auth": True,     # links handed out are signed and expire
            "file_overwrite": False,      # never replace a document another host wrote
        }
        for key, option in (("AWS_ACCESS_KEY_ID", "access_key"), ("AWS_SECRET_ACCESS_KEY", "secret_key"),
                            ("AWS_S3_REGION_NAME", "region_name"), ("AWS_S3_ENDPOINT_URL", "endpoint_url")):
            if env.get(key):
                options[option] = env[key]
        if query.get("endpoint_url"):
            options["endpoint_url"] = query["endpoint_url"]
        if query.get("region"):
            options["region_name"] = query["region"]
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    raise ImproperlyConfigured(f"STORAGE_URL {url!r}: use file:///path, s3://bucket/prefix or memory://.")
