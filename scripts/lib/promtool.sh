# shellcheck shell=bash
# Sourced by scripts/promtool-check.sh and scripts/prometheus-check.sh.
# promtool_find WHO: sets PROMTOOL to promtool on PATH, else to the copy cached in
# POPI_PROMTOOL_DIR (default ~/.cache/popi/promtool), fetching it first when missing; returns 1
# (with a message starting with WHO) when it cannot.
#
# promtool comes from Debian's `prometheus` package. Installing that package would also start a
# Prometheus server through its init script, so the package is downloaded with apt and only
# promtool is unpacked (run as root, the package lists are refreshed first when the download fails).
promtool_find() {
  local who=$1 cache work status=0
  PROMTOOL=$(command -v promtool || true)
  [ -z "$PROMTOOL" ] || return 0
  cache=${POPI_PROMTOOL_DIR:-$HOME/.cache/popi/promtool}
  PROMTOOL=$cache/usr/bin/promtool
  [ ! -x "$PROMTOOL" ] || return 0
  mkdir -p "$cache" || return 1
  work=$(mktemp -d) || return 1
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    if [ "$(id -u)" -eq 0 ] && apt-get update >/dev/null; then
      (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || status=1
    else
      status=1
    fi
  fi
  # Each step checked here: the caller's errexit does not reach into `promtool_find || …`.
  if [ $status -eq 0 ]; then
    dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$cache" ./usr/bin/promtool || status=1
  fi
  rm -rf "$work"
  if [ $status -ne 0 ] || [ ! -x "$PROMTOOL" ]; then
    echo "$who: cannot get promtool from Debian's prometheus package; install promtool" >&2
    return 1
  fi
}
