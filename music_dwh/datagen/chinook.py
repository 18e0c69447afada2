"""Generate a synthetic Chinook music store at any scale, in the raw store's delivery layout.

The output has exactly the schema, layout and formatting of :func:`export_chinook` (the column
lists, keys and CSV writer are imported from :mod:`music_dwh.datagen.chinook_export`), so the
warehouse cannot tell a generated store from the public one, except by its size:

* a catalog of Chinook's 25 genres and 5 media types, artists, albums and tracks (the catalog
  grows with the number of customers; ~3,500 tracks for 1,000 customers), priced 0.99 for audio
  and 1.99 for the video media type, composers sometimes unknown (NULL);
* playlists with their ``playlist_track`` bridge rows (one of them empty, like Chinook's);
* employees in a manager hierarchy: one General Manager (``reports_to`` NULL) → Sales Manager
  and IT Manager → Sales Support Agents and IT Staff;
* customers in 22 countries with plausible city/state/postal code (state NULL in most
  non-American countries, company and fax mostly NULL), each served by a Sales Support Agent;
* invoices per day drawn around ``invoices_per_day`` (Poisson, busier at weekends; days with no
  sales get no folder), bought by repeat customers (a few buy much more than most), with 1–14
  lines at the track's price, quantity 1 (occasionally 2), ``total`` the exact Decimal sum of
  the lines, billed to the customer's address at midnight of the day.

Generation is deterministic: the same arguments give byte-identical files. Invoices are written
day by day, so memory is bounded by the catalog and the customer list, not by the period.
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

from music_dwh.datagen.chinook_export import Progress, format_size, write_csv
from music_dwh.resources.raw_store import RawStore
from music_dwh.sources.chinook import PREFIX as CHINOOK_PREFIX
from music_dwh.sources.chinook import REFERENCE_TABLES, invoice_day_key, reference_key

Row = tuple[Any, ...]

# --------------------------------------------------------------------------- catalog vocabulary

#: Chinook's media types, in Chinook's id order (1..5).
MEDIA_TYPES: tuple[str, ...] = (
    "MPEG audio file",
    "Protected AAC audio file",
    "Protected MPEG-4 video file",
    "Purchased AAC audio file",
    "AAC audio file",
)
VIDEO_MEDIA_TYPE_ID = 3
AUDIO_PRICE = Decimal("0.99")
VIDEO_PRICE = Decimal("1.99")
#: Audio media type id → share of audio albums (roughly Chinook's mix).
_AUDIO_MEDIA_WEIGHTS: dict[int, float] = {1: 0.88, 2: 0.09, 4: 0.01, 5: 0.02}
#: Average bytes per millisecond of each media type (Chinook: MPEG ~32, AAC ~16, video ~180).
_BYTES_PER_MS: dict[int, float] = {1: 32.5, 2: 16.6, 3: 181.7, 4: 35.0, 5: 16.2}

#: Chinook's genres (id order) with their share of audio albums.
GENRES: tuple[tuple[str, float], ...] = (
    ("Rock", 30.0),
    ("Jazz", 4.0),
    ("Metal", 9.0),
    ("Alternative & Punk", 8.0),
    ("Rock And Roll", 0.6),
    ("Blues", 2.5),
    ("Latin", 12.0),
    ("Reggae", 1.8),
    ("Pop", 2.0),
    ("Soundtrack", 1.5),
    ("Bossa Nova", 0.7),
    ("Easy Listening", 0.8),
    ("Heavy Metal", 1.0),
    ("R&B/Soul", 2.0),
    ("Electronica/Dance", 1.2),
    ("World", 1.0),
    ("Hip Hop/Rap", 1.2),
    ("Science Fiction", 0.0),
    ("TV Shows", 0.0),
    ("Sci Fi & Fantasy", 0.0),
    ("Drama", 0.0),
    ("Comedy", 0.0),
    ("Alternative", 1.5),
    ("Classical", 3.0),
    ("Opera", 0.3),
)
#: Genres of the video albums (TV seasons), with their weights.
_VIDEO_GENRES: dict[str, float] = {
    "TV Shows": 5.0,
    "Drama": 3.0,
    "Comedy": 1.0,
    "Science Fiction": 1.0,
    "Sci Fi & Fantasy": 1.5,
}
_VIDEO_ALBUM_SHARE = 0.04

_ADJECTIVES = (
    "Black Blue Broken Burning Cold Crazy Dark Electric Endless Fading Free Golden Heavy "
    "Hidden Holy Hungry Last Little Lonely Lost Midnight Modern Neon New Northern Open Paper "
    "Purple Quiet Red Restless Rolling Sacred Savage Silent Silver Simple Slow Stone Strange "
    "Sweet Wild Wicked Young"
).split()
_NOUNS = (
    "Angel Avenue Bird Bridge Carnival City Crown Desert Dream Engine Fire Flower Garden Ghost "
    "Heart Highway Horizon Island Kingdom Letter Light Machine Mirror Moon Morning Mountain "
    "Night Ocean Paradise Radio Rain River Road Rose Saint Shadow Sky Smoke Soul Star Storm "
    "Stranger Summer Sun Thunder Tide Train Valley Voice Wave Wind Window Winter Wolf World"
).split()
_PLURALS = (
    "Angels Birds Bones Brothers Cowboys Crows Dogs Dreamers Drifters Engines Ghosts Giants "
    "Hearts Horses Kings Lovers Machines Monkeys Outlaws Pilots Prophets Rebels Riders Saints "
    "Shadows Sisters Stones Strangers Tigers Wolves"
).split()
_VERBS = (
    "Burn Call Chase Dance Dream Drive Fall Fly Follow Hold Keep Leave Love Run Save Shine "
    "Sing Stay Take Touch Wait Walk Wake"
).split()
_OBJECTS = "Me You Us Away Home Tonight Forever Again It Down".split()
_PREPOSITIONS = "Into Through Under Across Beyond Over Along".split()
_MOVEMENTS = (
    "Allegro Andante Adagio Largo Presto Scherzo Minuet Rondo Nocturne Prelude Fugue Sonata"
).split()
_KEYS = "C D E F G A B".split()
_SHOW_WORDS = (
    "Lost Heroes Office Battlestar Galactica Island Precinct Hospital Station Agency "
    "Frontier Empire Detectives Colony Harbor"
).split()

# --------------------------------------------------------------------------- people and places


def _words(text: str) -> tuple[str, ...]:
    """``"a|b c|d"`` → ``("a", "b c", "d")``: word lists that may contain spaces."""
    return tuple(word.strip() for word in text.split("|"))


#: Language group → (first names, last names, street-name roots).
_LANGUAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        _words("James|Mary|John|Patricia|Robert|Jennifer|Michael|Linda|David|Emma|Daniel|Sarah|"
               "Frank|Julia|Jack|Michelle|Aaron|Ellie|Mark|Kathy|Tim|Dan|Patrick|Victor"),
        _words("Smith|Johnson|Williams|Brown|Jones|Miller|Davis|Harris|Gordon|Mitchell|Sullivan|"
               "Taylor|Murray|Hughes|Gray|Barnett|Stevens|Ralston|Leacock|Chase|Goyer|Cunningham"),
        _words("Maple|Oak|Pine|Cedar|Elm|Park|Lake|Hill|Church|Main|Washington|Lincoln|Jasper|"
               "Columbia|Bowness|King|Queen|Victoria"),
    ),
    "de": (
        _words("Leonie|Hannah|Niklas|Fynn|Lukas|Anna|Felix|Lena|Jonas|Marie|Paul|Sophie|"
               "Astrid|Maximilian|Emilia|Elias"),
        _words("Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|"
               "Köhler|Zimmermann|Schröder|Gruber|Huber|Bauer"),
        _words("Linden|Garten|Berg|Haupt|Schiller|Goethe|Bahnhof|Kirch|Wald|Mozart|Ring"),
    ),
    "fr": (
        _words("Camille|Dominique|Marc|Wyatt|Isabelle|François|Louis|Chloé|Manon|Julien|"
               "Hugo|Léa|Nicolas|Sophie|Émile|Claire"),
        _words("Bernard|Lefebvre|Dubois|Girard|Mercier|Martin|Tremblay|Moreau|Laurent|Simon|"
               "Michel|Leroy|Roux|Fontaine|Rousseau"),
        _words("de la Paix|de Rivoli|Victor Hugo|des Lilas|Pasteur|de la République|"
               "du Moulin|Saint-Honoré|Voltaire|Gambetta"),
    ),
    "pt": (
        _words("Luís|Eduardo|Alexandre|Roberto|Fernanda|João|Madalena|Ana|Beatriz|Gabriel|"
               "Mariana|Pedro|Rafael|Tiago|Inês|Lucas"),
        _words("Gonçalves|Martins|Rocha|Almeida|Ramos|Fernandes|Sampaio|Silva|Santos|Oliveira|"
               "Souza|Costa|Pereira|Carvalho|Ferreira|Ribeiro"),
        _words("Brigadeiro Faria Lima|Paulista|Augusta|das Flores|Sete de Setembro|"
               "da Liberdade|do Comércio|Dom Pedro II|Santa Catarina|da Prata"),
    ),
    "es": (
        _words("Enrique|Diego|Luis|Sofía|Lucía|Martina|Mateo|Santiago|Valentina|Javier|"
               "Carmen|Pablo|Isabella|Camila|Tomás"),
        _words("Muñoz|Gutiérrez|Rojas|García|Rodríguez|López|Martínez|Sánchez|Pérez|"
               "González|Fernández|Romero|Díaz|Torres"),
        _words("Mayor|de Alcalá|Gran Vía|Florida|Corrientes|del Sol|de la Reina|"
               "San Martín|Moneda|Serrano"),
    ),
    "it": (
        _words("Lucas|Giulia|Marco|Francesca|Alessandro|Chiara|Matteo|Sofia|Lorenzo|Elena|"
               "Andrea|Giorgia"),
        _words("Mancini|Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci|Marino|"
               "Greco|Bruno"),
        _words("Roma|Garibaldi|Giuseppe Verdi|Nazionale|del Corso|Dante|Cavour|Mazzini"),
    ),
    "nl": (
        _words("Johannes|Daan|Sanne|Emma|Lucas|Julia|Sem|Tess|Bram|Lotte|Ruben|Fleur"),
        _words("van der Berg|Peeters|de Jong|Jansen|de Vries|Janssens|Bakker|Visser|Smit|"
               "Maes|Willems|Mulder"),
        _words("Lombard|Kerk|Molen|Dorp|Linden|Prinsen|Heren|Keizers|Brouwers"),
    ),
    "nordic": (
        _words("Bjørn|Kara|Terhi|Joakim|Erik|Ingrid|Lars|Astrid|Mikkel|Freja|Sven|Aino|"
               "Oskar|Elsa|Nils|Sofie"),
        _words("Hansen|Nielsen|Hämäläinen|Johansson|Andersson|Larsen|Olsen|Virtanen|Karlsson|"
               "Jensen|Nilsson|Korhonen|Berg|Lindqvist"),
        _words("Ullevål|Kongens|Strand|Dronning|Kirke|Skogs|Hav|Sjö|Björk|Kuusi"),
    ),
    "cs": (
        _words("František|Helena|Jan|Petra|Tomáš|Lucie|Jakub|Tereza|Martin|Eliška"),
        _words("Wichterlová|Holý|Novák|Svoboda|Novotný|Dvořák|Černý|Procházka|Kučera|Veselý"),
        _words("Klanova|Rilská|Vodičkova|Národní|Karlova|Na Příkopě|Dlouhá|Palackého"),
    ),
    "pl": (
        _words("Stanisław|Anna|Piotr|Katarzyna|Krzysztof|Agnieszka|Tomasz|Magdalena|Paweł|Zofia"),
        _words("Wójcik|Kowalski|Nowak|Wiśniewski|Kamiński|Lewandowski|Zieliński|Szymański"),
        _words("Ordynacka|Marszałkowska|Nowy Świat|Długa|Piękna|Mokotowska|Krakowska"),
    ),
    "hu": (
        _words("Ladislav|László|Zsófia|Bence|Eszter|Máté|Anna|Dávid|Réka|Gergő"),
        _words("Kovács|Nagy|Tóth|Szabó|Horváth|Varga|Kiss|Molnár|Németh|Farkas"),
        _words("Erzsébet krt.|Andrássy|Váci|Rákóczi|Király|Dohány|Bartók Béla"),
    ),
    "in": (
        _words("Manoj|Puja|Aarav|Priya|Rohan|Ananya|Vikram|Kavya|Arjun|Neha|Rahul|Divya"),
        _words("Pareek|Srivastava|Sharma|Patel|Gupta|Singh|Kumar|Reddy|Iyer|Nair|Mehta|Rao"),
        _words("MG|Brigade|Residency|Ring|Lodhi|Janpath|Park|Station|Temple|Nehru"),
    ),
}


@dataclass(frozen=True)
class _City:
    name: str
    state: str | None
    postal: str | None  # pattern: '#' digit, 'A' uppercase letter; None → no postal code
    area: str  # phone area code, substituted for '{area}' in the country's phone pattern


@dataclass(frozen=True)
class _Country:
    name: str
    weight: float  # share of customers
    language: str  # key of _LANGUAGES
    street: str  # '{n}' house number, '{s}' street root
    phone: str  # '{area}' then '#' digits
    domains: tuple[str, ...]  # local e-mail providers (generic ones are added)
    company_suffixes: tuple[str, ...]
    cities: tuple[_City, ...]


def _country(
    name: str, weight: float, language: str, street: str, phone: str,
    domains: str, suffixes: str, cities: Sequence[tuple[str, str | None, str | None, str]],
) -> _Country:  # fmt: skip
    return _Country(
        name, weight, language, street, phone, _words(domains), _words(suffixes),
        tuple(_City(*city) for city in cities),
    )  # fmt: skip


_COMPANY_WORDS = ("Music", "Media", "Software", "Records", "Systems")
_OFFICE_STREETS = ("Ave SW", "St NW", "Street SW")
_GENERIC_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "apple.com", "aol.com")

#: Where customers live: 22 countries weighted roughly like Chinook's customer base. States are
#: filled where addresses use them (North America, Brazil, Australia, ...), NULL elsewhere.
_COUNTRIES: tuple[_Country, ...] = (
    _country("USA", 24, "en", "{n} {s} St", "+1 ({area}) ###-####",
             "comcast.com|gmail.com", "Inc.|Corporation|LLC", [
                 ("New York", "NY", "100##", "212"), ("Chicago", "IL", "606##", "312"),
                 ("Mountain View", "CA", "9404#", "650"), ("Redmond", "WA", "98052", "425"),
                 ("Boston", "MA", "021##", "617"), ("Orlando", "FL", "328##", "407"),
                 ("Fort Worth", "TX", "761##", "817"), ("Reno", "NV", "895##", "775"),
                 ("Salt Lake City", "UT", "841##", "801"), ("Tucson", "AZ", "857##", "520"),
                 ("Madison", "WI", "537##", "608"), ("Cupertino", "CA", "95014", "408")]),
    _country("Canada", 11, "en", "{n} {s} Ave", "+1 ({area}) ###-####",
             "shaw.ca|rogers.ca|yahoo.ca", "Inc.|Ltd.", [
                 ("Toronto", "ON", "M#A #A#", "416"), ("Vancouver", "BC", "V#A #A#", "604"),
                 ("Montréal", "QC", "H#A #A#", "514"), ("Edmonton", "AB", "T#A #A#", "780"),
                 ("Ottawa", "ON", "K#A #A#", "613"), ("Halifax", "NS", "B#A #A#", "902"),
                 ("Winnipeg", "MB", "R#A #A#", "204")]),
    _country("Brazil", 8, "pt", "Rua {s}, {n}", "+55 ({area}) ####-####",
             "uol.com.br|terra.com.br", "S.A.|Ltda.", [
                 ("São Paulo", "SP", "0####-###", "11"), ("Brasília", "DF", "7####-###", "61"),
                 ("Rio de Janeiro", "RJ", "2####-###", "21"),
                 ("São José dos Campos", "SP", "122##-###", "12")]),
    _country("France", 7, "fr", "{n} rue {s}", "+33 0{area} ## ## ## ##",
             "yahoo.fr|orange.fr|free.fr", "SA|SARL", [
                 ("Paris", None, "750##", "1"), ("Lyon", None, "6900#", "4"),
                 ("Bordeaux", None, "33000", "5"), ("Dijon", None, "21000", "3")]),
    _country("Germany", 7, "de", "{s}straße {n}", "+49 0{area} #######",
             "yahoo.de|web.de|gmx.de", "GmbH|AG", [
                 ("Berlin", None, "107##", "30"), ("Frankfurt", None, "603##", "69"),
                 ("Stuttgart", None, "701##", "711"), ("Hamburg", None, "20###", "40")]),
    _country("United Kingdom", 5, "en", "{n} {s} Road", "+44 0{area} #### ####",
             "yahoo.co.uk|btinternet.com", "Ltd|plc", [
                 ("London", None, "SW#A #AA", "20"), ("Edinburgh", None, "EH# #AA", "131"),
                 ("Manchester", None, "M# #AA", "161")]),
    _country("Portugal", 3, "pt", "Rua {s}, {n}", "+351 ({area}) ###-###",
             "sapo.pt|yahoo.pt", "Lda.|S.A.", [
                 ("Lisbon", None, None, "213"), ("Porto", None, "4###-###", "225")]),
    _country("India", 4, "in", "{n}, {s} Road", "+91 0{area} ########",
             "rediff.com|yahoo.in", "Pvt Ltd", [
                 ("Delhi", None, "1100##", "11"), ("Bangalore", None, "5600##", "80"),
                 ("Mumbai", None, "4000##", "22")]),
    _country("Czech Republic", 3, "cs", "{s} {n}", "+420 {area} #### ####",
             "seznam.cz|centrum.cz", "s.r.o.|a.s.", [
                 ("Prague", None, "1##00", "2"), ("Brno", None, "6##00", "5")]),
    _country("Australia", 3, "en", "{n} {s} Street", "+61 (0{area}) #### ####",
             "yahoo.au|bigpond.com", "Pty Ltd", [
                 ("Sidney", "NSW", "20##", "2"), ("Melbourne", "VIC", "30##", "3")]),
    _country("Netherlands", 2, "nl", "{s}straat {n}", "+31 0{area} #######",
             "yahoo.nl|ziggo.nl", "B.V.|N.V.", [
                 ("Amsterdam", "VV", "10##", "20"), ("Rotterdam", None, "30##", "10")]),
    _country("Spain", 3, "es", "Calle {s} {n}", "+34 9{area} ### ###",
             "yahoo.es|telefonica.net", "S.L.|S.A.", [
                 ("Madrid", None, "280##", "1"), ("Barcelona", None, "080##", "3")]),
    _country("Italy", 3, "it", "Via {s} {n}", "+39 0{area} ########",
             "yahoo.it|libero.it", "S.p.A.|S.r.l.", [
                 ("Rome", "RM", "001##", "6"), ("Milan", "MI", "201##", "2")]),
    _country("Sweden", 2, "nordic", "{s}gatan {n}", "+46 0{area}-### ## ##",
             "yahoo.se|telia.com", "AB", [
                 ("Stockholm", None, "11###", "8"), ("Gothenburg", None, "41###", "31")]),
    _country("Norway", 2, "nordic", "{s}veien {n}", "+47 {area} ## ## ##",
             "yahoo.no|online.no", "AS", [
                 ("Oslo", None, "0###", "22"), ("Bergen", None, "50##", "55")]),
    _country("Denmark", 2, "nordic", "{s}vej {n}", "+45 {area} ## ## ##",
             "jubii.dk|mail.dk", "A/S|ApS", [
                 ("Copenhagen", None, "1###", "33"), ("Aarhus", None, "8000", "86")]),
    _country("Finland", 2, "nordic", "{s}katu {n}", "+358 0{area} ### ####",
             "apple.fi|elisa.fi", "Oy", [
                 ("Helsinki", None, "00###", "9"), ("Tampere", None, "33###", "3")]),
    _country("Poland", 2, "pl", "ul. {s} {n}", "+48 {area} ### ## ##",
             "wp.pl|onet.pl", "Sp. z o.o.", [
                 ("Warsaw", None, "00-###", "22"), ("Kraków", None, "3#-###", "12")]),
    _country("Hungary", 2, "hu", "{s} utca {n}", "+36 0{area} ### ####",
             "freemail.hu|citromail.hu", "Kft.|Zrt.", [
                 ("Budapest", None, "H-1###", "1")]),
    _country("Argentina", 2, "es", "Avenida {s} {n}", "+54 (0){area} #### ####",
             "yahoo.ar|fibertel.com.ar", "S.A.|S.R.L.", [
                 ("Buenos Aires", None, "1###", "11"), ("Córdoba", None, "5000", "351")]),
    _country("Chile", 2, "es", "Avenida {s} {n}", "+56 (0){area} ### ####",
             "yahoo.cl|vtr.net", "S.A.|Ltda.", [
                 ("Santiago", None, None, "2"), ("Valparaíso", None, None, "32")]),
    _country("Ireland", 2, "en", "{n} {s} Street", "+353 0{area} #######",
             "eircom.net|apple.ie", "Ltd|DAC", [
                 ("Dublin", "Dublin", None, "1"), ("Cork", "Cork", None, "21")]),
)  # fmt: skip

# --------------------------------------------------------------------------- invoice shape

#: Relative frequency of invoices with 1..14 lines.
_LINE_COUNT_WEIGHTS = (30, 22, 14, 10, 7, 5, 4, 3, 2.5, 2, 1.5, 1.2, 1, 1)
#: Invoice volume by weekday (Monday..Sunday); averages to 1 so ``invoices_per_day`` is the mean.
_WEEKDAY_FACTORS = (0.9, 0.9, 0.95, 1.0, 1.1, 1.15, 1.0)
_DOUBLE_QUANTITY_SHARE = 0.03
_ALBUM_PURCHASE_SHARE = 0.35


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class ChinookGenerationSummary:
    """What :func:`generate_chinook` wrote.

    ``rows`` maps every table name (``artist`` … ``invoice_line``) to its data-row count;
    ``days`` is the length of the period and ``sale_days`` the number of days that had sales
    (one folder each); ``revenue`` is the exact sum of every invoice total.
    """

    target: str
    seed: int
    start: dt.date
    end: dt.date
    days: int
    sale_days: int
    rows: dict[str, int]
    revenue: Decimal
    files: int
    bytes: int

    @property
    def invoices(self) -> int:
        return self.rows.get("invoice", 0)

    @property
    def invoice_lines(self) -> int:
        return self.rows.get("invoice_line", 0)

    def describe(self) -> str:
        """One human line, e.g. for the CLI."""
        return (
            f"Generated synthetic Chinook (seed {self.seed}) into {self.target}: "
            f"{self.invoices} invoices / {self.invoice_lines} lines on {self.sale_days} of "
            f"{self.days} days ({self.start} .. {self.end}), revenue {self.revenue}; "
            f"{self.rows.get('track', 0)} tracks, {self.rows.get('customer', 0)} customers, "
            f"{self.rows.get('employee', 0)} employees; "
            f"{self.files} files, {format_size(self.bytes)}"
        )


# --------------------------------------------------------------------------- entry point


def generate_chinook(
    store: RawStore,
    start: dt.date,
    days: int,
    customers: int,
    invoices_per_day: int,
    seed: int = 42,
    progress: Progress | None = None,
) -> ChinookGenerationSummary:
    """Write a synthetic Chinook store to ``store`` (replacing anything under ``chinook/``).

    ``start`` is the first day of sales and ``days`` the length of the period; ``customers``
    sets the size of the customer base (the catalog and sales team grow with it); each day gets
    a Poisson-distributed number of invoices with mean ``invoices_per_day`` (modulated by
    weekday). Same arguments → byte-identical files.
    """
    if isinstance(start, dt.datetime):
        start = start.date()
    if not isinstance(start, dt.date):
        raise TypeError(f"start must be a datetime.date, got {start!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if invoices_per_day < 0:
        raise ValueError(f"invoices_per_day cannot be negative, got {invoices_per_day}")
    say = progress or (lambda _message: None)

    catalog = _Catalog.build(_rng(seed, "catalog"), target_tracks=catalog_size(customers))
    agents = sales_agent_count(customers)
    employees, agent_ids = _employees(_rng(seed, "employees"), start, agents=agents)
    customer_rows = _customers(_rng(seed, "customers"), customers, agent_ids)
    reference: dict[str, list[Row]] = {
        "artist": catalog.artists,
        "album": catalog.albums,
        "track": catalog.tracks,
        "genre": [(i, name) for i, (name, _w) in enumerate(GENRES, start=1)],
        "media_type": [(i, name) for i, name in enumerate(MEDIA_TYPES, start=1)],
        "playlist": catalog.playlists,
        "playlist_track": catalog.playlist_tracks,
        "customer": customer_rows,
        "employee": employees,
    }

    deleted = store.delete_prefix(CHINOOK_PREFIX)
    if deleted:
        say(f"deleted {deleted} previous files under {store.uri(CHINOOK_PREFIX)}")
    rows: dict[str, int] = {}
    files = size = 0
    for table in REFERENCE_TABLES:
        count, written = write_csv(store, reference_key(table), table, reference[table])
        rows[table] = count
        files += 1
        size += written
        say(f"{reference_key(table)}: {count} rows")

    sales = _Sales(_rng(seed, "sales"), catalog, customer_rows, invoices_per_day)
    rows["invoice"] = rows["invoice_line"] = 0
    revenue = Decimal("0.00")
    sale_days = 0
    report_every = max(1, days // 10)
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        invoices, lines = sales.day(day)
        if invoices:
            sale_days += 1
            revenue += sum((inv[-1] for inv in invoices), Decimal("0.00"))
            for table, table_rows in (("invoice", invoices), ("invoice_line", lines)):
                count, written = write_csv(store, invoice_day_key(day, table), table, table_rows)
                rows[table] += count
                files += 1
                size += written
        if (offset + 1) % report_every == 0 or offset + 1 == days:
            say(
                f"invoices: {offset + 1}/{days} days generated (up to {day}), "
                f"{rows['invoice']} invoices"
            )

    return ChinookGenerationSummary(
        target=store.uri(CHINOOK_PREFIX),
        seed=seed,
        start=start,
        end=start + dt.timedelta(days=days - 1),
        days=days,
        sale_days=sale_days,
        rows=rows,
        revenue=revenue,
        files=files,
        bytes=size,
    )


def catalog_size(customers: int) -> int:
    """Target number of tracks: ~3,500 (Chinook's size) for 1,000 customers, at most 100,000."""
    return min(100_000, 1_500 + 2 * customers)


def sales_agent_count(customers: int) -> int:
    """Sales Support Agents: one per ~250 customers, at least 3 (like Chinook), at most 200."""
    return max(3, min(200, math.ceil(customers / 250)))


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, purpose: str) -> random.Random:
    """An independent, reproducible stream per purpose (string seeds hash with SHA-512)."""
    return random.Random(f"chinook:{seed}:{purpose}")


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


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean >= 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _date_between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _years(n: float) -> dt.timedelta:
    return dt.timedelta(days=round(365.25 * n))


