"""Force names, and the force, type and publisher inferred for reports without a manifest."""

from __future__ import annotations

import pytest

from ingest.forces import FORCES, canonical_force, find_forces
from ingest.metadata import PUBLISHER_HMIC, PUBLISHER_HMICFRS, infer_meta
from ingest.readers.text import read_text
from ingest.records import DocumentMeta


def _meta(text: str, name: str = "document.txt") -> DocumentMeta:
    return infer_meta(read_text(f"/nowhere/{name}", text), "doc")


def test_the_reference_list_holds_every_territorial_force_once() -> None:
    names = [f.name for f in FORCES]
    assert len(names) == len(set(names))
    england_wales = [f for f in FORCES if f.kind == "territorial" and f.country in ("England", "Wales")]
    assert len(england_wales) == 43
    assert {"Police Scotland", "Police Service of Northern Ireland", "British Transport Police",
            "Civil Nuclear Constabulary", "Ministry of Defence Police"} <= set(names)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("Kent Constabulary", "Kent Police"),
        ("Kent", "Kent Police"),
        ("kent police force", "Kent Police"),
        ("the Met", "Metropolitan Police Service"),
        ("Met Police", "Metropolitan Police Service"),
        ("Metropolitan Police", "Metropolitan Police Service"),
        ("GMP", "Greater Manchester Police"),
        ("Avon & Somerset", "Avon and Somerset Constabulary"),
        ("Avon and Somerset Police", "Avon and Somerset Constabulary"),
        ("Devon & Cornwall Police", "Devon and Cornwall Police"),
        ("Thames Valley", "Thames Valley Police"),
        ("TVP", "Thames Valley Police"),
        ("WMP", "West Midlands Police"),
        ("Dyfed Powys", "Dyfed-Powys Police"),
        ("City of London", "City of London Police"),
        ("Hampshire Constabulary", "Hampshire and Isle of Wight Constabulary"),
        ("PSNI", "Police Service of Northern Ireland"),
        ("BTP", "British Transport Police"),
    ],
)
def test_variants_map_to_the_canonical_name(spelling: str, canonical: str) -> None:
    assert canonical_force(spelling) == canonical


@pytest.mark.parametrize(
    "not_a_force",
    ["Her Majesty's Inspectorate of Constabulary", "Inspectorate of Constabulary", "HMICFRS",
     "College of Policing", "Essex County Council", "Special Constabulary", "", "Nowhere Police"],
)
def test_names_that_are_not_forces(not_a_force: str) -> None:
    assert canonical_force(not_a_force) is None


def test_mentions_carry_canonical_names_and_spans() -> None:
    text = "Officers from AVON AND SOMERSET CONSTABULARY and Dyfed-\nPowys Police met the Met, not the Met Office."
    found = [(m.name, text[m.start:m.end]) for m in find_forces(text)]
    assert found == [
        ("Avon and Somerset Constabulary", "AVON AND SOMERSET CONSTABULARY"),
        ("Dyfed-Powys Police", "Dyfed-\nPowys Police"),
        ("Metropolitan Police Service", "the Met"),
    ]


def test_inspectorate_is_never_a_force() -> None:
    text = ("Her Majesty's Inspectorate of Constabulary (HMIC) assesses police forces. "
            "Inspectorate of Constabulary staff visited. HM Inspectorate of Constabulary in Scotland.")
    assert find_forces(text) == []


def test_bare_place_names_count_only_in_a_force_context() -> None:
    county = "Crime in Essex rose while Kent stayed flat. Tourism in Surrey grew."
    assert find_forces(county) == []
    assert [m.name for m in find_forces("In Essex, the force has improved.")] == ["Essex Police"]
    listed = "We spoke to Kent Police, Surrey, Sussex and Norfolk about it."
    assert [m.name for m in find_forces(listed)] == [
        "Kent Police", "Surrey Police", "Sussex Police", "Norfolk Constabulary"]
    assert [m.name for m in find_forces("Essex PEEL 2018", force_context=True)] == ["Essex Police"]


def test_a_single_force_report_gets_its_force_and_the_inspectorate_as_publisher() -> None:
    text = (
        "PEEL: Police effectiveness 2017\n\nAn inspection of Kent Police\n\n"
        "Her Majesty's Inspectorate of Constabulary (HMIC) inspected Kent Police in 2017. "
        "We found that Kent Police is good. The force works with Essex Police on serious crime. "
        "Kent Police should improve. In Kent, the force answers calls quickly.\n"
    )
    meta = _meta(text)
    assert (meta.force, meta.doc_type, meta.publisher) == ("Kent Police", "peel-report", PUBLISHER_HMIC)
    assert {"force", "doc_type", "publisher"} <= set(meta.inferred)


