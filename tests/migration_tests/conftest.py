"""Migration tests: each module tests one migration that writes or guards data, with
tests/migrations_helper.py (read its docstring before adding one). Not named
`migrations`: ruff skips folders of that name (pyproject extend-exclude).
"""

from tests.migrations_helper import migration_test  # noqa: F401  (the fixture)
