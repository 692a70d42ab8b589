#!/usr/bin/env bash
# The test command (README: `make test`). Installs everything the suite needs, from
# scratch on a fresh machine, then runs it. Under CI=true no test may skip, so every
# real component (torchrun, DeepSpeed, SLURM, sshd + pdsh, shellcheck) must be here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(slurm-wlm munge shellcheck openssh-server pdsh)
missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "ok installed" || missing+=("${package}")
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "ci/test.sh: missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi

VENV="${VENV:-.venv}"
[[ -x "${VENV}/bin/python" ]] || python3 -m venv "${VENV}"
# torch first and pinned: any other spec pulls GBs of CUDA wheels, and DeepSpeed
# builds against the torch it finds.
"${VENV}/bin/python" -m pip install -q --upgrade pip
"${VENV}/bin/python" -m pip install -q torch==2.13.0
"${VENV}/bin/python" -m pip install -q -e ".[runtime,dev]"
# DeepSpeed's CPU ops compile on first load (minutes of g++ on a fresh machine): build
# them now, beside the installs below, rather than inside the first test that starts
# DeepSpeed while the other workers wait on its build lock.
# With the venv's bin first, as the tests run: torch builds with the first `ninja` on PATH,
# and a build logged by another ninja (a system ninja-build: 1.11 here, the venv's 1.13)
# is not trusted by the next one, which compiles everything again mid-suite.
ops_log="$(mktemp)"
PATH="${PWD}/${VENV}/bin:${PATH}" "${VENV}/bin/python" ci/build_deepspeed_ops.py >"${ops_log}" 2>&1 &
ops_pid=$!
# CogVideoX's own requirements (its sat/requirements.txt) and what its T5 embedder imports.
if [[ -n "${SATC_COGVIDEO_SAT:-}" && -f "${SATC_COGVIDEO_SAT}/requirements.txt" ]]; then
  "${VENV}/bin/python" -m pip install -q -r "${SATC_COGVIDEO_SAT}/requirements.txt" \
    "transformers>=4.44" sentencepiece einops imageio
fi
# CogVideoX's data_video.py imports torchvision's transforms and video IO (gone after
# 0.24), and the test clips are written with PyAV. PyPI's torchvision wheels are CUDA
# builds that break `import transformers` on CPU torch, so they go beside the venv, on
# the path of the CogVideoX test processes only (tests/cogvideox_harness.py).
"${VENV}/bin/python" -m pip install -q --no-deps --upgrade --target "${VENV}/cogvideox-extra" \
  torchvision==0.24.1 av==18.1.0
export PATH="${PWD}/${VENV}/bin:${PATH}"

slurm_started=""
if [[ -x ci/slurm/start.sh ]] && command -v slurmctld >/dev/null; then
  bash ci/slurm/start.sh
  slurm_started=1
fi

if ! wait "${ops_pid}"; then
  # Not fatal here: each test that needs an op loads it again and fails with the error.
  echo "ci/test.sh: building DeepSpeed's ops failed:" >&2
fi
grep -v "^\s*$" "${ops_log}" | tail -n 5 >&2 || true
rm -f "${ops_log}"

status=0
# Test files run in parallel (xdist, a file per worker): most of the time goes to real
# ranks, SLURM's requeue hold and DeepSpeed start-up, which wait more than they compute.
# Files start slowest first (tests/slow_first.py orders the collection, which
# --no-loadscope-reorder keeps), so no long file starts after the queue has run dry.
"${VENV}/bin/python" -m pytest tests -n "${SATC_TEST_WORKERS:-3}" --dist loadfile --no-loadscope-reorder \
  "$@" || status=$?
if [[ -n "${slurm_started}" ]]; then
  # Left running on purpose: the next `make test` reuses the cluster in ~0.03 s.
  echo "ci/test.sh: the test SLURM cluster (slurmctld, slurmd, munged) is still running;" \
    "stop it with: bash ci/slurm/stop.sh --all" >&2
fi
exit "${status}"
