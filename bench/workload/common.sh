# shellcheck shell=bash
# Sourced by bench/workload/run.sh, soak.sh and capacity.sh (from the repository's root).
# The local cluster's state is scripts/cluster.sh's: POPI_CLUSTER_DIR (default .cluster) holds
# cluster.env (REPLICAS, PORT, BIN, MODEL) and popi-I.pid for replica I on 127.0.0.1:PORT+I.

# shellcheck source=../../scripts/lib/debian-packages.sh
source scripts/lib/debian-packages.sh

workload_state=$(realpath -m "${POPI_CLUSTER_DIR:-.cluster}")

# Sets REPLICAS, PORT, BIN and MODEL from the cluster's cluster.env; fails if there is none.
workload_load_cluster() {
  [ -f "$workload_state/cluster.env" ] || return 1
  # shellcheck source=/dev/null
  source "$workload_state/cluster.env"
}

# wrk from Debian's package, installed as scripts/cluster.sh installs nginx.
workload_need_wrk() {
  command -v wrk >/dev/null && return 0
  debian_packages_install workload wrk
}

workload_cpu_model() {
  local model
  model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
  [ -n "$model" ] || model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  echo "${model:-unknown}, $(nproc) cores"
}

# The pid of replica I if it is alive and is the `popi serve --port PORT+I` that cluster.sh
# started (a pid file may name a pid reused since); prints nothing and fails otherwise.
workload_replica_pid() {
  local file="$workload_state/popi-$1.pid" pid stat
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [ "${stat:0:1}" != Z ] || return 1
  grep -qF -- "--port $((PORT + $1)) " <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  echo "$pid"
}
