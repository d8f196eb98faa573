#!/usr/bin/env bash
# The README's first command: publish the committed sample artifacts into ./public with a
# throw-away demo key (or PKGPUB_SIGNING_KEY if set) and serve the result on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PKGPUB_DEMO_OUT:-./public}
port=${PKGPUB_DEMO_PORT:-8080}
args=()
if [ -z "${PKGPUB_SIGNING_KEY:-}" ]; then
  mkdir -p .pkgpub-demo
  if [ ! -f .pkgpub-demo/demo-signing-key.asc ]; then
    node dist/src/cli.js keys generate --name "pkgpub demo" --email demo@example.invalid \
      --out .pkgpub-demo --project demo --expires-days 365 >/dev/null
  fi
  args+=(--signing-key .pkgpub-demo/demo-signing-key.asc)
fi
node dist/src/cli.js publish test/fixtures/samples --to "$out" --base-url "http://127.0.0.1:$port" "${args[@]}"
[ "${PKGPUB_DEMO_NO_SERVE:-}" = 1 ] && exit 0
exec node dist/src/cli.js serve "$out" --port "$port"
