"""The search package's boundaries: no module uses another module's private names, both indexes
share one generation protocol, and the project keeps one stopword list, without duplicates."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from dailypapers.models import Author, Paper
from dailypapers.search import generations, phrases
from dailypapers.search.keyword import KeywordIndex, paper_matches
from dailypapers.search.query import parse_query
from dailypapers.search.vector_index import VectorIndex

SRC = Path(__file__).resolve().parents[1] / "src"


# ---------------------------------------------------------------------------------------------
# private names stay in their module


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_private_names(tree: ast.AST) -> set[str]:
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    names = {n.name for n in ast.walk(tree) if isinstance(n, defs) and _private(n.name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name) and _private(t.id)}
    return names


def private_uses(sources: dict[str, str]) -> list[str]:
    """`module:line what` for every use of another module's private name among `sources`
    (dotted module name -> code; a name ending in `.__init__`-less package counts as package):
    `from pkg.mod import _x`, `mod._x` on an imported module, and `obj._x` where `_x` is
    defined only in other modules (a private method called from outside its class's module)."""
    trees = {m: ast.parse(code) for m, code in sources.items()}
    defined = {m: _defined_private_names(t) for m, t in trees.items()}
    everywhere = set().union(*defined.values()) if defined else set()
    found = []
    for module, tree in trees.items():
        is_package = any(other.startswith(module + ".") for other in trees)
        aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _import_base(node, module, is_package)
                if not base.startswith("dailypapers"):
                    continue
                found += [f"{module}:{node.lineno} from {base} import {a.name}" for a in node.names if _private(a.name)]
                aliases |= {a.asname or a.name for a in node.names}
            elif isinstance(node, ast.Import):
                aliases |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.startswith("dailypapers")}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if owner in aliases or (owner not in ("self", "cls") and node.attr in everywhere - defined[module]):
                found.append(f"{module}:{node.lineno} {owner or '…'}.{node.attr}")
    return found


def package_sources() -> dict[str, str]:
    return {_module_name(p, SRC): p.read_text() for p in sorted((SRC / "dailypapers").rglob("*.py"))}


def test_the_checker_catches_each_kind_of_private_use():
    sources = {
        "dailypapers.search.keyword": "def _build_query(): ...\nclass KeywordIndex:\n    def _current(self): ...\n",
        "dailypapers.search.service": ("from dailypapers.search import keyword as kw\n"
                                       "from dailypapers.search.query import _category\n"
                                       "kw._build_query()\nindex._current()\nself._current()\n"),
        "dailypapers.search.query": "def _category(v): ...\n",
    }
    found = private_uses(sources)
    assert found == ["dailypapers.search.service:2 from dailypapers.search.query import _category",
                     "dailypapers.search.service:3 kw._build_query", "dailypapers.search.service:4 index._current"]


def test_no_module_uses_another_modules_private_names():
    assert private_uses(package_sources()) == []


# ---------------------------------------------------------------------------------------------
# one stopword list


def test_one_stopword_list_without_duplicates():
    words = phrases.ENGLISH_WORDS + phrases.ABSTRACT_WORDS
    assert len(words) == len(set(words)) == len(phrases.STOPWORDS)
    assert all(w == w.lower() and w.isalpha() for w in words)
    assert not phrases.FIELD_WORDS & phrases.STOPWORDS


def _literal_words(node: ast.AST) -> int:
    """How many words a literal holds: a set/list/tuple of strings, or one string (to be split)."""
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return sum(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return len(node.value.split())
    return 0


def stopword_lists(code: str) -> list[tuple[int, int]]:
    """(line, words) of each literal of more than 20 words assigned to a name with STOP in it."""
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Assign) and any("STOP" in getattr(t, "id", "") for t in node.targets):
            found += [(node.lineno, n) for n in map(_literal_words, ast.walk(node.value)) if n > 20]
    return found


def test_no_other_module_keeps_a_stopword_list_of_its_own():
    lists = {name: stopword_lists(code) for name, code in package_sources().items()}
    assert {name: found for name, found in lists.items() if found} == {}
    # (web/render/bibtex.py keeps its twelve title words: they shape BibTeX keys, not search)
    assert stopword_lists('_STOP = frozenset("""a b c d e f g h i j k l m n o p q r s t u v""".split())') == [(1, 22)]


def test_stopwords_are_written_one_group_per_line():
    code = (SRC / "dailypapers" / "search" / "phrases.py").read_text()
    assert max(len(line) for line in code.splitlines()) <= 120


def test_key_phrases_skip_stopwords():
    paper = Paper("2401.00001", "Energy-efficient attention",
                  "We propose sparse attention kernels. Sparse attention kernels reduce energy use on phones.")
    found = phrases.key_phrases(paper, None, k=3)
    assert found and found[0].lower() == "sparse attention kernels"
    assert not any(w.lower() in phrases.STOPWORDS for p in found for w in p.split())


# ---------------------------------------------------------------------------------------------
# one generation protocol


def papers(n: int) -> list[Paper]:
    return [Paper(f"2401.{i:05d}", f"Paper {i} on graphs", f"Abstract {i} about graph neural networks.",
                  [Author(f"Ada Example{i}")], published=dt.datetime(2024, 1, 1 + i % 28, tzinfo=dt.UTC),
                  primary_category="cs.LG", categories=["cs.LG"]) for i in range(1, n + 1)]


def test_both_indexes_keep_their_state_by_the_shared_protocol(tmp_path):
    keyword = KeywordIndex(tmp_path / "keyword")
    keyword.rebuild(papers(3), last_seq=7)
    keyword.rebuild(papers(4), last_seq=9)
    with VectorIndex(tmp_path / "vectors", 4, "toy-model") as vectors:
        vectors.add(["a", "b"], np.eye(4, dtype=np.float32)[:2])
        vectors.set_last_seq(5)
        vectors.save()
    for path, seq in ((tmp_path / "keyword", 9), (tmp_path / "vectors", 5)):
        state = generations.read_state(path)
        assert state["last_seq"] == seq and state["generation"].startswith(generations.GEN_PREFIX)
        assert (path / state["generation"]).is_dir() and (path / generations.LOCK).exists()
    kept = sorted(p.name for p in (tmp_path / "keyword").iterdir() if p.name.startswith(generations.GEN_PREFIX))
    assert len(kept) == 2  # the live generation and the one before it
    assert keyword.doc_count() == 4


def test_write_lock_excludes_a_second_holder(tmp_path):
    fh = generations.acquire_file_lock(tmp_path, timeout=0)
    try:
        with pytest.raises(generations.LockTimeout):
            generations.acquire_file_lock(tmp_path, timeout=0)
    finally:
        generations.release_file_lock(fh)
    generations.release_file_lock(generations.acquire_file_lock(tmp_path, timeout=0))


# ---------------------------------------------------------------------------------------------
# the keyword index's public API agrees with its Python rules


@pytest.mark.parametrize("text", ["graph", "graph 3", '"neural networks"', "author:Example2", "cat:cs", "cat:math",
                                  "from:2024-01-05 graphs", "zzzunknown"])
def test_matching_among_agrees_with_paper_matches(tmp_path, text):
    index = KeywordIndex(tmp_path / "keyword")
    indexed, later = papers(6), papers(8)[6:]
    index.add(indexed)
    pq = parse_query(text)
    ids = [p.arxiv_id for p in indexed + later]
    found, known = index.matching_among(pq, ids)
    assert known == {p.arxiv_id for p in indexed}
    assert found == {p.arxiv_id for p in indexed if paper_matches(p, pq)}
