"""Pydantic models of the airline booking database, mirroring tau2-bench's airline data model.

Class names, field names, types, defaults and declaration order follow
`tau2.domains.airline.data_model` (tau2-bench 1.0.1) exactly, because all of them are visible to
the agent: `json.dumps(model.model_dump(), default=str)` must reproduce tau2's tool outputs byte
for byte, the DB hash must match, and pydantic's validation messages for bad tool arguments
("1 validation error for Reservation\\ncabin\\n  Input should be 'business', 'economy' or ...")
name the class and list the `Literal` values in tau2's order.

As in tau2, only the root `FlightDB` rejects unknown keys; nested records (and the argument
models `FlightInfo`, `Passenger`, `Payment`) silently ignore them.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Address",
    "AirlineDB",
    "AirportCode",
    "CabinClass",
    "Certificate",
    "CreditCard",
    "DirectFlight",
    "Flight",
    "FlightDataStatusFlying",
    "FlightDataStatusOnTime",
    "FlightDateStatus",
    "FlightDateStatusAvailable",
    "FlightDateStatusCancelled",
    "FlightDateStatusDelayed",
    "FlightDateStatusLanded",
    "FlightInfo",
    "FlightType",
    "GiftCard",
    "Insurance",
    "MembershipLevel",
    "Name",
    "Passenger",
    "Payment",
    "PaymentMethod",
    "Reservation",
    "ReservationFlight",
    "User",
]

FlightType: TypeAlias = Literal["round_trip", "one_way"]
"""Trip type of a reservation."""

CabinClass: TypeAlias = Literal["business", "economy", "basic_economy"]
"""Cabin class; basic economy is its own class, distinct from economy."""

Insurance: TypeAlias = Literal["yes", "no"]
"""Whether travel insurance was bought."""

MembershipLevel: TypeAlias = Literal["gold", "silver", "regular"]
"""A user's membership level."""


class AirportCode(BaseModel):
    """An airport the airline serves: IATA code and city."""

    iata: str
    city: str


class Name(BaseModel):
    """A person's first and last name."""

    first_name: str
    last_name: str


class Address(BaseModel):
    """A user's postal address."""

    address1: str
    address2: str | None = None
    city: str
    country: str
    state: str
    zip: str


class Payment(BaseModel):
    """One entry of a reservation's payment history (negative for refunds), in whole dollars."""

    payment_id: str
    amount: int


class CreditCard(BaseModel):
    """A stored credit card (only brand and last four digits are kept)."""

    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class GiftCard(BaseModel):
    """A stored gift card with its remaining balance."""

    source: Literal["gift_card"]
    id: str
    amount: float


class Certificate(BaseModel):
    """A stored travel certificate; booking with it consumes the whole certificate."""

    source: Literal["certificate"]
    id: str
    amount: float


PaymentMethod: TypeAlias = Annotated[
    CreditCard | GiftCard | Certificate, Field(discriminator="source")
]
"""A payment method in a user's profile, told apart by `source`."""


class Passenger(BaseModel):
    """A passenger on a reservation (or saved in a user's profile)."""

    first_name: str
    last_name: str
    dob: str


class FlightDateStatusAvailable(BaseModel):
    """A flight on a date that can still be booked: seats left and prices per cabin."""

    status: Literal["available"]
    available_seats: dict[CabinClass, int]
    prices: dict[CabinClass, int]


class FlightDataStatusOnTime(BaseModel):
    """A flight on a date that has not left yet and is on time (cannot be booked)."""

    status: Literal["on time"]
    estimated_departure_time_est: str
    estimated_arrival_time_est: str


class FlightDataStatusFlying(BaseModel):
    """A flight on a date that is in the air."""

    status: Literal["flying"]
    actual_departure_time_est: str
    estimated_arrival_time_est: str


class FlightDateStatusLanded(BaseModel):
    """A flight on a date that has landed."""

    status: Literal["landed"]
    actual_departure_time_est: str
    actual_arrival_time_est: str


class FlightDateStatusCancelled(BaseModel):
    """A flight on a date that was cancelled."""

    status: Literal["cancelled"]


class FlightDateStatusDelayed(BaseModel):
    """A flight on a date that has not left yet and is delayed (cannot be booked)."""

    status: Literal["delayed"]
    estimated_departure_time_est: str
    estimated_arrival_time_est: str


FlightDateStatus: TypeAlias = Annotated[
    FlightDateStatusAvailable
    | FlightDateStatusLanded
    | FlightDateStatusCancelled
    | FlightDateStatusDelayed
    | FlightDataStatusFlying
    | FlightDataStatusOnTime,
    Field(discriminator="status"),
]
"""The state of one flight on one date, told apart by `status`."""


class Flight(BaseModel):
    """A scheduled flight (times are EST, `+1` marks next-day arrival) and its state per date."""

    flight_number: str
    origin: str
    destination: str
    scheduled_departure_time_est: str
    scheduled_arrival_time_est: str
    dates: dict[str, FlightDateStatus]


class DirectFlight(BaseModel):
    """A bookable flight as search results show it; `date` is set only on one-stop legs."""

    flight_number: str
    origin: str
    destination: str
    status: Literal["available"]
    scheduled_departure_time_est: str
    scheduled_arrival_time_est: str
    date: str | None = None
    available_seats: dict[CabinClass, int]
    prices: dict[CabinClass, int]


class ReservationFlight(BaseModel):
    """One flight segment of a reservation, at the per-passenger price paid."""

    flight_number: str
    origin: str
    destination: str
    date: str
    price: int


class FlightInfo(BaseModel):
    """A flight segment the agent asks for: flight number and date (`YYYY-MM-DD`)."""

    flight_number: str
    date: str


class User(BaseModel):
    """A customer profile: contact details, payment methods, membership and reservation ids."""

    user_id: str
    name: Name
    address: Address
    email: str
    dob: str
    payment_methods: dict[str, PaymentMethod]
    saved_passengers: list[Passenger]
    membership: MembershipLevel
    reservations: list[str]


class Reservation(BaseModel):
    """A booking: flights, passengers, payments, bags, insurance and (once cancelled) status."""

    reservation_id: str
    user_id: str
    origin: str
    destination: str
    flight_type: FlightType
    cabin: CabinClass
    flights: list[ReservationFlight]
    passengers: list[Passenger]
    payment_history: list[Payment]
    created_at: str
    total_baggages: int
    nonfree_baggages: int
    insurance: Insurance
    status: Literal["cancelled"] | None = None


class AirlineDB(BaseModel):
    """The whole airline database: flights by number, users by id, reservations by id.

    tau2 calls this class `FlightDB`; the name is never shown to the agent.
    """

    model_config = ConfigDict(extra="forbid")

    flights: dict[str, Flight]
    users: dict[str, User]
    reservations: dict[str, Reservation]
