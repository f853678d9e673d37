"""The package arrows of docs/architecture.md: every import of every module points down, never up."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What each package may import (besides itself, the standard library and third-party packages).
ALLOWED: dict[str, set[str]] = {
    "gateway.core": set(),
    "gateway.formatter": {"gateway.core"},
    "gateway.config": {"gateway.core"},
    "gateway.codec": {"gateway.core"},
    "gateway.stats": {"gateway.core"},
    "gateway.tracing": {"gateway.core"},
    "gateway.net": {"gateway.core", "gateway.codec"},
    "gateway.upstream": {"gateway.core", "gateway.codec", "gateway.net", "gateway.stats", "gateway.config"},
    "gateway.accesslog": {"gateway.core", "gateway.formatter", "gateway.config", "gateway.stats"},
    "gateway.filters.api": {"gateway.core"},
    "gateway.filters.registry": {
        "gateway.core",
        "gateway.config",
        "gateway.filters",
        "gateway.stats",
        "gateway.upstream",
        "abi",
    },
    "gateway.filters.router": {
        "gateway.core",
        "gateway.filters.api",
        "gateway.upstream",
        "gateway.stats",
        "gateway.formatter",
        "gateway.config",
        "gateway.tracing",
    },
    "gateway.filters.wasm": {
        "gateway.core",
        "gateway.filters.api",
        "gateway.stats",
        "gateway.config",
        "gateway.upstream",
        "abi",
    },
    "gateway.http": {
        "gateway.core",
        "gateway.codec",
        "gateway.filters.api",
        "gateway.stats",
        "gateway.tracing",
        "gateway.formatter",
    },
    "gateway.admin": {
        "gateway.core",
        "gateway.codec",
        "gateway.net",
        "gateway.stats",
        "gateway.config",
        "gateway.upstream",
        "gateway.formatter",
        "gateway.accesslog",
    },
    "gateway.devtools": {"gateway.core", "gateway.codec"},
    "gateway.server": {"gateway", "abi"},
    "gateway.cli": {"gateway"},
    "gateway.__main__": {"gateway"},
    "gateway.plugin_cli": {"gateway", "abi"},
    "gateway": set(),
    "gateway.filters": {"gateway.core"},
    "abi": set(),
}


def _package_of(module: str) -> str:
    """The most specific key of ALLOWED that owns ``module``."""
    best = ""
    for key in ALLOWED:
        if (module == key or module.startswith(key + ".")) and len(key) > len(best):
            best = key
    return best


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(target)
    return found


def _ours(name: str) -> bool:
    return name in ("gateway", "abi") or name.startswith(("gateway.", "abi."))


def find_violations(root: Path) -> list[str]:
    violations: list[str] = []
    for top in ("gateway", "abi"):
        for path in sorted((root / top).rglob("*.py")):
            module = _module_name(path, root)
            owner = _package_of(module)
            if not owner:
                violations.append(f"{module} belongs to no package of the layering table")
                continue
            allowed = ALLOWED[owner] | {owner}
            for target in _imports(path, module):
                if not _ours(target):
                    continue
                if owner == "abi" and target.startswith("gateway"):
                    violations.append(f"{module} imports {target}: abi never imports gateway")
                elif not any(target == a or target.startswith(a + ".") for a in allowed):
                    violations.append(f"{module} ({owner}) imports {target}")
    return violations


def test_every_import_points_down() -> None:
    violations = find_violations(ROOT)
    assert not violations, "imports pointing up:\n" + "\n".join(violations)


def test_an_upward_import_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gateway" / "codec").mkdir(parents=True)
    (tmp_path / "abi").mkdir()
    (tmp_path / "gateway" / "codec" / "bad.py").write_text("from gateway.http.connection import HttpConnection\n")
    (tmp_path / "gateway" / "codec" / "good.py").write_text("from gateway.core.headers import HeaderMap\n")
    (tmp_path / "abi" / "leak.py").write_text("import gateway.stats\n")
    assert find_violations(tmp_path) == [
        "gateway.codec.bad (gateway.codec) imports gateway.http.connection",
        "abi.leak imports gateway.stats: abi never imports gateway",
    ]
