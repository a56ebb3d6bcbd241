"""Shared files: STORAGE_URL → STORAGES["default"], and the local folder backend's atomic writes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from config.scale import storage_from_url
from core.storage import AtomicFileSystemStorage


def test_unset_is_a_local_folder_under_var(tmp_path):
    entry = storage_from_url("", default_dir=tmp_path / "files", env={})
    assert entry == {"BACKEND": "core.storage.AtomicFileSystemStorage",
                     "OPTIONS": {"location": str(tmp_path / "files")}}


def test_file_url_names_the_folder():
    assert storage_from_url("file:///srv/erp/files", default_dir=None, env={})["OPTIONS"] == {
        "location": "/srv/erp/files"}


def test_s3_url_and_aws_variables_make_a_django_storages_s3_backend(settings):
    entry = storage_from_url("s3://erp-files/prod/eu?endpoint_url=https://minio.internal:9000",
                             default_dir=None,
                             env={"AWS_ACCESS_KEY_ID": "AKIA-TEST", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
                                  "AWS_S3_REGION_NAME": "eu-central-1"})
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    options = entry["OPTIONS"]
    assert (options["bucket_name"], options["location"], options["endpoint_url"], options["region_name"],
            options["access_key"], options["file_overwrite"]) == (
        "erp-files", "prod/eu", "https://minio.internal:9000", "eu-central-1", "AKIA-TEST", False)

    # the backend is installed and takes these options (no request is made until a file is saved)
    from django.core.files.storage import storages

    settings.STORAGES = {**settings.STORAGES, "default": entry}
    backend = storages["default"]
    assert type(backend).__module__ == "storages.backends.s3"
    assert (backend.bucket_name, backend.location, backend.endpoint_url) == (
        "erp-files", "prod/eu", "https://minio.internal:9000")


@pytest.mark.parametrize("url", ["s3:///no-bucket", "file://relative/path", "ftp://files.example/x"])
def test_bad_urls_are_start_up_errors(url):
    with pytest.raises(ImproperlyConfigured):
        storage_from_url(url, default_dir=None, env={})


def test_local_folder_writes_whole_files_and_never_overwrites(tmp_path):
    backend = AtomicFileSystemStorage(location=tmp_path)
    first = backend.save("edi/outbox/acme/855_A.x12", ContentFile(b"ISA*first~"))
    second = backend.save("edi/outbox/acme/855_A.x12", ContentFile(b"ISA*second~"))

    assert first == "edi/outbox/acme/855_A.x12" and second != first
    assert (tmp_path / first).read_bytes() == b"ISA*first~"
    assert (tmp_path / second).read_bytes() == b"ISA*second~"
    assert sorted(p.name for p in (tmp_path / "edi/outbox/acme").iterdir()
                  if p.name.startswith(".tmp-")) == []  # no temporary file left behind
