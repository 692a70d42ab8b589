#!/usr/bin/env bash
# Stop the sshd that ci/sshd/start.sh DIR started (by DIR/sshd.pid only).
#   ci/sshd/stop.sh DIR           # stop sshd, keep keys/configs
#   ci/sshd/stop.sh DIR --purge   # also delete DIR
# start.sh never edits ~/.ssh or /etc/ssh, so there is nothing else to undo.
set -euo pipefail

if [[ $# -lt 1 || -z "$1" ]]; then
    echo "usage: $0 DIR [--purge]" >&2
    exit 2
fi
DIR="$1"
[[ -d "${DIR}" ]] && DIR="$(cd "${DIR}" && pwd -P)"
PIDFILE="${DIR}/sshd.pid"

if [[ -s "${PIDFILE}" ]]; then
    pid="$(cat "${PIDFILE}")"
    # only a pid whose command line is our sshd (pids get reused)
    if [[ "${pid}" =~ ^[0-9]+$ ]] &&
        tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -qF -- "-f ${DIR}/sshd_config"; then
        echo "[sshd/stop] stopping sshd (pid ${pid})" >&2
        kill "${pid}" 2>/dev/null || true
        for ((i = 0; i < 25; i++)); do
            kill -0 "${pid}" 2>/dev/null || break
            sleep 0.2
        done
    fi
    rm -f "${PIDFILE}"
fi

if [[ "${2:-}" == --purge && -e "${DIR}" ]]; then
    # refuse anything that is not a start.sh directory
    if [[ -f "${DIR}/sshd_config" && -f "${DIR}/ssh_config" ]]; then
        rm -rf "${DIR}"
    else
        echo "[sshd/stop] ${DIR} does not look like a ci/sshd directory; not deleting" >&2
        exit 1
    fi
fi