# --------------------------------------------------------------------------- catalog


@dataclass
class _Catalog:
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
    def build(cls, rng: random.Random, target_tracks: int) -> _Catalog:
        catalog = cls()
        genre_ids = {name: i for i, (name, _w) in enumerate(GENRES, start=1)}
        audio_genres = {genre_ids[name]: w for name, w in GENRES if w > 0}
        video_genres = {genre_ids[name]: w for name, w in _VIDEO_GENRES.items()}
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
                    _track(rng, len(catalog.tracks) + 1, number, album_id, media_type_id, genre_id,
                           composers, video)
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
            name = f"{rng.choice(_SHOW_WORDS)} {rng.choice(_SHOW_WORDS)}"
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
    first, last, _streets = _LANGUAGES[language]
    kind = rng.random()
    if kind < 0.3:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_PLURALS)}"
    if kind < 0.6:
        return f"{rng.choice(first)} {rng.choice(last)}"
    if kind < 0.75:
        return f"{rng.choice(_NOUNS)} {rng.choice(_PLURALS)}"
    if kind < 0.85:
        return f"{rng.choice(first)} {rng.choice(last)} & The {rng.choice(_PLURALS)}"
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"


def _album_title(rng: random.Random, artist: str) -> str:
    kind = rng.random()
    if kind < 0.35:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    if kind < 0.5:
        return f"The {rng.choice(_NOUNS)} Sessions"
    if kind < 0.6:
        return f"{rng.choice(_NOUNS)} & {rng.choice(_NOUNS)}"
    if kind < 0.7:
        venue = rng.choice(("Club", "Hall", "Theatre", "Festival"))
        return f"Live at the {rng.choice(_NOUNS)} {venue}"
    if kind < 0.78:
        return artist
    if kind < 0.85:
        return f"Greatest Hits Vol. {rng.randint(1, 3)}"
    return f"{rng.choice(_VERBS)} {rng.choice(_PREPOSITIONS)} the {rng.choice(_NOUNS)}"


