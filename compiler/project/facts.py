"""What satc knows about the project it compiles for: plain, frozen, JSON-able data.

One place (``compiler.project.read``) reads a project's tree statically -- its
``arguments.py`` parser, the SAT it imports, DeepSpeed's config arguments, the sections
its ``process_config_to_args`` accepts, what its ``get_args`` does beyond parsing, and
every class a ``target:`` names -- into these records.  The stages and rules consume
them and never open project files themselves.  Every fact carries the ``source``
(``file:line``) it was read from, so a message can cite the code that decides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

FORMAT = "satc.project/1"


@dataclass(frozen=True)
class Argument:
    """One ``parser.add_argument`` the project's ``get_args`` ends up calling."""

    dest: str
    flags: tuple[str, ...]  # ("--model-parallel-size",)
    action: str  # store | store_true | store_false | store_const | append | count | other
    type: str | None  # int | float | str | bool | list | None (no type=) | "expr:<source>"
    nargs: str | int | None  # None, "?", "*", "+", or a count
    default: Any  # a JSON value (None when absent or not a literal)
    default_expr: str | None  # the default's source text when it is not a literal
    const: Any
    choices: tuple[Any, ...] | None
    help: str
    group: str  # the argument group's title, "" when added to the parser itself
    source: str  # "arguments.py:42" or "sat/arguments.py:120"


@dataclass(frozen=True)
class Section:
    """A top-level key of the merged YAML and what the project's code does with it."""

    name: str  # "args", "model", "data", "deepspeed", or a project's own ("second", ...)
    kind: (
        str  # "namespace": each key set on args (when hasattr) | "attribute": the subtree becomes args.<dest>
    )
    dest: str | None  # "model_config", "data_config", "deepspeed_config", ...; None for "namespace"
    converts: str  # "omegaconf" (stays a DictConfig) | "object" (OmegaConf.to_object) | "raw"
    source: str


