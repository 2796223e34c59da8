"""Reading what a telecom customer reports from their phone (dual control).

Tech-support flows ask the customer to check or change something on their phone and to say
what they see. Each reader here turns that report into a small closed vocabulary ("no_signal",
"missing", "excellent", True/False ...). It understands, first, the exact texts the phone tools
print (`cxflow.simulators.telecom`: "Status Bar: 📵 No Signal | ...", "Speed test failed: No
Connection.", "Data Roaming Enabled: No", ...), reading the *last* such text when a customer
pastes several outputs at once; then plain words ("airplane mode is on", "it says no SIM",
"still can't send pictures"). A reader returns None when it cannot tell; the slot types of
`_phone_actions` then refuse the value, so the flow asks again instead of guessing.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "AIRPLANE",
    "COMPLETE",
    "DECLINED",
    "EXCELLENT",
    "MISSING",
    "NO_CONNECTION",
    "OLD_MODES",
    "SIGNAL",
    "SIM_ACTIVE",
    "SIM_LOCKED",
    "SIM_MISSING",
    "read_app_permissions",
    "read_mms",
    "read_mmsc",
    "read_network_mode",
    "read_network_type",
    "read_payment",
    "read_sim",
    "read_speed",
    "read_status_bar",
    "read_switch",
    "read_traveling",
]


def _last(pattern: str, text: str) -> re.Match[str] | None:
    """The last match of a tool-output pattern (case-insensitive) in the text."""
    found = None
    for found in re.finditer(pattern, text, re.I):  # noqa: B007 - keep the last one
        pass
    return found


def _words(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def _yes_no(text: str) -> bool | None:
    """A bare yes or no at the start of the answer."""
    said = _words(text)
    if re.match(r"(?:yes|yeah|yep|yup|sure|correct|right|i am|i do|it does|it is)\b", said):
        return True
    if re.match(r"(?:no|nope|nah|not|i'm not|i am not|it doesn't|it isn't)\b", said):
        return False
    return None


_NEGATED = r"(?:not|n't|no|never|without)\W+(?:\w+\W+){0,2}?"

# -- service: the status bar --------------------------------------------------------------------

AIRPLANE, NO_SIGNAL, SIGNAL = "airplane_mode", "no_signal", "signal"

_NO_SIGNAL_WORDS = (
    r"no (?:signal|service|bars?|reception|coverage|network)|zero bars|sos\b|emergency calls? only"
    r"|searching|still nothing|nothing at all"
    r"|(?:n't|not|never)\W+(?:\w+\W+){0,2}?(?:signal|service|bars|reception)"
)
_AIRPLANE = r"(?:airplane|aeroplane|flight|plane)(?:\s+mode)?"
_SIGNAL_WORDS = (
    r"📶|\b(?:signal|bars?|service|reception|coverage|connected|lte|[2345]g|excellent|good|fair"
    r"|poor)\b"
)


def _airplane_on(text: str) -> bool:
    for match in re.finditer(_AIRPLANE, text):
        after = text[match.end() : match.end() + 30]
        before = text[max(0, match.start() - 30) : match.start()]
        if re.match(r"\W*(?:is\W+)?(?:now\W+)?(?:turned\W+|switched\W+)?(?:off|disabled)", after):
            continue
        if re.search(r"(?:off|disabled?|disabling|no)\W+(?:the\W+)?$", before):
            continue
        return True
    return False


def read_status_bar(text: str) -> str | None:
    """What the status bar shows: `airplane_mode`, `no_signal` or `signal` (None if unclear)."""
    if text in (AIRPLANE, NO_SIGNAL, SIGNAL):
        return text
    bar = _last(r"status bar:([^\n]*)", text)
    if bar is not None:
        shown = bar.group(1).lower()
        if "airplane mode" in shown:
            return AIRPLANE
        if "no signal" in shown:
            return NO_SIGNAL
        return SIGNAL if re.search(_SIGNAL_WORDS, shown) else None
    said = _words(text)
    if re.search(_NO_SIGNAL_WORDS, said):
        return NO_SIGNAL
    if _airplane_on(said):
        return AIRPLANE
    return SIGNAL if re.search(_SIGNAL_WORDS, said) else None


# -- service: the SIM card -----------------------------------------------------------------------

SIM_ACTIVE, SIM_MISSING, SIM_LOCKED = "active", "missing", "locked"

_SIM_TEXTS = (
    (r"your sim card is active and working", SIM_ACTIVE),
    (r"no sim card detected", SIM_MISSING),
    (r"sim card is locked with a (?:pin|puk) code", SIM_LOCKED),
    (r"sim card status:\s*active", SIM_ACTIVE),
    (r"sim card status:\s*missing", SIM_MISSING),
    (r"sim card status:\s*locked_(?:pin|puk)", SIM_LOCKED),
)


def _last_of(table: tuple[tuple[str, Any], ...], text: str) -> Any | None:
    """The value of whichever tool text occurs last in the text."""
    best: tuple[int, Any] | None = None
    for pattern, value in table:
        found = _last(pattern, text)
        if found is not None and (best is None or found.start() > best[0]):
            best = (found.start(), value)
    return best[1] if best is not None else None


def read_sim(text: str) -> str | None:
    """The SIM card's status: `active`, `missing` or `locked` (PIN or PUK)."""
    if text in (SIM_ACTIVE, SIM_MISSING, SIM_LOCKED):
        return text
    found = _last_of(_SIM_TEXTS, text)
    if found is not None:
        return found
    said = _words(text)
    if re.search(r"(?<!not )\blocked\b|\bpuk\b|\bpin\b(?! ?code is)", said):
        return SIM_LOCKED
    if re.search(r"no sim|not detected|missing|not inserted|not found|insert (?:a )?sim", said):
        return SIM_MISSING
    if re.search(r"\bactive\b|\bworking\b|\bfine\b|\bdetected\b|recogni[sz]ed|\bnormal\b", said):
        return SIM_ACTIVE
    return None


