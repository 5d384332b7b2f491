"""Figures in change-over-time answers: what counts as a quantity, its measure, its period."""

from __future__ import annotations

import pytest

from index.answers.figures import Figure, extract_figures


def figs(sentence: str, passage=(2017,), document=(2016, 2017, 2018)) -> list[Figure]:
    return extract_figures(sentence, 0, list(passage), list(document))


def values(sentence: str, **kw) -> list[str]:
    return [f.value for f in figs(sentence, **kw)]


# --- quantities -------------------------------------------------------------------------


def test_counts_with_thousands_separators_and_decimals():
    found = figs("Officers made 1,245 arrests, logged 12,030 reports and averaged 2.5 visits.")
    assert [(f.value, f.number, f.kind) for f in found] == [
        ("1,245", 1245.0, "count"),
        ("12,030", 12030.0, "count"),
        ("2.5", 2.5, "count"),
    ]
    assert found[0].measure == "arrests"
    assert found[1].measure == "reports"


def test_a_count_in_millions_is_one_figure():
    (f,) = figs("The control room handled 1.4 million contacts.")
    assert (f.value, f.number, f.measure) == ("1.4 million", 1_400_000.0, "contacts")


def test_percentages_in_three_spellings():
    found = figs("About 14 percent of victims, 9 per cent of witnesses and 31% of staff were positive.")
    assert [(f.value, f.number, f.kind) for f in found] == [
        ("14 percent", 14.0, "percent"),
        ("9 per cent", 9.0, "percent"),
        ("31%", 31.0, "percent"),
    ]
    assert [f.measure for f in found] == ["victims", "witnesses", "staff"]


def test_a_percentage_of_101_callers_keeps_the_service_name_in_its_measure():
    found = figs("During the summer 23 percent of all 101 callers hung up before an answer.")
    assert [f.value for f in found] == ["23 percent"]
    assert found[0].measure == "all 101 callers hung up"


def test_a_percentage_said_of_what_precedes_it():
    (f,) = figs("The proportion of emergency calls abandoned was 7%.")
    assert f.value == "7%"
    assert f.measure == "proportion of emergency calls abandoned"


def test_money():
    found = figs("The force spent £1.2m on vehicles, saved £350,000 and was given £3 million.")
    assert [(f.value, f.number, f.kind) for f in found] == [
        ("£1.2m", 1_200_000.0, "money"),
        ("£350,000", 350_000.0, "money"),
        ("£3 million", 3_000_000.0, "money"),
    ]


def test_minutes_and_seconds_are_one_duration_in_seconds():
    found = figs("Non-emergency callers waited 4 minutes 38 seconds on average.")
    assert len(found) == 1
    f = found[0]
    assert (f.value, f.number, f.kind) == ("4 minutes 38 seconds", 278.0, "duration")


def test_durations_in_other_units_and_a_list_of_them_stays_apart():
    found = figs("Reviews took 2 hours, 14 days and 28 days.")
    assert [(f.value, f.number) for f in found] == [
        ("2 hours", 7200.0),
        ("14 days", 14 * 86400.0),
        ("28 days", 28 * 86400.0),
    ]
    assert {f.kind for f in found} == {"duration"}


def test_hard_wrapped_lines_do_not_split_a_figure():
    found = figs("Officers flagged 6.3 \npercent of reports and waited 12 \nminutes on average.")
    assert [(f.value, f.kind, f.number) for f in found] == [
        ("6.3 \npercent", "percent", 6.3),
        ("12 \nminutes", "duration", 720.0),
    ]


def test_a_range_is_one_figure_without_a_single_number():
    (f,) = figs("Cases are heard within 10–14 days.")
    assert (f.value, f.kind, f.number) == ("10–14 days", "duration", None)


def test_a_period_frame_is_not_a_duration():
    found = figs("In the 12 months to June 2017, the unit seized 46 vehicles.")
    assert [(f.value, f.period) for f in found] == [("46", [2017])]


def test_rates_keep_their_denominator_in_the_value_and_do_not_count_it():
    found = figs("Recorded crime stood at 12 per 1,000 population, against 3.5 per 100 elsewhere.")
    assert [(f.value, f.number, f.kind) for f in found] == [
        ("12 per 1,000 population", 12.0, "rate"),
        ("3.5 per 100", 3.5, "rate"),
    ]


def test_a_rate_said_of_a_noun_before_it():
    (f,) = figs("The force had a victim satisfaction rate of 8 per 10 surveyed.")
    assert f.kind == "rate"
    assert f.measure == "victim satisfaction rate"


