"""docs/architecture.md against the workflow: its rule graphs, its table of stages and rules, its list of a run's
files. A picture or a table that no longer matches the code fails here, naming what changed and how to fix it.

The rule graphs come from `snakemake --rulegraph` (about two seconds per protocol, no graphviz needed); the tables
are read from the page and compared with `agon.plan`.
"""

import ast
import re
from pathlib import Path

import pytest

from agon.config import load_config
from agon.plan import FILES, LOGS, Plan

from .testing_utils import REPO, SCHEMA_PATH, snakemake

PAGE = REPO / "docs" / "architecture.md"
PICTURES = REPO / "docs" / "architecture"
REGENERATE = "python docs/architecture/rulegraph.py (needs graphviz's dot), then commit the .dot and .svg files"
# Each protocol's embedded default, as docs/architecture/rulegraph.py draws it.
CONFIGS = {"tribe": "config/config.yaml", "selfplay": "config/selfplay.yaml", "debate": "config/debate.yaml"}
NODE = re.compile(r'^\s*(\d+)\[label = "([^"]+)"', re.MULTILINE)
EDGE = re.compile(r"^\s*(\d+) -> (\d+)\s*$", re.MULTILINE)
# The default target: every rule feeds it, so the pictures leave it out.
TARGET = "all"


def rule_graph(dot: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The rules and the edges between them of a DOT rule graph, by rule name: node numbers, colours and the
    order of the lines (which Snakemake varies from run to run) do not count."""
    names = dict(NODE.findall(dot))
    edges = {(names[a], names[b]) for a, b in EDGE.findall(dot)}
    return set(names.values()) - {TARGET}, {edge for edge in edges if TARGET not in edge}


def table(section: str) -> list[list[str]]:
    """The body rows of the first table under the page's heading ``## <section>``, as lists of cells."""
    text = PAGE.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    lines = [line for line in text[start:end].splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.mark.parametrize("protocol", list(CONFIGS))
def test_the_committed_rule_graph_is_the_workflows(protocol, tmp_path):
    done = snakemake("--rulegraph", "--configfile", REPO / CONFIGS[protocol], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rules, edges = rule_graph(done.stdout)
    dot_path = PICTURES / f"rulegraph_{protocol}.dot"
    assert dot_path.is_file(), f"{dot_path.relative_to(REPO)} is missing; regenerate: {REGENERATE}"
    drawn_rules, drawn_edges = rule_graph(dot_path.read_text())
    changes = [
        *(f"rule {r} is new" for r in sorted(rules - drawn_rules)),
        *(f"rule {r} is gone" for r in sorted(drawn_rules - rules)),
        *(f"edge {a} -> {b} is new" for a, b in sorted(edges - drawn_edges)),
        *(f"edge {a} -> {b} is gone" for a, b in sorted(drawn_edges - edges)),
    ]
    assert not changes, f"{dot_path.relative_to(REPO)} is stale: " + "; ".join(changes) + f". Regenerate: {REGENERATE}"


@pytest.mark.parametrize("protocol", list(CONFIGS))
def test_each_picture_shows_every_rule_of_its_graph(protocol):
    rules, _ = rule_graph((PICTURES / f"rulegraph_{protocol}.dot").read_text())
    svg = (PICTURES / f"rulegraph_{protocol}.svg").read_text()
    missing = sorted(rule for rule in rules if f">{rule}</text>" not in svg)
    assert not missing, f"rulegraph_{protocol}.svg lacks {missing}: it was not redrawn. Regenerate: {REGENERATE}"


def test_the_page_lists_every_file_of_a_run_at_its_path():
    listed = {quoted(row[0])[0]: quoted(row[1])[0] for row in table("The files of a run")}
    assert listed == FILES, (
        "docs/architecture.md, 'The files of a run', differs from agon.plan.FILES: "
        f"missing {sorted(FILES.keys() - listed.keys())}, not in FILES {sorted(listed.keys() - FILES.keys())}, "
        f"other path {sorted(k for k in FILES.keys() & listed.keys() if FILES[k] != listed[k])}"
    )


def plan_stages() -> dict[str, str]:
    """Every rule the plans of the shipped configs run, with its stage; one config adds an external judge."""
    configs = [load_config(REPO / path, SCHEMA_PATH) for path in CONFIGS.values()]
    external = load_config(REPO / CONFIGS["tribe"], SCHEMA_PATH)
    external["judging"]["judges"].append("rm")
    external["judging"]["external"]["rm"] = {"method": "reward_model", "model": "rm"}
    return {job.rule: job.stage for config in [*configs, external] for job in Plan.from_config(config).jobs()}


def test_the_page_lists_every_rule_under_its_stage():
    rows = table("Stages, rules and functions")
    stage_of = {quoted(row[1])[0]: row[0] for row in rows}
    assert set(stage_of) == set(LOGS), (
        "docs/architecture.md, 'Stages, rules and functions', differs from agon.plan.LOGS (every rule): "
        f"missing {sorted(LOGS.keys() - stage_of.keys())}, not a rule {sorted(stage_of.keys() - LOGS.keys())}"
    )
    wrong = {rule: (stage_of[rule], stage) for rule, stage in plan_stages().items() if stage_of[rule] != stage}
    assert not wrong, f"rules listed under another stage than the plan's (page, plan): {wrong}"
    files = {key for row in rows for key in quoted(row[5]) if key in FILES}
    assert files == FILES.keys(), f"FILES no rule of the page writes: {sorted(FILES.keys() - files)}"


def defines(module: Path, name: str) -> bool:
    """Whether ``module`` defines or imports ``name`` at its top level (read, not imported: no torch to load)."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
            return True
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return True
    return False


def module_file(dotted: str) -> Path | None:
    base = REPO / "src" / Path(*dotted.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def test_every_script_and_function_of_the_stage_table_exists():
    rows = table("Stages, rules and functions")
    paths = [p for row in rows for cell in row[2:4] for p in quoted(cell) if "/" in p]
    missing = [p for p in paths if not (REPO / p).is_file()]
    assert not missing, f"files the stage table names that do not exist: {missing}"
    functions = [f for row in rows for f in quoted(row[4]) if f.startswith("agon.")]
    undefined = [
        f for f in functions if (m := module_file(f.rpartition(".")[0])) is None or not defines(m, f.rpartition(".")[2])
    ]
    assert not undefined, f"functions the stage table names that their module does not define: {undefined}"


def test_the_module_map_lists_every_module_of_the_package():
    listed = [quoted(row[0])[0] for row in table("The module map")]
    modules = {
        ".".join(path.relative_to(REPO / "src").with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "src" / "agon").rglob("*.py")
    } - {"agon"}
    assert set(listed) == modules, (
        f"docs/architecture.md, 'The module map': missing {sorted(modules - set(listed))}, "
        f"no such module {sorted(set(listed) - modules)}"
    )
