"""Sparkify's song catalogue: distinct songs, their artists and the track files that hold them.

The reference half of :mod:`music_dwh.datagen.sparkify` (which writes the logs that play these
songs): it depends only on ``seed`` and ``songs``. Artist names, and titles per artist, are
unique after :func:`normalize_name`, so song matching has one right answer; versions (same title
and artist, another duration), duplicated records and duplicated deliveries are made on purpose.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from music_dwh.datagen.vocabulary.sparkify import (
    ACCENTED_FIRST,
    ACCENTED_LAST,
    ACCENTED_WORDS,
    ADJECTIVES,
    ARTIST_LOCATIONS,
    BAND_NOUNS,
    ENSEMBLES,
    FIRST_NAMES,
    FOREIGN_TITLES,
    LAST_NAMES,
    NON_ASCII_ARTISTS,
    NOUNS,
    TITLE_LEADS,
    TITLE_SUFFIXES,
)

MIN_SONGS = 10
P_NON_ASCII_TITLE = 0.05
P_NON_ASCII_ARTIST = 0.05
P_YEAR_ZERO = 0.60
P_EMPTY_LOCATION = 0.30  # empty artist_location, null coordinates
P_NULL_COORDS = 0.30  # of the located artists: location text but null coordinates

# Million Song Dataset ids: letters after the prefix, one of a few 5-character blocks, 6 hex.
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEX = "0123456789ABCDEF"
_ID_MIDDLES = ("12A8C", "12AB0", "1187B", "1187F", "12298", "12903", "128F4", "12A6D")


def normalize_name(text: str) -> str:
    """The spelling-insensitive form of a title/artist: what the log variants leave unchanged."""
    return " ".join(text.casefold().replace("'", "").split()).rstrip(".").strip()


@dataclass
class CatalogueSong:
    """One song of the catalogue (a song_data record)."""

    song_id: str
    title: str
    artist_id: str
    artist_name: str
    artist_location: str
    artist_latitude: float | None
    artist_longitude: float | None
    duration: float
    year: int

    def record(self) -> str:
        """The song_data line, serialised like the sample (``json.dumps`` defaults)."""
        return json.dumps(
            {
                "num_songs": 1,
                "artist_id": self.artist_id,
                "artist_latitude": self.artist_latitude,
                "artist_longitude": self.artist_longitude,
                "artist_location": self.artist_location,
                "artist_name": self.artist_name,
                "song_id": self.song_id,
                "title": self.title,
                "duration": self.duration,
                "year": self.year,
            }
        )


@dataclass
class Catalogue:
    """The song catalogue and how it is spread over track files."""

    songs: list[CatalogueSong]
    #: (track_id, song index, records in the file): 2 records = a duplicated line.
    tracks: list[tuple[str, int, int]]
    #: Made-up (title, artist, duration) of songs played but absent from song_data.
    unknown: list[tuple[str, str, float]]

    @property
    def record_count(self) -> int:
        return sum(n for _, _, n in self.tracks)


@dataclass
class _Artist:
    artist_id: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None


class _Names:
    """Unique names: every (title, artist) pair is distinct after :func:`normalize_name`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.artist_names: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()

    def artist(self, non_ascii: bool) -> str:
        rng = self.rng
        for attempt in range(1000):
            if non_ascii:
                roll = rng.random()
                if roll < 0.3:
                    name = rng.choice(NON_ASCII_ARTISTS)
                elif roll < 0.7:
                    name = f"{rng.choice(ACCENTED_FIRST)} {rng.choice(ACCENTED_LAST)}"
                else:
                    name = f"{rng.choice(ACCENTED_FIRST)} {rng.choice(LAST_NAMES)}"
            else:
                roll = rng.random()
                first = rng.choice(FIRST_NAMES)
                if roll < 0.35:
                    name = f"{first} {rng.choice(LAST_NAMES)}"
                elif roll < 0.5:
                    name = f"The {rng.choice(ADJECTIVES)} {rng.choice(BAND_NOUNS)}"
                elif roll < 0.62:
                    name = f"{rng.choice(LAST_NAMES)} & The {rng.choice(BAND_NOUNS)}"
                elif roll < 0.75:
                    name = f"{rng.choice(NOUNS)} {rng.choice(NOUNS)}"
                elif roll < 0.8:
                    name = f"DJ {rng.choice(LAST_NAMES)}"
                else:
                    name = f"{first} {rng.choice(LAST_NAMES)} {rng.choice(ENSEMBLES)}"
            if attempt > 50:  # pools exhausted at very large scales: number the band
                name = f"{name} {attempt}"
            key = normalize_name(name)
            if key not in self.artist_names:
                self.artist_names.add(key)
                return name
        raise RuntimeError("could not make a unique artist name")

    def title(self, artist: str, non_ascii: bool) -> str:
        rng = self.rng
        for attempt in range(1000):
            roll = rng.random()
            if non_ascii:
                if roll < 0.4:
                    title = rng.choice(FOREIGN_TITLES)
                elif roll < 0.7:
                    title = f"{rng.choice(ACCENTED_WORDS)} {rng.choice(NOUNS)}"
                else:
                    title = f"{rng.choice(ADJECTIVES)} {rng.choice(ACCENTED_WORDS)}"
            elif roll < 0.35:
                title = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            elif roll < 0.7:
                title = f"{rng.choice(TITLE_LEADS)} {rng.choice(NOUNS)}"
            elif roll < 0.85:
                title = f"{rng.choice(TITLE_LEADS)} {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            else:
                title = f"{rng.choice(NOUNS)} Of {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s"
            if rng.random() < 0.08 or attempt > 20:
                title += rng.choice(TITLE_SUFFIXES)
            if attempt > 50:
                title = f"{title} Part {attempt}"
            pair = (normalize_name(title), normalize_name(artist))
            if pair not in self.pairs:
                self.pairs.add(pair)
                return title
        raise RuntimeError("could not make a unique title")


