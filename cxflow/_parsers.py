"""Fast, stdlib-only value parsers that pull typed slot values out of free English text.

The offline ``RuleInterpreter`` uses these to fill slots without a model. Every parser
returns ``None`` when nothing usable is found and never raises on string input (non-``str``
input is treated as empty text). Only the first :data:`MAX_CHARS` characters are examined
and all regexes are compiled once, without nested ambiguous quantifiers, so hostile or huge
input stays cheap. Where several candidates occur the *first* one (by position) wins, except
in :func:`parse_yes_no`, where the *last* signal wins ("yes... actually no" -> ``False``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import islice

MAX_CHARS = 2000
"""Only this many leading characters of any input are examined."""

_MAX_INT_DIGITS = 9  # longer digit runs are ids / phone numbers, not quantities


def _clip(text: str) -> str:
    if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        return ""
    return text[:MAX_CHARS]


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_NORM_JUNK_RE = re.compile(r"[^\w\s'$.,/#@+%:&-]")
_NORM_EDGE_RE = re.compile(r"(?<!\S)(?:['.,/:&]|-(?!\d))+|['.,/:&-]+(?!\S)")


def normalize(text: str) -> str:
    """Lower-case ``text``, drop symbols and edge punctuation, and collapse whitespace.

    ``' $ . , / # @ + % : & -`` survive inside tokens ("3.5", "$45", "don't", "-4") but are
    stripped at token edges ("yes." -> "yes"); curly quotes become ASCII quotes.

    Args:
        text: Arbitrary text.

    Returns:
        The normalized text (possibly empty).
    """
    s = _clip(text).translate(_QUOTES).lower()
    return " ".join(_NORM_EDGE_RE.sub(" ", _NORM_JUNK_RE.sub(" ", s)).split())


# --------------------------------------------------------------------------- numbers

_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_KINDS: dict[str, tuple[str, int]] = {
    w: ("zero" if v == 0 else "unit" if v < 10 else "teen", v)
    for v, w in enumerate(f"{_SMALL} fifteen sixteen seventeen eighteen nineteen".split())
}
_KINDS.update({w: ("tens", 10 * v) for v, w in enumerate(_TENS.split(), 2)})
_KINDS.update({"fourty": ("tens", 40), "couple": ("couple", 2)})
_KINDS.update({"hundred": ("hundred", 100), "thousand": ("thousand", 1000)})
_AFTER_SPEC = (
    "unit:|tens|hundred|thousand teen:|hundred|thousand tens:|hundred|thousand "
    "hundred:|unit|teen thousand:|unit|teen|tens|hundred zero: couple:"
)
# Which kind of number word may directly precede each kind ("" = start of the run).
_AFTER = {k: frozenset(v.split("|")) for k, v in (kv.split(":") for kv in _AFTER_SPEC.split())}
_NW = "|".join(sorted(_KINDS, key=len, reverse=True))
_WORDNUM_RE = re.compile(
    rf"(?<![\w'-])(?:a\s+)?(?:{_NW})(?:(?:\s+and\s+|\s+|-)(?:{_NW}))*(?![\w'])"
)
_SPLIT_RE = re.compile(r"[\s-]+")
_NUM_RE = re.compile(
    r"(?<![\w.,/:#+-])(?P<sign>-)?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?"
    r"(?![\d/:]|[.,-]\d)"
)
_HALF_RE = re.compile(r"(?<![\w'])(?:a\s+)?half(?![\w'])")
_AND_HALF_RE = re.compile(r"\s+and\s+a\s+half(?![\w'])")


def _words_value(words: list[str]) -> int | None:
    """Value of the longest valid prefix of a run of number words ("a", "and" are skipped)."""
    total = current = 0
    last = ""
    for w in words:
        if w not in _KINDS:
            continue
        kind, v = _KINDS[w]
        blocked = current >= 100 if kind == "hundred" else kind == "thousand" and total > 0
        if last not in _AFTER[kind] or blocked:
            break
        if kind == "hundred":
            current = (current or 1) * 100
        elif kind == "thousand":
            total, current = (current or 1) * 1000, 0
        else:
            current += v
        last = kind
    return total + current if last else None


def _word_numbers(s: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(start, end, value)`` for runs of number words in lower-cased ``s``."""
    for m in _WORDNUM_RE.finditer(s):
        value = _words_value(_SPLIT_RE.split(m.group()))
        if value is not None:
            yield m.start(), m.end(), value


