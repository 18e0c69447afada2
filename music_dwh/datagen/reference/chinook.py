"""Chinook's reference tables, generated: the catalog, the staff and the customers.

Artists, albums, tracks, playlists, employees and customers, as rows in the layout's column
order: the snapshot half of :mod:`music_dwh.datagen.chinook`, which draws the daily invoices
that buy from this catalog. The words come from :mod:`music_dwh.datagen.vocabulary.chinook`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from music_dwh.datagen.vocabulary.chinook import (
    ADJECTIVES,
    COMPANY_WORDS,
    COUNTRIES,
    GENERIC_DOMAINS,
    GENRES,
    KEYS,
    LANGUAGES,
    MOVEMENTS,
    NOUNS,
    OBJECTS,
    OFFICE_STREETS,
    OFFICES,
    PLURALS,
    PREPOSITIONS,
    SHOW_WORDS,
    VERBS,
    VIDEO_GENRES,
    VIDEO_MEDIA_TYPE_ID,
)

Row = tuple[Any, ...]

# --------------------------------------------------------------------------- catalog shape

AUDIO_PRICE = Decimal("0.99")
VIDEO_PRICE = Decimal("1.99")
#: Audio media type id → share of audio albums (roughly Chinook's mix).
_AUDIO_MEDIA_WEIGHTS: dict[int, float] = {1: 0.88, 2: 0.09, 4: 0.01, 5: 0.02}
#: Average bytes per millisecond of each media type (Chinook: MPEG ~32, AAC ~16, video ~180).
_BYTES_PER_MS: dict[int, float] = {1: 32.5, 2: 16.6, 3: 181.7, 4: 35.0, 5: 16.2}
_VIDEO_ALBUM_SHARE = 0.04

_ALBUM_PURCHASE_SHARE = 0.35


# --------------------------------------------------------------------------- catalog


@dataclass
class Catalog:
    """Artists, albums, tracks and playlists, as rows in the layout's column order."""

    artists: list[Row] = field(default_factory=list)
    albums: list[Row] = field(default_factory=list)
    tracks: list[Row] = field(default_factory=list)
    playlists: list[Row] = field(default_factory=list)
    playlist_tracks: list[Row] = field(default_factory=list)
    #: album_id → (first track_id, number of tracks); an album's tracks have consecutive ids.
    album_tracks: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Cumulative purchase popularity of tracks (index = track_id - 1).
    popularity: list[float] = field(default_factory=list)
    #: Artists of music albums (TV shows are never reused for music and vice versa).
    music_artists: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, rng: random.Random, target_tracks: int) -> Catalog:
        catalog = cls()
        genre_ids = {name: i for i, (name, _w) in enumerate(GENRES, start=1)}
        audio_genres = {genre_ids[name]: w for name, w in GENRES if w > 0}
        video_genres = {genre_ids[name]: w for name, w in VIDEO_GENRES.items()}
        weights: list[float] = []
        has_video = False
        while len(catalog.tracks) < target_tracks or not has_video:
            # A video album (TV season) now and then, and at least one in every catalog.
            video = rng.random() < _VIDEO_ALBUM_SHARE or (
                not has_video and len(catalog.tracks) >= target_tracks
            )
            has_video |= video
            artist_id = catalog._artist_for_album(rng, video)
            album_id = len(catalog.albums) + 1
            if video:
                genre_id, media_type_id = _weighted(rng, video_genres), VIDEO_MEDIA_TYPE_ID
                title = f"{catalog.artists[artist_id - 1][1]}, Season {rng.randint(1, 6)}"
                count = rng.randint(6, 24)
            else:
                genre_id = _weighted(rng, audio_genres)
                media_type_id = _weighted(rng, _AUDIO_MEDIA_WEIGHTS)
                title = _album_title(rng, catalog.artists[artist_id - 1][1])
                count = rng.randint(1, 3) if rng.random() < 0.05 else rng.randint(8, 16)
            catalog.albums.append((album_id, title, artist_id))
            catalog.album_tracks[album_id] = (len(catalog.tracks) + 1, count)
            album_appeal = rng.lognormvariate(0, 1.0)
            composers = _composer_pool(rng) if rng.random() > 0.25 else []
            for number in range(1, count + 1):
                catalog.tracks.append(
                    _track(
                        rng,
                        len(catalog.tracks) + 1,
                        number,
                        album_id,
                        media_type_id,
                        genre_id,
                        composers,
                        video,
                    )
                )
                weights.append(album_appeal * rng.lognormvariate(0, 0.8) * (0.3 if video else 1.0))
        catalog.popularity = list(itertools.accumulate(weights))
        catalog._build_playlists(rng, genre_ids, weights)
        return catalog

    def _artist_for_album(self, rng: random.Random, video: bool) -> int:
        """Mostly a new artist (≈1.3 albums per artist, like Chinook), sometimes a known one.

        A video album is a TV show's season, and every show is its own "artist".
        """
        if not video and self.music_artists and rng.random() < 0.22:
            return rng.choice(self.music_artists)
        artist_id = len(self.artists) + 1
        if video:
            name = f"{rng.choice(SHOW_WORDS)} {rng.choice(SHOW_WORDS)}"
        else:
            name = _artist_name(rng)
            self.music_artists.append(artist_id)
        self.artists.append((artist_id, name))
        return artist_id

    def _build_playlists(
        self, rng: random.Random, genre_ids: dict[str, int], weights: list[float]
    ) -> None:
        """Chinook-like playlists: everything, themed picks, personal lists and an empty one."""
        audio = [t[0] for t in self.tracks if t[3] != VIDEO_MEDIA_TYPE_ID]
        video = [t[0] for t in self.tracks if t[3] == VIDEO_MEDIA_TYPE_ID]

        def by_genres(*names: str) -> list[int]:
            wanted = {genre_ids[n] for n in names}
            return [t[0] for t in self.tracks if t[4] in wanted]

        def sample(ids: list[int], k: int) -> list[int]:
            return rng.sample(ids, min(k, len(ids)))

        top = sorted(range(1, len(self.tracks) + 1), key=lambda tid: (-weights[tid - 1], tid))[:25]
        playlists: list[tuple[str, list[int]]] = [
            ("Music", audio),
            ("Movies", []),  # empty, as in Chinook
            ("TV Shows", video),
            ("90’s Music", sample(audio, len(audio) * 2 // 5)),
            ("Music Videos", sample(video, 1)),
            ("Brazilian Music", sample(by_genres("Latin", "Bossa Nova"), 40)),
            ("Classical", sample(by_genres("Classical", "Opera"), 75)),
            ("Classical 101 - The Basics", sample(by_genres("Classical"), 25)),
            ("Grunge", sample(by_genres("Alternative & Punk", "Alternative"), 15)),
            ("Heavy Metal Classic", sample(by_genres("Metal", "Heavy Metal"), 26)),
            ("Jazz Essentials", sample(by_genres("Jazz", "Blues"), 30)),
            ("Top 25", top),
        ]
        playlists += [(f"On-The-Go {i}", sample(audio, rng.randint(1, 25))) for i in range(1, 4)]
        for playlist_id, (name, track_ids) in enumerate(playlists, start=1):
            self.playlists.append((playlist_id, name))
            self.playlist_tracks.extend((playlist_id, tid) for tid in sorted(set(track_ids)))

    def pick_tracks(self, rng: random.Random, count: int) -> list[int]:
        """``count`` distinct tracks for one invoice, sorted by id.

        Some invoices buy a run of one album; the others pick popular tracks across the catalog.
        """
        count = min(count, len(self.tracks))
        total = self.popularity[-1]
        first = bisect_left(self.popularity, rng.random() * total) + 1
        if rng.random() < _ALBUM_PURCHASE_SHARE:
            album_first, album_count = self.album_tracks[self.tracks[first - 1][2]]
            if album_count >= count:
                begin = rng.randint(album_first, album_first + album_count - count)
                return list(range(begin, begin + count))
        chosen = {first}
        while len(chosen) < count:
            chosen.add(bisect_left(self.popularity, rng.random() * total) + 1)
        return sorted(chosen)


def _artist_name(rng: random.Random) -> str:
    language = rng.choice(("en", "en", "en", "pt", "es", "de", "fr", "nordic"))
    first, last, _streets = LANGUAGES[language]
    kind = rng.random()
    if kind < 0.3:
        return f"The {rng.choice(ADJECTIVES)} {rng.choice(PLURALS)}"
    if kind < 0.6:
        return f"{rng.choice(first)} {rng.choice(last)}"
    if kind < 0.75:
        return f"{rng.choice(NOUNS)} {rng.choice(PLURALS)}"
    if kind < 0.85:
        return f"{rng.choice(first)} {rng.choice(last)} & The {rng.choice(PLURALS)}"
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def _album_title(rng: random.Random, artist: str) -> str:
    kind = rng.random()
    if kind < 0.35:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    if kind < 0.5:
        return f"The {rng.choice(NOUNS)} Sessions"
    if kind < 0.6:
        return f"{rng.choice(NOUNS)} & {rng.choice(NOUNS)}"
    if kind < 0.7:
        venue = rng.choice(("Club", "Hall", "Theatre", "Festival"))
        return f"Live at the {rng.choice(NOUNS)} {venue}"
    if kind < 0.78:
        return artist
    if kind < 0.85:
        return f"Greatest Hits Vol. {rng.randint(1, 3)}"
    return f"{rng.choice(VERBS)} {rng.choice(PREPOSITIONS)} the {rng.choice(NOUNS)}"


def _track_name(rng: random.Random, classical: bool, video: bool, number: int) -> str:
    if video:
        if rng.random() < 0.2:
            return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}, Pt. {rng.randint(1, 2)}"
        return f"The {rng.choice(NOUNS)}"
    if classical:
        key = f"{rng.choice(KEYS)} {rng.choice(('Major', 'Minor'))}"
        return f"{rng.choice(MOVEMENTS)} in {key}, No. {number}"
    kind = rng.random()
    if kind < 0.3:
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    elif kind < 0.5:
        name = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    elif kind < 0.65:
        name = f"{rng.choice(NOUNS)} of {rng.choice(NOUNS)}"
    elif kind < 0.8:
        name = f"{rng.choice(VERBS)} {rng.choice(PREPOSITIONS)} the {rng.choice(NOUNS)}"
    elif kind < 0.9:
        name = f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    else:
        name = rng.choice(NOUNS)
    if rng.random() < 0.04:
        name += rng.choice((" (Live)", " (Remastered)", " (Acoustic)", ' (From "The Movie")'))
    return name


def _composer_pool(rng: random.Random) -> list[str]:
    """The songwriters of one album (1–4 people), as Chinook writes them."""
    first, last, _streets = LANGUAGES[rng.choice(("en", "en", "pt", "es", "de", "it", "fr"))]
    pool = []
    for _ in range(rng.randint(1, 4)):
        given, family = rng.choice(first), rng.choice(last)
        pool.append(f"{given[0]}. {family}" if rng.random() < 0.3 else f"{given} {family}")
    return pool


def _track(
    rng: random.Random,
    track_id: int,
    number: int,
    album_id: int,
    media_type_id: int,
    genre_id: int,
    composers: list[str],
    video: bool,
) -> Row:
    classical = GENRES[genre_id - 1][0] in ("Classical", "Opera")
    name = _track_name(rng, classical, video, number)
    if composers and rng.random() > 0.05:
        writers = rng.sample(composers, rng.randint(1, len(composers)))
        composer = (" / " if rng.random() < 0.2 else ", ").join(writers)
    else:
        composer = None
    if video:
        length = rng.lognormvariate(math.log(2_500_000), 0.2)  # a ~42-minute episode
        milliseconds = int(min(3_600_000, max(1_000_000, length)))
        price = VIDEO_PRICE
    else:
        median = 330_000 if classical else 245_000
        length = rng.lognormvariate(math.log(median), 0.35)
        milliseconds = int(min(1_500_000, max(20_000, length)))
        price = AUDIO_PRICE
    size = int(milliseconds * _BYTES_PER_MS[media_type_id] * rng.uniform(0.9, 1.1))
    return (track_id, name, album_id, media_type_id, genre_id, composer, milliseconds, size, price)


# --------------------------------------------------------------------------- staff and customers


def build_employees(rng: random.Random, start: dt.date, agents: int) -> tuple[list[Row], list[int]]:
    """Chinook's org chart, scaled: GM → Sales Manager → agents; GM → IT Manager → IT Staff.

    Ids follow Chinook's order (GM 1, Sales Manager 2, agents, IT Manager, IT Staff). Returns the
    rows and the ids of the Sales Support Agents.
    """
    first_names, last_names, _streets = LANGUAGES["en"]
    plan: list[tuple[str, int | None]] = [("General Manager", None), ("Sales Manager", 1)]
    plan += [("Sales Support Agent", 2)] * agents
    it_manager_id = len(plan) + 1
    plan += [("IT Manager", 1)] + [("IT Staff", it_manager_id)] * max(2, agents // 10)

    rows: list[Row] = []
    emails: set[str] = set()
    agent_ids: list[int] = []
    for employee_id, (title, reports_to) in enumerate(plan, start=1):
        first, last = rng.choice(first_names), rng.choice(last_names)
        birth = _date_between(rng, start - _years(65), start - _years(25))
        earliest_hire = max(birth + _years(21), start - _years(20))
        hire = _date_between(rng, earliest_hire, start - dt.timedelta(days=30))
        city, postal_prefix, area = rng.choice(OFFICES)
        email = f"{_ascii(first)}@chinookcorp.com"
        if email in emails:
            email = f"{_ascii(first)}.{_ascii(last)}{employee_id}@chinookcorp.com"
        emails.add(email)
        rows.append(
            (
                employee_id,
                last,
                first,
                title,
                reports_to,
                birth,
                hire,
                f"{rng.randint(100, 9999)} {rng.randint(1, 40)} {rng.choice(OFFICE_STREETS)}",
                city,
                "AB",
                "Canada",
                _pattern(rng, f"{postal_prefix} #A#"),
                _pattern(rng, f"+1 ({area}) ###-####"),
                _pattern(rng, f"+1 ({area}) ###-####"),
                email,
            )
        )
        if title == "Sales Support Agent":
            agent_ids.append(employee_id)
    return rows, agent_ids


def build_customers(rng: random.Random, count: int, agent_ids: Sequence[int]) -> list[Row]:
    """Customers across :data:`COUNTRIES`, each served by one Sales Support Agent."""
    country_weights = [c.weight for c in COUNTRIES]
    emails: set[str] = set()
    rows: list[Row] = []
    for customer_id in range(1, count + 1):
        country = rng.choices(COUNTRIES, weights=country_weights)[0]
        city = rng.choice(country.cities)
        first_names, last_names, streets = LANGUAGES[country.language]
        first, last = rng.choice(first_names), rng.choice(last_names)
        company = (
            f"{rng.choice(last_names)} {rng.choice(COMPANY_WORDS)} "
            f"{rng.choice(country.company_suffixes)}"
            if rng.random() < 0.17
            else None
        )
        domain = rng.choice(country.domains + GENERIC_DOMAINS)
        local = rng.choice(
            (
                f"{_ascii(first)}.{_ascii(last)}",
                f"{_ascii(first)[0]}{_ascii(last)}",
                f"{_ascii(first)}_{_ascii(last)}",
            )
        )
        email = f"{local}@{domain}"
        if email in emails:
            email = f"{local}{customer_id}@{domain}"
        emails.add(email)
        phone_pattern = country.phone.replace("{area}", city.area)
        phone = _pattern(rng, phone_pattern) if rng.random() < 0.98 else None
        fax = _pattern(rng, phone_pattern) if company is not None or rng.random() < 0.05 else None
        rows.append(
            (
                customer_id,
                first,
                last,
                company,
                country.street.format(n=rng.randint(1, 999), s=rng.choice(streets)),
                city.name,
                city.state,
                country.name,
                _pattern(rng, city.postal) if city.postal else None,
                phone,
                fax,
                email,
                rng.choice(agent_ids),
            )
        )
    return rows


# --------------------------------------------------------------------------- helpers


def _weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pattern(rng: random.Random, pattern: str) -> str:
    """Fill a pattern: ``#`` → digit, ``A`` → uppercase letter, anything else kept."""
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(rng.randrange(10)))
        elif ch == "A":
            out.append(chr(ord("A") + rng.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits, for e-mail addresses.

    ``Gonçalves`` → ``goncalves``, ``van der Berg`` → ``vanderberg``.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _date_between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _years(n: float) -> dt.timedelta:
    return dt.timedelta(days=round(365.25 * n))
