#!/usr/bin/env bash
# Java 17 for the Spark batch engine (PySpark starts a JVM; tests/test_spark_parity.py).
set -euo pipefail
for java in /usr/lib/jvm/java-17-*/bin/java /usr/lib/jvm/java-21-*/bin/java; do
  [ -x "$java" ] && exit 0
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
