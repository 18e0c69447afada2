"""Chinook's vocabulary: names that are looked up must be unique and present.

The generator numbers genres and media types by position and finds genres by name (video
seasons, themed playlists), places customers by language, and builds e-mail addresses from the
ASCII folding of every first and last name: a duplicate or a name that folds to nothing breaks
ids, playlists or addresses without an error of its own.
"""

from __future__ import annotations

import unicodedata

from music_dwh.datagen.vocabulary import chinook as vocabulary

#: Genres the themed playlists of the generated catalog pick from.
PLAYLIST_GENRES = {
    "Latin", "Bossa Nova", "Classical", "Opera", "Alternative & Punk", "Alternative", "Metal",
    "Heavy Metal", "Jazz", "Blues",
}  # fmt: skip


def test_genre_and_media_type_names_are_unique():
    genres = [name for name, _weight in vocabulary.GENRES]
    assert len(set(genres)) == len(genres) == 25
    assert len(set(vocabulary.MEDIA_TYPES)) == len(vocabulary.MEDIA_TYPES) == 5


def test_genres_looked_up_by_name_exist():
    genres = {name for name, _weight in vocabulary.GENRES}
    assert set(vocabulary.VIDEO_GENRES) <= genres
    assert genres >= PLAYLIST_GENRES


def test_the_video_media_type_id_names_a_video_type():
    assert "video" in vocabulary.MEDIA_TYPES[vocabulary.VIDEO_MEDIA_TYPE_ID - 1]
    others = [
        t for i, t in enumerate(vocabulary.MEDIA_TYPES, 1) if i != vocabulary.VIDEO_MEDIA_TYPE_ID
    ]
    assert [t for t in others if "video" in t] == []


def test_countries_are_unique_and_speak_a_known_language():
    names = [c.name for c in vocabulary.COUNTRIES]
    assert len(set(names)) == len(names) == 22
    assert {c.language for c in vocabulary.COUNTRIES} <= set(vocabulary.LANGUAGES)
    assert all(c.cities and c.domains and c.company_suffixes for c in vocabulary.COUNTRIES)


def test_every_name_folds_to_an_ascii_e_mail_part():
    def folded(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(ch for ch in ascii_text.lower() if ch.isalnum())

    names = {
        name for first, last, _streets in vocabulary.LANGUAGES.values() for name in (*first, *last)
    }
    assert sorted(n for n in names if not folded(n)) == []
