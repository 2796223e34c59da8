"""Flow classes are checked when they are created, and every problem is reported at once."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from cxflow import CxflowError, Flow, State, ToolCallContext, auto, describe, tool
from cxflow.errors import FlowDefinitionError
from cxflow.flows.plan_upgrade import PlanUpgrade


class OrderSlots(BaseModel):
    order_id: str | None = None
    reason: str | None = None


def has_order(slots: OrderSlots) -> bool:
    """An order id is needed."""
    return slots.order_id is not None


def has_reason(slots: OrderSlots) -> bool:
    """A reason is needed."""
    return slots.reason is not None


def wrong_parameter(order: OrderSlots) -> bool:
    return order.order_id is not None


@tool(reads=("order_id",), writes=("refund_total",))
def price_refund(slots: OrderSlots, env: object, call: ToolCallContext) -> dict[str, object]:
    """Writes a slot the model does not have."""
    return {}


@tool(reads=("order_id",), writes=("reason",), side_effect=True, needs_confirmation=True)
def issue_refund(slots: OrderSlots, env: object, call: ToolCallContext) -> dict[str, object]:
    """A write tool that needs the customer's confirmation."""
    return {}


def _definition_error(build: object) -> FlowDefinitionError:
    assert callable(build)
    with pytest.raises(FlowDefinitionError) as info:
        build()
    return info.value


# -- one bad class, every problem -----------------------------------------------------------------


def _build_flow_with_five_problems() -> None:
    class BrokenRefund(Flow[OrderSlots]):
        ask = State(initial=True, fills=("order_id", "order_number"), say="Order {order_ref}?")
        pricing = State(tools=(price_refund,))
        stuck = State(say="Hmm.")
        orphan = State(final=True)
        done = State(final=True)

        got_order = auto(ask.to(pricing, cond=has_order))
        priced = auto(pricing.to(stuck))
        give_up = describe(ask.to(done), "The customer gives up.")

    del BrokenRefund


def test_definition_error_lists_every_problem_at_once() -> None:
    exc = _definition_error(_build_flow_with_five_problems)

    assert exc.flow == "BrokenRefund"
    assert len(exc.problems) >= 5
    problems = "\n".join(exc.problems)
    assert "unreachable states ['orphan']" in problems
    assert "no outgoing transition: ['stuck']" in problems
    assert "unknown slot 'order_number'" in problems
    assert "{order_ref}" in problems
    assert "'refund_total'" in problems and "writes" in problems
    assert "BrokenRefund" in str(exc)
    assert str(len(exc.problems)) in str(exc)


def test_definition_error_messages_say_what_to_do() -> None:
    exc = _definition_error(_build_flow_with_five_problems)

    def problem(fragment: str) -> str:
        return next(p for p in exc.problems if fragment in p)

    assert "Add a transition into them or delete them" in problem("unreachable")
    assert "mark them final=True" in problem("no outgoing transition")
    assert "Add the field to the slots model or fix the name" in problem("order_number")
    assert "Use one of ['order_id', 'reason']" in problem("order_ref")
    assert "Declare it in the model or remove it from writes=" in problem("refund_total")


def test_definition_error_is_a_cxflow_error_and_a_type_error() -> None:
    exc = _definition_error(_build_flow_with_five_problems)

    assert isinstance(exc, CxflowError)
    assert isinstance(exc, TypeError)


# -- single problems ------------------------------------------------------------------------------


def test_missing_initial_state_is_reported() -> None:
    def build() -> None:
        class NoStart(Flow[OrderSlots]):
            ask = State(fills=("order_id",))
            done = State(final=True)
            finish = ask.to(done)

    exc = _definition_error(build)

    assert any("no initial state" in p and "initial=True" in p for p in exc.problems)


def test_two_initial_states_are_reported() -> None:
    def build() -> None:
        class TwoStarts(Flow[OrderSlots]):
            ask = State(initial=True)
            ask_again = State(initial=True)
            done = State(final=True)
            finish = ask.to(done) | ask_again.to(done)

    exc = _definition_error(build)

    assert any("2 initial states" in p and "initial=True" in p for p in exc.problems)


def test_two_initial_states_problem_names_both_states() -> None:
    def build() -> None:
        class TwoStarts(Flow[OrderSlots]):
            ask = State(initial=True)
            ask_again = State(initial=True)
            done = State(final=True)
            finish = ask.to(done) | ask_again.to(done)

    exc = _definition_error(build)

    message = next(p for p in exc.problems if "initial states" in p)
    assert "ask" in message and "ask_again" in message


def test_missing_slots_model_is_reported() -> None:
    def build() -> None:
        class Untyped(Flow):  # type: ignore[type-arg]
            ask = State(initial=True)
            done = State(final=True)
            finish = ask.to(done)

    exc = _definition_error(build)

    assert any("no slots model" in p and "class Untyped(Flow[MySlots])" in p for p in exc.problems)


def test_guard_given_as_a_string_is_reported() -> None:
    def build() -> None:
        class NamedGuard(Flow[OrderSlots]):
            ask = State(initial=True, fills=("order_id",))
            done = State(final=True)
            finish = auto(ask.to(done, cond="has_order"))

    exc = _definition_error(build)

    message = next(p for p in exc.problems if "'has_order'" in p)
    assert "not a callable" in message
    assert "Pass the function itself" in message