def _track_name(rng: random.Random, classical: bool, video: bool, number: int) -> str:
    if video:
        if rng.random() < 0.2:
            return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}, Pt. {rng.randint(1, 2)}"
        return f"The {rng.choice(_NOUNS)}"
    if classical:
        key = f"{rng.choice(_KEYS)} {rng.choice(('Major', 'Minor'))}"
        return f"{rng.choice(_MOVEMENTS)} in {key}, No. {number}"
    kind = rng.random()
    if kind < 0.3:
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    elif kind < 0.5:
        name = f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)}"
    elif kind < 0.65:
        name = f"{rng.choice(_NOUNS)} of {rng.choice(_NOUNS)}"
    elif kind < 0.8:
        name = f"{rng.choice(_VERBS)} {rng.choice(_PREPOSITIONS)} the {rng.choice(_NOUNS)}"
    elif kind < 0.9:
        name = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
    else:
        name = rng.choice(_NOUNS)
    if rng.random() < 0.04:
        name += rng.choice((" (Live)", " (Remastered)", " (Acoustic)", ' (From "The Movie")'))
    return name


def _composer_pool(rng: random.Random) -> list[str]:
    """The songwriters of one album (1–4 people), as Chinook writes them."""
    first, last, _streets = _LANGUAGES[rng.choice(("en", "en", "pt", "es", "de", "it", "fr"))]
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


