"""README.md's layout section matches the tree: every package of every service and every module of the kit is
listed where the README lists them, and every module it names exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "eligibility", "payments", "monitoring")
# A package's modules of the shape every package has (README's `services/<name>/` block).
SHAPE = {"__init__.py", "__main__.py", "endpoints.py", "service.py", "domain.py", "repository.py", "schemas.py"}


def _layout() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("Every service has the same") : readme.index("## The flow")]


def _listed(layout: str, name: str) -> bool:
    return re.search(rf"(?<![\w/.]){re.escape(name)}(?![\w])", layout) is not None


def test_every_package_and_module_of_the_services_is_listed() -> None:
    layout = _layout()
    missing = []
    for service in SERVICES:
        root = REPO / "services" / service
        for path in sorted(root.iterdir()):
            if path.name in {"migrations", "__pycache__", "__init__.py"}:
                continue
            if path.is_dir():
                if not _listed(layout, f"{path.name}/"):
                    missing.append(f"services/{service}/{path.name}/")
                missing += [
                    f"services/{service}/{path.name}/{m.name}"
                    for m in sorted(path.glob("*.py"))
                    if m.name not in SHAPE and not _listed(layout, m.name)
                ]
            elif path.suffix == ".py" and not _listed(layout, path.name):
                missing.append(f"services/{service}/{path.name}")
    assert not missing, f"add to the README's layout section: {missing}"


def test_every_module_of_the_kit_is_listed() -> None:
    layout = _layout()
    kit = [p for p in sorted((REPO / "shared").rglob("*.py")) if p.name != "__init__.py"]
    missing = [str(p.relative_to(REPO)) for p in kit if not _listed(layout, p.name)]
    assert not missing, f"add to the README's layout section: {missing}"


def test_every_module_the_layout_names_exists() -> None:
    named = set(re.findall(r"(?<![\w/.])([a-z_]+\.py)\b", _layout()))
    present = {p.name for top in ("services", "shared", "deploy", "bench", "tests") for p in (REPO / top).rglob("*.py")}
    assert named and not named - present, f"the README names modules that do not exist: {sorted(named - present)}"
