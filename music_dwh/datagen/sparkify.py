"""Deterministic generator of Sparkify raw data: event logs, a song catalogue and a ground truth.

Sparkify is the fictional music-streaming app of the public data-engineering sample (see
``shared/data/sparkify``). This module writes data in *exactly* that sample's format, at any
scale, through the project's raw store, so the pipeline can be developed and load-tested on
more than the 8,000 sample events without ever seeing a different file shape:

* ``sparkify/log_data/YYYY/MM/YYYY-MM-DD-events.json`` -- one UTC day of app events as JSON
  lines (no final newline), keys in the sample's order, compact separators, ``/`` written as
  ``\\/`` and non-ASCII as ``\\uXXXX``.
* ``sparkify/song_data/A/B/C/TRxxxxxxxxxxxxxxxx.json`` -- the song catalogue, one record per
  track file, in the Million Song Dataset layout (``A/B/C`` = 3rd-5th characters of the id).
* ``_truth/sparkify/plays/YYYY-MM-DD.csv`` -- which catalogue song every ``NextSong`` event
  really played (empty when the song is not in the catalogue), so song matching can be scored
  for precision and recall. It lives outside ``sparkify/`` so loaders never pick it up.

The generator owns ``sparkify/`` and ``_truth/sparkify/`` only as far as it wrote them
(:mod:`music_dwh.datagen.ownership`): it refuses a store holding files it did not write there
unless forced, and even then never removes them.

The quirks of the real data that make the pipeline non-trivial are reproduced on purpose:

* users move between ``free`` and ``paid`` (``Submit Upgrade`` / ``Submit Downgrade``; the
  submit event still carries the old level, the following ones the new level);
* logged-out events (``auth`` "Logged Out", ``userId`` "", user fields null) inside sessions;
* a user agent that itself contains quotes; ``registration`` as a float of epoch milliseconds;
  methods and statuses per page as in the sample (``Login`` and ``Save Settings`` too are
  ``PUT``/307);
* about 30% of plays are of songs that are not in the catalogue (the logs come from a much
  larger catalogue than the song files), some of them by catalogue artists;
* about 10% of catalogue plays spell the title or artist differently (case, whitespace, a
  trailing ".", a dropped apostrophe);
* a few catalogue songs are *versions*: same title and artist, different song_id and duration,
  so only the duration tells them apart;
* duplicate song records: a track file holding the same record twice, and the same song
  delivered as two track files;
* ~5% non-ASCII titles/artists, correctly ``\\u``-escaped in the song files but double-encoded
  in the logs (UTF-8 read as Latin-1, twice) exactly like the sample's
  ``Bj\\u00c3\\u0083\\u00c2\\u00b6rk`` for "Björk".
  Every name used survives ``ftfy.fix_text`` (checked by the tests). Latin, Cyrillic, Greek
  and Japanese all round-trip; left out are ligatures, full-width forms and curly quotes
  (ftfy "fixes" them into something else) and a few short words ftfy only half repairs when
  they stand alone (e.g. "Håkansson", "Šimek").

The song catalogue is built by :mod:`music_dwh.datagen.reference.sparkify`, the words come from
:mod:`music_dwh.datagen.vocabulary.sparkify`; this module draws the users and their sessions and
writes every file.

Everything comes from ``random.Random`` streams derived from ``seed`` (no set iteration, no
hashing), so the same arguments give byte-identical files; the catalogue depends only on
``seed`` and ``songs``, not on the number of days or events.

Speed, measured on the 2-core development machine with a local raw store: 1,000,000 events
(30 days x 33,334 events, 416 users, 7,100 songs; 7,183 files, 508 MB) take 7.3-11.1 s
(seven runs; the disk is noisy), of which about 4 s is generating events and the rest
file-system writes. Lines are assembled from per-user, per-song and per-page JSON fragments
escaped once (no per-event dicts or serializer calls), song files are written from a few
threads, and each day is written and dropped before the next one is generated.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from bisect import bisect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate

from music_dwh.datagen.ownership import Output, Writer, writing
from music_dwh.datagen.reference.sparkify import Catalogue, build_catalogue, normalize_name
from music_dwh.datagen.vocabulary import sparkify as vocabulary
from music_dwh.datagen.vocabulary.sparkify import (
    FEMALE_FIRST,
    LAST_NAMES,
    MALE_FIRST,
    USER_AGENTS,
    USER_LOCATIONS,
)
from music_dwh.resources.raw_store import RawStore
from music_dwh.sources import sparkify as source

__all__ = [
    "LOG_KEYS",
    "WRITER",
    "SparkifyGenerationSummary",
    "build_catalogue",
    "double_encode",
    "generate_sparkify",
    "log_key",
    "normalize_name",
    "song_key",
    "truth_key",
]

# The non-ASCII pools under the names this module once defined them by: the tests read them
# from here to check that every name the generator can use survives ftfy.
_NON_ASCII_ARTISTS = vocabulary.NON_ASCII_ARTISTS
_FOREIGN_TITLES = vocabulary.FOREIGN_TITLES
_ACCENTED_WORDS = vocabulary.ACCENTED_WORDS
_ACCENTED_FIRST = vocabulary.ACCENTED_FIRST
_ACCENTED_LAST = vocabulary.ACCENTED_LAST

TRUTH_PREFIX = "_truth/sparkify/"
TRUTH_PLAYS_PREFIX = TRUTH_PREFIX + "plays/"
TRUTH_HEADER = "ts,user_id,session_id,item_in_session,song_id"
WRITER = Writer("generate sparkify", (source.PREFIX, TRUTH_PREFIX))

#: The keys of a log event, in the order the sample writes them.
LOG_KEYS = (
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level",
    "location", "method", "page", "registration", "sessionId", "song", "status", "ts",
    "userAgent", "userId",
)  # fmt: skip

DAY_MS = 86_400_000
SONG_WRITE_THREADS = 4

# ---------------------------------------------------------------------------- behaviour knobs
P_OUT_OF_CATALOGUE = 0.30  # plays of songs that have no song_data record
P_VARIANT = 0.11  # catalogue plays spelled differently (only ASCII songs get variants)
P_START_LOGGED_OUT = 0.2  # sessions that begin with Home/Login before logging in
P_SESSION_HOME = 0.6  # first logged-in page is Home (else straight to a song)
P_SUBMIT_UPGRADE = 0.35  # an Upgrade page view leads to Submit Upgrade
P_SUBMIT_DOWNGRADE = 0.2  # a Downgrade page view leads to Submit Downgrade
P_SAVE_SETTINGS = 0.3
P_FULL_LISTEN = 0.85  # next event comes when the song ends (else the user skips)
MEAN_SESSION_EVENTS = 22
MEAN_SESSION_GAP_MS = 45 * 60_000  # leaves room for ~2x the default activity per user

# Cumulative thresholds for the page after a logged-in event (the rest is NextSong).
_P_HOME = 0.045
_P_LOGOUT = _P_HOME + 0.014
_P_SETTINGS = _P_LOGOUT + 0.008
_P_HELP = _P_SETTINGS + 0.006
_P_ABOUT = _P_HELP + 0.004
_P_LEVEL = _P_ABOUT + 0.014  # Upgrade for free users, Downgrade for paid ones
_P_ERROR = _P_LEVEL + 0.002

# page -> (method, status); as in the sample: Login and Save Settings are PUT/307 too.
PAGES: dict[str, tuple[str, int]] = {
    "NextSong": ("PUT", 200),
    "Home": ("GET", 200),
    "Login": ("PUT", 307),
    "Logout": ("PUT", 307),
    "Settings": ("GET", 200),
    "Save Settings": ("PUT", 307),
    "Help": ("GET", 200),
    "About": ("GET", 200),
    "Upgrade": ("GET", 200),
    "Downgrade": ("GET", 200),
    "Submit Upgrade": ("PUT", 307),
    "Submit Downgrade": ("PUT", 307),
    "Error": ("GET", 404),
}


# ---------------------------------------------------------------------------- public helpers
def double_encode(text: str) -> str:
    """``text`` mis-decoded twice (UTF-8 read as Latin-1), as non-ASCII names are in the logs."""
    return text.encode("utf-8").decode("latin-1").encode("utf-8").decode("latin-1")


def log_key(day: dt.date) -> str:
    """The raw-store key of one day of events."""
    return source.key_for(day, "events")


song_key = source.song_key


def truth_key(day: dt.date) -> str:
    """The raw-store key of one day of ground-truth plays."""
    return f"{TRUTH_PLAYS_PREFIX}{day.isoformat()}.csv"


def _log_json(value: str | None) -> str:
    """A string as the sample's logs hold it: double-encoded, ``\\uXXXX``-escaped, ``\\/``."""
    if value is None:
        return "null"
    return json.dumps(double_encode(value)).replace("/", "\\/")