def _numbers(s: str) -> Iterator[re.Match[str]]:
    """Standalone numeric tokens that are not part of a phone number or a date."""
    masked = [m.span() for rx in _MASKERS for m in rx.finditer(s)]
    for m in _NUM_RE.finditer(s):
        too_long = len(m["int"].replace(",", "")) > _MAX_INT_DIGITS
        if not too_long and not any(a < m.end() and m.start() < b for a, b in masked):
            yield m


def parse_int(text: str) -> int | None:
    """Return the first standalone integer in ``text``.

    Digits ("3", "-4", "1,200") and number words ("twenty five", "a hundred and five",
    "a couple" -> 2) count; whichever starts first wins. Digit tokens that are part of a phone
    number, date, time ("3:30"), id ("L1234", "#123"), decimal ("2.5"), range ("3-4"),
    unit-glued token ("2gb", "2nd") or longer than nine digits are skipped.

    Args:
        text: Free customer text.

    Returns:
        The integer, or ``None``.
    """
    s = _clip(text).lower()
    cands: list[tuple[int, int]] = []
    for m in _numbers(s):
        if not m["frac"] and not (m.end() < len(s) and s[m.end()].isalpha()):
            cands.append((m.start(), int((m["sign"] or "") + m["int"].replace(",", ""))))
            break
    word = next(_word_numbers(s), None)
    if word is not None:
        cands.append((word[0], word[2]))
    return min(cands)[1] if cands else None


def parse_float(text: str) -> float | None:
    """Return the first number in ``text`` as a float; units may be glued on.

    Handles "2.5", "2 GB" -> 2.0, "1.5gb" -> 1.5, "two and a half" -> 2.5 and "half a gig"
    -> 0.5, with the same phone/date/id exclusions as :func:`parse_int`.

    Args:
        text: Free customer text.

    Returns:
        The number, or ``None``.
    """
    s = _clip(text).lower()
    cands: list[tuple[int, float]] = []
    m = next(_numbers(s), None)
    if m is not None:
        digits = (m["sign"] or "") + m["int"].replace(",", "") + (m["frac"] or "")
        cands.append((m.start(), float(digits)))
    word = next(_word_numbers(s), None)
    if word is not None:
        cands.append((word[0], word[2] + (0.5 if _AND_HALF_RE.match(s, word[1]) else 0.0)))
    half = _HALF_RE.search(s)
    if half is not None:
        cands.append((half.start(), 0.5))
    return min(cands)[1] if cands else None


_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+|\d{1,9})(?:\.\d{1,2})?"
_MONEY_RE = re.compile(
    rf"(?<!\w)(?:us\s?\$|\$|usd)\s?(?P<a>{_AMOUNT})(?!\d|[.,]\d)"
    rf"|(?<![\w.,/:#+-])(?P<b>{_AMOUNT})\s?(?:dollars?|bucks|usd|\$)(?!\w)"
    r"(?:\s+and\s+(?P<c>\d{1,2})\s+cents?(?!\w))?"
)
_DOLLAR_WORD_RE = re.compile(r"\s*(?:dollars?|bucks)(?!\w)")


def parse_money(text: str) -> Decimal | None:
    """Return the first money amount in ``text`` as a :class:`~decimal.Decimal`.

    Currency-marked amounts win over bare numbers: "$45", "US$ 5", "USD 12.5", "45 dollars",
    "45 dollars and 50 cents", "twenty bucks", "12$". Without a currency marker the first
    non-negative standalone number is used ("45.50", "1,234.56").

    Args:
        text: Free customer text.

    Returns:
        The amount, or ``None``.
    """
    s = _clip(text).lower()
    cands: list[tuple[int, Decimal]] = []
    m = _MONEY_RE.search(s)
    if m is not None:
        cents = Decimal(m["c"]) / 100 if m["c"] else Decimal(0)
        cands.append((m.start(), Decimal((m["a"] or m["b"]).replace(",", "")) + cents))
    for start, end, value in _word_numbers(s):
        if _DOLLAR_WORD_RE.match(s, end):
            cands.append((start, Decimal(value)))
            break
    if cands:
        return min(cands, key=lambda c: c[0])[1]
    for n in _numbers(s):
        if not n["sign"]:
            return Decimal(n["int"].replace(",", "") + (n["frac"] or ""))
    return None


