"""Each service's migration files sort in the order Alembic runs them, so a reader listing the folder reads the
schema's history from first to last (revision ids stay as they were: databases already stamped keep working)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.migrations import SERVICES

ROOT = Path(__file__).resolve().parents[3] / "services"


def _revisions(path: Path) -> tuple[str, str | None]:
    found: dict[str, str | None] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        named = isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        if named and node.target.id in ("revision", "down_revision"):
            found[node.target.id] = ast.literal_eval(node.value) if node.value else None
    return found["revision"], found["down_revision"]


@pytest.mark.parametrize("service", SERVICES)
def test_migration_files_sort_in_chain_order_with_unique_numbers(service):
    files = sorted((ROOT / service / "migrations" / "versions").glob("[0-9]*.py"))
    numbers = [f.name.split("_", 1)[0] for f in files]
    assert len(set(numbers)) == len(numbers), numbers
    previous = None
    for f in files:
        revision, down = _revisions(f)
        assert down == previous, (f.name, down, previous)
        previous = revision
