"""Metadata limits and merge patch; pagination parameters, cursors and page assembly. Pure."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workyard.domain.metadata import apply_patch, validate_metadata
from workyard.domain.pagination import (
    PageRequest,
    decode_cursor,
    encode_cursor,
    make_page,
    page_request,
)
from workyard.errors import InvalidRequestError
from workyard.ids import new_id

NON_STRINGS: list[Any] = [5, 1.5, True, False, [], ["a"], {}, {"a": "b"}]


def _keys(n: int) -> dict[str, str]:
    return {f"k{i:02d}": "v" for i in range(n)}


# --- metadata ----------------------------------------------------------------------------------


def test_valid_metadata_is_kept_exactly() -> None:
    raw = {" spaced key ": " value ", "ключ": "значение 🚀", "e\u0301": "\u00e9", "k": ""}
    assert validate_metadata(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        _keys(17),
        {"k" * 65: "v"},
        {"": "v"},
        {"k": "v" * 513},
        ["a"],
        "a=b",
        5,
    ],
    ids=["17 keys", "65-char key", "empty key", "513-char value", "array", "string", "number"],
)
def test_metadata_over_the_limits_is_refused(raw: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_metadata(raw)
    assert info.value.param == "metadata"
    assert info.value.status == 400


def test_metadata_at_the_limits_is_accepted() -> None:
    assert len(validate_metadata(_keys(16))) == 16
    assert validate_metadata({"k" * 64: "v" * 512}) == {"k" * 64: "v" * 512}


@pytest.mark.parametrize("value", [*NON_STRINGS, None])
def test_non_string_values_are_refused_naming_the_key(value: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_metadata({"good": "x", "bad_key": value})
    assert info.value.param == "metadata"
    assert "bad_key" in info.value.message


def test_patch_upserts_and_deletes() -> None:
    current = {"a": "1", "b": "2"}
    assert apply_patch(current, {"a": "one", "b": None, "c": "3"}) == {"a": "one", "c": "3"}
    assert current == {"a": "1", "b": "2"}  # not mutated


def test_patch_deleting_an_absent_key_is_a_no_op() -> None:
    assert apply_patch({"a": "1"}, {"zzz": None}) == {"a": "1"}
    assert apply_patch({"a": "1"}, {}) == {"a": "1"}


@pytest.mark.parametrize("value", NON_STRINGS)
def test_patch_refuses_non_string_non_null_values(value: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        apply_patch({"a": "1"}, {"bad_key": value})
    assert info.value.param == "metadata"
    assert "bad_key" in info.value.message


@pytest.mark.parametrize("patch", [["a"], "a", 1, True])
def test_patch_must_be_an_object(patch: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        apply_patch({}, patch)
    assert info.value.param == "metadata"


def test_limits_apply_to_the_patched_result() -> None:
    full = _keys(16)
    with pytest.raises(InvalidRequestError):
        apply_patch(full, {"one_more": "x"})
    swapped = apply_patch(full, {"k00": None, "one_more": "x"})
    assert len(swapped) == 16
    assert "k00" not in swapped
    assert swapped["one_more"] == "x"
    with pytest.raises(InvalidRequestError):
        apply_patch({"a": "1"}, {"a": "v" * 513})


@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=8),
    st.dictionaries(st.text(min_size=1, max_size=8), st.none() | st.text(max_size=8), max_size=8),
)
def test_patch_matches_rfc7396_on_a_flat_map(
    current: dict[str, str], patch: dict[str, Any]
) -> None:
    expected = dict(current)
    for key, value in patch.items():
        if value is None:
            expected.pop(key, None)
        else:
            expected[key] = value
    assert apply_patch(current, patch) == expected


# --- pagination --------------------------------------------------------------------------------


def _request(**params: Any) -> PageRequest:
    base: dict[str, Any] = {"limit": None, "page": None, "after_id": None, "before_id": None}
    return page_request(**{**base, **params}, prefix="env")


def test_limit_defaults_to_20_and_is_capped_at_100() -> None:
    assert _request().limit == 20
    assert _request(limit=1).limit == 1
    assert _request(limit=100).limit == 100
    assert _request(limit=101).limit == 100
    assert _request(limit=10**9).limit == 100


@pytest.mark.parametrize("limit", [0, -1, -100])
def test_non_positive_limits_are_refused(limit: int) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _request(limit=limit)
    assert info.value.param == "limit"


@pytest.mark.parametrize(
    "params",
    [
        {"page": "x", "after_id": "y"},
        {"page": "x", "before_id": "y"},
        {"after_id": "x", "before_id": "y"},
        {"page": "x", "after_id": "y", "before_id": "z"},
    ],
)
def test_cursor_params_are_mutually_exclusive(params: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError, match="mutually exclusive"):
        _request(**params)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not-base64!!",
        "e30",  # {}
        encode_cursor("after", "sess_0190a1b2c3d4e5f60718293a4b5c6d7e"),  # other prefix
        encode_cursor("after", "env_nothex"),
        "x" * 300,
    ],
)
def test_bad_cursors_are_refused_with_param_page(cursor: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _request(page=cursor)
    assert info.value.param == "page"


@pytest.mark.parametrize("name", ["after_id", "before_id"])
def test_anchor_ids_must_have_the_list_prefix(name: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _request(**{name: new_id("sess")})
    assert info.value.param == name


@pytest.mark.parametrize("direction", ["after", "before"])
def test_cursor_round_trip(direction: str) -> None:
    anchor = new_id("env")
    cursor = encode_cursor(direction, anchor)  # type: ignore[arg-type]
    assert decode_cursor(cursor, "env") == (direction, anchor)
    request = _request(page=cursor, limit=7)
    assert (request.anchor, request.direction, request.limit) == (anchor, direction, 7)


def _ids(n: int) -> list[str]:
    return [new_id("env") for _ in range(n)]


def test_after_page_keeps_limit_rows_and_points_past_the_last() -> None:
    rows = _ids(4)
    page = make_page(rows, PageRequest(limit=3), key=lambda r: r)
    assert page.data == rows[:3]
    assert page.has_more
    assert page.next_page is not None
    assert decode_cursor(page.next_page, "env") == ("after", rows[2])


@pytest.mark.parametrize("count", [0, 2, 3])
def test_last_page_has_no_next_page(count: int) -> None:
    rows = _ids(count)
    page = make_page(rows, PageRequest(limit=3), key=lambda r: r)
    assert page.data == rows
    assert not page.has_more
    assert page.next_page is None


def test_before_page_drops_the_probe_row() -> None:
    probe, first, second, anchor = _ids(4)
    request = PageRequest(limit=2, anchor=anchor, direction="before")
    page = make_page([probe, first, second], request, key=lambda r: r)
    assert page.data == [first, second]
    assert page.has_more
    assert page.next_page is not None
    assert decode_cursor(page.next_page, "env") == ("before", first)
    short = make_page([second], request, key=lambda r: r)
    assert short.data == [second]
    assert not short.has_more
    assert short.next_page is None
