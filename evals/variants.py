"""Generalisation variants: the bundled corpus reshaped the way users' own folders look.

Real folders have no manifest, hold several inspections of one force in one file, and
keep web pages saved with their site around them. Each variant rebuilds data/ in one of
those shapes; :func:`evaluate_variants` indexes it and scores the labelled questions
(their document ids mapped into the variant) next to the manifest corpus itself:

* ``manifest``: data/ as it is (the baseline the others are compared with);
* ``no-manifest``: the same files without ``manifest.toml``, so title, force, period and
  type are all inferred;
* ``multi-period``: the 2016 and 2018/19 PEEL reports pasted one after the other into a
  single plain-text file with no manifest entry, as a force's "all our inspections" page;
* ``html-news``: the 2018/19 web summary saved as an HTML news page (site navigation,
  cookie banner, breadcrumb, related links and footer around the article), no entry.

Each variant's index is seeded with the embedding cache of an existing index, so only
texts a variant changed (mostly heading paths) go through the model again.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from evals.labels import Query, RelevantPhrase
from ingest.metadata import MANIFEST_NAME
from ingest.pipeline import discover

VARIANTS = ("manifest", "no-manifest", "multi-period", "html-news")
BASELINE = "manifest"
TOLERANCE = 0.03  # how far hit@5 and MRR@10 may fall below the manifest corpus
COMPARED = ("hit_rate@5", "mrr@10")

REPORT_2016 = "essex-peel-2016-effectiveness"
REPORT_2018 = "essex-peel-2018-19-report"
WEB_SUMMARY = "essex-peel-2018-19-web-summary"
MULTI_PERIOD_ID = "essex-police-peel-inspections-2016-2019"


@dataclass(frozen=True)
class Variant:
    """A variant corpus folder; ``doc_ids`` maps a labelled document id to the variant's."""

    name: str
    folder: Path
    doc_ids: dict[str, str]


@dataclass(frozen=True)
class VariantScore:
    """One variant's hybrid scores and how far they are from the manifest corpus."""

    name: str
    documents: int
    chunks: int
    questions: int  # answerable questions whose labelled phrases fall inside a passage
    scores: dict[str, float]
    delta: dict[str, float]

    @property
    def within_tolerance(self) -> bool:
        return all(self.delta.get(m, 0.0) >= -TOLERANCE - 1e-9 for m in COMPARED)

    def to_dict(self) -> dict:
        return {"variant": self.name, "documents": self.documents, "chunks": self.chunks,
                "questions": self.questions, "scores": self.scores, "delta": self.delta, "within_tolerance": self.within_tolerance}


# --------------------------------------------------------------------------- building


def make_variant(name: str, data_dir: Path, out_dir: Path) -> Variant:
    """Write variant ``name`` of the corpus in ``data_dir`` to ``out_dir`` (created afresh)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}: choose from {', '.join(VARIANTS)}")
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    # the documents are what ingest would read there; the manifest travels beside them
    files = {p.name: p for p in discover([data_dir])[0]}
    by_stem = {p.stem: p for p in files.values()}
    doc_ids = {stem: stem for stem in by_stem}
    files[MANIFEST_NAME] = data_dir / MANIFEST_NAME

    def copy(names: Sequence[str]) -> None:
        for n in names:
            shutil.copy2(files[n], out_dir / n)

    def manifest_without(stems: set[str]) -> None:
        text = files[MANIFEST_NAME].read_text(encoding="utf-8")
        (out_dir / MANIFEST_NAME).write_text(_drop_entries(text, stems), encoding="utf-8")

    documents = [n for n in files if n != MANIFEST_NAME]
    if name == "manifest":
        copy(list(files))
    elif name == "no-manifest":
        copy(documents)
    elif name == "multi-period":
        first, second = by_stem[REPORT_2016], by_stem[REPORT_2018]
        copy([n for n in documents if files[n] not in (first, second)])
        manifest_without({REPORT_2016, REPORT_2018})
        (out_dir / f"{MULTI_PERIOD_ID}.txt").write_text(_multi_period_page(first, second), encoding="utf-8")
        doc_ids[REPORT_2016] = doc_ids[REPORT_2018] = MULTI_PERIOD_ID
    elif name == "html-news":
        summary = by_stem[WEB_SUMMARY]
        copy([n for n in documents if files[n] != summary])
        manifest_without({WEB_SUMMARY})
        page = _news_page("Essex PEEL 2018: how effectively does the force reduce crime and keep people safe?",
                          summary.read_text(encoding="utf-8"))
        (out_dir / f"{WEB_SUMMARY}.html").write_text(page, encoding="utf-8")
    return Variant(name, out_dir, doc_ids)


def _drop_entries(manifest: str, doc_ids: set[str]) -> str:
    """The manifest text without the ``[[document]]`` entries of ``doc_ids``."""
    parts = re.split(r"(?m)^(?=\[\[document\]\])", manifest)
    kept = [p for p in parts if not any(re.search(rf'(?m)^id\s*=\s*"{re.escape(d)}"', p) for d in doc_ids)]
    return "".join(kept)


def _plain(markdown: str) -> str:
    """Markdown as a browser's "save as text" leaves it: no heading marks, no inline tags."""
    text = re.sub(r"</?[a-zA-Z][^>]*>", "", markdown)
    return re.sub(r"(?m)^#{1,6}[ \t]+", "", text)


def _multi_period_page(first: Path, second: Path) -> str:
    """Two inspections of one force pasted into one text file, each under a dated heading."""
    parts = [
        "Essex Police: PEEL inspections",
        "All our PEEL inspection findings for Essex Police, most recent last.",
        "PEEL 2016: police effectiveness",
        first.read_text(encoding="utf-8"),
        "PEEL 2018/19: police effectiveness, efficiency and legitimacy",
        _plain(second.read_text(encoding="utf-8")),
    ]
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"


