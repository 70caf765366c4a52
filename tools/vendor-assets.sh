#!/usr/bin/env bash
# Reproduces the dashboard's vendored chart library from npm (run after changing the version,
# then commit the files under src/tweetsense/dashboard/static/vendor/).
set -euo pipefail
cd "$(dirname "$0")/.."
UPLOT_VERSION="1.6.32"
dest="src/tweetsense/dashboard/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@${UPLOT_VERSION}" >/dev/null && tar -xzf uplot-*.tgz)
mkdir -p "$dest"
cp "$work/package/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$work/package/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$work/package/LICENSE" "$dest/uPlot.LICENSE"
echo "uPlot ${UPLOT_VERSION}" > "$dest/VERSIONS"
