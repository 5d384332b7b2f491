"""Query parsing (years, change over time, hostile input) and the acronym glossary."""

from __future__ import annotations

import pytest

from index.query.acronyms import mine_acronym_pairs, mine_acronyms
from index.query.glossary import Glossary, GlossaryError, default_glossary, load_glossary
from index.query.parse import MAX_QUERY_CHARS, ParsedQuery, parse_query

NO_GLOSSARY = Glossary.empty()


def years(q: str) -> tuple[int | None, int | None]:
    p = parse_query(q, NO_GLOSSARY)
    return p.year_from, p.year_to


# --- year expressions ------------------------------------------------------------------


@pytest.mark.parametrize(
    "q, expected",
    [
        ("DVPO use 2016–2018", (2016, 2018)),  # en dash
        ("DVPO use 2016-2018", (2016, 2018)),
        ("DVPO use 2016 — 2018", (2016, 2018)),
        ("DVPO use 2016-18", (2016, 2018)),
        ("DVPO use 2016 to 2018", (2016, 2018)),
        ("DVPO use between 2016 and 2018", (2016, 2018)),
        ("DVPO use from 2016 to 2018", (2016, 2018)),
        ("DVPO use from 2016 until 2018", (2016, 2018)),
        ("DVPO use since 2017", (2017, None)),
        ("DVPO use 2017 onwards", (2017, None)),
        ("DVPO use before 2018", (None, 2017)),
        ("DVPO use prior to 2018", (None, 2017)),
        ("DVPO use up to 2018", (None, 2018)),
        ("DVPO use after 2016", (2017, None)),
        ("DVPO use in 2017", (2017, 2017)),
        ("DVPO use 2017", (2017, 2017)),
        ("DVPO use in 2018/19", (2018, 2019)),
        ("DVPO use in 2017/18", (2017, 2018)),
        ("DVPO use 2018-19", (2018, 2019)),
        ("DVPO use in 2016 and in 2018", (2016, 2018)),
        ("DVPO use 2016 vs 2018", (2016, 2018)),
        ("compared with 2016", (2016, None)),
        ("the year to 30 June 2016", (2016, 2016)),
        ("mid-2016 figures", (2016, 2016)),
    ],
)
def test_year_expressions(q, expected):
    assert years(q) == expected


@pytest.mark.parametrize(
    "q",
    [
        "How many of the 1,245 registered sex offenders are high risk?",
        "How many 999 calls and 101 line calls were abandoned?",
        "Is 12.4% a big rise?",
        "Did it spend £2016 on overtime?",
        "Reference 12016 in the annex",
        "2016.5 is not a year",
        "Were there 2,016 arrests?",
        "the 1980 and 2040 plans",  # outside 1990–2035
        "what happened last year?",  # relative dates are ignored
        "the 2010s",
        "50 percent of 2020 percent",  # "2020 percent" is a percentage
    ],
)
def test_numbers_that_are_not_years(q):
    assert years(q) == (None, None)


def test_year_text_is_kept_as_words():
    p = parse_query("How did DVPO use change 2016–2018?", NO_GLOSSARY)
    assert "2016" in p.text and "2018" in p.text
    assert p.text == "How did DVPO use change 2016–2018?"


# --- change over time ------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "How did DVPO use change 2016-2018?",
        "How has the handling of domestic abuse changed?",
        "recorded crime trend in Essex",
        "abandoned calls over time",
        "Has the force improved its response to vulnerable people since 2016?",
        "How has it improved?",
        "What progress has been made on child sexual exploitation?",
        "DVPO use between 2016 and 2018",
        "DVPO use from 2016 to 2018",
        "DVPO use 2016 to 2018",
        "DVPO use 2016-18",
        "RSO management since 2017",
        "compared with the previous inspection, is supervision better?",
        "how does 2018 compare with 2016",
        "abandoned 101 calls in 2016 and in 2018",
        "Did recorded crime increase?",
        "Has public satisfaction been falling?",
    ],
)
def test_temporal_questions(q):
    assert parse_query(q, NO_GLOSSARY).temporal is True


@pytest.mark.parametrize(
    "q",
    [
        "How many DVPOs were granted in 2016?",
        "in 2016",
        "What did the 2018/19 report say about the MASH?",  # one financial year
        "areas for improvement in investigating crime",
        "what needs to be improved?",
        "How does Essex compare with other forces?",
        "spend per head in 2016 compared with England and Wales",
        "What is the progress report about?",
        "How does the force reduce crime and keep people safe?",
        "Which tools are used to identify organised crime groups?",
    ],
)
def test_not_temporal(q):
    assert parse_query(q, NO_GLOSSARY).temporal is False


