#!/usr/bin/env bash
# kinesalite: a local Kinesis server (Node.js) for the Kinesis stream tests.
# Installs node from Debian when missing, then kinesalite into .cache/kinesalite (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=3.3.3
DEST=.cache/kinesalite
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get update -q
  apt-get install -y --no-install-recommends nodejs npm
fi
if [ -f "$DEST/node_modules/kinesalite/package.json" ] \
  && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/kinesalite/package.json"; then
  exit 0
fi
mkdir -p "$DEST"
npm install --prefix "$DEST" --no-audit --no-fund --silent "kinesalite@$VERSION"
