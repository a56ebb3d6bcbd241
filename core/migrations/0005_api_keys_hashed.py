"""API keys stored as hashes (issue 14): each plain DRF `authtoken_token` key becomes a knox
AuthToken row holding only the key's SHA-512 digest (knox's scheme: hash_token with
SECURE_HASH_ALGORITHM = sha512, token_key = the first 15 characters), then the plain row is
deleted. Deployed keys keep working unchanged and never expire (rotate them with
`manage.py apitoken rotate`). Backwards: nothing to undo (the plain keys are gone by design).
"""

import hashlib

from django.db import migrations


def hash_plain_keys(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    AuthToken = apps.get_model("knox", "AuthToken")
    for token in Token.objects.all():
        digest = hashlib.sha512(token.key.encode()).hexdigest()
        AuthToken.objects.create(digest=digest, token_key=token.key[:15], user_id=token.user_id, expiry=None)
        AuthToken.objects.filter(digest=digest).update(created=token.created)  # created is auto_now_add
    Token.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_idempotency_encrypted_response"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(hash_plain_keys, migrations.RunPython.noop),
    ]
