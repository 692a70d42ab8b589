#!/usr/bin/env bash
# Idempotently bring up a one-node SLURM cluster (slurm-wlm 22.05, Debian 12) on
# this machine, reachable on loopback only.
#
#   ci/slurm/start.sh            # bring up (or confirm) munged, slurmctld, slurmd
#   SATC_SLURM_TIMEOUT=90 ci/slurm/start.sh
#
# Writes /etc/slurm/slurm.conf and /etc/slurm/cgroup.conf (the paths the Debian
# clients read by default, so no SLURM_CONF export is needed). Daemons run as
# root without systemd; their pids are in /run/satc-slurm/. Safe to run again:
# running daemons are left alone unless the generated config changed, in which
# case they are restarted. Exits non-zero and prints the logs if the node does
# not reach the idle state within SATC_SLURM_TIMEOUT seconds (default 60).
set -euo pipefail

TIMEOUT="${SATC_SLURM_TIMEOUT:-60}"
CONF_DIR=/etc/slurm
CONF="${CONF_DIR}/slurm.conf"
CGROUP_CONF="${CONF_DIR}/cgroup.conf"
RUN_DIR=/run/satc-slurm
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
CTLD_PID="${RUN_DIR}/slurmctld.pid"
SLURMD_PID="${RUN_DIR}/slurmd.pid"
CTLD_LOG="${LOG_DIR}/slurmctld.log"
SLURMD_LOG="${LOG_DIR}/slurmd.log"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_LOG=/var/log/munge/munged.log

HOST="$(hostname -s)"
NCPU="$(nproc)"

log() { printf '[slurm/start] %s\n' "$*" >&2; }

dump_logs() {
    local f
    for f in "${MUNGE_LOG}" "${CTLD_LOG}" "${SLURMD_LOG}"; do
        if [[ -f "${f}" ]]; then
            printf '===== %s (last 60 lines) =====\n' "${f}" >&2
            tail -n 60 "${f}" >&2 || true
        fi
    done
    printf '===== sinfo =====\n' >&2
    sinfo -N -l >&2 || true
}

die() {
    log "ERROR: $*"
    dump_logs
    exit 1
}

# True if the pid file names a live process whose name is the daemon's
# (basename of the pid file without .pid); guards against reused pids.
pid_alive() { # pidfile
    local pid name
    [[ -s "$1" ]] || return 1
    pid="$(cat "$1")"
    name="$(basename "$1" .pid)"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == "${name}" ]]
}

stop_pidfile() { # pidfile name
    local pid i
    pid_alive "$1" || return 0
    pid="$(cat "$1")"
    log "stopping $2 (pid ${pid})"
    kill "${pid}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "${pid}" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -9 "${pid}" 2>/dev/null || true
}

for bin in munged slurmctld slurmd sinfo scontrol; do
    command -v "${bin}" >/dev/null || PATH="${PATH}:/usr/sbin"
    command -v "${bin}" >/dev/null || die "${bin} not found (apt-get install slurm-wlm munge)"
done

# The node must be addressable on loopback only: slurmd identifies itself by
# `hostname -s`, and jobs see that name in SLURM_JOB_NODELIST.
host_ip="$(getent ahostsv4 "${HOST}" | awk 'NR==1 {print $1}' || true)"
case "${host_ip}" in
    127.*) ;;
    *) log "WARNING: '${HOST}' resolves to '${host_ip:-nothing}', not loopback;" \
        "slurm itself uses NodeAddr=127.0.0.1, but jobs must not use the hostname as MASTER_ADDR" ;;
esac

mkdir -p "${RUN_DIR}" "${LOG_DIR}" "${STATE_DIR}" "${SPOOL_DIR}" "${CONF_DIR}"

# Serialize concurrent callers (e.g. several test sessions). Daemons are
# started with fd 9 closed so they do not inherit the lock.
exec 9>"${RUN_DIR}/start.lock"
flock -w 120 9 || die "another ci/slurm/start.sh holds ${RUN_DIR}/start.lock"

# ---------------------------------------------------------------- munge
if [[ ! -s "${MUNGE_KEY}" ]]; then
    log "generating ${MUNGE_KEY}"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="${MUNGE_KEY}"
    else
        dd if=/dev/urandom of="${MUNGE_KEY}" bs=1 count=1024 status=none
    fi
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /etc/munge "${MUNGE_KEY}" /run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
chmod 0400 "${MUNGE_KEY}"

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    # a stale socket/pid from a dead daemon makes munged refuse to start
    if ! pid_alive /run/munge/munged.pid; then
        rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    fi
    runuser -u munge -- munged 9>&- || die "munged failed to start"
    for ((i = 0; i < 50; i++)); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.2
    done
    munge -n | unmunge >/dev/null || die "munge credential round-trip failed"
    # Record that this script started it: stop.sh --all stops no munged but this one.
    cp /run/munge/munged.pid "${RUN_DIR}/munged.pid"
