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
