"""Which way imports go: app -> sync, never back; the sandbox portal (a demo EHR and test double) is imported only
by the demo feature, inside the function that starts it, so the client library and the app never load it; inside
sync, the parts stack one way (fhir under smart and pull, the share codec under the rest of share); and the record
has one door: nothing outside app/record touches Record's private API or holds SQL text."""

from __future__ import annotations

import ast
import json
import re
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
# The app's UI (app/ui/__init__.py): main → root (the router) → screens (components) → hooks, state, session, paths,
# widgets → app.views. Only the package's entry point imports the root; a screen never imports the root or another
# screen's module (what two screens share is in screens/common.py or the modules below the screens); the layers
# below the screens never import a screen; and nothing hides an import in a function or behind TYPE_CHECKING.
_UI_BELOW_SCREENS = ("hooks", "state", "session", "paths", "widgets", "theme", "appearance", "context", "uploads",
                     "chart", "syncing")  # fmt: skip


def test_the_ui_imports_one_way() -> None:
    found = _all_imports("app/ui")
    assert found, "the scan found no imports"
    root_users = {i.file for i in found if _is(i.module, "app.ui.root")}
    assert root_users == {"app/ui/__init__.py"}
    screens = [i for i in found if i.file.startswith("app/ui/screens/")]
    assert screens, "the scan found no screens"
    shared = ("app.ui.screens.common", "app.ui.screens.entry")
    for use in screens:
        own = "app.ui.screens." + Path(use.file).stem
        if _is(use.module, "app.ui.screens") and use.module not in ("app.ui.screens",):
            assert _is(use.module, own) or any(_is(use.module, s) for s in shared), use
    for name in _UI_BELOW_SCREENS:
        below = [i for i in found if i.file == f"app/ui/{name}.py"]
        assert [i for i in below if _is(i.module, "app.ui.screens") or _is(i.module, "app.ui.root")] == [], name
    # (the entry point loads the component tree when the first session starts, not when the server imports it)
    late = [i for i in found if i.where and _is(i.module, "app.ui") and (i.file, i.where) != ("app/ui/__init__.py",
                                                                                                "make_main")]
    assert late == [], "an import of the UI hidden in a function"
    for path in sorted((ROOT / "app/ui").rglob("*.py")):
        assert "TYPE_CHECKING" not in path.read_text(encoding="utf-8"), path


# --- one door into the record ------------------------------------------------------------------------------------
# Outside app/record, the record is read and written through its public API (Record's public methods and the named
# functions of app/record): no private method or attribute of Record, no private name of app/record, no SQL.

RECORD = "app/record"
_SQL_TEXT = re.compile(
    r"\bSELECT\b[\s\S]*?\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bPRAGMA\s+\w+|\bCREATE\s+(?:TEMP\s+|VIRTUAL\s+|UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\b"
    r"|\bSELECT\s+(?:total_changes|changes|last_insert_rowid|count|max|min|1)\b"
    # and pieces of a where-clause over a table alias (`r.valid = 0`, `r.rowid IN (`, `r.removed_at IS NULL`)
    r"|\b[a-z]\.[a-z_]+\s*(?:=|!=|<>|<=|>=|<|>|\bIN\b|\bIS\b|\bNOT\b|\bLIKE\b)"
)


def _record_private_names() -> set[str]:
    """Every private member of Record: its methods, class attributes, and the attributes its methods set on self."""
    tree = ast.parse((ROOT / RECORD / "store.py").read_text(encoding="utf-8"))
    (record,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Record"]
    names: set[str] = set()
    for node in ast.walk(record):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.endswith("__")}


def _python_files(*roots: str) -> list[Path]:
    return [path for root in roots for path in sorted((ROOT / root).rglob("*.py"))]


def _outside_record(paths: list[Path]) -> list[Path]:
    return [p for p in paths if not p.relative_to(ROOT).as_posix().startswith(RECORD + "/")]


def _private_uses(path: Path, private: set[str]) -> list[str]:
    """`x._name` for a private name of Record (on anything but self/cls: other classes' own `self._lock` is
    theirs), and private names imported from app.record."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{where}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.record"):
            found.extend(f"{where}:{node.lineno}: {alias.name}" for alias in node.names if alias.name.startswith("_"))
    return found


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Every string literal (an f-string with its holes as `?`), docstrings left out (prose may name SQL)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inside_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(str(v.value) if isinstance(v, ast.Constant) else "?" for v in node.values)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and id(node) not in inside_fstrings
        ):
            yield node.lineno, node.value


def _sql_texts(path: Path) -> list[str]:
    where = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{where}:{line}: {text[:60]!r}" for line, text in _strings(tree) if _SQL_TEXT.search(text)]


def test_nothing_outside_the_record_uses_its_private_api() -> None:
    private = _record_private_names()
    assert {"_query", "_transaction", "_conn", "_db", "_upsert", "_audit_in"} <= private
    # The scan sees a private use where one is (the record's own import module stores through Record._upsert).
    assert _private_uses(ROOT / RECORD / "imports.py", private), "the scan no longer sees private uses"
    found = [use for path in _outside_record(_python_files("app", "sync")) for use in _private_uses(path, private)]
    assert found == []


def test_sql_lives_in_the_record() -> None:
    # The scan finds the statements where they are (the store's own SQL, its f-strings included).
    assert len(_sql_texts(ROOT / RECORD / "store.py")) >= 20, "the scan no longer sees SQL text"
    found = [text for path in _outside_record(_python_files("app")) for text in _sql_texts(path)]
    assert found == []
