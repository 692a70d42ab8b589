"""The ``launch:`` section: topology and launcher, new in satc."""

from __future__ import annotations

from typing import Any

from satc.compiler.memory.gpus import GPU_GIB
from satc.compiler.rules.launch import RESERVED_ENV

# SLURM parses #SBATCH lines by its own rules (backslashes, '#'), so its values are
# whitelisted rather than quoted (RELIABILITY.md, "Scripts").
SBATCH_VALUE = r"^[A-Za-z0-9._:@%+=,/-]{1,128}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# Values that reach a script travel quoted, but control characters (newlines, ESC)
# would still corrupt logs and comments: refuse them.
NO_CONTROL = r"^[^\u0000-\u001f\u007f]*$"
# An entrypoint starting with '-' would be read as a launcher option (torchrun --help).
ENTRYPOINT = r"^[^-\u0000-\u001f\u007f][^\u0000-\u001f\u007f]*$"
HOST = r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$"


def _text(description: str, default: Any = None, pattern: str = NO_CONTROL) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "pattern": pattern, "description": description}
    if default is not None:
        schema["default"] = default
    return schema


def _count(description: str, default: int, maximum: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": maximum,
        "default": default,
        "description": description,
    }


def _sbatch(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": SBATCH_VALUE, "description": description}


# Extra #SBATCH options satc passes through (long names, `_` for `-` as in cpus_per_task).  Absent on purpose: those satc
# writes itself or has its own key for (nodes, ntasks*, cpus-per-task, gpus*, gres,
# job-name, partition, ...), and those that move the job away from its bundle (chdir).
EXTRA_SBATCH = {
    "begin": "--begin, e.g. now+1hour",
    "comment": "--comment",
    "contiguous": "--contiguous (flag)",
    "deadline": "--deadline",
    "dependency": "--dependency, e.g. afterok:1234",
    "distribution": "--distribution of the allocation, e.g. block",
    "error": "--error, e.g. logs/%x-%j.err",
    "exclude": "--exclude: nodes to avoid",
    "gpu_bind": "--gpu-bind, e.g. closest",
    "hint": "--hint, e.g. nomultithread",
    "licenses": "--licenses",
    "mail_type": "--mail-type, e.g. END,FAIL",
    "mail_user": "--mail-user",
    "mem_per_cpu": "--mem-per-cpu",
    "mem_per_gpu": "--mem-per-gpu",
    "network": "--network",
    "nice": "--nice",
    "no_requeue": "--no-requeue (flag)",
    "nodelist": "--nodelist: nodes to use",
    "open_mode": "--open-mode, append or truncate",
    "overcommit": "--overcommit (flag)",
    "requeue": "--requeue (flag)",
    "reservation": "--reservation",
    "signal": "--signal, e.g. B:USR1@300",
    "spread_job": "--spread-job (flag)",
    "switches": "--switches",
    "threads_per_core": "--threads-per-core",
    "tmp": "--tmp: scratch space per node",
    "wckey": "--wckey",
}
GRES_TYPE = r"^[A-Za-z0-9._-]{1,64}$"


def _extra(description: str) -> dict[str, Any]:
    if description.endswith("(flag)"):
        return {"type": "boolean", "description": description}
    return {
        "type": ["string", "integer", "boolean"],
        "pattern": SBATCH_VALUE,
        "minimum": 0,
        "description": description,
    }


def slurm_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "sbatch options (values are whitelisted, never quoted).",
        "properties": {
            "partition": _sbatch("--partition"),
            "time": _sbatch("--time, e.g. 04:00:00 or 2-00:00:00"),
            "account": _sbatch("--account"),
            "qos": _sbatch("--qos"),
            "job_name": _sbatch("--job-name (default: args.experiment_name when it fits)"),
            "output": _sbatch("--output, e.g. logs/%x-%j.out"),
            "constraint": _sbatch("--constraint"),
            "mem": _sbatch("--mem, e.g. 0 or 200G"),
            "cpus_per_task": _count("--cpus-per-task", 1, 1024),
            "exclusive": {"type": "boolean", "default": False, "description": "--exclusive"},
            "gpu_directive": {
                "enum": ["gpus-per-node", "gres"],
                "default": "gpus-per-node",
                "description": "How the GPUs are requested (device cuda): --gpus-per-node=N, or "
                "--gres=gpu:N (gpu:TYPE:N with gpu_type) for clusters that need gres.",
            },
            "gpu_type": {
                "type": "string",
                "pattern": GRES_TYPE,
                "description": "GPU type for --gres=gpu:TYPE:N, e.g. a100 (gpu_directive gres only).",
            },
            "resume_signal_s": {
                "type": "integer",
                "minimum": 1,
                "maximum": 86400,
                "description": "Seconds before the time limit SLURM signals every rank (--signal=USR1@N, "
                "with --requeue): the ranks checkpoint the step they finished and the job requeues "
                "itself; the requeued job resumes (rule C8). Give the save of a checkpoint time.",
            },
            "extra": {
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "description": "Other #SBATCH options, by their long name without dashes: "
                "{reservation: big, mail_type: END} (`_` for `-`). true writes a flag (--requeue), false omits it. "
                "Only these names are accepted, with whitelisted values.",
                "properties": {name: _extra(text) for name, text in sorted(EXTRA_SBATCH.items())},
            },
        },
    }


