"""Airline booking tools mirroring tau2-bench's airline domain.

Models (`AirlineDB`, `User`, `Reservation`, `Flight`, ...), the JSON loader, fast copies and
tau2's DB hash, `AirlineTools` with tau2's 14 agent tools, and replays of tau2's conformance
vectors (`replay_vector`, `replay_probe`).
"""

from cxflow.tools.airline.conformance import replay_probe, replay_vector
from cxflow.tools.airline.db import (
    airline_data_path,
    copy_db,
    db_hash,
    db_json,
    load_airline_db,
    sample_db_path,
)
from cxflow.tools.airline.models import (
    AirlineDB,
    CabinClass,
    Certificate,
    CreditCard,
    DirectFlight,
    Flight,
    FlightInfo,
    GiftCard,
    Passenger,
    Payment,
    Reservation,
    ReservationFlight,
    User,
)
from cxflow.tools.airline.tools import NOW, TOOL_NAMES, TOOL_TYPES, AirlineTools, ToolType

__all__ = [
    "NOW",
    "TOOL_NAMES",
    "TOOL_TYPES",
    "AirlineDB",
    "AirlineTools",
    "CabinClass",
    "Certificate",
    "CreditCard",
    "DirectFlight",
    "Flight",
    "FlightInfo",
    "GiftCard",
    "Passenger",
    "Payment",
    "Reservation",
    "ReservationFlight",
    "ToolType",
    "User",
    "airline_data_path",
    "copy_db",
    "db_hash",
    "db_json",
    "load_airline_db",
    "replay_probe",
    "replay_vector",
    "sample_db_path",
]