# --- hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    ["", "   ", "?!", "...", "*", "(", ")", "[", "]", "\\", "\"", "'", "—", "()[]{}*\\", "\x00\x01", "\n\t"],
)
def test_empty_or_punctuation_only(q):
    p = parse_query(q)
    assert isinstance(p, ParsedQuery)
    assert p.text == ""
    assert p.empty
    assert p.expansions == [] and p.phrases == []
    assert p.year_from is None and p.year_to is None and p.temporal is False


@pytest.mark.parametrize(
    "q",
    [
        "DVPO* AND (2016 OR 2018)",
        "[MASH] NOT -burglary",
        "crime \\d+ .* (?:x)",
        '"unbalanced quote about ASB',
        "ASB AND OR NOT",
        "((((((((((",
        "a" * 10000,
        ("domestic abuse 2016 " * 600),
        "🚓 police 🚓 in 2017",
        "SELECT * FROM chunks; DROP TABLE --",
    ],
)
def test_hostile_queries_do_not_crash(q):
    p = parse_query(q)
    assert isinstance(p.text, str)
    assert len(p.text) <= MAX_QUERY_CHARS
    for ch in "*()[]\\\"":
        assert ch not in p.text


def test_syntax_is_stripped_but_words_stay():
    p = parse_query('DVPO* AND ("anti-social behaviour" OR [MASH]) NOT -burglary', NO_GLOSSARY)
    assert p.text == "DVPO and anti-social behaviour or MASH not burglary"
    assert p.phrases == ["anti-social behaviour"]


def test_long_query_is_truncated_at_a_word():
    p = parse_query("word " * 5000, NO_GLOSSARY)
    assert p.truncated
    assert len(p.text) <= MAX_QUERY_CHARS
    assert p.text.endswith("word")


def test_quoted_phrases():
    p = parse_query('Was the "force control room" or “control room” busy? "unbalanced', NO_GLOSSARY)
    assert p.phrases == ["force control room", "control room"]
    assert '"' not in p.text and "“" not in p.text


@pytest.mark.parametrize(
    "q, topic",
    [
        ("how did DVPO use change 2016–2018?", "DVPO use"),
        ("How did neighbourhood policing in Essex change between the 2015 and 2018/19 inspections?",
         "neighbourhood policing Essex"),
        ("recorded crime trend in Essex between 2016 and 2018", "recorded crime Essex"),
        ("Has public satisfaction been falling since 2015?", "public satisfaction falling"),
        ("what did inspectors say about the 101 line", "inspectors say about 101 line"),
        ("how did it change in 2016?", "it"),
        ("change over time", "change over time"),  # nothing left: the question itself
    ],
)
def test_topic_drops_the_time_frame_of_a_question(q, topic):
    assert parse_query(q, NO_GLOSSARY).topic == topic


def test_search_text_appends_expansions():
    p = parse_query("DVPO use in 2016")
    assert p.search_text().startswith("DVPO use in 2016 ")
    assert "domestic violence protection order" in p.search_text()


# --- glossary --------------------------------------------------------------------------


def test_curated_file_loads_and_has_the_core_acronyms():
    g = default_glossary()
    for acr, word in [
        ("DVPO", "domestic violence protection order"),
        ("DVPN", "domestic violence protection notice"),
        ("ASB", "anti-social behaviour"),
        ("RSO", "registered sex offender"),
        ("PNC", "Police National Computer"),
        ("OCG", "organised crime group"),
        ("CSE", "child sexual exploitation"),
        ("MASH", "multi-agency safeguarding hub"),
        ("PCSO", "police community support officer"),
        ("KSI", "killed or seriously injured"),
        ("FCR", "force control room"),
        ("MARAC", "multi-agency risk assessment conference"),
        ("SHPO", "sexual harm prevention order"),
        ("APSTRA", "armed policing strategic threat and risk assessment"),
        ("MOSOVO", "management of sexual offenders and violent offenders"),
        ("CPS", "Crown Prosecution Service"),
        ("IOM", "integrated offender management"),
    ]:
        entry = g.get(acr)
        assert entry is not None, acr
        assert entry.name == word
    for acr in ("IDVA", "THRIVE", "HMIC", "HMICFRS", "PEEL", "RASSO"):
        assert acr in g


def test_acronym_expands_to_full_name_any_case_and_plural():
    g = default_glossary()
    assert g.expand("How did DVPO use change?")[0] == "domestic violence protection order"
    assert "domestic violence protection order" in g.expand("dvpos granted")
    assert "domestic violence protection order" in g.expand("How many DVPOs?")
    assert g.expand("What about PCSOs?") == ["police community support officer"]
    assert g.expand("asb hotspots") == ["anti-social behaviour"]
    # documents' older wording is kept as an alias
    assert "domestic violence prevention order" in g.expand("DVPO")