def _employees(rng: random.Random, start: dt.date, agents: int) -> tuple[list[Row], list[int]]:
    """Chinook's org chart, scaled: GM → Sales Manager → agents; GM → IT Manager → IT Staff.

    Ids follow Chinook's order (GM 1, Sales Manager 2, agents, IT Manager, IT Staff). Returns the
    rows and the ids of the Sales Support Agents.
    """
    first_names, last_names, _streets = _LANGUAGES["en"]
    offices = (("Calgary", "T2P", "403"), ("Edmonton", "T5K", "780"), ("Lethbridge", "T1K", "403"))
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
        city, postal_prefix, area = rng.choice(offices)
        email = f"{_ascii(first)}@chinookcorp.com"
        if email in emails:
            email = f"{_ascii(first)}.{_ascii(last)}{employee_id}@chinookcorp.com"
        emails.add(email)
        rows.append((
            employee_id, last, first, title, reports_to, birth, hire,
            f"{rng.randint(100, 9999)} {rng.randint(1, 40)} {rng.choice(_OFFICE_STREETS)}",
            city, "AB", "Canada", _pattern(rng, f"{postal_prefix} #A#"),
            _pattern(rng, f"+1 ({area}) ###-####"), _pattern(rng, f"+1 ({area}) ###-####"), email,
        ))
        if title == "Sales Support Agent":
            agent_ids.append(employee_id)
    return rows, agent_ids


