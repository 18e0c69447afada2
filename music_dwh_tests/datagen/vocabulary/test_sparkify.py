"""Sparkify's vocabulary: the ASCII and non-ASCII pools are what their names say.

The generator's non-ASCII share (``P_NON_ASCII_TITLE``/``P_NON_ASCII_ARTIST``) is the share of
names drawn from the non-ASCII pools, and only ASCII songs get respelled log variants: an
accented word in an "ASCII" pool, or a plain one in a non-ASCII pool, silently shifts both.
"""

from __future__ import annotations

import pytest

from music_dwh.datagen.vocabulary import sparkify as vocabulary

ASCII_POOLS = (
    "ADJECTIVES", "NOUNS", "TITLE_LEADS", "TITLE_SUFFIXES", "BAND_NOUNS", "ENSEMBLES",
    "FIRST_NAMES", "LAST_NAMES",
)  # fmt: skip
NON_ASCII_POOLS = (
    "NON_ASCII_ARTISTS", "ACCENTED_FIRST", "ACCENTED_LAST", "ACCENTED_WORDS", "FOREIGN_TITLES",
)  # fmt: skip


@pytest.mark.parametrize("pool", ASCII_POOLS)
def test_ascii_pools_hold_only_ascii(pool):
    assert [w for w in getattr(vocabulary, pool) if not w.isascii()] == []


@pytest.mark.parametrize("pool", NON_ASCII_POOLS)
def test_non_ascii_pools_hold_no_plain_ascii_entry(pool):
    assert [w for w in getattr(vocabulary, pool) if w.isascii()] == []
