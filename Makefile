# The two quickstart commands (README): `make example` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: example test bench bench-project bench-groups schema model-schema templates

# Compile the bundled CogVideoX example; needs only satc's light dependencies.
example: $(VENV)/.satc-core
	mkdir -p build
	$(VENV)/bin/satc compile examples/cogvideox/cogvideox_5b_lora.yaml \
	    examples/cogvideox/sft.yaml examples/cogvideox/cluster.yaml -o build/cogvideox-5b-lora

$(VENV)/.satc-core: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

# Everything the suite needs (Debian packages, torch, DeepSpeed, SAT, SLURM), then pytest.
test:
	bash ci/test.sh

bench:
	$(PY) benchmarks/bench.py

# satc's cold (project scan included) and repeat compile of CogVideoX, Tora and CogView3
# from their entrypoint folders, next to each project's own get_args (needs SATC_COGVIDEO_SAT).
bench-project:
	$(PY) benchmarks/bench_project.py

# Group setup: satc's members-only groups vs SAT's mpu on 2-16 CPU ranks, and the dry
# run's new_group calls per rank up to 4,096 ranks (needs SATC_COGVIDEO_SAT, see README).
bench-groups:
	$(PY) benchmarks/bench_groups.py

# Regenerate templates/*_sh.py (the launch templates' precompiled code) after editing a template.
templates:
	$(PY) tools/compile_templates.py

# Regenerate schemas/satc.schema.json: CogVideoX's arguments as the built-in profile
# (schemas/builtin_project.json, the reader's output on its sat/) holds them, and the
# installed DeepSpeed's config.
schema:
	$(PY) tools/gen_schema.py

# Regenerate schemas/models.json from CogVideoX's sat/ folder and the installed SAT:
# make model-schema SATC_COGVIDEO_SAT=/path/to/CogVideo/sat  (the built-in profile only: a project of your own is read where it is; see README, "Your own project / fork")
model-schema:
	$(PY) tools/model_schema.py $(SATC_COGVIDEO_SAT)