def _customers(rng: random.Random, count: int, agent_ids: Sequence[int]) -> list[Row]:
    """Customers across :data:`_COUNTRIES`, each served by one Sales Support Agent."""
    country_weights = [c.weight for c in _COUNTRIES]
    emails: set[str] = set()
    rows: list[Row] = []
    for customer_id in range(1, count + 1):
        country = rng.choices(_COUNTRIES, weights=country_weights)[0]
        city = rng.choice(country.cities)
        first_names, last_names, streets = _LANGUAGES[country.language]
        first, last = rng.choice(first_names), rng.choice(last_names)
        company = (
            f"{rng.choice(last_names)} {rng.choice(_COMPANY_WORDS)} "
            f"{rng.choice(country.company_suffixes)}"
            if rng.random() < 0.17
            else None
        )
        domain = rng.choice(country.domains + _GENERIC_DOMAINS)
        local = rng.choice((f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}",
                            f"{_ascii(first)}_{_ascii(last)}"))
        email = f"{local}@{domain}"
        if email in emails:
            email = f"{local}{customer_id}@{domain}"
        emails.add(email)
        phone_pattern = country.phone.replace("{area}", city.area)
        phone = _pattern(rng, phone_pattern) if rng.random() < 0.98 else None
        fax = _pattern(rng, phone_pattern) if company is not None or rng.random() < 0.05 else None
        rows.append((
            customer_id, first, last, company,
            country.street.format(n=rng.randint(1, 999), s=rng.choice(streets)),
            city.name, city.state, country.name,
            _pattern(rng, city.postal) if city.postal else None,
            phone, fax, email, rng.choice(agent_ids),
        ))
    return rows