# -- mobile data: the speed test -----------------------------------------------------------------

NO_CONNECTION, VERY_POOR, POOR, FAIR, GOOD, EXCELLENT = (
    "no_connection",
    "very_poor",
    "poor",
    "fair",
    "good",
    "excellent",
)
SPEEDS = (NO_CONNECTION, VERY_POOR, POOR, FAIR, GOOD, EXCELLENT)


def _speed_class(mbps: float) -> str:
    """The simulator's thresholds: below 1, 5, 25 and 100 Mbps."""
    for limit, name in ((1, VERY_POOR), (5, POOR), (25, FAIR), (100, GOOD)):
        if mbps < limit:
            return name
    return EXCELLENT


def read_speed(text: str) -> str | None:
    """The speed test's verdict: `no_connection`, `very_poor` ... `excellent`."""
    if text in SPEEDS:
        return text
    found = _last_of(
        (
            (r"speed test failed", NO_CONNECTION),
            (r"speed test result:[^(\n]*\(very poor\)", VERY_POOR),
            (r"speed test result:[^(\n]*\(poor\)", POOR),
            (r"speed test result:[^(\n]*\(fair\)", FAIR),
            (r"speed test result:[^(\n]*\(good\)", GOOD),
            (r"speed test result:[^(\n]*\(excellent\)", EXCELLENT),
        ),
        text,
    )
    if found is not None:
        return found
    said = _words(re.sub(r"(?i)status bar:[^\n]*", " ", text))  # its "Poor" is the signal
    if re.search(
        r"no (?:connection|internet|data)|not connected|fail|(?:n't|not) (?:load|work|connect)",
        said,
    ):
        return NO_CONNECTION
    mbps = re.search(r"(\d+(?:\.\d+)?)\s*mbps", said)
    if mbps is not None:
        return _speed_class(float(mbps.group(1)))
    for pattern, name in (
        (r"\bexcellent\b|very fast|super fast", EXCELLENT),
        (r"very (?:poor|slow)", VERY_POOR),
        (r"\bpoor\b|\bslow\b", POOR),
        (r"\bfair\b|\bokay\b|\bok\b", FAIR),
        (r"\bgood\b", GOOD),
    ):
        if re.search(pattern, said):
            return name
    return None


# -- switches: roaming, mobile data, data saver, Wi-Fi calling, VPN ----------------------------

_ON = r"on|enabled|active|yes|connected"
_OFF = r"off|disabled|inactive|no|disconnected"


