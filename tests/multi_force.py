"""A small corpus of three forces' reports (written for these tests), indexed with the
packaged MiniLM, for comparing forces side by side."""

from __future__ import annotations

from pathlib import Path

REPORTS = {
    "kent-peel-2018.md": """# PEEL 2018/19: an inspection of Kent Police

## Stop and search

Kent Police records the reason for every stop and search, and supervisors review a sample of
the records each week. Inspectors found that officers explained the grounds for the search to
the people they stopped, and that the force publishes its stop and search data every month.

## Call handling

Kent Police answers most emergency calls within ten seconds and has cut the time callers wait
on the non-emergency line.
""",
    "surrey-peel-2018.md": """# PEEL 2018/19: an inspection of Surrey Police

## Stop and search

Surrey Police should improve how it records the grounds for stop and search. Inspectors found
that a fifth of the records they reviewed did not show reasonable grounds, and that supervisors
rarely checked the records of the officers they manage.

## Neighbourhood policing

Surrey Police has kept its neighbourhood teams in every district and they know their areas well.
""",
    "dorset-peel-2018.md": """# PEEL 2018/19: an inspection of Dorset Police

## Stop and search

Dorset Police trains every officer in the use of stop and search powers, and a scrutiny panel
of local residents reviews body-worn video footage of searches each quarter.

## Protecting vulnerable people

Dorset Police identifies vulnerable victims well when they first contact the force.
""",
}
MANIFEST = """
[[document]]
id = "kent-peel-2018"
file = "kent-peel-2018.md"
title = "PEEL 2018/19: Kent Police"
force = "Kent Police"
doc_type = "peel-report"
years = [2018, 2019]

[[document]]
id = "surrey-peel-2018"
file = "surrey-peel-2018.md"
title = "PEEL 2018/19: Surrey Police"
force = "Surrey Police"
doc_type = "peel-report"
years = [2018, 2019]

[[document]]
id = "dorset-peel-2018"
file = "dorset-peel-2018.md"
title = "PEEL 2018/19: Dorset Police"
force = "Dorset Police"
doc_type = "peel-report"
years = [2018, 2019]
"""
QUESTION = "what did inspectors say about stop and search?"


def build(folder: Path) -> Path:
    """Write the corpus under ``folder`` and index it; returns the index folder."""
    from index import api

    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    for name, text in REPORTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    index = folder / "index"
    api.build([corpus], index, model=None)
    return index