# --------------------------------------------------------------------------- sales


class _Sales:
    """Draws one day of invoices and lines at a time; ids keep increasing across days."""

    _ADDRESS = slice(4, 9)  # address, city, state, country, postal_code in a customer row

    def __init__(
        self, rng: random.Random, catalog: _Catalog, customers: list[Row], invoices_per_day: int
    ) -> None:
        self._rng = rng
        self._catalog = catalog
        self._customers = customers
        self._mean = invoices_per_day
        # Heavy-tailed loyalty: most customers buy now and then, a few buy very often.
        self._loyalty = list(itertools.accumulate(rng.lognormvariate(0, 1.0) for _ in customers))
        self._line_counts = list(range(1, len(_LINE_COUNT_WEIGHTS) + 1))
        self._next_invoice_id = 1
        self._next_line_id = 1

    def day(self, day: dt.date) -> tuple[list[Row], list[Row]]:
        """The invoices and invoice lines of ``day`` (both sorted by id; empty on a quiet day)."""
        rng = self._rng
        count = _poisson(rng, self._mean * _WEEKDAY_FACTORS[day.weekday()])
        invoice_date = dt.datetime.combine(day, dt.time())
        buyers = rng.choices(self._customers, cum_weights=self._loyalty, k=count)
        invoices: list[Row] = []
        lines: list[Row] = []
        tracks = self._catalog.tracks
        for customer in buyers:
            invoice_id = self._next_invoice_id
            self._next_invoice_id += 1
            n_lines = rng.choices(self._line_counts, weights=_LINE_COUNT_WEIGHTS)[0]
            total = Decimal("0.00")
            for track_id in self._catalog.pick_tracks(rng, n_lines):
                unit_price: Decimal = tracks[track_id - 1][8]
                quantity = 2 if rng.random() < _DOUBLE_QUANTITY_SHARE else 1
                total += unit_price * quantity
                lines.append((self._next_line_id, invoice_id, track_id, unit_price, quantity))
                self._next_line_id += 1
            billing = customer[self._ADDRESS]
            invoices.append((invoice_id, customer[0], invoice_date, *billing, total))
        return invoices, lines