def _make_id(rng: random.Random, prefix: str, letters: str, used: set[str]) -> str:
    """An 18-character MSD-style id: prefix and letters (7) + a 5-char block + 6 hex digits."""
    while True:
        ident = (
            prefix
            + "".join(rng.choices(letters, k=7 - len(prefix)))
            + rng.choice(_ID_MIDDLES)
            + "".join(rng.choices(_HEX, k=6))
        )
        if ident not in used:
            used.add(ident)
            return ident


def _duration(rng: random.Random) -> float:
    """A song length in seconds with exactly 5 decimals (the last one never 0)."""
    hundred_thousandths = int(rng.lognormvariate(5.4, 0.35) * 100_000)
    hundred_thousandths = min(max(hundred_thousandths, 3_000_000), 120_000_000)
    if hundred_thousandths % 10 == 0:
        hundred_thousandths += 1
    return hundred_thousandths / 100_000


def _make_artist(rng: random.Random, names: _Names, used_ids: set[str]) -> _Artist:
    name = names.artist(rng.random() < P_NON_ASCII_ARTIST)
    if rng.random() < P_EMPTY_LOCATION:
        location, lat, lon = "", None, None
    else:
        location, lat, lon = rng.choice(ARTIST_LOCATIONS)
        if rng.random() < P_NULL_COORDS:
            lat = lon = None
    return _Artist(_make_id(rng, "AR", _ID_CHARS, used_ids), name, location, lat, lon)


def build_catalogue(seed: int, songs: int) -> Catalogue:
    """The catalogue of ``songs`` distinct songs (depends only on ``seed`` and ``songs``)."""
    if songs < MIN_SONGS:
        raise ValueError(f"songs must be at least {MIN_SONGS} to reproduce the catalogue quirks")
    rng = random.Random(f"sparkify-catalogue:{seed}")
    names = _Names(rng)
    used_ids: set[str] = set()

    # Fewer artists than songs: every artist has one song, some have several.
    n_artists = max(1, round(songs / rng.uniform(1.1, 1.3)))
    artists = [_make_artist(rng, names, used_ids) for _ in range(n_artists)]
    prolific = artists[: max(1, n_artists // 8)]
    n_versions = max(1, songs // 100)  # same title + artist, different song_id and duration
    n_plain = songs - n_versions
    owners = artists[: min(n_artists, n_plain)]
    owners += [rng.choice(prolific) for _ in range(n_plain - len(owners))]
    rng.shuffle(owners)

    def new_song(artist: _Artist, title: str) -> CatalogueSong:
        return CatalogueSong(
            song_id=_make_id(rng, "SO", _UPPER, used_ids),
            title=title,
            artist_id=artist.artist_id,
            artist_name=artist.name,
            artist_location=artist.location,
            artist_latitude=artist.latitude,
            artist_longitude=artist.longitude,
            duration=_duration(rng),
            year=0 if rng.random() < P_YEAR_ZERO else rng.randint(1960, 2010),
        )

    by_id = {a.artist_id: a for a in artists}
    catalogue = [new_song(a, names.title(a.name, rng.random() < P_NON_ASCII_TITLE)) for a in owners]
    for original in rng.sample(catalogue, n_versions):
        version = new_song(by_id[original.artist_id], original.title)
        while abs(version.duration - original.duration) < 2.0:
            version.duration = _duration(rng)
        catalogue.insert(rng.randrange(len(catalogue) + 1), version)

    # Track files: a few hold their record twice, a few songs are delivered twice. Like the
    # public song_data (an MSD subset), every track id starts with "TRA": files spread over
    # at most 26 x 26 folders A/?/?.
    used_tracks: set[str] = set()
    tracks = [(_make_id(rng, "TRA", _UPPER, used_tracks), i, 1) for i in range(songs)]
    for i in rng.sample(range(songs), max(1, songs // 200)):
        tracks[i] = (tracks[i][0], i, 2)
    for i in rng.sample(range(songs), max(1, songs // 300)):
        tracks.append((_make_id(rng, "TRA", _UPPER, used_tracks), i, 1))

    # Songs the app plays that song_data does not have; 30% by catalogue artists.
    unknown = []
    for _ in range(max(3 * songs, 50)):
        by_known = rng.random() < 0.3
        artist = (
            rng.choice(artists).name
            if by_known
            else names.artist(rng.random() < P_NON_ASCII_ARTIST)
        )
        title = names.title(artist, rng.random() < P_NON_ASCII_TITLE)
        unknown.append((title, artist, _duration(rng)))
    return Catalogue(catalogue, tracks, unknown)
