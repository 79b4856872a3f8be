"""Folding text for search: accents off, lower case ("Zoë" -> "zoe").

One table, used in Python for what people type and (through ``app.services.text_search``) in
SQL for the columns searched, so the two sides fold alike. SQLite calls ``fold`` itself: the
database registers it on each connection, as SQLite has neither ``translate`` nor a ``lower``
that knows more than ASCII.
"""

from __future__ import annotations

#: Accented letters and the plain letter each folds to (the Latin scripts of students' names).
_ACCENTED = "àáâãäåāăąçćčďđèéêëēėęěìíîïīįıľłñńňòóôõöøōőŕřśšşťţùúûüūůűųýÿžźżß"
_PLAIN = "aaaaaaaaacccddeeeeeeeeiiiiiiillnnnoooooooorrsssttuuuuuuuuyyzzzs"

#: Each accented letter, in both cases, and the letter it folds to.
FOLDS = [
    *zip(_ACCENTED, _PLAIN, strict=True),
    *(
        (accented.upper(), plain.upper())
        for accented, plain in zip(_ACCENTED, _PLAIN, strict=True)
        if len(accented.upper()) == 1 and accented.upper() != plain.upper()
    ),
]
_TABLE = str.maketrans(dict(FOLDS))


def fold(text: str | None) -> str | None:
    """``"Zoë ÓLAFS"`` -> ``"zoe olafs"``; ``None`` stays ``None`` (SQL's NULL)."""
    return None if text is None else text.translate(_TABLE).lower()
