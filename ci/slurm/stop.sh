#!/usr/bin/env bash
# Stop the daemons ci/slurm/start.sh started (by pid file, never by name).
#   ci/slurm/stop.sh            # stop slurmd + slurmctld, leave munged running
#   ci/slurm/stop.sh --all      # also stop munged
#   ci/slurm/stop.sh --purge    # --all, and drop controller/slurmd state
set -euo pipefail

RUN_DIR=/run/satc-slurm
mode="${1:-}"

stop_pidfile() { # pidfile name
    local pid i
    [[ -s "$1" ]] || return 0
    pid="$(cat "$1")"
    # only if the pid still is that daemon (pids get reused)
    if [[ "${pid}" =~ ^[0-9]+$ && "$(cat "/proc/${pid}/comm" 2>/dev/null)" == "$(basename "$1" .pid)" ]]; then
        echo "[slurm/stop] stopping $2 (pid ${pid})" >&2
        kill "${pid}" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "${pid}" 2>/dev/null || true
    fi
    rm -f "$1"
}

stop_pidfile "${RUN_DIR}/slurmd.pid" slurmd
stop_pidfile "${RUN_DIR}/slurmctld.pid" slurmctld

case "${mode}" in
    --all | --purge)
        stop_pidfile /run/munge/munged.pid munged
        rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
        ;;
    "") ;;
    *)
        echo "usage: $0 [--all|--purge]" >&2
        exit 2
        ;;
esac

if [[ "${mode}" == --purge ]]; then
    find /var/lib/slurm/slurmctld /var/lib/slurm/slurmd -mindepth 1 -delete 2>/dev/null || true
fi