_BULLET = re.compile(r"^\s*[•\-*]\s+")
_SITE_LINES = {"skip to content"}


def _news_page(title: str, text: str) -> str:
    """``text`` (paragraphs split by blank lines) as an article inside a news site's page."""
    body: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if not lines or (len(lines) == 1 and lines[0].casefold() in _SITE_LINES):
            continue
        if all(_BULLET.match(ln) for ln in lines):
            items = "".join(f"<li>{html.escape(_BULLET.sub('', ln))}</li>" for ln in lines)
            body.append(f"<ul>{items}</ul>")
        elif len(lines) == 1 and len(lines[0].split()) <= 16 and not lines[0].endswith((".", ":", ";", ",")):
            body.append(f"<h2>{html.escape(lines[0])}</h2>")
        else:
            body.append(f"<p>{html.escape(' '.join(lines))}</p>")
    nav = "".join(f'<li><a href="/{s.lower().replace(" ", "-")}/">{s}</a></li>'
                  for s in ("Home", "About us", "Publications", "News", "Our inspections", "Contact us"))
    related = "".join(f'<li><a href="/news/{i}/">{html.escape(t)}</a></li>' for i, t in enumerate((
        "Inspection programme and framework published", "Annual assessment of policing published",
        "Latest joint inspection of custody services")))
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)} | News</title>
<meta property="og:type" content="article"></head>
<body>
<div class="cookie-banner" id="cookie-banner"><p>We use cookies to make this website work and to
collect information about how you use it. <a href="/cookies/">Cookie settings</a></p>
<button>Accept all cookies</button> <button>Reject non-essential cookies</button></div>
<header class="site-header"><a href="/" class="logo">Inspectorate website</a>
<nav aria-label="Main menu"><ul>{nav}</ul></nav>
<form role="search" action="/search/"><input name="q" placeholder="Search this site"></form></header>
<nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>
<li><a href="/news/">News</a></li><li>{html.escape(title)}</li></ol></nav>
<main id="content">
<article>
<h1>{html.escape(title)}</h1>
<p class="meta">Published 2 May 2019 · News</p>
{chr(10).join(body)}
</article>
<aside class="related"><h2>Related news</h2><ul>{related}</ul></aside>
</main>
<footer class="site-footer"><ul><li><a href="/accessibility/">Accessibility</a></li>
<li><a href="/privacy/">Privacy notice</a></li><li><a href="/cookies/">Cookies</a></li></ul>
<p>© Crown copyright. All content is available under the Open Government Licence.</p></footer>
</body>
</html>
"""


# --------------------------------------------------------------------------- scoring


def remap_queries(queries: Sequence[Query], doc_ids: dict[str, str]) -> list[Query]:
    """The questions with their labelled document ids moved to the variant's ids."""
    return [replace(q, relevant=tuple(RelevantPhrase(doc_ids.get(r.doc_id, r.doc_id), r.phrase, r.grade)
                                      for r in q.relevant)) for q in queries]


def seed_cache(source_index: Path, target_index: Path) -> None:
    """Give ``target_index`` the embedding cache of ``source_index`` (an index folder), so a
    build there embeds only the texts ``source_index`` has not. The files are copied from
    the source's current version to the top of the target, where a build reads a cache from
    (as from an index written before versions) and later removes it like a retired version."""
    from index.engine.layout import CACHE_KEYS, CACHE_VECTORS, MANIFEST
    from index.engine.versions import current_folder

    source = current_folder(source_index)  # once: manifest and cache of one version
    target_index.mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST, CACHE_KEYS, CACHE_VECTORS):
        if (source / name).is_file():
            shutil.copy2(source / name, target_index / name)


def evaluate_variants(
    names: Sequence[str],
    queries: Sequence[Query],
    data_dir: Path,
    work_dir: Path,
    model: str | None,
    *,
    seed_from: Path | None = None,
    split: str = "all",
    k: int = 10,
    progress: Callable[[str], None] | None = None,
) -> list[VariantScore]:
    """Build and score each variant (hybrid, the one retrieval path) next to the manifest
    corpus; ``delta`` is variant minus manifest for every metric."""
    from evals.harness import evaluate
    from index import api

    names = [BASELINE] + [n for n in names if n != BASELINE]
    results: list[tuple[str, int, int, int, dict[str, float]]] = []
    for name in names:
        if progress:
            progress(name)
        variant = make_variant(name, data_dir, work_dir / name / "corpus")
        index_dir = work_dir / name / "index"
        if seed_from is not None:
            seed_cache(seed_from, index_dir)
        built = api.build([variant.folder], index_dir, model=model)
        if not built.corpus.chunks:
            raise RuntimeError(f"variant {name}: no document could be read")
        searcher = api.open_index(index_dir, model=model)

        def search(query: str, mode: str, depth: int, searcher=searcher) -> list[tuple[str, float]]:
            return [(h.chunk_id, h.score) for h in api.search(searcher, query, k=depth, mode=mode).hits]

        result = evaluate(remap_queries(queries, variant.doc_ids), searcher.chunks, search,
                          modes=["hybrid"], k=k, split=split)
        docs = len({c.doc_id for c in searcher.chunks})
        results.append((name, docs, len(searcher.chunks), result.counts.get("all", 0),
                        result.scores["hybrid"]["all"]))
    base = results[0][4]
    return [VariantScore(n, d, c, q, s, {m: round(s[m] - base[m], 6) for m in s if m in base})
            for n, d, c, q, s in results]
