"""The full-text search table both backends must agree on: a corpus, queries, expected hits.

Plain data, shared by the engines' parity test (test_data_search_parity.py: PostgreSQL's
to_tsvector/websearch_to_tsquery against SQLite's FTS5 over benben.data.search_text) and the
API's test (test_data_search_api.py: GET ...?_q= on both backends). The records' searchable
fields are SEARCHABLE_FIELDS, in that order (``tags`` is an array of strings); ``year`` is a
number, which search ignores. Every query is in the syntax docs/search.md documents.
"""

from __future__ import annotations

LANGUAGE = "english"
SEARCHABLE_FIELDS = ("title", "body", "tags")


def _record(title: str, body: str, tags: list[str] | None = None, year: int = 2020) -> dict:
    return {"title": title, "body": body, "tags": tags or [], "year": year}


CORPUS: dict[str, dict] = {
    "r01": _record("The cat sat on the mat", "A short story about a lazy cat and a warm mat."),
    "r02": _record("Cats and dogs", "Why cats ignore dogs, and dogs chase cats.", ["pets"]),
    "r03": _record("Running shoes reviewed", "We ran 500 kilometres in twelve pairs of shoes."),
    "r04": _record(
        "How to run a marathon", "Runners need patience: the runner who runs slowly wins."
    ),
    "r05": _record("Crème brûlée", "A French dessert: crème, sugar and a hot spoon.", ["dessert"]),
    "r06": _record("Creme brulee, the easy way", "No torch? Use the grill for the sugar crust."),
    "r07": _record("A well-known recipe", "Everyone knows this well known bread recipe."),
    "r08": _record(
        "Self-driving cars in 2024", "Driverless cars drive themselves, mostly.", ["cars"]
    ),
    "r09": _record("The big bird", "Big Bird lives on a street with friends.", ["tv"]),
    "r10": _record("Birds of the big forest", "A bird watcher's guide; big trees, small birds."),
    "r11": _record("To be or not to be", "The question every student of Hamlet meets."),
    "r12": _record("Or else", "An essay about choices, alternatives and decisions."),
    "r13": _record("Database indexing", "Indexes make queries fast; an index costs writes."),
    "r14": _record(
        "Indexed search at scale", "Searching millions of documents with inverted indexes."
    ),
    "r15": _record(
        "Gardening for beginners", "Plant tomatoes in spring; water them every morning."
    ),
    "r16": _record("Tomato soup", "Soup of ripe tomatoes, basil and garlic.", ["soup", "vegan"]),
    "r17": _record("Garlic bread", "Bread, butter and garlic: the best side dish.", ["bread"]),
    "r18": _record(
        "Night train to Vienna", "The train leaves at 22:40 and arrives in the morning."
    ),
    "r19": _record("Trains and planes", "Comparing trains with planes for short trips."),
    "r20": _record("Learning Python", "Python programmers write programs; programming is fun."),
    "r21": _record(
        "The history of Rome", "Rome was not built in a day, historians say.", ["history"]
    ),
    "r22": _record("Mountain hiking", "Hikers hike the mountains; a hike takes hours."),
    "r23": _record("Über cafés in Zürich", "Café culture: coffee, cake and conversation."),
    "r24": _record("Cafe society", "A history of the cafe as a meeting place.", ["history"]),
    "r25": _record("COVID-19 vaccines", "Vaccination campaigns in 2021 reached billions."),
    "r26": _record("Quiet", "", []),
    "r27": _record(
        "Photography basics", "Light, aperture and shutter speed.", ["photos", "cameras"]
    ),
    "r28": _record("Camera reviews", "The newest cameras photographed side by side."),
    "r29": _record("Jazz in the night", "Late night jazz clubs and their musicians."),
    "r30": _record("Music theory", "Scales, chords and the circle of fifths.", ["music"]),
}

# (query, the ids it finds), for LANGUAGE.
CASES: list[tuple[str, set[str]]] = [
    # One word, and its other forms through stemming.
    ("cat", {"r01", "r02"}),
    ("cats", {"r01", "r02"}),
    ("CATS", {"r01", "r02"}),
    ("running", {"r03", "r04"}),
    ("runs", {"r03", "r04"}),
    ("runners", {"r04"}),
    ("index", {"r13", "r14"}),
    ("indexing", {"r13", "r14"}),
    ("programming", {"r20"}),
    ("hiking", {"r22"}),
    # Several words: all of them, in any field.
    ("garlic bread", {"r17"}),
    ("tomato soup", {"r16"}),
    ("big bird", {"r09", "r10"}),
    ("vegan garlic", {"r16"}),
    ("history cafe", {"r24"}),
    # Phrases: adjacent words in that order; stop words inside keep their place.
    ('"big bird"', {"r09"}),
    ('"bird cat"', set()),
    # The fields are joined: a phrase may span the end of one and the start of the next.
    ('"bird big"', {"r09"}),
    ('"cat sat on the mat"', {"r01"}),
    ('"the cat"', {"r01", "r02"}),
    ('"night train"', {"r18"}),
    ('"to be or not to be"', set()),
    # or, in any case, between terms.
    ("soup or bread", {"r07", "r16", "r17"}),
    ("soup OR bread", {"r07", "r16", "r17"}),
    ("train or plane", {"r18", "r19"}),
    ("jazz or music or cameras", {"r27", "r28", "r29", "r30"}),
    # Exclusion.
    ("cats -dogs", {"r01"}),
    ('bird -"big bird"', {"r10"}),
    ("trains -planes", {"r18"}),
    # Mixed.
    # or binds loosest: cat or (dog and not mat).
    ("cat or dog -mat", {"r01", "r02"}),
    ("dog -mat", {"r02"}),
    ('"big bird" or garlic -butter', {"r09", "r16"}),
    # Accents count with english (PostgreSQL's english configuration keeps them).
    ("café", {"r23"}),
    ("cafe", {"r24"}),
    ("crème brûlée", {"r05"}),
    ("creme brulee", {"r06"}),
    # Hyphenated words and numbers.
    ("well-known", {"r07"}),
    ("self-driving", {"r08"}),
    ("driving", {"r08"}),
    ("2024", {"r08"}),
    ("500", {"r03"}),
    # Only stop words or punctuation: nothing searchable, no hit.
    ("the", set()),
    ("to be or not to be", set()),
    ('"" - or', set()),
    # Stray operators and quotes are ignored as PostgreSQL ignores them.
    ("cat & | ! ( ) <", {"r01", "r02"}),
    ('"garlic bread', {"r17"}),
    ("-", set()),
]

# With "simple": no stemming and no stop words, only lower-casing.
SIMPLE_CASES: list[tuple[str, set[str]]] = [
    ("cat", {"r01"}),
    ("cats", {"r02"}),
    (
        "the",
        {
            "r01",
            "r04",
            "r06",
            "r09",
            "r10",
            "r11",
            "r17",
            "r18",
            "r21",
            "r22",
            "r24",
            "r28",
            "r29",
            "r30",
        },
    ),
    ('"to be or not to be"', {"r11"}),
    ("or", {"r11", "r12"}),
    ("café", {"r23"}),
    ("cafe", {"r24"}),
]