# --- what is not a figure ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "The force was inspected in 2016 and again in 2018/19.",
        "The plan covers 2017–20.",
        "The inspection ended on 30 June 2016.",
        "The review was held on 2 May 2019.",
        "Most people phone the 101 line.",
        "The force answers 999 calls quickly.",
        "Confidence is high among the public:1 officers agree.",
        "This is shown in Figure 3.",
        "The same is true in all 43 forces.",
        "It was the 2nd inspection of the force.",
        "The system restarts at 00.01 each night.",
        "(2) The force should review its approach.",
        "See page 12 of the report.",
        "The Policing and Crime Act 2017 changed bail.",
        "Powers under section 136 (2) were used.",
        "14 Leicestershire Police did not supply data.",
        "Protecting vulnerable people\t17",
        "Rates are shown per 1,000 population.",
        "The campaign covers appropriate use of 999 / 101 in winter.",
        "Wednesday, March 14, 2018",
    ],
)
def test_these_numbers_are_not_figures(sentence):
    assert figs(sentence) == []


def test_the_forces_of_england_and_wales_are_context():
    found = figs("The Home Office gave £20 million to the 43 England and Wales police forces.")
    assert [f.value for f in found] == ["£20 million"]


def test_outcome_codes_are_not_counts_but_the_closures_are():
    found = figs("The force closed 18,204 cases under outcomes 15 and 16 in the year to 31 March 2019.")
    assert [(f.value, f.period) for f in found] == [("18,204", [2019])]


def test_a_service_number_before_a_plural_noun_is_a_count():
    found = figs("The team trained 101 volunteers.")
    assert [(f.value, f.measure) for f in found] == [("101", "volunteers")]


def test_the_number_of_forces_is_context_but_other_counts_beside_it_stay():
    found = figs("Across all 43 police forces, 5,120 officers were trained.")
    assert [f.value for f in found] == ["5,120"]


def test_a_day_number_is_not_read_but_the_figure_in_the_same_sentence_is():
    assert values("By 31 March 2018 the force had 1,820 officers.") == ["1,820"]


# --- measures ---------------------------------------------------------------------------


def test_orders_made_and_granted_in_a_one_year_passage():
    found = figs(
        "Applications for 342 domestic violence protection orders (DVPOs) were submitted, with 301 being granted.",
        passage=(2016,),
        document=(2014, 2015, 2016),
    )
    assert [f.value for f in found] == ["342", "301"]
    first, second = found
    assert first.measure.startswith("domestic violence protection orders")
    assert second.measure == "granted"
    assert first.period == second.period == [2016]
    assert first.period_from == second.period_from == "passage"


def test_a_measure_stops_at_a_preposition():
    (f,) = figs("In 2018, this dropped to 47 orders agreed at court.", passage=(2018, 2019))
    assert f.measure == "orders agreed"


# --- periods ----------------------------------------------------------------------------


def test_from_one_year_to_another_ties_each_number_to_its_own_year():
    found = figs("The number of DVPOs rose slightly from 148 in 2017 to 163 in 2018.", passage=(2018, 2019))
    assert [(f.value, f.period, f.period_from) for f in found] == [
        ("148", [2017], "sentence"),
        ("163", [2018], "sentence"),
    ]
    assert found[0].measure == found[1].measure == "number of dvpos"


def test_a_year_before_the_number_in_the_same_clause():
    (f,) = figs("In 2018, this dropped to 47 orders agreed at court.", passage=(2018, 2019))
    assert (f.value, f.period, f.period_from) == ("47", [2018], "sentence")


def test_the_year_after_a_date_frame_dates_the_figure():
    (f,) = figs("Officers issued 388 penalty notices in the year to 30 September 2015.", passage=(2016,))
    assert (f.value, f.period, f.period_from) == ("388", [2015], "sentence")


def test_clauses_split_at_but():
    found = figs("There were 310 detectives in 2017, but only 265 in 2018/19.", passage=(2019,))
    assert [(f.value, f.period) for f in found] == [("310", [2017]), ("265", [2018, 2019])]


def test_a_start_point_without_its_own_year_does_not_take_the_later_one():
    found = figs("The number of arrests increased from 196 to 212 in 2018.", passage=(2016, 2017, 2018),
                 document=(2015, 2016, 2017, 2018))
    assert [(f.value, f.period, f.period_from) for f in found] == [
        ("196", [2015, 2016, 2017, 2018], "document"),
        ("212", [2018], "sentence"),
    ]


