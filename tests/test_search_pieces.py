"""Which trigrams a search asks the index for (orders.search.index_pieces): the rarest few
by a sample of the orders, never one the text does not hold, the whole text when there is
nothing to go by; and the sample itself (orders.search.trigram_sample)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from orders import search

REAL_SAMPLE = search.trigram_sample  # tests run with none (conftest); these bring their own


def sample_of(texts):
    masks = {}
    for i, text in enumerate(texts):
        for gram in search._grams(text):
            masks[gram] = masks.get(gram, 0) | 1 << i
    return len(texts), masks


def customers(n):
    """n search texts: every e-mail at example.com, a tenth of the customers a Jones, one
    in a hundred a Jones whose e-mail has a 3 after the name."""
    texts = []
    for i in range(n):
        last = "jones" if i % 10 == 0 else f"smith{i % 7}"
        digit = "3" if i % 100 == 0 else str(i % 3 + 4)
        texts.append(f"\n{1000 + i}\nana {last}\nana.{last}{digit}@example.com\n\n")
    return texts


SAMPLE = sample_of(customers(1000))


def test_an_email_asks_for_its_rare_trigrams_not_its_domain():
    pieces = search.index_pieces("s.jones3@example.com", SAMPLE)
    assert "es3" in pieces
    assert not {"exa", "xam", "amp", "mpl", "ple", "com"} & set(pieces)
    assert len(pieces) <= search.PIECES


def test_a_trigram_in_every_order_is_never_asked_beside_a_rare_one():
    sample = sample_of([f"\n{i}\nx\n9400000000{i:06d}\n" for i in range(1000)])
    pieces = search.index_pieces("9400000000000777", sample)
    assert "000" not in pieces
    assert "940" not in pieces
    assert "777" in pieces


def test_past_what_the_sample_sees_a_trigram_is_asked_by_how_it_goes_with_the_others():
    """Tracking numbers: "333" and "334" are each in ten sampled orders, never together,
    yet sixteen thousand of ten million orders hold both; "033" is in half the orders with
    either, so it still rules out half of those the sample cannot see, and it is asked.
    "dd0", always beside one of them (a trigram of the same word), rules out none."""

    def bits(*ranges):
        return sum(1 << i for r in ranges for i in r)

    sample = (
        1000,
        {
            "333": bits(range(0, 10)),
            "334": bits(range(10, 20)),
            "dd0": bits(range(0, 20)),
            "033": bits(range(0, 5), range(10, 15), range(100, 120)),
        },
    )
    assert search.index_pieces("333 334 dd0 033", sample) == ["333", "334", "033"]


def test_a_short_word_is_asked_whole():
    assert search.index_pieces("jones", SAMPLE) == ["jones"]
    assert search.index_pieces("ana", SAMPLE) == ["ana"]


def test_without_a_sample_or_a_trigram_of_letters_the_whole_text_is_asked():
    assert search.index_pieces("s.jones3@example.com", (0, {})) == ["s.jones3@example.com"]
    small = sample_of(customers(search.SAMPLE_MINIMUM - 1))
    assert search.index_pieces("s.jones3@example.com", small) == ["s.jones3@example.com"]
    assert search.index_pieces("a.b-c d", SAMPLE) == ["a.b-c d"]


def test_how_many_orders_a_text_is_expected_in():
    """By the sample: a tenth of the customers are Joneses, one in a hundred a Jones with a
    3, every one at example.com; scaled to the orders the sample was spread over."""
    assert search.expected_orders(["jones"], SAMPLE, span=100_000) == pytest.approx(
        (100 + 0.5) / 1001 * 100_000
    )
    assert search.expected_orders(["es3", "jon"], SAMPLE, span=100_000) == pytest.approx(
        (10 + 0.5) / 1001 * 100_000
    )
    assert search.expected_orders(["xyz"], SAMPLE, span=100_000) < search.RARE
    # Nothing to go by: no sample, no span, or a piece with no trigram of letters.
    assert search.expected_orders(["jones"], (0, {}), span=100_000) is None
    assert search.expected_orders(["jones"], SAMPLE, span=0) is None
    assert search.expected_orders(["a.b"], SAMPLE, span=100_000) is None


@settings(max_examples=30, deadline=None)
@given(
    text=st.text(alphabet="ab0.@ -", min_size=3, max_size=24),
    texts=st.lists(st.text(alphabet="ab0.@ -\n", max_size=30), max_size=40),
)
def test_every_piece_is_part_of_the_text(text, texts):
    """Whatever the sample says, the index is asked only for substrings of the text, so no
    order holding the text is missed."""
    sample = sample_of(texts * 20)  # past SAMPLE_MINIMUM
    pieces = search.index_pieces(text, sample)
    assert pieces
    assert all(piece in text for piece in pieces)
    assert len(pieces) <= search.PIECES or pieces == [text]
    # PostgreSQL asks for the pieces as one LIKE pattern: every text holding the searched
    # text matches it.
    pattern = search._pattern(text, pieces)
    like = ".*".join(re.escape(part) for part in pattern.split("%"))
    assert re.fullmatch(like, f"before\n{text}\nafter", flags=re.S)


@pytest.mark.django_db
def test_the_sample_spreads_over_all_orders_and_is_kept(make_order, monkeypatch):
    monkeypatch.setattr(search, "SAMPLE", 4)
    search.forget_sample()
    made = [make_order(number=f"SP-{i}", customer_name=f"Zed{i:02d}") for i in range(12)]
    try:
        size, masks = REAL_SAMPLE()
        # Every third order, from the oldest to the newest, not the four newest.
        assert size == 4
        assert search._spans[connection.alias] == made[-1].pk - made[0].pk + 1
        sampled = {gram for gram in masks if gram.startswith("d") and gram[1:].isdigit()}
        assert sampled == {f"d{i:02d}" for i in (0, 3, 6, 9)}
        assert all(mask.bit_count() == 1 for gram, mask in masks.items() if gram in sampled)
        with CaptureQueriesContext(connection) as ctx:
            again = REAL_SAMPLE()
        assert again == (size, masks)
        assert len(ctx.captured_queries) == 0  # kept, not read again
        monkeypatch.setattr(search, "SAMPLE_SECONDS", 0)
        with CaptureQueriesContext(connection) as ctx:
            REAL_SAMPLE()
        assert len(ctx.captured_queries) == 2  # taken again: the ends, then the texts
    finally:
        search.forget_sample()
    assert made


def test_a_common_texts_window_holds_three_pages_of_it(monkeypatch):
    """Bounded.common looks for a common text's page among as many of the newest orders as
    hold three pages of it by the sample, never fewer than WINDOW nor more than
    COMMON_WINDOW; without a sample, COMMON_WINDOW."""
    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: SAMPLE)
    monkeypatch.setitem(search._spans, connection.alias, 1_000_000)
    # A tenth of the customers are Joneses: three pages of them in about 1,520 orders.
    assert search.common_window(["jones"]) == search.WINDOW
    # One in a hundred: about 15,200.
    share = (10 + 0.5) / 1001
    assert search.common_window(["es3"]) == pytest.approx(3 * search.PAGE_ROWS / share, abs=1)
    # Rarer still: capped.
    assert search.common_window(["xyz"]) == search.COMMON_WINDOW
    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: (0, {}))
    assert search.common_window(["jones"]) == search.COMMON_WINDOW


def test_a_common_texts_count_checks_enough_newest_orders_to_reach_the_bound(monkeypatch):
    """On SQLite the count of a common text ("1,000+") first checks as many of the newest
    orders as should hold the bound of them, and half again, by the sample: between
    COUNT_WINDOW and COUNT_REACH; without a sample, COUNT_WINDOW."""
    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: SAMPLE)
    monkeypatch.setitem(search._spans, connection.alias, 1_000_000)
    share = (100 + 0.5) / 1001  # a tenth of the customers are Joneses
    assert search.count_window(["jones"], 1001) == pytest.approx(1.5 * 1001 / share, abs=1)
    assert search.count_window(["jones"], 10) == search.COUNT_WINDOW
    assert search.count_window(["es3"], 1001) == search.COUNT_REACH
    monkeypatch.setattr(search, "trigram_sample", lambda alias=None: (0, {}))
    assert search.count_window(["jones"], 1001) == search.COUNT_WINDOW