def read_switch(text: str, *, labels: tuple[str, ...], names: str) -> bool | None:
    """Whether a setting is on (True) or off (False).

    Args:
        text: The customer's report.
        labels: Tool-output patterns whose first group is the setting's value
            (`yes`/`no`/`on`/`off`), e.g. `r"data roaming enabled:\\s*(\\w+)"`.
        names: A pattern for the setting's name in plain words ("data roaming|roaming").
    """
    if isinstance(text, bool):  # pyright: ignore[reportUnnecessaryIsInstance] - reloaded slots
        return text
    best: tuple[int, bool] | None = None
    for label in labels:
        found = _last(label, text)
        if found is not None and (best is None or found.start() > best[0]):
            best = (found.start(), found.group(1).lower() in ("yes", "on", "connected"))
    if best is not None:
        return best[1]
    said = _words(text)
    for match in re.finditer(rf"\b(?:{names})\b", said):
        after = said[match.end() : match.end() + 40]
        before = said[max(0, match.start() - 25) : match.start()]
        if re.search(rf"(?:turn|switch)(?:ed)? ({_OFF})\W+(?:the\W+)?(?:my\W+)?$", before):
            return False
        if re.search(rf"(?:turn|switch)(?:ed)? ({_ON})\W+(?:the\W+)?(?:my\W+)?$", before):
            return True
        denied = re.search(r"(?:\bno|\bnot|n't|\bnever|\bwithout)\W+(?:[\w']+\W+){0,2}$", before)
        state = re.match(rf"\W*(?P<gap>(?:[\w']+\W+){{0,3}}?)(?P<state>{_ON}|{_OFF})\b", after)
        if state is None:
            if denied is not None:
                return False
            continue
        on = re.fullmatch(_ON, state.group("state")) is not None
        negated = denied is not None or re.search(r"\bnot\b|n't\b|\bnever\b", state.group("gap"))
        return not on if negated else on
    return None


# -- network mode preference and technology -----------------------------------------------------

OLD_MODES = ("2g_only", "3g_only")


def read_network_mode(text: str) -> str | None:
    """The preferred network mode: `4g_5g_preferred`, `4g_only`, `3g_only` or `2g_only`."""
    modes = ("4g_5g_preferred", "4g_only", "3g_only", "2g_only")
    if text in modes:
        return text
    found = _last(r"(?:network mode preference|preferred network mode set to):\s*(\w+)", text)
    if found is not None and found.group(1).lower() in modes:
        return found.group(1).lower()
    said = _words(text)
    if "5g" in said:
        return "4g_5g_preferred"
    for pattern, mode in ((r"\b4g\b|\blte\b", "4g_only"), (r"\b3g\b", "3g_only")):
        if re.search(pattern, said):
            return mode
    return "2g_only" if re.search(r"\b2g\b", said) else None


def read_network_type(text: str) -> str | None:
    """The network technology the phone is connected to: `2G` ... `5G`, or `none`."""
    types = ("2G", "3G", "4G", "5G", "none")
    if text in types:
        return text
    found = _last(r"cellular network type:\s*(\w+)", text)
    if found is not None:
        value = found.group(1)
        return value.upper() if value.lower() != "none" else "none"
    bar = _last(r"status bar:[^\n]*\|\s*([2-5]G)\s*\|", text)
    if bar is not None:
        return bar.group(1)
    said = _words(text)
    generation = re.search(r"\b([2-5])g\b|\b(lte)\b", said)
    if generation is not None:
        return f"{generation.group(1)}G" if generation.group(1) else "4G"
    return "none" if re.search(r"no (?:network|signal|service)|\bnone\b", said) else None


# -- MMS: permissions, APN (MMSC URL), can send -------------------------------------------------

COMPLETE, MISSING = "complete", "missing"