# ---------------------------------------------------------------------------- log variants
def _variant(rng: random.Random, text: str) -> str:
    """``text`` spelled differently but equal under :func:`normalize_name`."""
    kind = rng.randrange(6)
    if kind == 0:
        out = text.upper()
    elif kind == 1:
        out = text.lower()
    elif kind == 2:
        out = text.replace(" ", "  ", 1)
    elif kind == 3:
        out = text.replace("'", "")
    elif kind == 4 and not text.endswith("."):
        out = text + "."
    else:
        out = text + " "
    return out if out != text else text + " "


# ---------------------------------------------------------------------------- users
@dataclass
class _User:
    """A Sparkify user, with the JSON fragments of their log lines prepared once."""

    user_id: str
    level: str
    weight: float
    head: str = ""  # ,"auth":…,"itemInSession":
    last: str = ""  # ,"lastName":…,"length":
    level_loc: dict[str, str] = field(default_factory=dict)  # ,"level":…,"method":
    reg: str = ""  # ,"registration":…,"sessionId":
    tail: str = ""  # ,"userAgent":…}


def _make_users(seed: int, count: int, start_ms: int) -> list[_User]:
    rng = random.Random(f"sparkify-users:{seed}")
    ids = rng.sample(range(2, 2 + 3 * count), count)
    users = []
    for uid in ids:
        gender = rng.choice("MF")
        first = rng.choice(MALE_FIRST if gender == "M" else FEMALE_FIRST)
        level = "paid" if rng.random() < 0.4 else "free"
        location = _log_json(rng.choice(USER_LOCATIONS))
        registration = float(start_ms - rng.randrange(3_600_000, 180 * DAY_MS))
        # Activity: heavy-tailed, and paying users listen more.
        weight = rng.lognormvariate(0, 0.8) * (2.0 if level == "paid" else 1.0)
        user = _User(str(uid), level, weight)
        user.head = (
            f',"auth":"Logged In","firstName":{_log_json(first)},"gender":"{gender}",'
            '"itemInSession":'
        )
        user.last = f',"lastName":{_log_json(rng.choice(LAST_NAMES))},"length":'
        user.level_loc = {
            lv: f',"level":"{lv}","location":{location},"method":' for lv in ("free", "paid")
        }
        user.reg = f',"registration":{registration!r},"sessionId":'
        user.tail = f',"userAgent":{_log_json(rng.choice(USER_AGENTS))},"userId":"{uid}"}}'
        users.append(user)
    return users


