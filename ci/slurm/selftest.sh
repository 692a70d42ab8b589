#!/usr/bin/env bash
# Prove the loopback SLURM cluster works: brings it up (ci/slurm/start.sh),
# then runs real sbatch --wait jobs whose bodies call srun.
#   ci/slurm/selftest.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"${HERE}/start.sh"

WORK="$(mktemp -d /tmp/satc-slurm-selftest.XXXXXX)"
trap 'rm -rf "${WORK}"' EXIT
chmod 0755 "${WORK}"

fail() {
    echo "[slurm/selftest] FAIL: $*" >&2
    exit 1
}

cat >"${WORK}/job.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
host="$(scontrol show hostnames "${SLURM_JOB_NODELIST}" | head -n 1)"
addr="$(getent ahostsv4 "${host}" | awk 'NR==1 {print $1}')"
echo "HOSTNAMES $(scontrol show hostnames "${SLURM_JOB_NODELIST}" | tr '\n' ' ')"
echo "ADDR ${host} ${addr}"
srun bash -c 'echo "TASK ${SLURM_PROCID} ${SLURM_LOCALID} ${SLURM_NTASKS}"'
EOF

run_job() { # name, sbatch args...
    local name="$1" out t0
    shift
    out="${WORK}/${name}.out"
    t0="${SECONDS}"
    timeout 120 sbatch --wait --quiet --job-name="satc-${name}" --output="${out}" \
        --chdir="${WORK}" "$@" "${WORK}/job.sh" || fail "${name}: sbatch $* failed"
    echo "[slurm/selftest] ${name}: sbatch --wait $* took $((SECONDS - t0)) s" >&2
    sed 's/^/    /' "${out}" >&2
    [[ "$(grep -c '^TASK ' "${out}")" == 2 ]] || fail "${name}: expected 2 TASK lines"
    grep -qx 'TASK 0 0 2' "${out}" || fail "${name}: missing 'TASK 0 0 2'"
    grep -qx 'TASK 1 1 2' "${out}" || fail "${name}: missing 'TASK 1 1 2'"
    grep -Eq '^ADDR [^ ]+ 127\.' "${out}" || fail "${name}: node name does not resolve to loopback"
}

run_job ntasks --ntasks=2 --nodes=1
run_job per-node --nodes=1 --ntasks-per-node=2 --cpus-per-task=1

# Impossible requests must be rejected at submit time (EnforcePartLimits=ALL),
# not left pending forever (which would hang sbatch --wait).
if timeout 20 sbatch --wait --quiet --ntasks=$(($(nproc) + 1)) --nodes=1 \
    --output=/dev/null "${WORK}/job.sh" 2>"${WORK}/reject.err"; then
    fail "oversized job was accepted"
fi
grep -q 'submission failed' "${WORK}/reject.err" || fail "oversized job: $(cat "${WORK}/reject.err")"

echo "[slurm/selftest] OK" >&2