def read_app_permissions(text: str) -> str | None:
    """Whether the messaging app has both SMS and storage permission: `complete` / `missing`."""
    if text in (COMPLETE, MISSING):
        return text
    granted = _last(r"has permission for:\s*([^.\n]*)", text)
    if granted is not None:
        have = {p.strip().lower() for p in granted.group(1).split(",")}
        return COMPLETE if {"sms", "storage"} <= have else MISSING
    if _last(r"no permissions granted|permissions: none granted", text) is not None:
        return MISSING
    listed = _last(r"permissions granted:((?:\n\s*-\s*\w+)*)", text)
    if listed is not None:
        have = set(re.findall(r"-\s*(\w+)", listed.group(1).lower()))
        return COMPLETE if {"sms", "storage"} <= have else MISSING
    said = _words(text)
    if re.search(rf"{_NEGATED}(?:permission|sms|storage)|missing|denied|lacks", said):
        return MISSING
    if ("sms" in said and "storage" in said) or re.search(r"all (?:the )?permissions", said):
        return COMPLETE
    return MISSING if "permission" in said else None


def read_mmsc(text: str) -> str | None:
    """Whether the APN settings have an MMSC URL: `complete` (set) or `missing`."""
    if text in (COMPLETE, MISSING):
        return text
    found = _last(r"mmsc url[^:\n]*:\s*([^\n]*)", text)
    if found is not None:
        return MISSING if found.group(1).strip().lower() in ("not set", "", "none") else COMPLETE
    said = _words(text)
    if "mmsc" not in said and "mms url" not in said and "url" not in said:
        return None
    if re.search(r"not set|empty|blank|missing|\bnone\b|nothing|no (?:mmsc|url)", said):
        return MISSING
    return COMPLETE if re.search(r"http|\bset\b|there|filled", said) else None


def read_mms(text: str) -> bool | None:
    """Whether the messaging app can send MMS (picture) messages."""
    if isinstance(text, bool):  # pyright: ignore[reportUnnecessaryIsInstance] - reloaded slots
        return text
    found = _last_of(
        (
            (r"messaging app can send mms", True),
            (r"messaging app cannot send mms", False),
        ),
        text,
    )
    if found is not None:
        return found
    said = _words(text)
    if re.search(
        r"can't|cannot|can not|unable|fail|doesn't|does not|won't|not working|not sending"
        r"|still no",
        said,
    ):
        return False
    if re.search(r"can send|\bworks\b|working|went through|\bsent\b|success", said):
        return True
    return _yes_no(text)


# -- payment and travel ------------------------------------------------------------------------

PAID, DECLINED, NO_REQUEST, PENDING = "paid", "declined", "no_request", "pending"


def read_payment(text: str) -> str | None:
    """The customer's payment report: `paid`, `declined`, `no_request` or `pending` (seen only)."""
    if text in (PAID, DECLINED, NO_REQUEST, PENDING):
        return text
    found = _last_of(
        (
            (r"payment of [\d.]+ usd has been made", PAID),
            (r"you do not have a payment request", NO_REQUEST),
            (r"no payment request has been made", NO_REQUEST),
            (r"you have a payment request for bill", PENDING),
        ),
        text,
    )
    if found is not None:
        return found
    said = _words(text)
    if re.search(
        r"(?:don't|do not|won't|will not|can't|cannot|not going to) (?:want to )?pay|refuse"
        r"|decline|not paying",
        said,
    ):
        return DECLINED
    if re.search(
        r"no (?:payment )?request|(?:don't|do not|can't) (?:see|find) (?:a|any|the)", said
    ):
        return NO_REQUEST
    if re.search(
        r"\bpaid\b|payment (?:is |was |has been )?(?:made|done|complete|sent)|\bdone\b", said
    ):
        return PAID
    return None


_TRAVEL = (
    r"abroad|overseas|travel|out of (?:the )?country|another country|foreign|vacation|holiday"
    r"|\btrip\b|outside (?:my|the|of my) (?:home|usual|country)|roaming"
)


def read_traveling(text: str) -> bool | None:
    """Whether the customer is outside their home network (traveling, abroad)."""
    if isinstance(text, bool):  # pyright: ignore[reportUnnecessaryIsInstance] - reloaded slots
        return text
    said = _words(text)
    if re.search(rf"(?:not|n't|never)\W+(?:\w+\W+){{0,2}}?(?:{_TRAVEL})", said):
        return False
    if re.search(_TRAVEL, said):
        return True
    if re.search(r"\bat home\b|\bhome\b|\bdomestic\b|usual (?:area|place)", said):
        return False
    return _yes_no(text) if len(said.split()) <= 4 else None