# ---------------------------------------------------------------------------- events
# Per page: '"METHOD","page":"PAGE"' and ',"status":N,"ts":'.
_PAGE_MP = {p: f'"{m}","page":"{p}"' for p, (m, _s) in PAGES.items()}
_PAGE_ST = {p: f',"status":{s},"ts":' for p, (_m, s) in PAGES.items()}


class _EventWriter:
    """Generates sessions day after day; keeps users' levels and session ids across days."""

    def __init__(self, seed: int, catalogue: Catalogue, users: list[_User]) -> None:
        self.rng = random.Random(f"sparkify-events:{seed}")
        self.users = users
        self.user_cum = list(accumulate(u.weight for u in users))
        self.next_session_id = 1
        rng = self.rng
        # Catalogue plays: Zipf-like popularity over a shuffled order.
        order = list(range(len(catalogue.songs)))
        rng.shuffle(order)
        self.known = []  # (artist_json, song_json, length, song_id, variants)
        weights = [0.0] * len(order)
        for rank, i in enumerate(order, start=1):
            weights[i] = rank**-0.8
        for song in catalogue.songs:
            variants: list[tuple[str, str]] = []
            if song.title.isascii() and song.artist_name.isascii():
                for _ in range(3):
                    title, artist = song.title, song.artist_name
                    which = rng.randrange(3)
                    if which != 1:
                        title = _variant(rng, title)
                    if which != 0:
                        artist = _variant(rng, artist)
                    variants.append((_log_json(artist), _log_json(title)))
            self.known.append(
                (
                    _log_json(song.artist_name),
                    _log_json(song.title),
                    song.duration,
                    song.song_id,
                    variants,
                )
            )
        self.known_cum = list(accumulate(weights))
        self.unknown = [(_log_json(a), _log_json(t), d) for t, a, d in catalogue.unknown]
        self.unknown_cum = list(accumulate(rank**-0.8 for rank in range(1, len(self.unknown) + 1)))

    # -------------------------------------------------------------- one day
    def day(self, day_start: int, target: int) -> tuple[list[str], list[str], int]:
        """Exactly ``target`` events of one UTC day: (log lines, truth rows, plays), by ts.

        Users are drawn by activity weight; each one's sessions follow each other through the
        day (never overlapping) until midnight. Only if all users together cannot fit
        ``target`` events into the day (far fewer users than ``target / 80``) do their
        clocks restart, and then a user's sessions may overlap.
        """
        rng = self.rng
        day_end = day_start + DAY_MS
        clock: dict[int, int] = {}  # user index -> earliest start of their next session
        exhausted: set[int] = set()
        cum, total = self.user_cum, self.user_cum[-1]
        n_users = len(self.users)
        events: list[tuple[int, int, int, str, str | None]] = []
        rejected = 0
        while len(events) < target:
            ui = bisect(cum, rng.random() * total)
            if ui >= n_users:
                ui = n_users - 1
            if ui in exhausted:
                rejected += 1
                if rejected > 200:  # most activity used up: re-weight over the rest
                    if len(exhausted) == n_users:  # more events than users can play in a day
                        clock.clear()
                        exhausted.clear()
                    cum = list(
                        accumulate(
                            0.0 if i in exhausted else user.weight
                            for i, user in enumerate(self.users)
                        )
                    )
                    total = cum[-1]
                    rejected = 0
                continue
            if ui in clock:
                start = clock[ui] + int(rng.expovariate(1 / MEAN_SESSION_GAP_MS)) + 60_000
            else:
                start = day_start + int(rng.random() * (DAY_MS - 600_000))
            if start >= day_end - 60_000:
                exhausted.add(ui)
                continue
            clock[ui] = self._session(self.users[ui], start, day_end, target - len(events), events)
        events.sort()
        lines = [e[3] for e in events]
        truth = [e[4] for e in events if e[4] is not None]
        return lines, truth, len(truth)

    def _session(self, user: _User, ts: int, day_end: int, budget: int, out: list) -> int:
        """Append one session of ``user`` starting at ``ts`` to ``out``; returns when it ended.

        A session may start logged out (Home, maybe Help, then Login) and may end with a
        Logout followed by a few logged-out pages; it stops at midnight, after at most
        ``budget`` events.
        """
        rng = self.rng
        sid = self.next_session_id
        self.next_session_id += 1
        length = min(budget, 1 + int(rng.expovariate(1 / MEAN_SESSION_EVENTS)))
        level = user.level
        append = out.append
        pending: list[tuple[str, bool]] = []  # forced next pages: (page, logged in?)
        if rng.random() < P_START_LOGGED_OUT:
            pending = [("Home", False), ("Login", False), ("Home", True)]
            if rng.random() < 0.2:
                pending.insert(1, ("Help", False))
        elif rng.random() < P_SESSION_HOME:
            pending = [("Home", True)]
        logged_in = True
        for item in range(length):
            if pending:
                page, logged_in = pending.pop(0)
            elif not logged_in:
                break  # after a logout the session ends with its logged-out tail
            else:
                page, pending = self._next_page(level)
            gap = 1000 + int(rng.random() * 40_000)  # time spent on a page
            if not logged_in:
                append((ts, sid, item, _logged_out_line(ts, sid, item, level, page), None))
            elif page == "NextSong":
                artist, song, seconds, song_id = self._pick_song()
                line = (
                    f'{{"artist":{artist}{user.head}{item}{user.last}{seconds!r}'
                    f"{user.level_loc[level]}{_PAGE_MP[page]}{user.reg}{sid},"
                    f'"song":{song}{_PAGE_ST[page]}{ts}{user.tail}'
                )
                append((ts, sid, item, line, f"{ts},{user.user_id},{sid},{item},{song_id}"))
                listened = 1.0 if rng.random() < P_FULL_LISTEN else rng.random()  # or skipped
                gap = int(seconds * 1000 * listened) + 1
            else:
                line = (
                    f'{{"artist":null{user.head}{item}{user.last}null'
                    f"{user.level_loc[level]}{_PAGE_MP[page]}{user.reg}{sid},"
                    f'"song":null{_PAGE_ST[page]}{ts}{user.tail}'
                )
                append((ts, sid, item, line, None))
                if page == "Submit Upgrade":  # the submit event itself still shows "free"
                    level = user.level = "paid"
                elif page == "Submit Downgrade":
                    level = user.level = "free"
                elif page == "Logout":
                    tail = rng.choice((["Home"], ["Home"], ["Home", "About"], ["Help"], []))
                    pending = [(p, False) for p in tail]
            ts += gap
            if ts >= day_end:  # sessions stop at midnight: every ts stays in its day
                return day_end
        return ts

    def _next_page(self, level: str) -> tuple[str, list[tuple[str, bool]]]:
        """The page a logged-in user visits next, and any page it leads to right after."""
        roll = self.rng.random()
        if roll >= _P_ERROR:
            return "NextSong", []
        if roll < _P_HOME:
            return "Home", []
        if roll < _P_LOGOUT:
            return "Logout", []
        if roll < _P_SETTINGS:
            save = self.rng.random() < P_SAVE_SETTINGS
            return "Settings", [("Save Settings", True)] if save else []
        if roll < _P_HELP:
            return "Help", []
        if roll < _P_ABOUT:
            return "About", []
        if roll < _P_LEVEL:
            if level == "free":
                submit = self.rng.random() < P_SUBMIT_UPGRADE
                return "Upgrade", [("Submit Upgrade", True)] if submit else []
            submit = self.rng.random() < P_SUBMIT_DOWNGRADE
            return "Downgrade", [("Submit Downgrade", True)] if submit else []
        return "Error", []

    def _pick_song(self) -> tuple[str, str, float, str]:
        """(artist JSON, title JSON, length, true song_id or "") of the next play."""
        rng = self.rng
        if rng.random() < P_OUT_OF_CATALOGUE:
            cum = self.unknown_cum
            artist, song, seconds = self.unknown[bisect(cum, rng.random() * cum[-1])]
            return artist, song, seconds, ""
        cum = self.known_cum
        artist, song, seconds, song_id, variants = self.known[bisect(cum, rng.random() * cum[-1])]
        if variants and rng.random() < P_VARIANT:
            artist, song = variants[rng.randrange(len(variants))]
        return artist, song, seconds, song_id


