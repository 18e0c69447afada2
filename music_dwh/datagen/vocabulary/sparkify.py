"""Sparkify's vocabulary: the word lists, names, places and user agents the generator draws from.

Pure data, no logic (:mod:`music_dwh.datagen.sparkify` does the drawing). The order of every
pool is part of the output: the generator picks by index from seeded streams, so reordering,
adding or removing an entry changes every generated file after it.

The non-ASCII pools feed the double-encoded names of the logs: each entry, alone or combined,
must survive the round trip through ``ftfy.fix_text`` (checked by the tests), so no ligatures,
full-width forms or curly quotes.
"""

from __future__ import annotations

ADJECTIVES = (
    "Blue Broken Golden Silent Electric Lonely Wild Midnight Sweet Dark Burning Crazy Little "
    "Endless Hollow Velvet Neon Paper Lost Perfect Restless Cold Secret Holy Rainy Faded "
    "Shining Savage Tender Falling Rolling Distant Silver Crimson Quiet Heavy Bitter Lucky "
    "Empty Young Strange Northern Southern Burnt Sacred Wicked Gentle Frozen Hidden"
).split()
NOUNS = (
    "Heart Road River Sky Fire Dream Night Rain Love City Train Star Ocean Shadow Light Song "
    "Moon Mountain Window Highway Garden Mirror Storm Angel Kingdom Radio Summer Winter Island "
    "Desert Thunder Flower Ghost Machine Diamond Memory Paradise Horizon Echo Whisper Sunrise "
    "Avenue Harbor Letter Wire Stone Feather Tide Bridge Candle Morning Valley Circus Engine"
).split()
TITLE_LEADS = (
    "I Didn't Mean To Love The", "Don't Stop The", "Can't Forget The", "We're Chasing The",
    "You're My", "Ain't No", "Won't Leave The", "Take Me To The", "Dancing In The",
    "Waiting For The", "Talking To The", "Running From The", "Lost In The", "Back To The",
    "Under The", "Beyond The", "Into The", "Let's Burn The", "She's A", "It's Only The",
    "Goodbye", "Hello", "Ballad Of The", "Song For The", "Letters From The",
)  # fmt: skip
TITLE_SUFFIXES = (
    " (Album Version)", " (Live)", " (Remix)", " (Acoustic)", " (Radio Edit)", " (Remastered)",
    " (Extended Mix)", " (LP Version)", " (Demo)", " (Instrumental)",
)  # fmt: skip
BAND_NOUNS = (
    "Wolves Kings Lights Rockers Strangers Rebels Ghosts Saints Brothers Sisters Machines "
    "Horses Tigers Pilots Hearts Shadows Drifters Ramblers Dreamers Monarchs Giants Sparrows "
    "Ravens Comets Rangers Outlaws Prophets Sailors Lovers Vandals"
).split()
ENSEMBLES = (
    "Trio Quartet Band Orchestra Ensemble Project Experience Collective Sound System Combo"
).split()
FEMALE_FIRST = (
    "Kaylee Lily Tegan Chloe Jacqueline Ava Emily Sara Kate Rylan Jayden Layla Aleena Anabelle "
    "Hannah Madison Olivia Mia Zoe Isabella Grace Harper Avery Ella Scarlett Victoria Stella "
    "Lucy Nora Riley Claire Aubrey Violet Penelope Naomi Ruby Alice Maya Elena Julia"
).split()
MALE_FIRST = (
    "Walter Ryan Jacob Matthew Aiden Kevin Sean Colm Liam Noah Ethan Mason Logan Lucas "
    "Oliver Elijah James Benjamin Samuel Henry Owen Caleb Wyatt Isaac Levi Dylan Gabriel "
    "Carter Julian Miles Theo Adrian Xavier Jordan Tucker Cooper Brody Declan Emmett Rhett"
).split()
FIRST_NAMES = FEMALE_FIRST + MALE_FIRST
LAST_NAMES = (
    "Frye Summers Koch Levine Lynch Cuevas Cruz Griffin Hogan Sanchez Barrett Jones Parker "
    "Graham Ford Stephens Harrell Gonzalez Robinson Fox Flores Kirby Miles Mccoy Cole Moore "
    "Nelson Carter Hughes Wallace Bennett Reyes Morgan Ward Bailey Rivera Cooper Howard Brooks "
    "Price Myers Long Foster Sanders Ross Jenkins Perry Powell Russell Sullivan Bell Coleman "
    "Butler Henderson Barnes Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton "
    "Wells Tucker Warren Dixon Ramos Burns Gordon Shaw Holmes Rice Hunt Black Daniels Palmer "
    "Mills Grant Knight Ferguson Rose Stone Hawkins Dunn Perkins Hudson Spencer Gardner Stevens "
    "Payne Pierce Berry Matthews Arnold Wagner Willis Ray Watkins Olson Carroll Duncan Snyder"
).split()
# Non-ASCII names (Latin, Nordic, Slavic, Cyrillic, Greek, Japanese). Each entry, alone or
# combined, survives the double-encoding round trip through ftfy.fix_text (checked by the
# tests): do not add ligatures, full-width forms or curly quotes.
NON_ASCII_ARTISTS = (
    "Björk", "Sigur Rós", "Mötley Crüe", "Beyoncé", "Café del Mar", "Röyksopp", "Motörhead",
    "Françoise Hardy", "Édith Piaf", "Jóhann Jóhannsson", "Mø", "Zoë Keating", "Múm",
    "Hüsker Dü", "Blue Öyster Cult", "Sinéad O'Connor", "Céline Dion", "Ólafur Arnalds",
    "Kino (Кино)", "Земфира", "ДДТ", "Μάνος Χατζιδάκις", "宇多田ヒカル", "坂本龍一",
    "Plastikman & Señor Coconut", "Antonín Dvořák", "Łona i Webber", "Jürgen Drews",
)  # fmt: skip
ACCENTED_FIRST = (
    "Zoë Renée Noël José Søren Åsa Björn Jürgen Frédéric Inés Raúl Chloé Anaïs Mikaël Øystein "
    "Agnès Hélène Ángel Jesús Dóra Märta Göran Łukasz Tomáš"
).split()
ACCENTED_LAST = (
    "Müller Ståhl Peña Gómez Lefèvre Nørgaard Lindström Öberg Jiménez Løvland Schröder Brontë "
    "Márquez Ferré Ibáñez Çelik Novák Dvořák Čapek Østergaard"
).split()
ACCENTED_WORDS = (
    "Café", "Mañana", "Déjà Vu", "Naïve", "Crème Brûlée", "Señorita", "Über", "Fiancée",
    "Noël", "Garçon", "Résumé", "Jalapeño", "Piñata", "Smörgåsbord", "Façade", "Élan",
    "Cliché", "Soirée", "Hôtel", "Ça Va", "Éclair", "São Paulo", "Zürich", "Årstiderna",
)  # fmt: skip
FOREIGN_TITLES = (
    "Звезда по имени Солнце", "Кукушка", "Группа крови", "Пачка сигарет", "Весна", "Город",
    "さくら", "東京", "夜空ノムコウ", "花火", "ありがとう", "雨の日", "青い空", "Αγάπη μου",
)  # fmt: skip
ARTIST_LOCATIONS = (
    ("California - LA", 34.05349, -118.24532), ("California - SF", 37.77916, -122.42005),
    ("Nashville, TN.", 36.16778, -86.77836), ("New York, NY", 40.71455, -74.00712),
    ("London, England", 51.50632, -0.12714), ("Denmark", 56.27609, 9.51695),
    ("Gainesville, FL", 29.65163, -82.32483), ("Chicago, IL", 41.88415, -87.63241),
    ("Seattle, Washington USA", 47.60356, -122.32944), ("Fort Worth, TX", 32.74863, -97.32925),
    ("Hamilton, Ohio", 39.39943, -84.56134), ("Zagreb Croatia", 45.80726, 15.96760),
    ("Atlanta, GA", 33.74831, -84.39111), ("Detroit, MI", 42.33168, -83.04792),
    ("Manchester, England", 53.47959, -2.24874), ("Berlin, Germany", 52.51607, 13.37698),
    ("Paris, France", 48.85692, 2.34121), ("Reykjavik, Iceland", 64.13548, -21.89541),
    ("Stockholm, Sweden", 59.33217, 18.06243), ("Toronto, Ontario, Canada", 43.64856, -79.38533),
    ("Kingston, Jamaica", 17.99702, -76.79358), ("Melbourne, Australia", -37.81753, 144.96715),
    ("Tokyo, Japan", 35.68870, 139.74972), ("Rio de Janeiro, Brazil", -22.97673, -43.19508),
    ("United States", 37.16793, -95.84502), ("Noci (BA)", 40.79373, 17.12614),
    ("New York, NY [Manhattan]", 40.78771, -73.96920), ("Utah", 39.49974, -111.54732),
)  # fmt: skip
USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA", "Phoenix-Mesa-Scottsdale, AZ",
    "Chicago-Naperville-Elgin, IL-IN-WI", "Portland-South Portland, ME",
    "Lansing-East Lansing, MI", "Atlanta-Sandy Springs-Roswell, GA",
    "New York-Newark-Jersey City, NY-NJ-PA", "Los Angeles-Long Beach-Anaheim, CA",
    "Houston-The Woodlands-Sugar Land, TX", "Miami-Fort Lauderdale-West Palm Beach, FL",
    "Seattle-Tacoma-Bellevue, WA", "Dallas-Fort Worth-Arlington, TX",
    "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD", "Washington-Arlington-Alexandria, DC-VA-MD-WV",
    "Minneapolis-St. Paul-Bloomington, MN-WI", "Nashville-Davidson--Murfreesboro--Franklin, TN",
    "Tampa-St. Petersburg-Clearwater, FL", "St. Louis, MO-IL", "Salt Lake City, UT",
    "San Jose-Sunnyvale-Santa Clara, CA", "Sacramento--Roseville--Arden-Arcade, CA",
    "Detroit-Warren-Dearborn, MI", "Richmond, VA", "Raleigh, NC", "Eugene, OR",
    "Lubbock, TX", "Winston-Salem, NC", "Klamath Falls, OR", "Red Bluff, CA", "London, KY",
)  # fmt: skip
USER_AGENTS = (
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Chrome/36.0.1985.143 Safari/537.36"',
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko)'
    ' Version/7.0.6 Safari/537.78.2"',
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Ubuntu Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36"',
    '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Chrome/35.0.1916.153 Safari/537.36"',
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    '"Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Chrome/36.0.1985.143 Safari/537.36"',
    '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2'
    ' (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"',
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Chrome/37.0.2062.94 Safari/537.36"',
)