def test_full_name_expands_to_acronym():
    g = default_glossary()
    assert g.expand("registered sex offenders in Essex") == ["RSO"]
    assert "DVPO" in g.expand("use of domestic violence protection orders")
    assert g.expand("multi agency safeguarding hubs") == ["MASH"]
    assert g.expand("Anti-Social Behavior") == ["ASB"]  # case, hyphen and US spelling
    assert g.expand("antisocial behaviour") == ["ASB"]


def test_expand_does_not_repeat_what_the_query_says():
    g = default_glossary()
    terms = g.expand("ASB (anti-social behaviour) and DVPOs")
    assert "anti-social behaviour" not in terms
    assert "ASB" not in terms
    assert len(terms) == len({t.casefold() for t in terms})


def test_word_like_acronyms_only_match_in_capitals():
    g = default_glossary()
    assert g.expand("what did the force gain from this") == []
    assert g.expand("set up a team") == []
    assert g.expand("help victims thrive") == []
    assert "Government Agency Intelligence Network" in g.expand("use of GAIN")
    assert g.expand("da cases") == []  # two-letter acronyms never match in lower case
    assert g.expand("DA cases") == ["domestic abuse"]


def test_glossary_find_positions():
    g = default_glossary()
    text = "The RSOs and registered sex offenders"
    found = [(text[m.start : m.end], m.acronym, m.kind) for m in g.find(text)]
    assert ("RSOs", "RSO", "acronym") in found
    assert ("registered sex offenders", "RSO", "name") in found


# --- mining ----------------------------------------------------------------------------


def test_mining_full_name_then_acronym():
    text = (
        "In the year to 30 June 2016, 215 domestic violence protection notices (DVPNs) were "
        "authorised. Applications for 215 domestic violence protection orders (DVPOs) were made. "
        "Every neighbourhood has police community support officers (PCSOs). "
        "As part of our annual inspections of police effectiveness, efficiency and legitimacy "
        "(PEEL), Her Majesty’s Inspectorate of Constabulary (HMIC) assesses forces. "
        "The force is not circulating wanted people on the Police National Computer (PNC)."
    )
    mined = mine_acronyms(text)
    assert mined["DVPN"] == "domestic violence protection notice"
    assert mined["DVPO"] == "domestic violence protection order"
    assert mined["PCSO"] == "police community support officer"
    assert mined["PEEL"] == "police effectiveness, efficiency and legitimacy"
    assert mined["HMIC"] == "Her Majesty’s Inspectorate of Constabulary"
    assert mined["PNC"] == "Police National Computer"


def test_mining_skips_small_words_and_handles_hyphens_and_markdown():
    text = (
        "We use data from the Office for National Statistics (ONS). "
        "The [multi-agency risk assessment conference](#) (MARAC) meets weekly. "
        "It has reduced its use of released under investigation (RUI). "
        "Officers are trained to an [armed response vehicle \\(ARV\\)](#) standard. "
        "Her Majesty's Inspectorate of Constabulary and Fire & Rescue Services (HMICFRS). "
        "The police online investigation team (POLIT) is busy. "
        "Cases are assessed with DASH (domestic abuse, stalking and harassment) forms."
    )
    mined = mine_acronyms(text)
    assert mined["ONS"] == "Office for National Statistics"
    assert mined["MARAC"] == "multi-agency risk assessment conference"
    assert mined["RUI"] == "released under investigation"
    assert mined["ARV"] == "armed response vehicle"
    assert mined["HMICFRS"] == "Her Majesty's Inspectorate of Constabulary and Fire & Rescue Services"
    assert mined["POLIT"] == "police online investigation team"
    assert mined["DASH"] == "domestic abuse, stalking and harassment"


def test_mining_takes_the_shortest_fitting_name():
    mined = mine_acronyms("It waits for the Athena Partnership Problem Solving Solution (PPSS) fix.")
    assert mined == {"PPSS": "Partnership Problem Solving Solution"}


@pytest.mark.parametrize(
    "text",
    [
        "Offender died, Not in public interest (CPS)",  # letters do not fit
        "the domestic abuse team (Juno) sergeants",  # not an acronym
        "The force (Essex) was inspected",
        "as shown in the chart (see annex A)",
        "Yes (exempt from RBA)",
        "data from the year (2016)",
        "Southend, Essex and Thurrock (SET Procedures)",
        "refer them to Medium Risk DA (MRDA)",  # reverse form: "DA (MRDA)" is not a name
    ],
)
def test_mining_rejects_parenthesised_non_acronyms(text):
    pairs = mine_acronym_pairs(text)
    assert all(not (acr in ("CPS", "Juno", "SET", "DA")) for acr, _ in pairs)
    assert ("CPS", "Not in public interest") not in pairs
    if "MRDA" in text:
        assert pairs == [("MRDA", "Medium Risk DA")]
    else:
        assert pairs == []


