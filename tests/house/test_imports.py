"""Which way imports go: app -> sync, never back; the sandbox portal (a demo EHR and test double) is imported only
by the demo feature, inside the function that starts it, so the client library and the app never load it; inside
sync, the parts stack one way (fhir under smart and pull, the share codec under the rest of share)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "sync.sandbox"
# The demo feature: `carry sandbox` and the app's "Try the demo hospital".
DEMO_FEATURE = {
    ("app/cli.py", "cmd_sandbox"), ("app/ui/context.py", "DemoHospital.start"), ("app/ui/context.py", "DemoHospital.serve"),
}  # fmt: skip


@dataclass(frozen=True)
class Import:
    file: str  # relative to the checkout
    module: str  # absolute, relative imports resolved
    where: str  # the enclosing function ("Class.method"), "" at module level


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[Import]:
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    file = path.relative_to(ROOT).as_posix()

    def walk(node: ast.AST, scope: tuple[str, ...]) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                yield from (Import(file, alias.name, ".".join(scope)) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                yield Import(file, base, ".".join(scope))
                yield from (Import(file, f"{base}.{alias.name}", ".".join(scope)) for alias in child.names)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from walk(child, (*scope, child.name))
            else:
                yield from walk(child, scope)

    yield from walk(tree, ())


def _all_imports(package: str) -> list[Import]:
    return [i for path in sorted((ROOT / package).rglob("*.py")) for i in _imports(path)]


def _is(module: str, name: str) -> bool:
    return module == name or module.startswith(name + ".")


def test_sync_never_imports_app() -> None:
    found = _all_imports("sync")
    assert found, "the scan found no imports"
    assert [i for i in found if _is(i.module, "app")] == []


def test_only_the_demo_feature_imports_the_sandbox_and_only_when_it_runs() -> None:
    users = [i for i in _all_imports("app") + _all_imports("sync") if _is(i.module, SANDBOX)]
    outside = [i for i in users if not i.file.startswith("sync/sandbox/")]
    assert outside, "the scan no longer sees the demo feature's import"
    assert [i for i in outside if (i.file, i.where) not in DEMO_FEATURE] == []


def test_the_app_and_the_client_library_load_without_the_sandbox() -> None:
    # Every module of app and sync except the sandbox's own, imported in a fresh interpreter.
    modules = sorted(
        _module_name(path)
        for package in ("app", "sync")
        for path in (ROOT / package).rglob("*.py")
        if not _is(_module_name(path), SANDBOX) and path.name != "__main__.py"
    )
    probe = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m == {SANDBOX!r} or m.startswith({SANDBOX + '.'!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# Inside sync, the parts stack (README, Architecture): a part never imports one that stands on it.
LAYERS = {
    "sync/fhir": ("sync.pull", "sync.share", "sync.smart", "sync.importers", "sync.directory"),
    "sync/smart": ("sync.pull", "sync.share", "sync.importers", "sync.directory"),
    "sync/pull": ("sync.share", "sync.importers", "sync.directory"),
    "sync/share/codec": ("sync.share.summary", "sync.share.render", "sync.share.host", "sync.pull"),
    "sync/share/summary": ("sync.share.host", "sync.pull"),
    "sync/share/render": ("sync.share.host", "sync.pull"),
}


def test_the_parts_of_sync_stack_one_way() -> None:
    for part, above in LAYERS.items():
        found = _all_imports(part)
        assert found, part
        assert [i for i in found if any(_is(i.module, name) for name in above)] == [], part