# --------------------------------------------------------------------------- dates & phones

_MONTHS = {
    name: i % 12 + 1
    for i, name in enumerate(
        "january february march april may june july august september october november "  # noqa: SIM905
        "december jan feb mar apr may jun jul aug sep oct nov dec".split()
    )
}
_MONTHS["sept"] = 9
_MON = rf"(?<![a-z])(?P<mon>{'|'.join(sorted(_MONTHS, key=len, reverse=True))})(?![a-z])\.?"
_ORD = r"(?:st|nd|rd|th)?"
_ISO_RE = re.compile(
    r"(?<![\d/.-])(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?!\d|[/.-]\d)"
)
_US_RE = re.compile(
    r"(?<![\d/.-])(?P<m>\d{1,2})(?P<s>[-/.])(?P<d>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?!\d|[/.-]\d)"
)
_DMY_RE = re.compile(
    rf"(?<!\w)(?P<d>\d{{1,2}}){_ORD}[\s-]*(?:of\s+)?{_MON}[\s,.-]*(?P<y>\d{{4}})(?!\d)"
)
_MDY_RE = re.compile(rf"{_MON}[\s.-]*(?P<d>\d{{1,2}}){_ORD}(?!\d)[\s,.-]*(?P<y>\d{{4}})(?!\d)")
_REL_RE = re.compile(r"(?<!\w)(?:day\s+after\s+tomorrow|today|tonight|tomorrow|yesterday)(?!\w)")
_REL_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2}
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\((?P<a1>\d{3})\)|(?P<a2>\d{3}))[\s.-]?(?P<b>\d{3})[\s.-]?"
    r"(?P<c>\d{4})(?!\d)"
)
_MASKERS = (_PHONE_RE, _ISO_RE, _US_RE, _DMY_RE, _MDY_RE)


def _date_candidates(s: str, ref: date) -> Iterator[tuple[int, date]]:
    for rx in _MASKERS[1:]:
        for m in rx.finditer(s):
            g = m.groupdict()
            month = _MONTHS[g["mon"]] if g.get("mon") else int(g["m"])
            day, year = int(g["d"]), int(g["y"])
            if len(g["y"]) == 2:
                year += 2000 if 2000 + year <= ref.year + 10 else 1900
            if rx is _US_RE and month > 12 >= day:
                month, day = day, month
            try:
                yield m.start(), date(year, month, day)
            except ValueError:
                continue
    for m in _REL_RE.finditer(s):
        try:
            yield m.start(), ref + timedelta(days=_REL_DAYS[" ".join(m.group().split())])
        except OverflowError:
            continue


def parse_date(text: str, *, today: date | None = None) -> date | None:
    """Return the first valid calendar date mentioned in ``text``.

    Formats: ISO "1985-06-15" (or ``/``, ``.``); US "06/15/1985" (M/D/Y, read as D/M/Y only
    when the first part cannot be a month, e.g. "15/06/1985"; a two-digit year is 20xx unless
    that is over ten years after ``today``, else 19xx); "15 June 1985", "15th of June 1985",
    "June 15, 1985", "Jun 15 1985"; and "today", "tonight", "tomorrow", "yesterday", "day
    after tomorrow". Dates without a year ("June 15") are not accepted; impossible dates
    ("Feb 30 1990") are skipped.

    Args:
        text: Free customer text.
        today: Reference date for relative words; defaults to :meth:`date.today`.

    Returns:
        The date, or ``None``.
    """
    ref = today if today is not None else date.today()
    best = min(_date_candidates(_clip(text).lower(), ref), key=lambda c: c[0], default=None)
    return best[1] if best else None


def parse_phone(text: str) -> str | None:
    """Return the first North-American phone number in ``text`` as ``"555-123-2002"``.

    Separators ``-``, ``.``, space or none, an optional parenthesised area code and an
    optional ``+1``/``1`` prefix are accepted; digits are not validated against NANP rules.

    Args:
        text: Free customer text.

    Returns:
        The normalized number, or ``None``.
    """
    m = _PHONE_RE.search(_clip(text))
    return f"{m['a1'] or m['a2']}-{m['b']}-{m['c']}" if m else None


# --------------------------------------------------------------------------- ids


_ANCHORS_RE = re.compile(r"\A(?:\^|\\A)|(?<!\\)(?:\$|\\Z)\Z")


