"""Redraw the rule graphs of docs/architecture.md from the workflow itself, one per protocol.

    python docs/architecture/rulegraph.py      # from anywhere, in the project's environment, with graphviz's dot

For each protocol's embedded default config it runs ``snakemake --rulegraph`` and writes the DOT text to
``rulegraph_<protocol>.dot`` beside this script, then renders it to ``rulegraph_<protocol>.svg`` with ``dot``. The
DOT is Snakemake's, with two changes: the default target ``all`` is left out (every rule feeds it, which hides the
stages), and the edges are sorted (Snakemake prints them in an order that changes from run to run).
tests/test_architecture.py compares the .dot files with the workflow and names this script when they differ.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Each protocol's embedded default: the config a new contributor runs first.
CONFIGS = {"tribe": "config/config.yaml", "selfplay": "config/selfplay.yaml", "debate": "config/debate.yaml"}
NODE = re.compile(r'^\s*(\d+)\[label = "([^"]+)"')
EDGE = re.compile(r"^\s*(\d+) -> (\d+)\s*$")


def snakemake_rulegraph(config: str) -> str:
    """Snakemake's rule graph of ``config`` (a path relative to the repository), as DOT text."""
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(REPO / "Snakefile"),
                "--rulegraph",
                "--configfile",
                str(REPO / config),
            ],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"snakemake --rulegraph --configfile {config} failed:\n{done.stderr}")
    return done.stdout


def drawn(dot: str, protocol: str, config: str) -> str:
    """``dot`` without the default target and with its edges sorted, titled with the protocol and its config."""
    lines = dot.strip().splitlines()
    target = next(m[1] for line in lines if (m := NODE.match(line)) and m[2] == "all")
    header, nodes, edges = [], [], []
    for line in lines[1:-1]:
        if node := NODE.match(line):
            if node[1] != target:
                nodes.append(line.rstrip())
        elif edge := EDGE.match(line):
            if target not in (edge[1], edge[2]):
                edges.append((int(edge[1]), int(edge[2])))
        else:
            header.append(line.rstrip())
    title = f'    graph[label="protocol {protocol}: the rule graph of {config}", labelloc=t, fontname=sans];'
    body = [*header, title, *nodes, *(f"\t{a} -> {b}" for a, b in sorted(edges))]
    return "\n".join([lines[0], *body, "}"]) + "\n"


def main() -> None:
    if shutil.which("dot") is None:
        raise SystemExit("graphviz's dot is not on PATH (Debian: apt-get install graphviz)")
    for protocol, config in CONFIGS.items():
        dot_path = HERE / f"rulegraph_{protocol}.dot"
        dot_path.write_text(drawn(snakemake_rulegraph(config), protocol, config))
        svg = subprocess.run(["dot", "-Tsvg", str(dot_path)], capture_output=True, text=True, check=True).stdout
        dot_path.with_suffix(".svg").write_text(svg)
        print(f"wrote {dot_path.relative_to(REPO)} and {dot_path.with_suffix('.svg').name}")


if __name__ == "__main__":
    main()