fi

# ---------------------------------------------------------------- config
# CPUs = nproc. Add the socket/core/thread layout slurmd detects when it is
# consistent with nproc; with CPUs alone slurmd logs "Node reconfigured
# socket/core boundaries" (harmless, but noisy).
topo=""
hw="$(slurmd -C 2>/dev/null | head -n 1 || true)"
field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"${hw}"; }
sockets="$(field SocketsPerBoard)"
cores="$(field CoresPerSocket)"
threads="$(field ThreadsPerCore)"
if [[ -n "${sockets}" && -n "${cores}" && -n "${threads}" ]] &&
    ((sockets * cores * threads == NCPU)); then
    topo=" Sockets=${sockets} CoresPerSocket=${cores} ThreadsPerCore=${threads}"
fi

tmp_conf="$(mktemp)"
tmp_cg="$(mktemp)"
trap 'rm -f "${tmp_conf}" "${tmp_cg}"' EXIT

cat >"${tmp_conf}" <<EOF
# Generated by satc ci/slurm/start.sh -- one-node loopback test cluster.
ClusterName=satc-ci
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=${CTLD_LOG}
SlurmdLogFile=${SLURMD_LOG}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
EnforcePartLimits=ALL
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
# sbatch --wait polls after 2, 8, 32, 32... s, growing only while the interval
# is < MinJobAge/2; MinJobAge=5 pins the poll at 2 s (finished job records are
# then purged 5-65 s after completion: read results from output files).
MinJobAge=5
KillWait=5
Waittime=0
NodeName=${HOST} NodeAddr=127.0.0.1 NodeHostname=${HOST} CPUs=${NCPU}${topo} RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

# Not read with proctrack/linuxproc + task/none, but slurmd looks for it; keep
# it explicit so nothing ever tries to manage cgroups inside the VM.
cat >"${tmp_cg}" <<EOF
# Generated by satc ci/slurm/start.sh
CgroupPlugin=autodetect
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF

changed=0
if ! cmp -s "${tmp_conf}" "${CONF}"; then
    install -m 0644 "${tmp_conf}" "${CONF}"
    changed=1
fi
if ! cmp -s "${tmp_cg}" "${CGROUP_CONF}"; then
    install -m 0644 "${tmp_cg}" "${CGROUP_CONF}"
    changed=1
fi

if [[ "${changed}" == 1 ]]; then
    log "config written to ${CONF} (restarting any running daemons)"
    stop_pidfile "${SLURMD_PID}" slurmd
    stop_pidfile "${CTLD_PID}" slurmctld
fi

# ---------------------------------------------------------------- daemons
if ! pid_alive "${CTLD_PID}"; then
    log "starting slurmctld"
    slurmctld 9>&- || die "slurmctld failed to start"
fi
if ! pid_alive "${SLURMD_PID}"; then
    log "starting slurmd"
    slurmd 9>&- || die "slurmd failed to start"
fi

# ---------------------------------------------------------------- wait
start="${SECONDS}"
resumed=0
state=""
while ((SECONDS - start < TIMEOUT)); do
    state="$(sinfo -h -N -n "${HOST}" -o '%T' 2>/dev/null | head -n 1 || true)"
    case "${state}" in
        idle | mixed | allocated | completing)
            log "node ${HOST} is ${state} after $((SECONDS - start)) s"
            exit 0
            ;;
        down* | drain* | fail* | unknown*)
            # ReturnToService=2 usually handles this once slurmd registers; an
            # explicit resume covers state carried over in StateSaveLocation.
            if ((resumed < 3)) && pid_alive "${SLURMD_PID}" && ((SECONDS - start > 3)); then
                log "node is '${state}', resuming"
                scontrol update NodeName="${HOST}" State=RESUME 2>/dev/null || true
                resumed=$((resumed + 1))
            fi
            ;;
    esac
    pid_alive "${CTLD_PID}" || die "slurmctld died"
    pid_alive "${SLURMD_PID}" || die "slurmd died"
    sleep 1
done
die "node ${HOST} not idle after ${TIMEOUT} s (last state: '${state:-none}')"
