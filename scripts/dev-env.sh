#!/usr/bin/env bash
# A development checkout's .env (read by config/settings.py): a random SECRET_KEY, written once.
# `make run` calls this, so every manage.py command from the README works in any shell of the
# checkout as written, without exporting DEBUG=1 (issue 20). Nothing is changed when .env
# already names a SECRET_KEY; production sets SECRET_KEY in its environment instead.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_FILE=${ENV_FILE:-.env}
if ! grep -qs '^SECRET_KEY=' "$ENV_FILE"; then
  key=$("${PYTHON:-python3}" -c 'import secrets; print(secrets.token_urlsafe(50))')
  printf '# written by scripts/dev-env.sh (make run) for this development checkout\nSECRET_KEY=%s\n' "$key" >>"$ENV_FILE"
  echo "wrote a SECRET_KEY to $ENV_FILE"
fi
