"""The platform's public contract as one canonical JSON document: every service's OpenAPI and every event type of
the catalogue with its data schema. A refactoring must leave it byte for byte unchanged:

    python scripts/contract_snapshot.py > before.json      # on the commit before
    python scripts/contract_snapshot.py --check before.json # after: exit 1 and a summary of what differs

Importing the apps needs no database: it only builds them."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

SERVICES = ("intake", "eligibility", "payments", "monitoring")


def snapshot() -> dict[str, Any]:
    from shared.events.catalogue import CATALOGUE

    return {
        "openapi": {s: importlib.import_module(f"services.{s}.api").app.openapi() for s in SERVICES},
        "events": {
            t: {"topic": str(spec.topic), "data": spec.data.model_json_schema()}
            for t, spec in sorted(CATALOGUE.items())
        },
    }


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path}/{key}"
            if key not in after:
                found.append(f"removed {where}")
            elif key not in before:
                found.append(f"added {where}")
            else:
                found += _differences(before[key], after[key], where)
        return found
    return [] if before == after else [f"changed {path}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="BEFORE", help="compare with a snapshot taken earlier")
    args = parser.parse_args(argv)
    current = json.loads(json.dumps(snapshot(), sort_keys=True, ensure_ascii=False))
    if not args.check:
        json.dump(current, sys.stdout, sort_keys=True, ensure_ascii=False, indent=1)
        return 0
    with open(args.check, encoding="utf-8") as f:
        before = json.load(f)
    differences = _differences(before, current)
    for line in differences:
        print(line)
    print("contract unchanged" if not differences else f"{len(differences)} differences", file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