@lru_cache(maxsize=256)
def _compile_id(pattern: str, flags: int) -> re.Pattern[str]:
    core = _ANCHORS_RE.sub("", pattern)  # JSON-Schema style "^...$" must not pin to the text
    try:
        return re.compile(rf"(?<![A-Za-z0-9])(?:{core})(?![A-Za-z0-9])", flags)
    except re.error:  # e.g. inline global flags cannot be wrapped; use the pattern as is
        return re.compile(pattern, flags)


def parse_pattern(text: str, pattern: re.Pattern[str] | str, *, upper: bool = False) -> str | None:
    """Return the first match of an id ``pattern`` (e.g. ``r"#W\\d{7}"``) in ``text``.

    Whole-pattern anchors (``^...$``, as in JSON Schema) are dropped, and a match must not be
    glued to further ASCII letters/digits, so ``r"[A-Z0-9]{6}"`` skips "reservation". With
    ``upper=True`` matching is case-insensitive and the result upper-cased; as ordinary words
    then match too, a match containing a digit is preferred, then one that is not a common
    word, then one typed in capitals, then the first.

    Args:
        text: Free customer text.
        pattern: Regex, string or compiled. A malformed string raises :class:`re.error`
            (a programming error, not a user-input one).
        upper: Match case-insensitively and upper-case the result.

    Returns:
        The matched id, or ``None``.
    """
    source, flags = (pattern, 0) if isinstance(pattern, str) else (pattern.pattern, pattern.flags)
    rx = _compile_id(source, flags | (re.IGNORECASE if upper else 0))
    found = [m.group() for m in islice(rx.finditer(_clip(text)), 1 if not upper else 50)]
    if not found:
        return None
    if not upper:
        return found[0]
    found.sort(key=lambda f: (not any(c.isdigit() for c in f), f.lower() in _COMMON, f.islower()))
    return found[0].upper()


# --------------------------------------------------------------------------- yes / no

_YES = (
    "yes|yeah|yea|yep|yup|ya|sure|sure thing|ok|okay|okey|alright|all right|go ahead|go for it|"
    "please do|please proceed|proceed|do it|let's do it|confirm|confirmed|i confirm|"
    "that's right|that is right|that's correct|correct|sounds good|sounds great|absolutely|"
    "definitely|of course|certainly|affirmative|agreed|i agree|perfect|exactly|fine|"
    "that's fine|that works|works for me|yes please|why not|no problem|no worries|"
    "not a problem|don't mind|do not mind|i think so|i guess so"
)
_NO = (
    "no|nope|nah|no thanks|no thank you|don't|do not|please don't|never|cancel that|"
    "scratch that|never mind|nevermind|not now|not right now|not yet|not really|not quite|"
    "wrong|that's wrong|incorrect|that's not right|that is not right|not right|negative|"
    "absolutely not|of course not|definitely not|certainly not|i don't think so|no way|"
    "not at all|nothing else|i decline|decline|hold off|rather not|i'd rather not"
)
_UNSURE = (
    "not sure|unsure|i'm not sure|maybe|perhaps|possibly|i don't know|don't know|dunno|idk|"
    "no idea|not certain|let me think"
)
_YN_KIND = {"not": ""}  # bare "not" only negates a following affirmative
for _kind, _phrases in (("yes", _YES), ("no", _NO), ("unsure", _UNSURE)):
    _YN_KIND.update({p.replace("'", ""): _kind for p in _phrases.split("|")})
_NEGATORS = frozenset({"not", "dont", "do not", "please dont", "never"})
_YN_ALT = "|".join(
    r"\s+".join(re.escape(w).replace("'", "'?") for w in p.split())
    for p in sorted([*_YES.split("|"), *_NO.split("|"), *_UNSURE.split("|"), "not"], key=len)[::-1]
)
_YN_RE = re.compile(rf"(?<![\w'])(?:{_YN_ALT})(?![\w'])")


