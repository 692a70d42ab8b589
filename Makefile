# The two quickstart commands (README): `make example` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: example test bench schema model-schema

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

# Regenerate schemas/satc.schema.json from the installed SAT / DeepSpeed / CogVideoX parsers.
schema:
	$(PY) tools/gen_schema.py

# Regenerate schemas/models.json from CogVideoX's sat/ folder and the installed SAT:
# make model-schema SATC_COGVIDEO_SAT=/path/to/CogVideo/sat
model-schema:
	$(PY) tools/model_schema.py $(SATC_COGVIDEO_SAT)