def test_a_thematic_inspection_of_many_forces_has_no_force() -> None:
    text = (
        "The police response to domestic abuse\n\n"
        "HMICFRS thematic inspection. In this inspection we inspected eight forces: Kent Police, "
        "Essex Police, Surrey Police, Sussex Police, Durham Constabulary, Gwent Police, "
        "Merseyside Police and Lancashire Constabulary. We found that Kent Police and "
        "Essex Police share a control room, and Gwent Police has improved.\n"
    )
    meta = _meta(text, "domestic-abuse-2021.txt")
    assert meta.force is None
    assert meta.doc_type == "thematic-inspection"
    assert meta.publisher == PUBLISHER_HMICFRS


def test_a_title_naming_two_forces_gives_no_force() -> None:
    meta = _meta("A joint inspection of Surrey Police and Sussex Police\n\nWe inspected both forces.\n")
    assert meta.force is None


@pytest.mark.parametrize(
    ("text", "name", "doc_type"),
    [
        ("Crime data integrity inspection 2019\n\nKent Police\n\nWe inspected how Kent Police records crime.\n",
         "report.txt", "crime-data-integrity"),
        ("Introduction\n\nOur inspection of Cumbria Constabulary looked at custody.\n", "report.txt",
         "inspection-report"),
        ("Introduction\n\nAs part of our annual PEEL inspections, we assessed Cumbria Constabulary.\n",
         "report.txt", "peel-report"),
        ("Introduction\n\nWe found that Dorset Police had improved.\n", "dorset-peel-2017.txt", "peel-report"),
        ("Progress report on the areas for improvement\n\nDorset Police has completed six actions.\n",
         "report.txt", "force-progress-report"),
        ("PEEL: Police effectiveness 2016 – A national overview\n\nWe inspected all 43 forces.\n",
         "report.txt", "thematic-inspection"),
        ("Minutes of the meeting\n\nThe committee discussed budgets.\n", "minutes.txt", "unknown"),
        # A force's own paper citing inspection grades is not an inspection.
        ("Essex Police grades\n\nEffectiveness 2016: Good. Examined through all PEEL inspections.\n",
         "paper.txt", "unknown"),
    ],
)
def test_doc_type_cues(text: str, name: str, doc_type: str) -> None:
    assert _meta(text, name).doc_type == doc_type


PCC_PAGE = """\
Police and Crime Plan 2021-25: annual report

Foreword from the Police and Crime Commissioner for Kent

As your Police and Crime Commissioner I set the priorities for Kent Police. This report
sets out the progress Kent Police has made against the plan, and how I hold the Chief
Constable to account. HMICFRS graded Kent Police as good in its last inspection.

Priority 1: fighting crime and antisocial behaviour
We will put more officers in neighbourhoods.
"""

NEWS_PAGE = """\
Wednesday, 3 March 2021

Inspectors praise Surrey Police for its response to fraud victims

By Jane Holloway

Surrey Police has been rated good at investigating fraud in a report published today by
Her Majesty's Inspectorate of Constabulary and Fire & Rescue Services (HMICFRS).

The inspectorate said the force supports victims well. Chief Constable Tim Smith said
Surrey Police was proud of its officers.

Share this article

© 2021 Surrey Daily Courier. All rights reserved.
"""


def test_a_pcc_page_is_a_pcc_report_issued_by_the_commissioner() -> None:
    meta = _meta(PCC_PAGE, "annual-report.txt")
    assert meta.doc_type == "pcc-report"
    assert meta.publisher == "Police and Crime Commissioner for Kent"
    assert meta.force == "Kent Police"


def test_a_news_page_is_a_news_article_issued_by_the_paper() -> None:
    meta = _meta(NEWS_PAGE, "page.txt")
    assert meta.doc_type == "news"
    assert meta.publisher == "Surrey Daily Courier"
    assert meta.force == "Surrey Police"


def test_an_inspectorate_named_without_its_voice_is_not_the_publisher() -> None:
    text = "Essex Police grades\n\nHMICFRS graded Essex Police as good in 2017. Essex Police will improve.\n"
    assert _meta(text).publisher is None


@pytest.mark.parametrize(
    ("text", "name", "title"),
    [
        # a dateline is not a title; the headline after it is
        ("Tuesday, January 31, 2023\n\nDamning report on Kent Police response times\n\n"
         "AN INSPECTION by the watchdog has rated Kent Police as inadequate at answering calls.\n",
         "news.txt", "Damning report on Kent Police response times"),
        # a generic part name is not a title: with none before the body, the file's name is
        ("Introduction\n\nAs part of our annual inspections we assessed the effectiveness of Kent Police "
         "and what it does to keep people safe and reduce crime in the county.\n",
         "kent-peel-2016_effectiveness.txt", "Kent Peel 2016 Effectiveness"),
        # a one-word heading is the first half of a title
        ("UNDER EMBARGO UNTIL 00.01 ON THURSDAY 2 MAY 2019\n\nPEEL\n\n"
         "Police effectiveness, efficiency and legitimacy 2018/19\n\nAn inspection of Kent Police\n\nContents\n",
         "report.txt", "PEEL: Police effectiveness, efficiency and legitimacy 2018/19"),
    ],
)
def test_title_inferred_from_the_opening_lines(text: str, name: str, title: str) -> None:
    assert _meta(text, name).title == title