def _logged_out_line(ts: int, sid: int, item: int, level: str, page: str) -> str:
    """A logged-out event: no user fields, empty userId, but the session's level."""
    return (
        f'{{"artist":null,"auth":"Logged Out","firstName":null,"gender":null,'
        f'"itemInSession":{item},"lastName":null,"length":null,"level":"{level}",'
        f'"location":null,"method":{_PAGE_MP[page]},"registration":null,'
        f'"sessionId":{sid},"song":null{_PAGE_ST[page]}{ts},"userAgent":null,"userId":""}}'
    )


# ---------------------------------------------------------------------------- entry point
@dataclass
class SparkifyGenerationSummary:
    """What :func:`generate_sparkify` wrote."""

    days: int
    events: int
    plays: int
    songs: int
    song_records: int
    users: int
    files: int
    bytes: int

    def describe(self) -> str:
        """One human line, e.g. for the CLI."""
        return (
            f"sparkify: {self.days:,} days, {self.events:,} events ({self.plays:,} plays) "
            f"by {self.users:,} users; {self.songs:,} songs in {self.song_records:,} records; "
            f"{self.files:,} files, {self.bytes / 1e6:,.1f} MB"
        )


def _write_song_files(store: Output, catalogue: Catalogue) -> tuple[int, int]:
    """Write one file per track; returns (files, bytes).

    Thousands of small files cost file-system (or S3 request) latency rather than CPU, so
    they are written from a few threads; the first one is written alone so that a lazily
    created S3 client exists before the threads share it.
    """

    def write(track: tuple[str, int, int]) -> int:
        track_id, index, copies = track
        data = "\n".join([catalogue.songs[index].record()] * copies).encode("ascii")
        with store.open_write(song_key(track_id)) as fh:
            fh.write(data)
        return len(data)

    first, *rest = catalogue.tracks
    written = write(first)
    with ThreadPoolExecutor(max_workers=SONG_WRITE_THREADS) as pool:
        written += sum(pool.map(write, rest))
    return len(catalogue.tracks), written


