"""The Streamlit app: ask a question, read cited excerpts, take them away; add reports.

Thin by design: retrieval and evidence selection come from ``index.api``, adding reports
from ``index.library`` and ``ingest.uploads``; this file only lays out what they return.
Run with ``peel app``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import streamlit as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index import (
    api,  # noqa: E402
    library,  # noqa: E402
)
from index.engine.searcher import MODES  # noqa: E402
from index.models.adapt_status import read_status, serving_model  # noqa: E402
from index.paths import (  # noqa: E402
    default_data_paths,
    default_index_dir,
    default_model,
    default_model_dir,
)
from index.records import Answer, Hit  # noqa: E402
from ingest import uploads  # noqa: E402
from ingest.records import DocumentMeta  # noqa: E402
from search_app import export  # noqa: E402
from search_app.figures_view import figure_table, table_html  # noqa: E402
from search_app.params import (  # noqa: E402
    MAX_K,
    MIN_K,
    SearchParams,
    params_from_query,
    params_to_query,
)
from search_app.render import highlight_html, query_stems, sentence_spans_in, term_spans  # noqa: E402

st.set_page_config(page_title="peel-search", page_icon="🔎", layout="wide")

CSS = """
<style>
.peel-card {border: 1px solid #ddd; border-radius: 8px; padding: 0.8rem 1rem; margin-bottom: 0.4rem; background: #fff;}
.peel-cite {color: #1f4e79; font-size: 0.9rem; margin-bottom: 0.4rem;}
.peel-text {font-size: 0.95rem; line-height: 1.5;}
.peel-answer {background: #fff3b0; padding: 0 1px;}
.peel-also {color: #666; font-size: 0.85rem; margin-top: 0.3rem;}
.peel-weak {border-left: 4px solid #c77c00; padding-left: 0.6rem;}
.peel-figures {border-collapse: collapse; margin-bottom: 0.8rem;}
.peel-figures th, .peel-figures td {border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left;}
</style>
"""


@st.cache_resource(show_spinner=False, max_entries=2)
def get_searcher(index_dir: str, version: str = ""):
    """One Searcher per process and index version, shared by every session and rerun: an
    index published by another process (a background adaptation) is opened on the next run."""
    return api.open_index(Path(index_dir))




def build_index_with_progress(index_dir: Path) -> None:
    with st.status("No index yet: building one over the bundled corpus…", expanded=True) as status:
        bar = st.progress(0.0, text="Reading documents")

        def progress(stage: str, done: int, total: int | None, detail: str) -> None:
            bar.progress(min(1.0, done / max(total or 1, 1)), text=f"{stage}: {done}/{total or '…'}")

        result = api.build(default_data_paths(), index_dir, model=default_model(), progress=progress)
        if not result.corpus.chunks:
            raise api.IndexOpenError(f"Nothing to index under {', '.join(map(str, default_data_paths()))}.")
        status.update(label=f"Index built: {len(result.corpus.documents)} documents, "
                            f"{len(result.corpus.chunks)} passages", state="complete")


def load_searcher():
    index_dir = default_index_dir()
    try:
        if not api.index_exists(index_dir):
            build_index_with_progress(index_dir)
        return get_searcher(str(index_dir), api.index_version(index_dir))
    except (api.IndexOpenError, ValueError, OSError) as exc:  # a plain message, never a traceback
        st.error(md_inert(str(exc)))
        st.stop()


def md_inert(text: str) -> str:
    """``text`` for st.warning/st.error (Markdown): link, image, HTML and LaTeX syntax shown as typed."""
    return re.sub(r"([\\`*_{}\[\]()<>!#$|~:])", r"\\\1", text)


def html_text(text: str) -> str:
    """Document text for highlight_html: every line break a "\\n", so the card stays one
    HTML block (a blank line, "\\r\\r" too, would end it and let Markdown run again)."""
    return text.replace("\r\n", " \n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")


def sidebar(searcher, params: SearchParams) -> SearchParams:
    docs = searcher.documents()
    years = sorted({y for d in docs for y in d["years"]})
    forces = sorted({d["force"] for d in docs if d.get("force")})
    types = sorted({d["doc_type"] for d in docs})
    titles = {d["doc_id"]: f"{d['title']} ({'/'.join(str(y) for y in d['years'])})" for d in docs}
    for what, asked, known in (("document id", params.doc_ids, titles), ("force", params.forces, forces),
                               ("document type", params.doc_types, types)):
        unknown = [v for v in asked if v not in known]
        if unknown:
            st.warning(md_inert(f"No {what} {', '.join(repr(v[:80]) for v in unknown[:5])} in this index "
                                f"(from the link); ignoring it."))
    if years and (params.year_from is not None or params.year_to is not None):
        a = params.year_from if params.year_from is not None else years[0]
        b = params.year_to if params.year_to is not None else years[-1]
        if b < years[0] or a > years[-1]:
            st.warning(f"No document speaks of {a}–{b} (this index covers {years[0]}–{years[-1]}); "
                       f"ignoring the years in the link.")
            params = SearchParams(**{**params.__dict__, "year_from": None, "year_to": None})
    with st.sidebar:
        st.header("Filters")
        mode = st.radio("Retrieval", list(MODES), index=MODES.index(params.mode),
                        horizontal=True, help="hybrid fuses keyword (BM25) and meaning (embeddings) rankings")
        lo, hi = (years[0], years[-1]) if years else (2000, 2030)
        y0 = params.year_from if params.year_from is not None else lo
        y1 = params.year_to if params.year_to is not None else hi
        use_years = st.checkbox("Limit years", value=params.year_from is not None or params.year_to is not None)
        year_range = st.slider("Years the documents speak of", min_value=lo, max_value=max(hi, lo + 1),
                               value=(max(lo, min(y0, hi)), min(hi, max(y1, lo))), disabled=not use_years)
        force = st.multiselect("Force", forces, default=[f for f in params.forces if f in forces])
        doc_type = st.multiselect("Document type", types, default=[t for t in params.doc_types if t in types])
        doc_ids = st.multiselect("Documents", list(titles), default=[d for d in params.doc_ids if d in titles],
                                 format_func=lambda d: titles[d])
        k = st.slider("Passages", MIN_K, MAX_K, params.k)
        by_force = len(forces) >= 2 and st.checkbox(
            "Compare forces side by side", value=params.by == "force",
            help="each force's best evidence in its own column; choose the forces with the Force filter")
    return SearchParams(
        q=params.q, mode=mode, k=k,
        year_from=year_range[0] if use_years else None, year_to=year_range[1] if use_years else None,
        forces=force, doc_types=doc_type, doc_ids=doc_ids, by="force" if by_force else "",
    )


def model_panel(searcher, index_dir: Path) -> None:
    """Which model answers, and how far a background adaptation is (refreshed every few
    seconds while it runs; the app switches to the rebuilt index when it is done)."""
    st.caption(md_inert(f"Model: {serving_model(searcher.manifest.get('model', {}))}"))
    status = read_status(default_model_dir())
    if status is None:
        return
    shown = api.index_version(index_dir)

    @st.fragment(run_every=5 if status.running else None)
    def progress() -> None:
        now = read_status(default_model_dir()) or status
        if now.state == "done" and api.index_version(index_dir) != shown:
            st.rerun(scope="app")
        if now.running and now.state == "adapting":
            eta = now.eta_seconds()
            left = f", about {max(1, round(eta / 60))} min left" if eta else ""
            st.progress(now.step / now.steps if now.steps else 0.0,
                        text=f"Adapting {now.base_model.split('/')[-1]} to these reports in the background: "
                             f"step {now.step} of {now.steps or '…'}{left}")
            st.caption("Answers use the model above until then; the app switches over by itself.")
        elif now.running:
            st.progress(1.0, text="Rebuilding the index with the adapted model…")
        elif now.state == "failed" or now.stalled:
            st.warning(md_inert(f"Adapting the model did not finish ({now.message or 'its process stopped'}). "
                                "Answers use the model above. Run `.venv/bin/peel adapt --reindex` to try again."))

    progress()


# -- adding reports -------------------------------------------------------------------
def uploads_folder() -> Path:
    """Where uploads are kept: ``uploads/`` in the data folder, so a full rebuild keeps them."""
    return default_data_paths()[0] / "uploads"


def _inspected(files, taken: set[str]) -> list[tuple[str, "uploads.Inspected | str"]]:
    """Each upload read once per session (as `peel ingest` reads it): its inferred metadata,
    or the reason it cannot be indexed."""
    seen = st.session_state.setdefault("peel-inspected", {})
    out = []
    for f in files:
        key = (f.file_id, f.name, f.size)
        if key not in seen:
            try:
                seen[key] = uploads.inspect_upload(f.name, f.getvalue(), taken)
            except uploads.UploadError as exc:
                seen[key] = str(exc)
        item = seen[key]
        if not isinstance(item, str):
            taken.add(item.meta.doc_id)
        out.append((f.name, item))
    return out


def _metadata_fields(item: "uploads.Inspected", key: str):
    """Editable title, force, period and type of one upload; its DocumentMeta, or None
    (with a message) when the years cannot be read."""
    meta = item.meta
    st.markdown(f"**{md_inert(item.name)}**")
    title = st.text_input("Title", meta.title, key=f"title-{key}").strip() or Path(item.name).stem
    force = st.text_input("Force", meta.force or "", key=f"force-{key}", help="e.g. Essex Police; empty if none").strip()
    years = st.text_input("Years", uploads.format_years(meta.years), key=f"years-{key}",
                          help="the period it speaks of: 2018, 2018-2019 or 2018/19")
    types = list(uploads.DOC_TYPES) + ([meta.doc_type] if meta.doc_type not in uploads.DOC_TYPES else [])
    doc_type = st.selectbox("Type", types, index=types.index(meta.doc_type), key=f"type-{key}")
    try:
        period = uploads.parse_years(years)
    except ValueError as exc:
        st.error(md_inert(f"{item.name}: {exc}"))
        return None
    return DocumentMeta(meta.doc_id, " ".join(title.split())[:300], force or None, period, doc_type,
                                publisher=meta.publisher)


def _index_uploads(ready: list, index_dir: Path) -> list[tuple[str, str]]:
    """Save the uploads and their manifest entries and add them to the index; what to tell
    the user, as (kind, text) pairs. Nothing is kept of an upload that could not be indexed."""
    folder = uploads_folder()
    bar = st.progress(0.0, text="Saving files")
    saved: list[tuple[Path, object]] = []

    def progress(stage: str, done: int, total: int | None, detail: str) -> None:
        share = done / max(total or 1, 1)
        at = 0.3 * share if stage == "Reading" else 0.3 + 0.7 * share
        bar.progress(min(1.0, at), text=f"{stage}: {done}/{total or '…'}")

    try:
        taken = set(library.document_ids(index_dir)) | uploads.manifest_ids(folder)
        for item, meta in ready:
            meta.doc_id = uploads.unique_id(meta.doc_id, taken)
            taken.add(meta.doc_id)
            saved.append((uploads.save_upload(folder, item.name, item.data), meta))
        uploads.add_manifest_entries(folder, saved)
        result = library.add(index_dir, [p for p, _ in saved], progress=progress)
    except BaseException as exc:
        for path, _ in saved:
            uploads.discard_upload(folder, path)
        if not isinstance(exc, (ValueError, OSError, api.IndexOpenError)):
            raise
        return [("error", f"Nothing was added: {exc}")]
    notes = []
    for s in result.skipped:  # could not be indexed after all: not kept either
        for path, _ in saved:
            if s.path in (str(path), str(path.resolve())):
                uploads.discard_upload(folder, path)
        notes.append(("warning", f"{Path(s.path).name}: {s.reason}"))
    bar.progress(1.0, text="Done")
    if result.added:
        names = "; ".join(d.title for d in result.added)
        notes.insert(0, ("success", f"Added {len(result.added)} report(s), {result.chunks_added} passages, "
                                    f"searchable now: {names}"))
    return notes


def add_reports(searcher, index_dir: Path) -> None:
    """The "Add reports" area: upload, check the inferred metadata, index."""
    done = st.session_state.pop("peel-added", None) or []
    with st.expander("Add reports", expanded=bool(done)):
        for kind, text in done:  # the outcome of the last "Index"
            getattr(st, kind)(md_inert(text))
        n = st.session_state.setdefault("peel-upload-round", 0)
        files = st.file_uploader("PDF, HTML, Markdown or text files", type=uploads.UPLOAD_TYPES,
                                 accept_multiple_files=True, key=f"upload-{n}")
        if not files:
            return
        ready, invalid = [], False
        for i, (name, item) in enumerate(_inspected(files, {d["doc_id"] for d in searcher.documents()})):
            if isinstance(item, str):  # refused, with its reason; the others still index
                st.warning(md_inert(f"{name[:120]}: {item}"))
                continue
            meta = _metadata_fields(item, f"{n}-{i}")
            invalid |= meta is None
            if meta is not None:
                ready.append((item, meta))
        if ready:
            if st.button("Index", type="primary", key=f"index-{n}", disabled=invalid):
                notes = _index_uploads(ready, index_dir)
                if notes and notes[0][0] == "success":
                    get_searcher.clear()  # the next run reopens the index with the new passages
                    st.session_state["peel-added"] = notes
                    st.session_state["peel-upload-round"] = n + 1  # a fresh, empty uploader
                    st.session_state.pop("peel-inspected", None)
                    st.rerun()
                for kind, text in notes:
                    getattr(st, kind)(md_inert(text))


def card(hit: Hit, answer: Answer, stems, key: str, searcher) -> bool:
    """One result card; returns whether the user ticked it for export."""
    sentences = [e.sentence for _, ev in answer.groups for e in ev if e.chunk_id == hit.chunk_id]
    text = html_text(hit.text)
    body = highlight_html(text, sentence_spans_in(text, sentences), term_spans(text, stems))
    import html as _html

    also = ""
    if hit.also_in:
        also = '<div class="peel-also">Also in: ' + "; ".join(
            _html.escape(f"{d.get('title')} ({d.get('year')})") for d in hit.also_in) + "</div>"
    weak = " peel-weak" if not answer.strong else ""
    st.markdown(
        f'<div class="peel-card{weak}" id="{card_anchor(hit)}"><div class="peel-cite">{hit.rank}. '
        f'{_html.escape(hit.citation.label())}</div>'
        f'<div class="peel-text">{body}</div>{also}</div>',
        unsafe_allow_html=True,
    )
    cols = st.columns([1, 5])
    ticked = cols[0].checkbox("Select", key=f"tick-{key}")
    with cols[1].expander("Whole section"):
        section = [c for c in searcher.doc_chunks(hit.doc_id) if c.section == hit.section]
        for c in section:
            st.markdown(f'<div class="peel-text">{_html.escape(html_text(c.text)).replace(chr(10), "<br>")}</div>',
                        unsafe_allow_html=True)
    return ticked


def card_anchor(hit: Hit) -> str:
    """The id of a passage card, for links to it."""
    return f"passage-{hit.rank}"


def timeline(answer: Answer, stems) -> None:
    import html as _html

    import pandas as pd

    groups = [(label, ev) for label, ev in answer.groups if ev]
    if answer.figures:
        st.subheader("Figures by period")
        st.caption("As the reports state them; hover for the sentence, click for its passage.")
        periods, rows = figure_table(answer.figures)
        anchors = {h.chunk_id: card_anchor(h) for h in answer.hits}
        st.markdown(table_html(periods, rows, anchors), unsafe_allow_html=True)
        for row in rows:
            series = row.series()
            if series:
                st.caption(md_inert(f"{row.label}, as stated for each period"))
                st.line_chart(pd.DataFrame({"year": [y for y, _ in series], row.label[:40]: [v for _, v in series]})
                              .set_index("year"), height=180)
    st.subheader("Evidence by force" if answer.group_by == "force" else "Evidence over time")
    cols = st.columns(len(groups)) if groups else []
    for col, (label, evidence) in zip(cols, groups):
        with col:
            st.markdown(f"#### {_html.escape(label)}")
            if label in answer.weak_groups:
                st.caption(f"No close match for this {answer.group_by or 'period'} — nearest passage")
            for e in evidence:
                sentence = html_text(e.sentence)
                text = highlight_html(sentence, [], term_spans(sentence, stems))
                st.markdown(
                    f'<div class="peel-card"><div class="peel-text">{text}</div>'
                    f'<div class="peel-cite">{_html.escape(e.citation.label())}</div></div>',
                    unsafe_allow_html=True,
                )


def main() -> None:
    st.markdown(CSS, unsafe_allow_html=True)
    st.title("peel-search")
    st.caption("Verbatim, cited evidence from police inspection reports.")
    searcher = load_searcher()

    params, problems = params_from_query(dict(st.query_params))
    for problem in problems:
        st.warning(md_inert(problem))
    q = st.text_input("Question", value=params.q, placeholder="e.g. how did DVPO use change 2016–2018?")
    params = sidebar(searcher, SearchParams(**{**params.__dict__, "q": q}))
    st.query_params.from_dict(params_to_query(params))
    with st.sidebar:
        add_reports(searcher, default_index_dir())
        model_panel(searcher, default_index_dir())

    if not params.q.strip():
        st.info("Type a question, e.g. *what did inspectors say about the 101 line?*")
        return
    if api.query_message(params.q):
        st.info(api.query_message(params.q) + " e.g. *what did inspectors say about the 101 line?*")
        return

    answer = api.ask(searcher, params.q, k=params.k, filters=params.filters(), mode=params.mode, by=params.by or None)
    stems = query_stems(params.q, api.query_terms(params.q))
    if not answer.hits:
        st.warning(md_inert(answer.message) if answer.message else "No passages match these filters.")
        return
    if answer.message:  # e.g. "Years taken from the question…"
        st.info(md_inert(answer.message))
    if not answer.strong:
        st.warning("No strong evidence found. The passages below are the nearest the corpus has; "
                   "they may not answer the question.")
    elif (answer.temporal and answer.group_by == "period") or answer.group_by == "force":
        timeline(answer, stems)

    st.subheader("Passages")
    ticked: list[Hit] = []
    for hit in answer.hits:
        if card(hit, answer, stems, hit.chunk_id, searcher):
            ticked.append(hit)

    st.divider()
    st.subheader("Export")
    chosen = ticked or answer.hits
    st.caption(f"{'The ' + str(len(ticked)) + ' ticked' if ticked else 'All ' + str(len(chosen))} passages, with citations.")
    cols = st.columns(len(export.FORMATS))
    for col, fmt in zip(cols, export.FORMATS):
        col.download_button(
            f"Download {export.LABELS[fmt]}",
            data=export.render(chosen, fmt, query=params.q, documents=searcher.documents(), figures=answer.figures),
            file_name=f"peel-evidence.{export.EXTENSIONS[fmt]}",
            mime=export.FORMATS[fmt],
            key=f"dl-{fmt}",
        )


main()
