#!/usr/bin/env bash
# Stop the daemons ci/slurm/start.sh started (by pid file, never by name).
#   ci/slurm/stop.sh            # stop slurmd + slurmctld, leave munged running
#   ci/slurm/stop.sh --all      # also stop munged, if ci/slurm/start.sh started it
#   ci/slurm/stop.sh --purge    # --all, and drop controller/slurmd state
# A munged that was running before start.sh (the machine's own, another user's) is left
# alone: start.sh records the pid of the one it starts in /run/satc-slurm/munged.pid.
set -euo pipefail

# Overridable for tests/test_slurm_scripts.py only, which must not touch the real daemons.
RUN_DIR="${SATC_SLURM_RUN_DIR:-/run/satc-slurm}"
MUNGE_PID_FILE="${SATC_SLURM_MUNGE_PID:-/run/munge/munged.pid}"
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
        ours="$(cat "${RUN_DIR}/munged.pid" 2>/dev/null || true)"
        running="$(cat "${MUNGE_PID_FILE}" 2>/dev/null || true)"
        if [[ -n "${ours}" && "${ours}" == "${running}" ]]; then
            stop_pidfile "${RUN_DIR}/munged.pid" munged
            rm -f "${MUNGE_PID_FILE}"
            rm -f "$(dirname -- "${MUNGE_PID_FILE}")/munge.socket.2" "$(dirname -- "${MUNGE_PID_FILE}")/munge.socket.2.lock"
        else
            rm -f "${RUN_DIR}/munged.pid"
            if [[ -n "${running}" ]]; then
                echo "[slurm/stop] leaving munged (pid ${running}) running: ci/slurm/start.sh did not start it" >&2
            fi
        fi
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
