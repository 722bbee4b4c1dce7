# rc-fastlane harness: `just --list` explains every recipe.

venv := ".venv"
py := venv + "/bin/python"

# Create the virtual environment and install the project with its dev tools.
install:
    python3 -m venv {{venv}}
    {{py}} -m pip install -q --upgrade pip
    {{py}} -m pip install -q -e '.[dev]'

# Run the whole test suite.
test *ARGS:
    {{py}} -m pytest {{ARGS}}

# Lint and type-check.
lint:
    {{venv}}/bin/ruff check .
    {{venv}}/bin/ruff format --check .
    {{venv}}/bin/mypy

# Format the code.
fmt:
    {{venv}}/bin/ruff format .
    {{venv}}/bin/ruff check --fix .

# Regenerate rc_protocol/proto/remoteconfig_pb2.py and .pyi from remoteconfig.proto (commit them).
proto:
    {{py}} -m grpc_tools.protoc -I rc_protocol/proto --python_out=rc_protocol/proto --pyi_out=rc_protocol/proto rc_protocol/proto/remoteconfig.proto
