#!/usr/bin/env bash
# Prove DeepSpeed's real multi-host launch path (runner -> ssh check -> pdsh ->
# ssh -> deepspeed.launcher.launch -> ranks) on loopback only.
#
#   ci/deepspeed/selftest.sh [SSH_DIR]      # SSH_DIR defaults to /tmp/satc-sshd
#   VENV=/path/to/venv ci/deepspeed/selftest.sh
#
# Starts (or reuses) the private sshd via ci/sshd/start.sh SSH_DIR, then runs
#   deepspeed --hostfile H --force_multi --master_addr 127.0.0.1 --master_port P \
#       ci/deepspeed/probe.py ...
# with H = "localhost slots=2", and checks both ranks' env and a gloo all_reduce.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
SSH_DIR="${1:-/tmp/satc-sshd}"
VENV="${VENV:-${ROOT}/.venv}"
VENV="$(cd "${VENV}" && pwd)"

fail() {
    echo "[deepspeed/selftest] FAIL: $*" >&2
    exit 1
}

"${HERE}/../sshd/start.sh" "${SSH_DIR}" >/dev/null
# shellcheck source=/dev/null
source "${SSH_DIR}/env.sh"
export PATH="${VENV}/bin:${PATH}"

WORK="$(mktemp -d /tmp/satc-ds-selftest.XXXXXX)"
trap 'rm -rf "${WORK}"' EXIT

printf 'localhost slots=2\n' >"${WORK}/hostfile"
# Extra env for the ranks, via the launcher's .deepspeed_env mechanism. An
# absolute DS_ENV_FILE works because runner.py os.path.join()s it onto ~ and .
printf '%s\n' 'SATC_FROM_ENVFILE=hello' 'SATC_QUOTED=a b $HOME "q"' >"${WORK}/envfile"
export DS_ENV_FILE="${WORK}/envfile"
export SATC_NOT_FORWARDED=1

port="$("${VENV}/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

cd "${WORK}"
t0="${SECONDS}"
set +e
timeout 300 deepspeed --hostfile "${WORK}/hostfile" --force_multi \
    --master_addr 127.0.0.1 --master_port "${port}" \
    "${HERE}/probe.py" --flag "a b" >"${WORK}/log" 2>&1
rc=$?
set -e
elapsed=$((SECONDS - t0))
if [[ "${rc}" != 0 ]]; then
    cat "${WORK}/log" >&2
    fail "deepspeed exited ${rc}"
fi
echo "[deepspeed/selftest] deepspeed pdsh launch took ${elapsed} s" >&2

grep -q 'cmd = pdsh ' "${WORK}/log" || {
    cat "${WORK}/log" >&2
    fail "launcher did not take the pdsh path"
}
grep 'cmd = pdsh ' "${WORK}/log" | sed 's/^.*cmd = /    cmd = /' >&2

"${VENV}/bin/python" - "${WORK}/log" "${port}" <<'EOF' || fail "rank checks failed (log above)"
import json, sys
log, port = sys.argv[1], sys.argv[2]
ranks = [json.loads(l.split("SATC_PROBE ", 1)[1]) for l in open(log) if "SATC_PROBE " in l]
for r in ranks:
    print("    rank", {k: r.get(k) for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_SIZE",
          "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "allreduce", "argv")}, file=sys.stderr)
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
check(len(ranks) == 2, f"expected 2 ranks, got {len(ranks)}")
check(sorted(r["RANK"] for r in ranks) == ["0", "1"], "RANK values")
check(sorted(r["LOCAL_RANK"] for r in ranks) == ["0", "1"], "LOCAL_RANK values")
for r in ranks:
    check(r["WORLD_SIZE"] == "2" and r["LOCAL_SIZE"] == "2", "WORLD_SIZE/LOCAL_SIZE")
    check(r["MASTER_ADDR"] == "127.0.0.1" and r["MASTER_PORT"] == port, "MASTER_ADDR/PORT")
    check(r["allreduce"] == 3.0, "all_reduce result")
    check(r["argv"][1:] == ["--flag", "a b"] and r["argv"][0].startswith("--local_rank="), f"argv {r['argv']}")
    check(r.get("SATC_FROM_ENVFILE") == "hello", "DS_ENV_FILE value not forwarded")
    check("SATC_NOT_FORWARDED" not in r, "plain env var unexpectedly forwarded")
    # documented mangling: values are wrapped in "..." and re-parsed by the remote shell
    # ($HOME expanded remotely, the inner quotes dropped): 'a b $HOME "q"' -> 'a b /root q'
    q = r.get("SATC_QUOTED") or ""
    check(q.startswith("a b /") and q.endswith(" q"), f"SATC_QUOTED={q!r}")
if errors:
    sys.exit("; ".join(errors))
EOF

logins="$(grep -c 'Accepted publickey' "${SSH_DIR}/sshd.log" || true)"
echo "[deepspeed/selftest] OK (sshd ${SSH_DIR}, port ${SATC_SSH_PORT}, ${logins} logins so far)" >&2
