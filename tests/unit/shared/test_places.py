"""Printable names of regions (shared/places.py): a village by the name its county loaded, else by its number under
its township as the division tables name it."""

from __future__ import annotations

from shared.places import PlaceNames

NAMED, UNNAMED = "610626101235", "610626101236"


def test_a_loaded_village_is_named_with_its_township_and_alone():
    places = PlaceNames({NAMED: "张湾村"})
    assert places(NAMED) == "铁边城镇张湾村"
    assert places.village(NAMED) == "张湾村"


def test_a_village_not_loaded_is_its_number_under_its_township():
    places = PlaceNames({NAMED: "张湾村"})
    assert places(UNNAMED) == "铁边城镇236村"
    assert places.village(UNNAMED) == "236村"


def test_a_township_or_county_is_named_by_the_division_tables():
    places = PlaceNames({})
    assert places("610626101") == places.village("610626101") == "铁边城镇"
    assert places("610626") == "吴起县"