def build() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "description": "Topology and launcher of the job (satc).",
        "properties": {
            "target": {
                "enum": ["torchrun", "deepspeed", "slurm"],
                "default": "torchrun",
                "description": "Which launcher the generated launch.sh drives.",
            },
            "nodes": _count("Number of nodes (machines).", 1, 4096),
            "gpus_per_node": _count(
                "Ranks per node: GPUs with device cuda, worker processes with device cpu.", 1, 64
            ),
            "device": {
                "enum": ["cuda", "cpu"],
                "default": "cuda",
                "description": "cuda: one GPU per rank, NCCL. cpu: gloo, for tests and CI.",
            },
            "entrypoint": _text(
                "The training or sampling script each rank runs (relative to the directory "
                "launch.sh is started from). Default: train_video.py; sample_video.py in "
                "inference mode (rule E1).",
                "train_video.py",
                pattern=ENTRYPOINT,
            ),
            "entrypoint_args": {
                "type": "array",
                "items": _text("One argument, passed as a single argv entry."),
                "default": [],
                "description": "Arguments for the entrypoint (before any given to launch.sh).",
            },
            "master_addr": _text(
                "Rendezvous host (node 0). Single node: 127.0.0.1. SLURM: taken from the "
                "allocation when unset.",
                pattern=HOST,
            ),
            "master_port": {
                "type": ["integer", "null"],
                "minimum": 1024,
                "maximum": 65535,
                "default": None,
                "description": "Rendezvous port. Unset: a free port on one node, 29500 on several.",
            },
            "max_restarts": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "default": 0,
                "description": "torchrun --max-restarts.",
            },
            "resume": {
                "anyOf": [
                    {"enum": ["auto", "latest", "never"]},
                    {"type": "integer", "minimum": 1},
                    {"type": "string", "pattern": NO_CONTROL, "minLength": 1},
                ],
                "description": "Where a training run continues from (absent: auto). auto: the newest "
                "complete checkpoint of this experiment under args.save, else a fresh start (a "
                "torchrun restart or SLURM requeue continues); latest: the same, none is an error; "
                "never; an iteration N; or a run folder / iteration folder (rules C1-C7).",
            },
            "exact_resume": {
                "type": "boolean",
                "description": "Save the optimizer state and every RNG stream with each checkpoint and "
                "restore them on resume, so a resume on the same topology reproduces the losses bit "
                "for bit (rule C6). Absent: false.",
            },
            "rdzv_timeout": _count("Seconds to wait for all nodes to join (rendezvous).", 900, 86400),
            "init_timeout": _count(
                "Seconds init() waits for every rank (process group, collectives) before "
                "failing with a named error.",
                600,
                86400,
            ),
            "env": {
                "type": "object",
                "propertyNames": {"pattern": ENV_NAME},
                "properties": {
                    name: {"x-satc-reserved": f"{name} is set by satc: {reason}"}
                    for name, reason in sorted(RESERVED_ENV.items())
                },
                "additionalProperties": {
                    "type": ["string", "integer", "number", "boolean"],
                    "pattern": NO_CONTROL,
                },
                "default": {},
                "description": "Environment exported by the launch script (frozen: no secrets).",
            },
            "env_passthrough": {
                "type": "array",
                "items": {"type": "string", "pattern": ENV_NAME},
                "uniqueItems": True,
                "default": [],
                "description": "Names of variables that must be set at launch time (secrets such "
                "as WANDB_API_KEY); the script checks them, the bundle never stores their value.",
            },
            "args_from_env": {
                "type": "object",
                "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": {"type": "string", "pattern": ENV_NAME},
                "description": "Text arguments (per-user paths such as save, load, a data root) read "
                "from an environment variable at launch time: {save: CKPT_DIR}. The bundle records "
                "the name only; launch.sh refuses to start without it; satc.runtime fills the arg.",
            },
            "cuda_alloc_conf": _text("PYTORCH_CUDA_ALLOC_CONF for every rank."),
            "hosts": {
                "type": "array",
                "items": {"type": "string", "pattern": HOST},
                "minItems": 1,
                "description": "deepspeed target: hosts of the generated hostfile, one per node "
                "(default: localhost on one node).",
            },
            "force_multi": {
                "type": "boolean",
                "default": False,
                "description": "deepspeed target: start ranks through pdsh + ssh even on one node "
                "(deepspeed --force_multi). Several nodes always do.",
            },
            "ssh_port": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": 65535,
                "default": None,
                "description": "deepspeed target: ssh port of the hosts (deepspeed --ssh_port).",
            },
            "include": _text("deepspeed --include (e.g. localhost:0,1).", pattern=SBATCH_VALUE),
            "exclude": _text("deepspeed --exclude.", pattern=SBATCH_VALUE),
            "slurm": slurm_schema(),
            "global_batch_size": {
                "type": "integer",
                "minimum": 1,
                "description": "Samples per optimizer step over all ranks, kept for every topology: "
                "gradient_accumulation_steps = global_batch_size / (micro x data-parallel) (rule B1).",
            },
            "gpu": {
                "enum": sorted(GPU_GIB),
                "description": "The GPU model, for satc plan's memory verdict (or give launch.gpu_memory_gb).",
            },
            "gpu_memory_gb": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 4096,
                "description": "Memory of one GPU in GiB, as nvidia-smi reports it (overrides launch.gpu's).",
            },
        },
    }