def test_load_glossary_merges_curated_and_mined_curated_wins(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(
        'DVPO = "domestic violence protection order"\n'
        'GAIN = { name = "Government Agency Intelligence Network", exact_case = true }\n',
        encoding="utf-8",
    )
    texts = [
        "215 domestic violence prevention orders (DVPOs) were made.",
        "better use of the Government Agency Information Network (GAIN).",
        "The gang-related incident tracker system (GRITS) is used. It helps us gain insight.",
    ]
    g = load_glossary(path, extra_texts=texts)
    assert g.get("DVPO").names == ["domestic violence protection order", "domestic violence prevention order"]
    assert g.get("GAIN").name == "Government Agency Intelligence Network"
    assert g.get("GAIN").exact_case
    # mined-only acronym, usable for expansion both ways
    assert g.get("GRITS").source == "mined"
    assert g.expand("GRITS") == ["gang-related incident tracker system"]
    assert g.expand("gang related incident tracker systems") == ["GRITS"]
    # "prevention" wording from the text expands to the acronym as well
    assert "DVPO" in g.expand("domestic violence prevention orders")


def test_mined_acronym_that_is_a_word_in_the_text_needs_capitals(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    texts = [
        "The Helping Young People Excel (HYPE) scheme. There is a lot of hype about it.",
        "The Night Time Economy (NTE) team.",
    ]
    g = load_glossary(empty, extra_texts=texts)
    assert g.get("HYPE").exact_case  # "hype" is a word of the text
    assert g.expand("all the hype") == []
    assert g.expand("HYPE") == ["Helping Young People Excel"]
    assert not g.get("NTE").exact_case
    assert g.expand("nte policing") == ["Night Time Economy"]


def test_bad_glossary_file_raises_plain_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("DVPO = \n", encoding="utf-8")
    with pytest.raises(GlossaryError, match="not valid TOML"):
        load_glossary(bad)
    with pytest.raises(GlossaryError, match="does not exist"):
        load_glossary(tmp_path / "missing.toml")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("DVPO = 3\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match="must be a string"):
        load_glossary(wrong)


def test_parse_query_uses_glossary_expansions():
    p = parse_query("How did DVPO use change 2016-2018?")
    assert (p.year_from, p.year_to, p.temporal) == (2016, 2018, True)
    assert p.expansions[:2] == ["domestic violence protection order", "domestic violence prevention order"]
    assert parse_query("registered sex offenders").expansions == ["RSO"]
    assert parse_query("DVPO", NO_GLOSSARY).expansions == []


class _Source:
    """An index of two Essex documents, as `prepare_query` sees it."""

    chunks: list = []

    def documents(self):
        return [{"doc_id": "a", "years": [2016], "force": "Essex Police"},
                {"doc_id": "b", "years": [2018, 2019], "force": "Essex Police"}]


def test_question_years_become_a_prior_that_looks_back_never_a_filter():
    from index.query.prepare import LOOKBACK_YEARS, YEAR_PRIOR, prepare_query

    p = prepare_query(_Source(), "DVPO applications in 2016")
    assert p.filters is None  # nothing excluded
    ((f, w),) = p.priors
    assert (f.year_from, f.year_to, w) == (2016, 2016 + LOOKBACK_YEARS, YEAR_PRIOR)
    assert p.in_time_frame([2018, 2019]) and not p.in_time_frame([2014])
    since = prepare_query(_Source(), "domestic abuse since 2017")
    assert (since.priors[0][0].year_from, since.priors[0][0].year_to) == (2017, None)


def test_an_explicit_year_filter_replaces_the_question_years():
    from index.engine.filters import Filters
    from index.query.prepare import prepare_query

    p = prepare_query(_Source(), "DVPOs in 2018", Filters(year_from=2000, year_to=2030))
    assert p.priors == () and p.years is None
    assert (p.filters.year_from, p.filters.year_to) == (2000, 2030)
    assert "The year filter replaces the year 2018 named in the question." in p.message


def test_a_force_the_index_lacks_is_said_and_raised_where_present():
    from index.query.prepare import FORCE_PRIOR, prepare_query

    kent = prepare_query(_Source(), "what did inspectors say about stop and search in Kent")
    assert kent.forces == ("Kent Police",)
    ((f, w),) = kent.priors
    assert (f.forces, f.year_from, w) == (("Kent Police",), None, FORCE_PRIOR)
    assert "No documents about Kent Police in this index; nearest passages come from Essex Police." in kent.message
    essex = prepare_query(_Source(), "how does Essex Police handle 101 calls?")
    assert essex.forces == ("Essex Police",) and "No documents about" not in (essex.message or "")


def test_years_the_index_does_not_cover_are_said():
    from index.query.prepare import prepare_query

    p = prepare_query(_Source(), "custody in 2030")
    assert "No document in this index speaks of 2030 (it covers 2016–2019)" in p.message
