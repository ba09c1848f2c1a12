# Two commands on a fresh machine: `make run` (set-up + the main job) and `make test`.
# python3.11 where there is one, else python3 (pip refuses a Python older than 3.11).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_HOME := .kefu-run
# Keep model downloads impossible: kefu's default models ship inside their wheels.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install browser run serve test bench clean

install: $(VENV)/.installed browser

# Debian's Chromium (and CJK fonts for screenshots) for the browser tests; Playwright
# drives it, so no browser is downloaded. Skipped where it is installed or apt is absent;
# where installing fails (no root, no sudo, a snap-only chromium) set-up goes on and the
# browser tests report themselves skipped.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive sh -c \
	    'apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null' || \
	  echo "warning: could not install chromium at /usr/bin/chromium: the browser tests will be skipped"; fi

# torch is installed first and pinned: a bare `torch` requirement (pulled in by
# sentence-transformers) would otherwise fetch a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The data folder is kept from one run to the next (what an editor changed in the console
# stays): init --sample only adds what is missing. rm -rf .kefu-run starts afresh.
run: install
	$(BIN)/kefu --data-dir $(RUN_HOME) init --sample
	@for m in "亲，在吗？我想问下衣服洗了缩水还能退吗" "快递三天没动静了 咋回事" \
	          "請問寄到台灣運費怎麼算？" "買了兩天就降價了，可以退差價嗎" \
	          "发票可以开公司抬头吗" "今天天气怎么样"; do \
	  echo; echo "> $$m"; $(BIN)/kefu --data-dir $(RUN_HOME) search -k 3 "$$m"; done
	@for m in "你們客服回覆太慢了！！我要投訴" "发票怎么开？另外多久发货"; do \
	  echo; echo "> suggest: $$m"; $(BIN)/kefu --data-dir $(RUN_HOME) suggest "$$m"; done
	@echo; if $(BIN)/kefu --data-dir $(RUN_HOME) user list | cut -f1 | grep -qx editor; then \
	  echo "user editor exists: its password is the one printed when it was made" \
	       "(.venv/bin/kefu --data-dir $(RUN_HOME) user passwd editor sets a new one)"; \
	else $(BIN)/kefu --data-dir $(RUN_HOME) user add editor --role editor; fi
ifeq ($(SERVE),0)
	@echo "web panel and console: make serve, then open http://127.0.0.1:8000/ and log in as editor"
else
	@echo; echo "panel: http://127.0.0.1:8000/   console: http://127.0.0.1:8000/console"
	@echo "log in as editor; Ctrl-C stops the server (make run SERVE=0 skips it)"
	$(BIN)/kefu --data-dir $(RUN_HOME) serve
endif

# The panel (/), console (/console) and API (/api) over the data folder `make run` built
# (make run SERVE=0 stops before serving).
serve: install
	$(BIN)/kefu --data-dir $(RUN_HOME) serve

# The suite runs in parallel (pytest-xdist), one test file per worker at a time so a file's
# module fixtures (loaded models, built stores) are made once: ~6 instead of ~11 minutes on
# 2 cores. At most 4 workers: each loads the models. JOBS=1 runs it in one process.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

test: install
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile

bench: install
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/quality.py --dataset bench/sets/shuma
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/drafts.py
	$(BIN)/python bench/intents.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/learn.py --pairs 3000
	$(BIN)/python bench/gaps.py
	$(BIN)/python bench/panel.py

clean:
	rm -rf $(VENV) $(RUN_HOME) *.egg-info