def parse_yes_no(text: str) -> bool | None:
    """Classify ``text`` as an affirmative (``True``) or negative (``False``) answer.

    Phrases are scanned left to right and the LAST signal wins ("yes... actually no" ->
    ``False``, "no wait, yes" -> ``True``). Hedges ("not sure", "maybe", "I don't know") are
    signals too and give ``None`` when they come last. A negator ("not", "don't", "never")
    right before an affirmative flips it ("not ok", "don't confirm" -> ``False``). Bare
    "cancel" is deliberately not a "no" (cancelling is often the very action being
    confirmed); "cancel that" is. A message that is just "y" or "n" counts.

    Args:
        text: Free customer text.

    Returns:
        ``True``, ``False`` or ``None`` (no clear answer).
    """
    s = normalize(text)
    if s in ("y", "n"):
        return s == "y"
    result: bool | None = None
    negated_until = -1
    for m in _YN_RE.finditer(s):
        key = " ".join(m.group().replace("'", "").split())
        kind = _YN_KIND.get(key, "")
        if kind == "yes":
            result = not (negated_until >= 0 and not s[negated_until : m.start()].strip())
        elif kind:
            result = False if kind == "no" else None
        negated_until = m.end() if key in _NEGATORS else -1
    return result


# --------------------------------------------------------------------------- choices

_TOKEN_RE = re.compile(r"[^\W_]+")


def _key(s: str) -> str:
    return " ".join(_TOKEN_RE.findall(s.lower()))


def _mentioned(words: list[str], targets: list[tuple[str, str]]) -> tuple[bool, str | None]:
    """Whole-word mentions of targets, ignoring ones inside a longer mention.

    Returns:
        ``(found anything, the canonical choice or None when several are mentioned)``.
    """
    padded = f" {' '.join(words)} "
    spans: list[tuple[int, int, str]] = []
    for key, canon in targets:
        if f" {key} " in padded:
            toks = key.split()
            n = len(toks)
            spans += [
                (i, i + n, canon) for i in range(len(words) - n + 1) if words[i : i + n] == toks
            ]
    spans = spans[:200]
    kept = {
        c for a, b, c in spans if not any(x <= a and b <= y and y - x > b - a for x, y, _ in spans)
    }
    return bool(spans), (kept.pop() if len(kept) == 1 else None)


