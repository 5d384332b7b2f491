"""`ask` over a fake searcher, sentence splitting and the terminal format.

The fake searcher embeds text as a hashed bag of words (deterministic, no model), which is
enough to exercise grouping, evidence selection, highlights and the strong/weak rule.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest

from index.api import ask
from index.query.periods import period_label
from search_app.answer_text import format_answer_text
from index.engine.filters import Filters
from index.query.glossary import Glossary
from index.records import Answer, Hit
from ingest.sentences import source_span, split_sentences
from ingest.records import Chunk, alnum_key

# --- a small corpus: sources with hard wraps and double spaces, chunks with tidy whitespace


def _doc(doc_id, title, years, doc_type, paragraphs):
    """(source text, chunks): each paragraph is one chunk; the source wraps lines."""
    source = ""
    chunks = []
    for i, (section, para) in enumerate(paragraphs):
        wrapped = re.sub(r"\. ", ".  \n", para)  # the source has line breaks and double spaces
        start = len(source)
        source += wrapped
        end = len(source)
        source += "\n\n"
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}#{i}",
                doc_id=doc_id,
                title=title,
                force="Essex Police",
                years=list(years),
                doc_type=doc_type,
                section=list(section),
                text=re.sub(r"[ \t]*\n[ \t]*", " ", wrapped).replace("  ", " ").replace("• ", "\n• ").strip(),
                char_start=start,
                char_end=end,
                page=i + 1,
                n_tokens=len(para.split()),
                source=f"data/{doc_id}.txt",
                position=i,
            )
        )
    return source, chunks


DOCS = [
    (
        "news-2015",
        "Damning report into Essex Police",
        [2015],
        "news",
        [
            (
                ["News"],
                "Essex Police was rated inadequate for child protection in 2015. "
                "Officers did not understand the link between missing children and exploitation.",
            )
        ],
    ),
    (
        "peel-2016",
        "PEEL: Police effectiveness 2016",
        [2016],
        "peel-report",
        [
            (
                ["Protecting vulnerable people", "Domestic abuse"],
                "In the year to 30 June 2016, 215 domestic violence prevention notices (DVPNs) were authorised. "
                "Applications for 215 domestic violence prevention orders (DVPOs) were made, with 186 being "
                "granted by the courts. The force's use of DVPNs and DVPOs has decreased over 2016.",
            ),
            (
                ["Preventing crime"],
                "The force has an effective approach to preventing crime and anti-social behaviour. "
                "Neighbourhood teams solve local problems with councils.",
            ),
        ],
    ),
    (
        "plan-2017",
        "Police and Crime Plan progress 2017",
        [2017],
        "force-progress-report",
        [
            (
                ["Priority 3", "Domestic abuse"],
                "Activity this quarter included the following: "
                "• The force obtained 19 DVPOs in August 2017. "
                "• Hate crime reporting rose by 44 percent.",
            )
        ],
    ),
    (
        "peel-2018-19",
        "PEEL 2018/19",
        [2018, 2019],
        "peel-report",
        [
            (
                ["Responding to incidents", "Supporting vulnerable victims"],
                "The number of domestic violence protection orders has increased slightly from 196 in 2017 "
                "to 212 in 2018. Importantly, officers understand the benefit of these orders.",
            ),
            (
                ["Armed policing"],
                "The force has sufficient armed response vehicle capability. Armed officers are well trained.",
            ),
        ],
    ),
    (
        "summary-2018-19",
        "PEEL 2018/19 web summary",
        [2018, 2019],
        "peel-web-summary",
        [
            (
                ["Summary"],
                "The number of domestic violence protection orders has increased slightly from 196 in 2017 "
                "to 212 in 2018. The force works well with partners.",
            )
        ],
    ),
]

SOURCES: dict[str, str] = {}
CHUNKS: list[Chunk] = []
for _id, _title, _years, _type, _paras in DOCS:
    _src, _chunks = _doc(_id, _title, _years, _type, _paras)
    SOURCES[_id] = _src
    CHUNKS.extend(_chunks)
BY_ID = {c.chunk_id: c for c in CHUNKS}

_STOP = {"the", "a", "an", "of", "in", "to", "and", "how", "did", "was", "were", "is", "what", "has", "with", "by"}


def embed(text: str, dim: int = 512) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in _STOP:
            continue
        if len(w) > 3 and w.endswith("s"):
            w = w[:-1]
        v[zlib.crc32(w.encode()) % dim] += 1.0
    n = np.linalg.norm(v)
    return v / n if n else v


class FakeSearcher:
    """Satisfies the searcher interface ``ask`` codes against."""

    def __init__(self, chunks=CHUNKS, sources=SOURCES):
        self.chunks = list(chunks)
        self.sources = sources
        self.calls: list[dict] = []

    def documents(self):
        out = {}
        for c in self.chunks:
            out.setdefault(
                c.doc_id,
                {"doc_id": c.doc_id, "title": c.title, "years": c.years, "force": c.force, "doc_type": c.doc_type},
            )
        return list(out.values())

    def doc_text(self, doc_id):
        return self.sources.get(doc_id)

    def encode_queries(self, queries):
        return np.stack([embed(q) for q in queries])

    def encode_texts(self, texts):
        return np.stack([embed(t) for t in texts])

    def sentence_vectors(self, chunk_id):
        return None  # nothing stored: ask embeds the sentences it scores

    def prime(self, queries, expansions=None):
        self.primed = list(queries)

    def search(self, query, k=10, mode="hybrid", filters=None, expansions=None, priors=()):
        self.calls.append({"query": query, "k": k, "filters": filters, "expansions": expansions, "priors": priors})
        q = embed(query + " " + " ".join(expansions or []))
        scored = []
        for c in self.chunks:
            if filters is not None and not filters.matches(c):
                continue
            bonus = sum(w for f, w in priors if f.matches(c))
            scored.append((float(embed(c.embed_text()) @ q) + bonus, c))
        scored.sort(key=lambda x: (-x[0], x[1].chunk_id))
        return [_hit(c, rank, score) for rank, (score, c) in enumerate(scored[:k], start=1)]


def _hit(c: Chunk, rank: int, score: float) -> Hit:
    return Hit.from_chunk(c, rank, score, scores={"dense": score})


class UnrelatedSearcher(FakeSearcher):
    """Always returns passages about something else, with low scores."""

    def __init__(self):
        src, chunks = _doc(
            "tides",
            "Tide tables",
            [2017],
            "unknown",
            [(["Tides"], "High water at Southend pier is at noon. The ferry timetable changes in winter.")],
        )
        super().__init__(chunks, {"tides": src})

    def search(self, query, k=10, mode="hybrid", filters=None, expansions=None, priors=()):
        return [_hit(c, i, 0.01) for i, c in enumerate(self.chunks[:k], start=1)]


@pytest.fixture
def searcher():
    return FakeSearcher()


def all_evidence(answer: Answer):
    return [ev for _, evs in answer.groups for ev in evs]


# --- change over time ------------------------------------------------------------------


def test_temporal_question_groups_every_year_in_order(searcher):
    answer = ask(searcher, "How did DVPO use change 2016–2018?")
    assert answer.temporal
    labels = [label for label, _ in answer.groups]
    assert labels == ["2016", "2017", "2018/19"]  # chronological; 2015 is outside the range
    texts = {label: " ".join(ev.sentence for ev in evs) for label, evs in answer.groups}
    assert "215 domestic violence prevention orders" in texts["2016"] or "DVPOs has decreased" in texts["2016"]
    assert "19 DVPOs" in texts["2017"]
    assert "from 196 in 2017 to 212 in 2018" in texts["2018/19"]
    assert answer.strong


def test_temporal_without_a_range_covers_all_years(searcher):
    answer = ask(searcher, "How has the use of domestic violence protection orders changed over time?")
    assert answer.temporal
    labels = [label for label, _ in answer.groups]
    assert labels == sorted(labels) and labels[0] == "2015" and labels[-1] == "2018/19"
    assert {"2016", "2017", "2018/19"} <= set(labels)


def test_an_explicit_year_filter_replaces_the_question_years(searcher):
    answer = ask(searcher, "How did DVPO use change 2016-2018?", filters=Filters(year_from=2017))
    assert [label for label, _ in answer.groups] == ["2017", "2018/19"]
    assert "The year filter replaces the years 2016–2018 named in the question." in answer.message
    assert not any(f.year_from is not None for call in searcher.calls for f, _ in call["priors"])
    answer = ask(searcher, "How did DVPO use change 2016-2018?", filters={"doc_ids": ["peel-2016", "peel-2018-19"]})
    assert [label for label, _ in answer.groups] == ["2016", "2018/19"]


def test_question_years_raise_passages_and_never_filter(searcher):
    answer = ask(searcher, "How did DVPO use change 2016-2018?")
    main = searcher.calls[0]
    from index.query.prepare import LOOKBACK_YEARS, YEAR_PRIOR

    assert main["filters"] is None  # nothing is excluded
    # later reports look back on the period; no report speaks of years after its own
    ((prior, weight),) = [(f, w) for f, w in main["priors"] if f.year_from is not None]
    assert (prior.year_from, prior.year_to, weight) == (2016, 2018 + LOOKBACK_YEARS, YEAR_PRIOR)
    assert "domestic violence protection order" in main["expansions"]  # BM25 and the dense side get them
    assert main["query"] == "How did DVPO use change 2016-2018?"
    assert "Passages about 2016–2018 (the years in the question) are ranked first" in answer.message


def test_single_year_question_is_one_group(searcher):
    answer = ask(searcher, "How many DVPOs were granted by the courts in 2016?")
    assert not answer.temporal
    assert [label for label, _ in answer.groups] == ["All years"]
    assert all(ev.citation.year == 2016 for ev in all_evidence(answer))
    assert "186 being granted by the courts" in all_evidence(answer)[0].sentence


# --- evidence --------------------------------------------------------------------------


def test_evidence_is_verbatim_with_exact_source_offsets(searcher):
    answer = ask(searcher, "How did DVPO use change 2016–2018?")
    evidence = all_evidence(answer)
    assert evidence
    for ev in evidence:
        chunk = BY_ID[ev.chunk_id]
        assert ev.sentence and ev.sentence in chunk.text
        assert ev.context_before in chunk.text and ev.context_after in chunk.text
        assert ev.offsets_exact
        source = SOURCES[chunk.doc_id]
        assert chunk.char_start <= ev.char_start < ev.char_end <= chunk.char_end
        assert alnum_key(source[ev.char_start : ev.char_end]) == alnum_key(ev.sentence)
        assert ev.citation.doc_id == chunk.doc_id and ev.citation.section == chunk.section


def test_offsets_without_source_text_are_approximate():
    class NoSource(FakeSearcher):
        def doc_text(self, doc_id):
            return None  # an index without the source texts

    for ev in all_evidence(ask(NoSource(), "How many DVPOs were granted by the courts in 2016?")):
        chunk = BY_ID[ev.chunk_id]
        assert not ev.offsets_exact
        assert chunk.char_start <= ev.char_start <= ev.char_end <= chunk.char_end


def test_highlights_point_at_query_terms(searcher):
    answer = ask(searcher, "How did DVPO use change 2016–2018?")
    allowed = re.compile(
        r"^(?:dvpos?|domestic violence (?:protection|prevention) orders?|2016|2018)$", re.IGNORECASE
    )
    marked = []
    for ev in all_evidence(answer):
        for a, b in ev.highlights:
            assert 0 <= a < b <= len(ev.sentence)
            assert allowed.match(ev.sentence[a:b]), ev.sentence[a:b]
            marked.append(ev.sentence[a:b].lower())
    assert "domestic violence protection orders" in marked
    assert "dvpos" in marked


def test_duplicate_sentences_are_shown_once(searcher):
    answer = ask(searcher, "How many domestic violence protection orders were there in 2018?")
    keys = [alnum_key(ev.sentence) for ev in all_evidence(answer)]
    assert len(keys) == len(set(keys))
    assert any("212 in 2018" in ev.sentence for ev in all_evidence(answer))


def test_list_intro_gets_its_next_sentence_as_context(searcher):
    answer = ask(searcher, "What activity did the plan report include this quarter?")
    ev = all_evidence(answer)[0]
    assert ev.sentence.endswith("the following:")
    assert ev.context_after == "The force obtained 19 DVPOs in August 2017."


# --- strong / weak ---------------------------------------------------------------------


def test_unanswerable_question_is_weak(searcher):
    answer = ask(searcher, "What is the weather like in Paris?")
    assert answer.strong is False
    assert answer.weak_groups == [label for label, _ in answer.groups]
    assert format_answer_text(answer).startswith("No strong evidence found — nearest passages:")


def test_unrelated_passages_are_weak():
    answer = ask(UnrelatedSearcher(), "How many DVPOs were granted in 2016?")
    assert answer.strong is False
    assert all_evidence(answer)  # the nearest passages are still shown


def test_empty_and_hostile_questions(searcher):
    for q in ["", "   ", "?!*()", "\\"]:
        answer = ask(searcher, q)
        assert answer.groups == [] and answer.strong is False
        assert format_answer_text(answer) == "Please type a question."
    for q in ["DVPO* AND (2016 OR [2018])", '"unbalanced', "x" * 10000]:
        ask(searcher, q)  # must not raise


def test_years_the_index_does_not_cover_are_said_and_nearest_passages_shown(searcher):
    answer = ask(searcher, "DVPO use in 2030")
    assert answer.hits  # a question's year never removes a passage
    assert "No document in this index speaks of 2030 (it covers 2015–2019)" in answer.message


# --- terminal format -------------------------------------------------------------------


def test_format_answer_text_plain_and_ansi(searcher):
    answer = ask(searcher, "How did DVPO use change 2016–2018?")
    plain = format_answer_text(answer, width=80)
    assert "\x1b[" not in plain
    assert "**DVPOs**" in plain or "**domestic violence prevention orders**" in plain
    for label in ("2016", "2017", "2018/19"):
        assert re.search(rf"^{re.escape(label)}\b", plain, re.M)
    flat = re.sub(r"\s+", " ", plain)
    assert "— PEEL 2018/19 (2019) › Responding to incidents › Supporting vulnerable victims, p. 1" in flat
    assert all(len(line) <= 80 for line in plain.splitlines() if "›" not in line)
    ansi = format_answer_text(answer, ansi=True)
    assert "\x1b[1m" in ansi and "**" not in ansi


def test_period_label():
    assert period_label([2016]) == "2016"
    assert period_label([2019, 2018]) == "2018/19"
    assert period_label([2014, 2016]) == "2014–2016"
    assert period_label([]) == "Undated"


# --- sentences -------------------------------------------------------------------------


def test_split_sentences_spans_are_verbatim():
    text = (
        "Overview of findings\n"
        "The force is good, e.g. at tackling ASB. It recorded 1,245 RSOs in 2016.\n"
        "• Hate crime reporting rose by 44 percent. It is now stable.\n"
        "- a dash bullet\n"
        "| Grade | Good |\n"
        "1. numbered item"
    )
    spans = split_sentences(text)
    got = [text[a:b] for a, b in spans]
    assert got == [
        "Overview of findings",
        "The force is good, e.g. at tackling ASB.",
        "It recorded 1,245 RSOs in 2016.",
        "Hate crime reporting rose by 44 percent.",
        "It is now stable.",
        "a dash bullet",
        "| Grade | Good |",
        "numbered item",
    ]


def test_split_sentences_joins_hard_wrapped_lines_and_handles_empty():
    text = "The force has made improvements in how it\ntracks wanted people. Good."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "The force has made improvements in how it\ntracks wanted people.",
        "Good.",
    ]
    assert split_sentences("") == [] and split_sentences("  \n ") == []
    inline = "It has resulted in the following: • Sexual Harm Prevention Order obtained."
    assert [inline[a:b] for a, b in split_sentences(inline)][-1].startswith("Sexual Harm")


def test_source_span_exact_and_approximate():
    source = "xx  The force  is\ngood.  It is  fast.\n"
    chunk_text = "The force is good. It is fast."
    start = 4
    end = len(source) - 1
    span = (19, 30)  # "It is fast."
    s, e, exact = source_span(chunk_text, start, end, span, source)
    assert exact and source[s:e] == "It is  fast."
    s, e, exact = source_span(chunk_text, start, end, span, None)
    assert not exact and start <= s <= e <= end


def test_glossary_for_searcher_mines_its_chunks():
    from index.query.glossary import glossary_for

    src, chunks = _doc(
        "x", "X", [2017], "unknown", [(["A"], "The Helping Young People Excel (HYPE) scheme works with youths.")]
    )
    g = glossary_for(FakeSearcher(chunks, {"x": src}))
    assert isinstance(g, Glossary)
    assert g.expand("HYPE") == ["Helping Young People Excel"]