def generate_sparkify(
    store: RawStore,
    start: dt.date,
    days: int,
    events_per_day: int,
    songs: int,
    seed: int = 42,
    users: int | None = None,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
) -> SparkifyGenerationSummary:
    """Replace the generated Sparkify data in ``store`` with ``days`` days of logs from ``start``.

    Writes ``events_per_day`` events per UTC day, a catalogue of ``songs`` songs, and the
    ground-truth play files; ``users`` defaults to ``max(20, events_per_day // 80)``. Its own
    earlier output is replaced; a file it did not write under ``sparkify/`` or
    ``_truth/sparkify/`` stops it before any change (``ForeignFilesError``) unless ``force``,
    and is never removed. ``progress`` is called once per day written. ``files`` and ``bytes``
    in the summary count every file written, truth files included.
    """
    if days < 1 or events_per_day < 1:
        raise ValueError("days and events_per_day must be at least 1")
    n_users = max(20, events_per_day // 80) if users is None else users
    if n_users < 1:
        raise ValueError("users must be at least 1")
    with writing(store, WRITER, force) as out:
        catalogue = build_catalogue(seed, songs)
        files, written = _write_song_files(out, catalogue)

        start_ms = (start - dt.date(1970, 1, 1)).days * DAY_MS
        writer = _EventWriter(seed, catalogue, _make_users(seed, n_users, start_ms))
        events = plays = 0
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            lines, truth, day_plays = writer.day(start_ms + offset * DAY_MS, events_per_day)
            log_bytes = "\n".join(lines).encode("ascii")
            truth_bytes = "\n".join([TRUTH_HEADER, *truth, ""]).encode("ascii")
            with out.open_write(log_key(day)) as fh:
                fh.write(log_bytes)
            with out.open_write(truth_key(day)) as fh:
                fh.write(truth_bytes)
            files += 2
            written += len(log_bytes) + len(truth_bytes)
            events += len(lines)
            plays += day_plays
            if progress is not None:
                progress(f"{day.isoformat()}: {len(lines):,} events")
    if out.removed and progress is not None:
        progress(f"removed {out.removed:,} files of its previous run that this one did not write")

    return SparkifyGenerationSummary(
        days=days,
        events=events,
        plays=plays,
        songs=len(catalogue.songs),
        song_records=catalogue.record_count,
        users=n_users,
        files=files,
        bytes=written,
    )