def parse_choice(
    text: str,
    choices: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    cutoff: float = 0.8,
) -> str | None:
    """Return the canonical choice mentioned in ``text``.

    Text and choices are compared as lower-cased alphanumeric tokens, so the enum value
    "premium_plan" matches "Premium plan". Stages, first hit wins: (1) whole-word mention of
    a choice, where a mention inside a longer one is ignored ("basic economy" beats
    "economy"); (2) the same for ``aliases`` (``{choice: [alias, ...]}``, keys that are not
    choices are ignored); (3) fuzzy: :class:`difflib.SequenceMatcher` ratio >= ``cutoff``
    between a choice or alias and any text n-gram with as many words ("premum plan").
    Two different choices mentioned (or scoring equally well) at any stage give ``None``.

    Args:
        text: Free customer text.
        choices: Canonical values; the one found is returned exactly as given.
        aliases: Optional alternative phrasings per choice.
        cutoff: Minimum fuzzy similarity in ``[0, 1]``.

    Returns:
        One of ``choices``, or ``None``.
    """
    words: list[str] = _TOKEN_RE.findall(_clip(text).lower())
    canon: dict[str, str] = {}
    for c in [choices] if isinstance(choices, str) else choices:
        if (k := _key(c)) and k not in canon:
            canon[k] = c
    if not words or not canon:
        return None
    found, value = _mentioned(words, targets := list(canon.items()))
    if found:
        return value
    alias_targets: list[tuple[str, str]] = []
    for name, phrases in (aliases or {}).items():
        if (c := canon.get(_key(name))) is not None:
            for phrase in [phrases] if isinstance(phrases, str) else phrases:
                alias_targets += [(k, c)] if (k := _key(phrase)) else []
    found, value = _mentioned(words, alias_targets)
    if found:
        return value
    best, winners = 0.0, set[str]()
    grams: dict[int, set[str]] = {}
    for key, c in targets + alias_targets:
        n = key.count(" ") + 1
        if n not in grams:
            grams[n] = {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
        sm = SequenceMatcher(None, "", key, autojunk=False)
        for gram in grams[n]:
            sm.set_seq1(gram)
            floor = max(cutoff, best - 1e-9)
            quick = sm.real_quick_ratio() >= floor and sm.quick_ratio() >= floor
            if (r := sm.ratio() if quick else 0.0) < floor:
                continue
            if r > best + 1e-9:
                best, winners = r, {c}
            else:
                winners.add(c)
    return winners.pop() if len(winners) == 1 else None


# --------------------------------------------------------------------------- names

_NAME_WORD = r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*"
_NAME_WORD_RE = re.compile(_NAME_WORD)
_FIRST_WORD_RE = re.compile(rf"\s*({_NAME_WORD})(?![\w'\u2019-])")
_POLITE_END_RE = re.compile(r"[\s,]+(?:please|thanks|thank you)[\s.!]*$", re.I)
_NEXT_WORD_RE = re.compile(rf"[ \t]+({_NAME_WORD})(?![\w'\u2019-])")  # a name is on one line
_CUE_RE = re.compile(
    r"(?<![\w'\u2019])(?:(?:my\s+)?(?:full\s+)?name(?:\s+is|['\u2019]s|\s*:)|call\s+me|"
    r"this\s+is|i\s+am|i['\u2019]?m|it['\u2019]?s|it\s+is)(?![\w'\u2019])[\s:,-]*"
    r"(?:(?:mr|mrs|ms|miss|dr|mx)\.?(?=\s))?",
    re.IGNORECASE,
)
_COMMON = frozenset(
    """a an the and or but if to of in on at by for from with about as into is are was were be
    been am do does did have has had i me my mine we us our you your he she it its they them
    their this that these those there here what which who whom whose when where why how yes
    yeah yep no nope not ok okay sure please thanks thank hi hello hey good great fine bad
    sorry just also only very really so too can could would should will shall may might must
    want need like call calling looking trying going getting having wondering writing reaching
    contacting interested hoping planning order orders account flight flights booking
    reservation ticket plan phone number email address help issue problem question change
    cancel book refund return exchange update check new old same all any some none nothing
    something anything everything one two three customer user agent support service now today
    tomorrow yesterday morning afternoon evening night still again back glad happy well done
    right wrong correct sounds maybe name i'm it's that's don't can't i'd i'll i've you're
    what's let's im dont cant""".split()  # noqa: SIM905
)
_PARTICLES = frozenset("van von de da del della di du la le bin ibn al der den dos das".split())  # noqa: SIM905
_LETTERS_RE = re.compile(r"[^\W\d_]+")


def _title(words: list[str]) -> str:
    out: list[str] = []
    for i, w in enumerate(words):
        if i and w.lower() in _PARTICLES:
            out.append(w.lower())
        elif not w.islower() and not w.isupper():
            out.append(w)  # deliberate mixed case such as "McDonald"
        else:
            out.append(_LETTERS_RE.sub(lambda m: m.group()[0].upper() + m.group()[1:].lower(), w))
    return " ".join(out)


def parse_name(text: str) -> str | None:
    """Return a person's full name (2-4 words), title-cased.

    After a cue ("my name is", "name:", "it's", "I'm", "this is", "call me", ...) words are
    collected until punctuation, a digit or a common lower-case non-name word ("John Smith
    and my zip..." -> "John Smith"); capitalized words are trusted ("my name is Will Smith")
    and an honorific ("Dr.") is dropped. Without a cue the whole message must be 2-4
    name-like words with no digits and no common words, so "yes please" and uncued "Will
    Smith" give ``None``. Mixed-case words ("McDonald") are kept as typed and particles
    ("van", "de") stay lower-case. One-word names are not accepted.

    Args:
        text: Free customer text.

    Returns:
        The name, or ``None``.
    """
    s = _clip(text)
    for cue in _CUE_RE.finditer(s):
        words: list[str] = []
        pos, rx = cue.end(), _FIRST_WORD_RE
        while len(words) < 4 and (m := rx.match(s, pos)):
            if m.group(1).lower() in _COMMON and not m.group(1)[0].isupper():
                break
            words.append(m.group(1))
            pos, rx = m.end(), _NEXT_WORD_RE
        if len(words) >= 2:
            return _title(words)
    for line in s.splitlines():  # without a cue: a line that is nothing but the name
        line = _POLITE_END_RE.sub("", line)  # "Leo Garcia, please"
        parts = line.strip(" \t\r\n.,!?;:\"'()").split()
        if not 2 <= len(parts) <= 4 or any(c.isdigit() for c in line):
            continue
        if all(_NAME_WORD_RE.fullmatch(p) and p.lower() not in _COMMON for p in parts):
            return _title(parts)
    return None