@dataclass(frozen=True)
class GetArgs:
    """What the project's ``get_args`` does beyond parsing, as far as satc can tell."""

    source: str
    args_assignment: (
        str  # "hasattr": an args key the namespace lacks is dropped (CogVideoX) | "setattr" | "unknown"
    )
    seed_rule: str  # "data_parallel_rank" | "data_parallel_rank_unless_inference" | "global_rank" | "none" | "unknown"
    model_parallel: str  # "model_parallel_size" | "fixed:1" | "unknown": what initialize_model_parallel gets
    context_parallel: str  # "cogvideox" (mp<=2 -> the mp group, else 2) | "fixed:<n>" | "none" | "unknown"
    # {dest in model_config: {"from": "args.<name>" or literal text, "source": "file:line"}}
    injects_model_config: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # A second config stack (``--second``): {"flag": ..., "dest": ..., "source": ...} or None
    second_stack: Mapping[str, Any] | None = None
    # Statements satc cannot reproduce statically: "file:line: what it does"
    unsupported: tuple[str, ...] = ()
    # The ``if`` tests around those of them get_args runs only under a condition
    # ({statement: ["args.mode != 'inference'", "not (args.fsdp2)"]}): G1 is silent on a
    # launch where one is false.  None where there are none.
    unsupported_when: Mapping[str, tuple[str, ...]] | None = None
    # The arguments the launch-time ``mpu.initialize_model_parallel(...)`` call passes, as
    # source text in order (``("args.model_parallel_size", "args.sequence_parallel_size")``);
    # pair them with ``Sat.mpu_parameters``.
    mpu_call: tuple[str, ...] = ()
    # The project's code indexes args.base's files by position (layers.py): {"source":
    # "file:line", "args_keys": {key read from a layer's args: "file:line"}}; None otherwise.
    base_layers: Mapping[str, Any] | None = None
    # Entry scripts that call get_args a second time, with an argument list of their own
    # (a second config stack built in the entrypoint): {script: "script:line"}; None if none.
    entry_get_args: Mapping[str, str] | None = None
    # Entry scripts that write their own command line (``sys.argv = [...]``) before
    # get_args reads it: {script: "script:line"}; None if none.
    entry_argv: Mapping[str, str] | None = None
    # Files the loader merges over the --base files, named by an argument
    # ({"custom_config": "arguments.py:332"}); None when it merges none.
    merged_files: Mapping[str, str] | None = None
    # Where get_args dies (an unbound local) on mode inference with args.deepspeed true:
    # {"config" | "no_config": "arguments.py:145: override_deepspeed_config is unbound"},
    # by whether a DeepSpeed config is given; None where it dies on neither (unbound.py).
    deepspeed_inference: Mapping[str, str] | None = None
    # Args get_args computes from the world size: {"data_parallel_size": {"divisors":
    # ["model_parallel_size", "sequence_parallel_size"], "when_none": True (only where
    # the arg is None), "source": "arguments.py:192"}}; None where it computes none.
    world_division: Mapping[str, Mapping[str, Any]] | None = None
    # Where the loader sets every args key as given (args_assignment "setattr"): the
    # ``args.<name>`` the entry folder's scripts read that no argument declares
    # ({"save_total_limit": "train_video.py:150"}); None otherwise.
    undeclared_reads: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Sat:
    """The SAT the project will import."""

    where: str  # "vendored" | "installed" | "snapshot" (satc's bundled facts of the pinned SAT)
    path: str  # label: "modules/SwissArmyTransformer/sat" relative to the project, or the site folder
    version: str | None
    # The parallel dimensions its mpu.initialize_model_parallel creates, in rank order:
    # ("model", "data") for SAT 0.4; ("model", "sequence", "sequence_data", "data") where
    # a vendored mpu adds sequence parallelism (with "source" of the formula).
    mpu_dimensions: tuple[str, ...] = ("model", "data")
    mpu_source: str = ""
    # The parameter names of that initialize_model_parallel, in order
    # (("model_parallel_size_", "sequence_parallel_size_", ...)).
    mpu_parameters: tuple[str, ...] = ()
    # The args whose values size a device mesh this SAT builds, where, and the if tests
    # (source, taken) that lead there: {"data_parallel_size": [{"source", "when"}]}.
    mesh_reads: Mapping[str, Any] | None = None
    # Modules of a vendored SAT that an import run at start-up names and the copy does not
    # have, as (module, "file:line" of the import): the first import raises
    # ModuleNotFoundError before any config is read.  Imports of ``sat/__init__.py`` (every
    # ``import sat`` runs it) and module-level imports of the entry folder's scripts.
    missing: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Project:
    """Everything the compiler knows about the code that will run a config."""

    root: str | None  # absolute path of the entrypoint folder; None for the built-in profile
    origin: str  # "scanned" | "builtin" (no project found: satc's bundled CogVideoX profile)
    label: str  # how messages name the project
    arguments: Mapping[str, Argument]
    sections: Mapping[str, Section]
    get_args: GetArgs
    sat: Sat
    # In the format of the former schemas/models.json: the engine's `model:` keys and one
    # entry per target (params with defaults/required/source, open/swallows/flow,
    # children, namespaces, item_keys) plus "uses": {param: {"indexed": "file:line"}}.
    engine: Mapping[str, Any] | None
    targets: Mapping[str, Mapping[str, Any]]
    # Every file read, as (label, sha256): recorded in the bundle, re-hashed by `satc check`.
    files: tuple[tuple[str, str], ...]
    # Why a requested target has no entry in ``targets``: {"kind": ..., "detail": ...} with
    # kind "missing_module" (no such module in the project or its SAT: a typo),
    # "missing_name" (the module defines no such name), "external" (a package satc does not
    # read, or whose source is not on this machine: it cannot be judged here) or
    # "unreadable" (found, but satc cannot follow its code) or "broken" (its module's file
    # does not parse: importing it fails where it runs).
    unresolved: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    # The classes of each requested target's module, described or not (did-you-mean for a
    # target: a user switches a sampler or a position embedding to another class of the same
    # module).  Only the requested targets are described; one named later is added then.
    target_names: tuple[str, ...] = ()
    # The scripts in the entrypoint folder that call ``get_args`` (what a rank can start),
    # sorted; empty where unknown (the built-in profile).
    entrypoints: tuple[str, ...] = ()
    # Answers about one entry script's own code, read only when a rule asks (most launches
    # never do; reading them means following every import of the script), then kept with
    # the cached facts (entry_reads.py):
    #   "reads:<script>:<argument>"  the script, or a module of its folder it imports
    #                                 (transitively), may read the argument; None: unknown
    #   "sets:<script>:<argument>"   it sets the argument to a literal True itself before
    #                                 any project code runs
    #   "free:<script>"              it surely never samples (``.sample``) nor trains
    #                                 (``training_main``) (network_use.py)
    # A question absent here was not asked yet; the built-in profile answers none (unknown).
    entry_facts: Mapping[str, bool | None] = field(default_factory=lambda: MappingProxyType({}))
    # Which of ``files`` each part of the facts came from, so a bundle records the files
    # that judged its own config, whatever other compiles added to the cached facts: the
    # read every config uses (``base_files``), each target's description (``target_files``),
    # each entry question's answer (``entry_files``).  Empty ``base_files``: not known (an
    # older cache, the built-in profile), every file is recorded.
    # Project files that do not parse: {label: "label:line: message"} (Python fails to
    # import them where they run).
    broken: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    base_files: tuple[str, ...] = ()
    target_files: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    entry_files: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


# The reader's entry point (compiler/project/__init__.py):
#   read_project(root: str | None, targets: Iterable[str]) -> Project
# root None -> the built-in profile; ``targets`` are the dotted `target:` names the
# configs hold (the reader also describes their module siblings, for did-you-mean).