def test_a_year_the_figure_is_measured_since_does_not_date_it():
    (f,) = figs("Violent crime has risen by 18% since 2014.", passage=(2018,))
    assert (f.period, f.period_from) == ([2018], "passage")


def test_a_bracketed_restatement_does_not_cut_a_figure_from_its_year():
    found = figs("Nearly 4,000 crimes (about 12%) went unrecorded in the year ending March 2017.", passage=(2018,))
    assert [(f.value, f.period, f.period_from) for f in found] == [
        ("4,000", [2017], "sentence"),
        ("12%", [2017], "sentence"),
    ]


def test_a_baseline_or_a_deadline_does_not_date_a_figure():
    found = figs("This was a 9% rise on 2016, and 80 more staff are due by the end of March 2021.", passage=(2017,))
    assert [(f.value, f.period, f.period_from) for f in found] == [
        ("9%", [2017], "passage"),
        ("80", [2017], "passage"),
    ]


def test_a_bracketed_figure_glosses_the_year_before_it():
    found = figs("Offences rose from 2014/15 (836 offences) to the same period in 2015/16 (1,113).", passage=(2016,))
    assert [(f.value, f.period) for f in found] == [("836", [2014, 2015]), ("1,113", [2015, 2016])]


def test_a_year_in_brackets_belongs_to_the_figure_in_them():
    found = figs("In June 2018 the wait was 6 seconds (it was 11 seconds in June 2017).", passage=(2018,))
    assert [(f.value, f.period) for f in found] == [("6 seconds", [2018]), ("11 seconds", [2017])]


def test_a_relative_year_is_read_against_the_passage():
    found = figs("The force had 2,310 staff in 2019, up from 2,150 the previous year.", passage=(2019,))
    assert [(f.value, f.period) for f in found] == [("2,310", [2019]), ("2,150", [2018])]


def test_a_passage_of_two_consecutive_years_is_one_inspection():
    (f,) = figs("The force employs 1,020 staff.", passage=(2018, 2019), document=(2016, 2019))
    assert (f.period, f.period_from) == ([2018, 2019], "passage")


def test_a_passage_of_scattered_years_falls_back_to_the_document():
    (f,) = figs("The force employs 1,020 staff.", passage=(2014, 2018), document=(2019, 2018))
    assert (f.period, f.period_from) == ([2018, 2019], "document")


def test_no_passage_years_falls_back_to_the_document():
    (f,) = figs("The force employs 1,020 staff.", passage=(), document=(2017,))
    assert (f.period, f.period_from) == ([2017], "document")


# --- verbatim ---------------------------------------------------------------------------


def test_offsets_point_into_the_longer_source():
    sentence = "The average wait rose from 52 seconds in 2016 to 1 minute 5 seconds in 2017, or 25%."
    source = "Call handling. Some text comes first here. " + sentence + " More text follows."
    at = source.index(sentence)
    found = extract_figures(sentence, at, [2017], [2016, 2017])
    assert [f.value for f in found] == ["52 seconds", "1 minute 5 seconds", "25%"]
    for f in found:
        assert source[f.start : f.end] == f.value
        assert f.sentence == sentence
    assert [f.number for f in found] == [52.0, 65.0, 25.0]


def test_only_stated_figures_nothing_derived():
    found = figs("Satisfaction went from 60% to 75% over the period.")
    assert [f.value for f in found] == ["60%", "75%"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Applications for 342 DVPOs were submitted, with 301 being granted.",
        "About 14 percent of victims, 9 per cent of witnesses and 31% of staff replied.",
        "The force spent £1.2m on vehicles, saved £350,000 and was given £3 million.",
        "Recorded crime stood at 12 per 1,000 population, against 3.5 per 100 elsewhere.",
        "Callers to 999 waited 4 minutes and 38 seconds; 1 in 5 gave up.",
    ],
)
def test_every_value_is_the_text_at_its_offsets(sentence):
    offset = 1234
    found = extract_figures(sentence, offset, [2017], [2017])
    assert found
    for f in found:
        assert sentence[f.start - offset : f.end - offset] == f.value
    assert [f.start for f in found] == sorted(f.start for f in found)


def test_to_dict_carries_every_field():
    (f,) = figs("The force employs 1,020 staff.")
    d = f.to_dict()
    assert d["value"] == "1,020" and d["number"] == 1020.0 and d["kind"] == "count"
    assert set(d) == {"value", "number", "kind", "measure", "period", "period_from", "sentence", "start", "end",
                      "chunk_id", "citation"}
