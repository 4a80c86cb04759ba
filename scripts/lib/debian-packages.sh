# shellcheck shell=bash
# Sourced by scripts/setup.sh and scripts/cluster.sh.
# debian_packages_install WHO PACKAGE...: installs those of the Debian packages that are missing,
# with apt-get when run as root; otherwise prints the command to run as root and returns 1.
# WHO starts each message.
debian_packages_install() {
  local who=$1 pkg cmd
  local missing=()
  shift
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]})) || return 0
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "$who: installing ${missing[*]}"
    sh -c "$cmd"
  else
    echo "$who: these Debian packages are missing: ${missing[*]}" >&2
    echo "$who: run as root:  sudo sh -c '$cmd'" >&2
    return 1
  fi
}
