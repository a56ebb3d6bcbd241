"""Files the system keeps (EDI out, archives, exports) go through Django's storage API.

No code path writes to a local path another host would need: everything is saved with
`storages["default"]` (settings.STORAGES), which is a local folder on the embedded setup and
any S3-compatible store in production (django-storages, `STORAGE_URL=s3://bucket/prefix`,
docs/deployment.md "Files").

`config.scale.storage_from_url` turns STORAGE_URL into the STORAGES["default"] entry:

- unset or `file:///abs/path`: `AtomicFileSystemStorage` in that folder (default var/files);
- `s3://bucket/optional/prefix`: django-storages' S3Storage; credentials, region and endpoint
  come from the usual AWS_* variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  AWS_S3_REGION_NAME, AWS_S3_ENDPOINT_URL for MinIO/Ceph/R2 …);
- `memory://`: Django's InMemoryStorage (tests, and a throw-away demo).
"""

from __future__ import annotations

import os
import tempfile

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.utils.deconstruct import deconstructible


@deconstructible(path="core.storage.AtomicFileSystemStorage")
class AtomicFileSystemStorage(FileSystemStorage):
    """Django's FileSystemStorage, except a file appears complete or not at all.

    Django writes straight into the final name, so a partner's SFTP pickup polling the folder
    may read half a file. This writes a temporary file in the same folder and renames it (as
    the EDI outbox always did); the name collision rule is Django's (a new name, never an
    overwrite). Hand-written because no maintained package does only this."""

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in content.chunks():
                    fh.write(chunk.encode() if isinstance(chunk, str) else chunk)
            if self.file_permissions_mode is not None:
                os.chmod(tmp, self.file_permissions_mode)
            # os.link fails if the name exists (like Django's O_EXCL); then take a free name
            while True:
                try:
                    os.link(tmp, full_path)
                    break
                except FileExistsError:
                    name = self.get_available_name(name)
                    full_path = self.path(name)
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        return str(name).replace("\\", "/")


def files():
    """The storage every shared file goes to (STORAGES["default"])."""
    return storages["default"]


def save_text(name: str, text: str) -> str:
    """Save `text` (UTF-8) under `name` in the shared storage; returns the name it was stored as."""
    return files().save(name, ContentFile(text.encode("utf-8")))


def save_bytes(name: str, data: bytes) -> str:
    return files().save(name, ContentFile(data))


def read_text(name: str) -> str:
    with files().open(name, "rb") as fh:
        return fh.read().decode("utf-8")
