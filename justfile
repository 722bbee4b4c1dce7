# rc-fastlane harness: `just --list` explains every recipe.

venv := ".venv"
py := venv + "/bin/python"

# Create the virtual environment and install the project with its dev tools.
install:
    python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    {{py}} -m pip install -q -e '.[dev]'

# Run the whole test suite (what CI runs); extra arguments go to pytest, e.g. `just test -x`.
test *ARGS:
    {{py}} -m pytest {{ARGS}}

# Run the tests without the end-to-end and Docker ones (fakes only, no real services).
unit *ARGS:
    {{py}} -m pytest -m "not e2e and not docker" {{ARGS}}

# Run the harness's end-to-end tests (real services as local processes, 10-20 tracers).
e2e *ARGS:
    {{py}} -m pytest -m e2e tests/harness {{ARGS}}

# One load test: `just run` boots 100 tracers with the baseline; any `harness run` option works.
run *ARGS:
    {{venv}}/bin/harness run {{ARGS}}

# Benchmarks: every script under benchmarks/, then the harness floor (instant, 100 tracers).
bench:
    for f in benchmarks/*.py; do echo "== $f"; {{py}} "$f"; done
    {{venv}}/bin/harness run --tracers 100 --scenario instant --runtime local

# Fuzz the agent, the backend and its admin API with hypothesis (real processes; 10,000 requests each by default, CI runs 300).
fuzz examples="10000":
    {{py}} benchmarks/fuzz_services.py --examples {{examples}}

# Lint, type-check, and check the import contracts (layers, no cycles; pyproject.toml).
lint:
    {{venv}}/bin/ruff check .
    {{venv}}/bin/ruff format --check .
    {{venv}}/bin/mypy
    {{venv}}/bin/lint-imports

# Format the code.
fmt:
    {{venv}}/bin/ruff format .
    {{venv}}/bin/ruff check --fix .

# Regenerate rc_protocol/proto/remoteconfig_pb2.py and .pyi from remoteconfig.proto (commit them).
proto:
    {{py}} -m grpc_tools.protoc -I rc_protocol/proto --python_out=rc_protocol/proto --pyi_out=rc_protocol/proto rc_protocol/proto/remoteconfig.proto

# Regenerate dashboards/*.json from their typed Python in dashboards/ (commit them); `--check` only compares.
dashboards *ARGS:
    {{py}} dashboards/build.py {{ARGS}}

# Nightly regression job, as CI's nightly workflow runs it: Docker engine, images, compare with thresholds.
nightly tracers="100" repeat="3" out="results/nightly":
    #!/usr/bin/env bash
    # Starts a Docker engine if none answers, builds the images, then compares the four phases
    # on the docker runtime with the thresholds (exit 99 on a breach). Replaces OUT and writes
    # compare.json, report.html and junit.xml there.
    set -euo pipefail
    bash compose/start-dockerd.sh
    base="${HARNESS_BASE_IMAGE:-rc-fastlane-base:bookworm}"
    if ! docker image inspect "$base" >/dev/null 2>&1; then
        case "$base" in
            rc-fastlane-base*)
                command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
                {{venv}}/bin/harness image bootstrap-base --tag "$base" ;;
            *) docker pull "$base" ;;  # a registry image (CI on GitHub: python:3.11-slim)
        esac
    fi
    {{venv}}/bin/harness image build --base-image "$base"
    rm -rf "{{out}}"
    {{venv}}/bin/harness compare --tracers "{{tracers}}" --repeat "{{repeat}}" \
        --runtime docker --scenarios baseline,phase1,phase2,phase3 \
        --threshold 'phase3: provider_ready.p99 < 1s' \
        --threshold 'phase3: success_ratio >= 1' \
        --threshold 'counts.crashed == 0' \
        --out "{{out}}" --junit "{{out}}/junit.xml"
