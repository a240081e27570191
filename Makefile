# Hearth's build. GNU make; `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
FUZZTIME ?= 4s
BUILD    := build
# The fyne tool, pinned; `go run` fetches and caches it on first use.
FYNE     ?= $(GO) run fyne.io/tools/cmd/fyne@v1.7.4
# Fyne reads the language from LANG; give it one it can parse.
FYNE_ENV := LANG=en_US.UTF-8
# Build tags of the desktop app. no_emoji leaves out Fyne's bundled colour
# emoji font (4 MiB): Fyne parses a copy of it for every text style it
# draws, about 20 MB of resident memory in all, though Hearth's own texts
# hold no emoji. Emoji in posts are drawn from the system's emoji font,
# which Fyne finds like any other fallback font, loaded once and only when
# one is on screen.
APP_TAGS := no_emoji

# Debian packages: the desktop app needs a C compiler and the OpenGL and X11
# headers (Fyne draws with OpenGL through GLFW, which is C).
DEBS         := gcc libgl1-mesa-dev xorg-dev
# Extra packages for taking screenshots of the app on a machine without a
# display: a virtual X server, its auth helper, input faking, and `import`.
SCREEN_DEBS  := xvfb xauth xdotool imagemagick

# The headless core must build without cgo: everything but the desktop app
# (cmd/hearth) and its Fyne views (app/ui). Patterns that do not exist yet
# are skipped.
NOCGO_PATTERNS := ./app/... ./crypto/... ./storage/... ./p2p/... ./cmd/hearthd

# One Debian package install step, used by deps and deps-screens: install
# whatever of $(1) is missing, with sudo only when not root.
define apt_install
	if ! command -v dpkg-query >/dev/null; then \
		echo "deps: not a Debian system; install these yourself if missing: $(1)"; \
		exit 0; \
	fi; \
	missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "deps: already installed: $(1)"; \
		exit 0; \
	fi; \
	sudo=""; \
	if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; fi; \
	echo "deps: installing$$missing"; \
	$$sudo apt-get update; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing
endef

.PHONY: help deps deps-screens build test soak nattest run package screenshots clean

help: ## list the targets
	@echo "Hearth: make <target>"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  \1\t/' | expand -t 16

deps: ## install the Debian packages needed to build the desktop app
	@$(call apt_install,$(DEBS))

deps-screens: deps ## also install what taking screenshots without a display needs (Xvfb, xdotool, ImageMagick)
	@$(call apt_install,$(SCREEN_DEBS))

build: ## build everything; check the headless core without cgo; binaries into build/
	$(GO) build ./...
	@patterns=""; \
	for p in $(NOCGO_PATTERNS); do \
		if [ -e "$${p%/...}" ]; then patterns="$$patterns $$p"; fi; \
	done; \
	pkgs=$$($(GO) list -e -f '{{if .GoFiles}}{{.ImportPath}}{{end}}' $$patterns 2>/dev/null | grep -v '/app/ui\(/\|$$\)' || true); \
	if [ -n "$$pkgs" ]; then \
		echo "CGO_ENABLED=0 $(GO) build <$$(echo $$pkgs | wc -w) headless packages>"; \
		CGO_ENABLED=0 $(GO) build $$pkgs; \
	fi
	@mkdir -p $(BUILD)
	$(GO) build -tags '$(APP_TAGS)' -o $(BUILD)/hearth ./cmd/hearth
	@if compgen -G 'cmd/hearthd/*.go' >/dev/null; then \
		echo "CGO_ENABLED=0 $(GO) build -o $(BUILD)/hearthd ./cmd/hearthd"; \
		CGO_ENABLED=0 $(GO) build -o $(BUILD)/hearthd ./cmd/hearthd; \
	fi

test: deps ## vet, build, run all tests with the race detector, then fuzz every target for FUZZTIME (default 4s)
	$(GO) vet ./...
	@$(MAKE) --no-print-directory build
	$(FYNE_ENV) $(GO) test -race -count=1 ./...
	@$(FYNE_ENV) GO="$(GO)" scripts/fuzz.sh "$(FUZZTIME)"
	@echo "make test: passed: go vet, build (with and without cgo), race tests of $$($(GO) list ./... | wc -l) packages, fuzzing"

# How long `make soak` may run its long fault scenarios, and the hard stop
# of the whole test binary (the last round may overrun SOAK).
SOAK         ?= 10m
SOAK_TIMEOUT ?= 45m

soak: ## run the long fault scenarios (build tag soak) for about SOAK (default 10m); not part of test or CI
	@mkdir -p $(BUILD)
	@echo "soak: up to $(SOAK) of fault scenarios (SIGKILL mid-burst, partitions), stopped at $(SOAK_TIMEOUT)"
	@start=$$(date +%s); \
	SOAK="$(SOAK)" $(GO) test -tags soak -count=1 -timeout $(SOAK_TIMEOUT) -run '^TestSoak' -v ./cmd/hearthd \
		> $(BUILD)/soak.log 2>&1 || true; \
	echo "soak: summary after $$(( $$(date +%s) - start ))s:"; \
	grep -E '^\s*--- (PASS|FAIL)|soak: [0-9]+ rounds|killed holding' $(BUILD)/soak.log || true; \
	if ! tail -n 5 $(BUILD)/soak.log | grep -q '^ok'; then echo "soak: FAILED (log: $(BUILD)/soak.log)"; exit 1; fi; \
	echo "soak: passed (log: $(BUILD)/soak.log)"

nattest: ## as root: NATed homes, a mailbox and real hearthd processes in network namespaces (198.18.0.0/15); skips, saying why, otherwise
	@GO="$(GO)" scripts/nattest.sh

run: deps ## build and start the desktop app (pass flags with ARGS="--home /tmp/h")
	$(FYNE_ENV) $(GO) run -tags '$(APP_TAGS)' ./cmd/hearth $(ARGS)

# The fyne tool reads FyneApp.toml from the folder it packages, and writes
# it back with Build incremented; when it builds the binary itself it also
# drops a generated file into the main package. To leave the source tree
# alone, the binary is built here and the tool packages it from a staging
# folder holding a copy of the root FyneApp.toml. The folder's name starts
# with "_" so that `go build ./...` never looks inside; the tool only insists
# that it holds some .go file.
PKG_STAGE := $(BUILD)/_package

package: deps ## build build/Hearth.tar.xz, a Linux package (binary, .desktop file, icon), with the fyne tool
	@rm -rf $(PKG_STAGE) && mkdir -p $(PKG_STAGE)
	$(GO) build -trimpath -tags '$(APP_TAGS)' -ldflags='-s -w' -o $(PKG_STAGE)/hearth ./cmd/hearth
	@cp FyneApp.toml $(PKG_STAGE)/FyneApp.toml
	@echo 'package main' > $(PKG_STAGE)/_staging.go
	cd $(BUILD) && $(FYNE) package --target linux --src "$(CURDIR)/$(PKG_STAGE)" \
		--executable "$(CURDIR)/$(PKG_STAGE)/hearth" --icon "$(CURDIR)/assets/icon.png"
	@rm -rf $(PKG_STAGE)
	@ls -l $(BUILD)/*.tar.xz

screenshots: deps-screens build ## run the real app under Xvfb on a demo circle (two hearthd members on loopback) and write PNGs into build/screenshots/
	$(FYNE_ENV) scripts/screenshots.sh

clean: ## remove build/
	rm -rf $(BUILD)
