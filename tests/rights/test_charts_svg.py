"""The SVG charts: well-formed, one bar per data point, labelled for screen readers, and a message (not a crash)
when there is nothing to draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from rights import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    return root


def with_class(root: ET.Element, tag: str, name: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if name in (e.get("class") or "").split()]


def assert_labelled(root: ET.Element, title: str) -> None:
    assert root.get("role") == "img" and root.get("aria-label") == title
    assert root.find(f"{SVG}title").text == title  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text and root.get("aria-describedby") == desc.get("id")


def test_a_bar_chart_draws_one_labelled_bar_per_value() -> None:
    bars = [("Track 1", 12), ("Track 2", 7), ("Track 3", 0)]

    root = parse(charts.bar_chart("Top recordings", bars, value_axis="Matches", category_axis="Recording"))

    assert_labelled(root, "Top recordings")
    drawn = with_class(root, "rect", "bar")
    assert len(drawn) == len(bars)
    assert [bar.find(f"{SVG}title").text for bar in drawn] == ["Track 1: 12", "Track 2: 7", "Track 3: 0"]  # type: ignore[union-attr]
    widths = [float(bar.get("width")) for bar in drawn]  # type: ignore[arg-type]
    assert widths[0] > widths[1] > widths[2] == 0
    assert {e.text for e in with_class(root, "text", "axis-label")} == {"Matches", "Recording"}


def test_money_bars_are_labelled_with_the_currencys_decimals() -> None:
    bars = [("Ours Records", 123456), ("Ours Artist", 5)]

    root = parse(
        charts.bar_chart(
            "Royalties",
            bars,
            value_axis="Paid (EUR)",
            category_axis="Party",
            value_text=lambda minor: charts.format_money(minor, "EUR"),
        )
    )

    titles = [bar.find(f"{SVG}title").text for bar in with_class(root, "rect", "bar")]  # type: ignore[union-attr]
    assert titles == ["Ours Records: 1,234.56 EUR", "Ours Artist: 0.05 EUR"]
    assert charts.format_money(1500, "JPY") == "1,500 JPY" and charts.format_money(-1234, "KWD") == "-1.234 KWD"


def test_text_is_escaped_so_the_markup_stays_well_formed() -> None:
    nasty = 'AC/DC <b>"Live" & Loud</b>'

    root = parse(charts.bar_chart(f"Top {nasty}", [(nasty, 3)], value_axis="<x>", category_axis="&"))

    assert root.get("aria-label") == f"Top {nasty}"
    assert with_class(root, "rect", "bar")[0].find(f"{SVG}title").text == f"{nasty}: 3"  # type: ignore[union-attr]


def test_a_stacked_chart_draws_a_bar_per_day_and_a_segment_per_non_zero_value() -> None:
    days = ["01 Nov", "02 Nov", "03 Nov", "04 Nov"]
    series = [("Potential", [1, 0, 2, 0]), ("Active", [3, 0, 0, 0]), ("Released", [0, 0, 1, 0])]

    root = parse(
        charts.stacked_bar_chart(
            "Claims per day", days, series, x_axis="Day", y_axis="Claims", colors={"Active": "#116329"}
        )
    )

    assert_labelled(root, "Claims per day")
    columns = with_class(root, "g", "bar")
    assert len(columns) == len(days)
    assert [len(with_class(column, "rect", "segment")) for column in columns] == [2, 0, 2, 0]
    assert [column.find(f"{SVG}title").text for column in columns] == [  # type: ignore[union-attr]
        "01 Nov: 4",
        "02 Nov: 0",
        "03 Nov: 3",
        "04 Nov: 0",
    ]
    legend = with_class(root, "g", "legend")[0]
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["Potential", "Active", "Released"]
    assert "#116329" in [r.get("fill") for r in legend.iter(f"{SVG}rect")]
    # The tallest column reaches the top tick: its segments' heights add up to the plot's height share.
    heights = [float(s.get("height")) for s in with_class(columns[0], "rect", "segment")]  # type: ignore[arg-type]
    assert heights[0] * 3 == pytest.approx(heights[1], abs=0.2)


def test_a_stacked_chart_refuses_series_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="has 1 values for 2 columns"):
        charts.stacked_bar_chart("Claims", ["a", "b"], [("Active", [1])], x_axis="Day", y_axis="Claims")


def test_a_histogram_draws_one_bar_per_bin_between_its_edges() -> None:
    edges = [f"0.{n}" for n in range(10)] + ["1.0"]
    counts = [0, 0, 0, 0, 0, 4, 1, 0, 2, 9]

    root = parse(
        charts.histogram("Match confidence", edges, counts, x_axis="Confidence", y_axis="Claims", chart_id="conf")
    )

    assert_labelled(root, "Match confidence")
    drawn = with_class(root, "rect", "bar")
    assert len(drawn) == len(counts)
    assert drawn[5].find(f"{SVG}title").text == "0.5 to 0.6: 4"  # type: ignore[union-attr]
    assert [float(b.get("height")) > 0 for b in drawn] == [c > 0 for c in counts]  # type: ignore[arg-type]
    assert {e.text for e in with_class(root, "text", "axis-label")} == {"Confidence", "Claims"}
    assert root.find(f"{SVG}title").get("id") == "conf-title"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="needs 3 edges"):
        charts.histogram("Bad", ["0", "1"], [1, 2], x_axis="x", y_axis="y")


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts.bar_chart("Nothing", [], value_axis="v", category_axis="c"),
        lambda: charts.stacked_bar_chart("Nothing", ["01 Nov"], [("Active", [0])], x_axis="x", y_axis="y"),
        lambda: charts.stacked_bar_chart("Nothing", [], [], x_axis="x", y_axis="y"),
        lambda: charts.histogram("Nothing", ["0", "0.5", "1"], [0, 0], x_axis="x", y_axis="y"),
        lambda: charts.no_data("Nothing"),
    ],
)
def test_empty_data_renders_a_no_data_message(draw: object) -> None:
    root = parse(draw())  # type: ignore[operator]

    assert_labelled(root, "Nothing")
    assert with_class(root, "text", "no-data")[0].text == charts.NO_DATA
    assert not with_class(root, "rect", "bar")


def test_axis_ticks_are_round_numbers_covering_the_maximum() -> None:
    assert charts.nice_ticks(0) == [0, 1]
    assert charts.nice_ticks(4) == [0, 1, 2, 3, 4]
    assert charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(1851) == [0, 500, 1000, 1500, 2000]
    assert charts.nice_ticks(100) == [0, 50, 100]
