"""Chinook's vocabulary: media types, genres, words, names, streets, countries and cities.

Pure data (plus the two helpers that spell it compactly); :mod:`music_dwh.datagen.chinook`
does the drawing. Order is part of the output: ids follow the order of ``MEDIA_TYPES`` and
``GENRES``, and the generator picks by index from seeded streams, so reordering, adding or
removing an entry changes the generated files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------- catalog

#: Chinook's media types, in Chinook's id order (1..5).
MEDIA_TYPES: tuple[str, ...] = (
    "MPEG audio file",
    "Protected AAC audio file",
    "Protected MPEG-4 video file",
    "Purchased AAC audio file",
    "AAC audio file",
)
VIDEO_MEDIA_TYPE_ID = 3

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
VIDEO_GENRES: dict[str, float] = {
    "TV Shows": 5.0,
    "Drama": 3.0,
    "Comedy": 1.0,
    "Science Fiction": 1.0,
    "Sci Fi & Fantasy": 1.5,
}

ADJECTIVES = (
    "Black Blue Broken Burning Cold Crazy Dark Electric Endless Fading Free Golden Heavy "
    "Hidden Holy Hungry Last Little Lonely Lost Midnight Modern Neon New Northern Open Paper "
    "Purple Quiet Red Restless Rolling Sacred Savage Silent Silver Simple Slow Stone Strange "
    "Sweet Wild Wicked Young"
).split()
NOUNS = (
    "Angel Avenue Bird Bridge Carnival City Crown Desert Dream Engine Fire Flower Garden Ghost "
    "Heart Highway Horizon Island Kingdom Letter Light Machine Mirror Moon Morning Mountain "
    "Night Ocean Paradise Radio Rain River Road Rose Saint Shadow Sky Smoke Soul Star Storm "
    "Stranger Summer Sun Thunder Tide Train Valley Voice Wave Wind Window Winter Wolf World"
).split()
PLURALS = (
    "Angels Birds Bones Brothers Cowboys Crows Dogs Dreamers Drifters Engines Ghosts Giants "
    "Hearts Horses Kings Lovers Machines Monkeys Outlaws Pilots Prophets Rebels Riders Saints "
    "Shadows Sisters Stones Strangers Tigers Wolves"
).split()
VERBS = (
    "Burn Call Chase Dance Dream Drive Fall Fly Follow Hold Keep Leave Love Run Save Shine "
    "Sing Stay Take Touch Wait Walk Wake"
).split()
OBJECTS = "Me You Us Away Home Tonight Forever Again It Down".split()
PREPOSITIONS = "Into Through Under Across Beyond Over Along".split()
MOVEMENTS = (
    "Allegro Andante Adagio Largo Presto Scherzo Minuet Rondo Nocturne Prelude Fugue Sonata"
).split()
KEYS = "C D E F G A B".split()
SHOW_WORDS = (
    "Lost Heroes Office Battlestar Galactica Island Precinct Hospital Station Agency "
    "Frontier Empire Detectives Colony Harbor"
).split()

# --------------------------------------------------------------------------- people and places


def _words(text: str) -> tuple[str, ...]:
    """``"a|b c|d"`` → ``("a", "b c", "d")``: word lists that may contain spaces."""
    return tuple(word.strip() for word in text.split("|"))


#: Language group → (first names, last names, street-name roots).
LANGUAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
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
}  # fmt: skip


@dataclass(frozen=True)
class City:
    name: str
    state: str | None
    postal: str | None  # pattern: '#' digit, 'A' uppercase letter; None → no postal code
    area: str  # phone area code, substituted for '{area}' in the country's phone pattern


@dataclass(frozen=True)
class Country:
    name: str
    weight: float  # share of customers
    language: str  # key of LANGUAGES
    street: str  # '{n}' house number, '{s}' street root
    phone: str  # '{area}' then '#' digits
    domains: tuple[str, ...]  # local e-mail providers (generic ones are added)
    company_suffixes: tuple[str, ...]
    cities: tuple[City, ...]


def _country(
    name: str, weight: float, language: str, street: str, phone: str,
    domains: str, suffixes: str, cities: Sequence[tuple[str, str | None, str | None, str]],
) -> Country:  # fmt: skip
    return Country(
        name, weight, language, street, phone, _words(domains), _words(suffixes),
        tuple(City(*city) for city in cities),
    )  # fmt: skip


COMPANY_WORDS = ("Music", "Media", "Software", "Records", "Systems")
OFFICE_STREETS = ("Ave SW", "St NW", "Street SW")
GENERIC_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "apple.com", "aol.com")

#: Where customers live: 22 countries weighted roughly like Chinook's customer base. States are
#: filled where addresses use them (North America, Brazil, Australia, ...), NULL elsewhere.
COUNTRIES: tuple[Country, ...] = (
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

#: Chinook's offices (city, postal-code prefix, phone area code): every employee works in one.
OFFICES = (("Calgary", "T2P", "403"), ("Edmonton", "T5K", "780"), ("Lethbridge", "T1K", "403"))