def test_guard_given_as_a_number_is_reported() -> None:
    def build() -> None:
        class NumberGuard(Flow[OrderSlots]):
            ask = State(initial=True, fills=("order_id",))
            done = State(final=True)
            finish = auto(ask.to(done, cond=42))

    exc = _definition_error(build)

    assert any("not a callable" in p for p in exc.problems)


def test_guard_with_the_wrong_parameter_name_is_reported() -> None:
    def build() -> None:
        class WrongParameter(Flow[OrderSlots]):
            ask = State(initial=True, fills=("order_id",))
            done = State(final=True)
            finish = auto(ask.to(done, cond=wrong_parameter))

    exc = _definition_error(build)

    message = next(p for p in exc.problems if "wrong_parameter" in p)
    assert "['order']" in message
    assert "exactly one parameter named 'slots'" in message


def test_unless_guard_with_the_wrong_parameter_name_is_reported() -> None:
    def build() -> None:
        class WrongUnless(Flow[OrderSlots]):
            ask = State(initial=True, fills=("order_id",))
            done = State(final=True)
            finish = auto(ask.to(done, unless=wrong_parameter))

    exc = _definition_error(build)

    assert any("wrong_parameter" in p and "'slots'" in p for p in exc.problems)


def test_tool_needing_confirmation_without_a_confirming_transition_is_reported() -> None:
    def build() -> None:
        class UnconfirmedRefund(Flow[OrderSlots]):
            ask = State(initial=True, fills=("order_id",))
            refunding = State(tools=(issue_refund,))
            done = State(final=True)
            go = auto(ask.to(refunding, cond=has_order))
            finish = auto(refunding.to(done))

    exc = _definition_error(build)

    message = next(p for p in exc.problems if "issue_refund" in p)
    assert "needs confirmation" in message
    assert "confirms=issue_refund" in message


def test_final_state_with_outgoing_transitions_is_reported() -> None:
    def build() -> None:
        class LeakyEnd(Flow[OrderSlots]):
            ask = State(initial=True)
            done = State(final=True)
            finish = ask.to(done)
            again = done.to(ask)

    exc = _definition_error(build)

    assert any("final states with outgoing transitions: ['done']" in p for p in exc.problems)


def test_states_with_no_path_to_a_final_state_are_reported() -> None:
    def build() -> None:
        class Trap(Flow[OrderSlots]):
            ask = State(initial=True, fills=("order_id",))
            ping = State()
            pong = State()
            done = State(final=True)
            go = auto(ask.to(ping, cond=has_order)) | describe(ask.to(done), "Give up.")
            bounce = auto(ping.to(pong))
            back = auto(pong.to(ping))

    exc = _definition_error(build)

    assert any("ping" in p and "pong" in p and "final" in p for p in exc.problems)


# -- valid flows ----------------------------------------------------------------------------------


def test_valid_flow_compiles_with_a_snake_case_flow_id() -> None:
    class RefundOrderRequest(Flow[OrderSlots]):
        """Refund an order once the customer gives a reason."""

        ask_order = State(initial=True, fills=("order_id",), say="Which order?")
        ask_reason = State(fills=("reason",), say="Why return {order_id}?")
        done = State(final=True, say="Refund started for {order_id}.")
        got_order = auto(ask_order.to(ask_reason, cond=has_order))
        got_reason = auto(ask_reason.to(done, cond=has_reason))

    assert RefundOrderRequest.flow_id == "refund_order_request"
    assert RefundOrderRequest.slots_model is OrderSlots
    spec = RefundOrderRequest.spec
    assert spec.flow_id == "refund_order_request"
    assert spec.initial == "ask_order"
    assert set(spec.states) == {"ask_order", "ask_reason", "done"}
    assert spec.title == "Refund an order once the customer gives a reason."


def test_flow_id_can_be_overridden() -> None:
    class ReturnsDesk(Flow[OrderSlots]):
        flow_id = "returns"
        ask = State(initial=True, fills=("order_id",))
        done = State(final=True)
        finish = auto(ask.to(done, cond=has_order))

    assert ReturnsDesk.flow_id == "returns"
    assert ReturnsDesk.spec.flow_id == "returns"


def test_reference_flow_id_is_its_file_name() -> None:
    assert PlanUpgrade.flow_id == "plan_upgrade"


def test_a_malformed_template_is_named_as_such() -> None:
    from pydantic import BaseModel as _Model

    class _S(_Model):
        x: str | None = None

    with pytest.raises(FlowDefinitionError) as info:

        class Broken(Flow[_S]):
            start = State(initial=True, say="Hello {x")
            end = State(final=True)
            go = auto(start.to(end))

    assert any("say= template is malformed" in p for p in info.value.problems)


def test_a_shared_fact_stated_by_an_unknown_slot_is_reported() -> None:
    from cxflow import SharedFact

    def build() -> None:
        class Refunds(Flow[OrderSlots]):
            facts = (SharedFact("order", "order_id", stated_by=("order_text",)),)
            ask = State(initial=True, fills=("order_id",))
            done = State(final=True)
            finish = auto(ask.to(done, cond=has_order))

    problems = "\n".join(_definition_error(build).problems)
    assert "shared fact 'order' stated_by" in problems and "order_text" in problems


def test_a_fact_shown_through_a_text_slot_is_stated_there() -> None:
    from cxflow.flows.update_baggage import UpdateBaggage

    spec = UpdateBaggage.spec
    bag_cost = next(f for f in spec.facts if f.name == "bag_cost")
    assert bag_cost.slot not in spec.states["awaiting_confirmation"].stated_slots
    assert spec.states["awaiting_confirmation"].states_fact(bag_cost)
