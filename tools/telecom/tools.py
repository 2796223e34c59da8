"""The telecom agent tools, with tau2-bench's semantics, plus cxflow's plan tools.

`TelecomTools` reproduces the 13 tools tau2-bench 1.0.1 gives its telecom agent (argument
names, return values, error messages and state changes, policy checks deliberately left out
where tau2 leaves them out); `call_tool` dispatches one call by name the way tau2's environment
does. Errors are `ValueError`s; tau2 shows them to the agent as `"Error: " + str(exc)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

from cxflow.tools._tau2 import ToolResult, invoke, to_tool_output
from cxflow.tools.telecom.billing import add_line_item, draft_bill_for_next_month, random_bill_id
from cxflow.tools.telecom.models import (
    Bill,
    BillStatus,
    Customer,
    Device,
    Line,
    LineStatus,
    Plan,
    TelecomDB,
)

__all__ = [
    "TAU2_TODAY",
    "TOOL_NAMES",
    "TOOL_TYPES",
    "DataUsage",
    "Details",
    "LineUpdate",
    "RefuelReceipt",
    "TelecomTools",
    "ToolType",
    "call_tool",
    "to_tool_output",
]


TAU2_TODAY = dt.date(2025, 2, 25)
"""tau2-bench's fixed "today" for the telecom domain."""

Details: TypeAlias = Customer | Line | Device | Bill | Plan
"""What `get_details_by_id` can return."""

DataUsage: TypeAlias = dict[str, str | float | dt.date]
"""What `get_data_usage` returns: line id, usage, limit, refueling and cycle end date."""

LineUpdate: TypeAlias = dict[str, str | Line]
"""What `suspend_line` / `resume_line` return: a `message` and the updated `line`."""

RefuelReceipt: TypeAlias = dict[str, str | float]
"""What `refuel_data` returns: a `message`, the line's `new_data_refueling_gb` and the `charge`."""

ToolType: TypeAlias = Literal["read", "write", "generic"]
"""tau2's classification of a tool; `write` tools are the ones that mutate state."""

TOOL_TYPES: Mapping[str, ToolType] = {
    "disable_roaming": "write",
    "enable_roaming": "write",
    "get_bills_for_customer": "read",
    "get_customer_by_id": "read",
    "get_customer_by_name": "read",
    "get_customer_by_phone": "read",
    "get_data_usage": "read",
    "get_details_by_id": "read",
    "refuel_data": "write",
    "resume_line": "write",
    "send_payment_request": "write",
    "suspend_line": "write",
    "transfer_to_human_agents": "generic",
}
"""Every tau2 telecom agent tool and its type."""

TOOL_NAMES: tuple[str, ...] = tuple(TOOL_TYPES)
"""The tools an agent may call through `call_tool` (tau2's telecom agent toolkit, sorted)."""


class TelecomTools:
    """The telecom CRM tools over one `TelecomDB` (tools mutate it in place).

    Attributes:
        db: The database the tools read and write.
    """

    def __init__(self, db: TelecomDB, new_bill_id: Callable[[], str] = random_bill_id) -> None:
        """Wrap a database.

        Args:
            db: The database to read and write.
            new_bill_id: Makes the id of a Draft bill that `refuel_data` has to open (tau2:
                `"B"` and 8 random hex digits); pass a fixed factory for reproducible runs.
        """
        self.db = db
        self._new_bill_id = new_bill_id

    # ---- tau2 tools: lookups ----------------------------------------------------------------

    def get_customer_by_phone(self, phone_number: str) -> Customer:
        """Find a customer by their primary contact number or the number of one of their lines.

        Args:
            phone_number: The phone number to search for, e.g. `555-123-2002`.

        Returns:
            The first matching customer.

        Raises:
            ValueError: No customer has this number (or a listed line id does not exist).
        """
        for customer in self.db.customers:
            if customer.phone_number == phone_number:
                return customer
            for line_id in customer.line_ids:
                if self.get_line(line_id).phone_number == phone_number:
                    return customer
        raise ValueError(f"Customer with phone number {phone_number} not found")

    def get_customer_by_id(self, customer_id: str) -> Customer:
        """Retrieve a customer by their unique id.

        Args:
            customer_id: The customer id, e.g. `C1001`.

        Raises:
            ValueError: No customer has this id.
        """
        for customer in self.db.customers:
            if customer.customer_id == customer_id:
                return customer
        raise ValueError(f"Customer with ID {customer_id} not found")

    def get_customer_by_name(self, full_name: str, dob: str) -> list[Customer]:
        """Find customers by full name (case-insensitive) and exact date of birth.

        Args:
            full_name: The customer's full name.
            dob: Date of birth, `YYYY-MM-DD`.

        Returns:
            Every matching customer (possibly none).
        """
        wanted = full_name.lower()
        return [
            c for c in self.db.customers if c.full_name.lower() == wanted and c.date_of_birth == dob
        ]

    def get_details_by_id(self, id: str) -> Details:
        """Retrieve a line, device, bill, customer or plan by id, dispatching on the id's prefix.

        Args:
            id: An id starting with `L`, `D`, `B`, `C` or `P`.

        Raises:
            ValueError: The prefix is unknown or no object has this id.
        """
        if id.startswith("L"):
            return self.get_line(id)
        if id.startswith("D"):
            return self._get_device(id)
        if id.startswith("B"):
            return self.get_bill(id)
        if id.startswith("C"):
            return self.get_customer_by_id(id)
        if id.startswith("P"):
            return self.get_plan(id)
        raise ValueError(f"Unknown ID format or type: {id}")

    def get_bills_for_customer(self, customer_id: str, limit: int = 12) -> list[Bill]:
        """List a customer's bills, newest issue date first (ties keep the customer's order).

        Args:
            customer_id: The customer.
            limit: At most this many bills are returned.

        Raises:
            ValueError: The customer, or one of their bill ids, is not found.
        """
        customer = self.get_customer_by_id(customer_id)
        bills = [self.get_bill(bill_id) for bill_id in customer.bill_ids]
        return sorted(bills, key=lambda bill: bill.issue_date, reverse=True)[:limit]

    def get_data_usage(self, customer_id: str, line_id: str) -> DataUsage:
        """Report a line's data usage in the current billing cycle.

        Args:
            customer_id: The customer who owns the line.
            line_id: The line to report on.

        Returns:
            `line_id`, `data_used_gb`, `data_limit_gb`, `data_refueling_gb` and `cycle_end_date`
            (the last day of tau2's current month).

        Raises:
            ValueError: The customer, the line (for this customer) or its plan is not found.
        """
        line = self.get_customer_line(customer_id, line_id)
        plan = self.get_plan(line.plan_id)
        today = TAU2_TODAY
        # tau2's arithmetic, kept as is (including its December behaviour).
        cycle_end = dt.date(today.year, today.month + 1 if today.month < 12 else 1, 1)
        return {
            "line_id": line_id,
            "data_used_gb": line.data_used_gb,
            "data_limit_gb": plan.data_limit_gb,
            "data_refueling_gb": line.data_refueling_gb,
            "cycle_end_date": cycle_end - dt.timedelta(days=1),
        }

    # ---- tau2 tools: changes ----------------------------------------------------------------

    def suspend_line(self, customer_id: str, line_id: str, reason: str) -> LineUpdate:
        """Suspend an Active line from today; tau2 only logs the reason.

        Args:
            customer_id: The customer who owns the line.
            line_id: The line.
            reason: Why the customer wants it suspended.

        Raises:
            ValueError: The customer or line is not found, or the line is not Active.
        """
        line = self.get_customer_line(customer_id, line_id)
        if line.status != LineStatus.ACTIVE:
            raise ValueError("Line must be active to suspend")
        line.status = LineStatus.SUSPENDED
        line.suspension_start_date = TAU2_TODAY
        return {
            "message": "Line suspended successfully. $5/month holding fee will apply.",
            "line": line,
        }

    def resume_line(self, customer_id: str, line_id: str) -> LineUpdate:
        """Make a Suspended (or Pending Activation) line Active and clear its suspension date.

        No overdue-bill or contract check is made: the policy leaves those to the agent.

        Args:
            customer_id: The customer who owns the line.
            line_id: The line.

        Raises:
            ValueError: The customer or line is not found, or the line is in another status.
        """
        line = self.get_customer_line(customer_id, line_id)
        if line.status not in (LineStatus.SUSPENDED, LineStatus.PENDING_ACTIVATION):
            raise ValueError("Line must be suspended to resume")
        line.status = LineStatus.ACTIVE
        line.suspension_start_date = None
        return {"message": "Line resumed successfully", "line": line}

    def send_payment_request(self, customer_id: str, bill_id: str) -> str:
        """Ask the customer to pay a bill: it becomes Awaiting Payment (whatever its status was).

        The phone shows the request once the environment syncs; paying it marks the bill Paid.

        Args:
            customer_id: The customer who owns the bill.
            bill_id: The bill to pay.

        Raises:
            ValueError: The customer is not found, another of their bills already awaits
                payment, or the bill is not theirs.
        """
        customer = self.get_customer_by_id(customer_id)
        if self.get_bills_awaiting_payment(customer):
            raise ValueError("A bill is already awaiting payment for this customer")
        if bill_id not in customer.bill_ids:
            raise ValueError(f"Bill {bill_id} not found for customer {customer_id}")
        bill = self.get_bill(bill_id)
        bill.status = BillStatus.AWAITING_PAYMENT
        return f"Payment request sent to the customer for bill {bill.bill_id}"

    def enable_roaming(self, customer_id: str, line_id: str) -> str:
        """Allow a line to use data roaming (free; no error if it already may).

        Args:
            customer_id: The customer who owns the line.
            line_id: The line.

        Raises:
            ValueError: The customer or line (for this customer) is not found.
        """
        line = self.get_customer_line(customer_id, line_id)
        if line.roaming_enabled:
            return "Roaming was already enabled"
        line.roaming_enabled = True
        return "Roaming enabled successfully"

    def disable_roaming(self, customer_id: str, line_id: str) -> str:
        """Stop a line from using data roaming (no error if it already may not).

        Args:
            customer_id: The customer who owns the line.
            line_id: The line.

        Raises:
            ValueError: The customer or line (for this customer) is not found.
        """
        line = self.get_customer_line(customer_id, line_id)
        if not line.roaming_enabled:
            return "Roaming was already disabled"
        line.roaming_enabled = False
        return "Roaming disabled successfully"

    def refuel_data(self, customer_id: str, line_id: str, gb_amount: float) -> RefuelReceipt:
        """Add data to a line and charge it, at the plan's price per GB, to the next bill.

        The charge goes on the customer's first Draft bill; if they have none, a Draft bill for
        next month is opened (id from `new_bill_id`). tau2 neither checks the line's status nor
        the policy's 2 GB maximum.

        Args:
            customer_id: The customer who owns the line.
            line_id: The line.
            gb_amount: Data to add, in GB.

        Raises:
            ValueError: The customer or line is not found, or `gb_amount` is not positive.
        """
        line = self.get_customer_line(customer_id, line_id)
        if gb_amount <= 0:
            raise ValueError("Refuel amount must be positive")
        plan = self.get_plan(line.plan_id)
        charge = gb_amount * plan.data_refueling_price_per_gb
        line.data_refueling_gb += gb_amount
        self._apply_one_time_charge(
            customer_id,
            charge,
            f"Data refueling: {gb_amount} GB at ${plan.data_refueling_price_per_gb}/GB",
        )
        return {
            "message": (
                f"Successfully added {gb_amount} GB of data for line {line_id} for ${charge:.2f}"
            ),
            "new_data_refueling_gb": line.data_refueling_gb,
            "charge": charge,
        }

    def transfer_to_human_agents(self, summary: str) -> str:
        """Hand the conversation to a human agent, with a summary of the customer's issue.

        Args:
            summary: The customer's issue and what was tried.
        """
        return "Transfer successful"

    # ---- cxflow additions (not tau2 tools) --------------------------------------------------

    def list_plans(self) -> list[Plan]:
        """List every plan in the catalogue, in database order.

        Returns:
            The plans.
        """
        return list(self.db.plans)

    def change_plan(self, customer_id: str, line_id: str, plan_id: str) -> Line:
        """Move an Active line to another plan, dated tau2's "today" (2025-02-25).

        Every check runs before anything is written, so a refusal leaves the DB unchanged.

        Args:
            customer_id: The customer who owns the line.
            line_id: The line to change.
            plan_id: The new plan.

        Returns:
            The updated line (`plan_id` and `last_plan_change_date` set).

        Raises:
            ValueError: The customer, the line (for this customer) or the plan is not found, the
                line is not Active, or it is already on that plan.
        """
        line = self.get_customer_line(customer_id, line_id)
        plan = self.get_plan(plan_id)
        if line.status != LineStatus.ACTIVE:
            raise ValueError(
                f"Line {line_id} is {line.status.value}; only Active lines can change plan"
            )
        if line.plan_id == plan.plan_id:
            raise ValueError(f"Line {line_id} is already on plan {plan_id}")
        line.plan_id = plan.plan_id
        line.last_plan_change_date = TAU2_TODAY
        return line

    # ---- lookups for the environment and scenarios (not tools; tau2 helper semantics) -------

    def get_line(self, line_id: str) -> Line:
        """Return the line with this id, or raise `ValueError("Line with ID … not found")`."""
        for line in self.db.lines:
            if line.line_id == line_id:
                return line
        raise ValueError(f"Line with ID {line_id} not found")

    def get_customer_line(self, customer_id: str, line_id: str) -> Line:
        """Return a line of this customer, or raise `ValueError` (unknown customer or line)."""
        customer = self.get_customer_by_id(customer_id)
        if line_id not in customer.line_ids:
            raise ValueError(f"Line {line_id} not found for customer {customer_id}")
        return self.get_line(line_id)

    def get_line_by_phone(self, phone_number: str) -> Line:
        """Return the line with this exact number, or raise `ValueError`."""
        for line in self.db.lines:
            if line.phone_number == phone_number:
                return line
        raise ValueError(f"Line with phone number {phone_number} not found")

    def get_plan(self, plan_id: str) -> Plan:
        """Return the plan with this id, or raise `ValueError("Plan with ID … not found")`."""
        for plan in self.db.plans:
            if plan.plan_id == plan_id:
                return plan
        raise ValueError(f"Plan with ID {plan_id} not found")

    def get_bill(self, bill_id: str) -> Bill:
        """Return the bill with this id, or raise `ValueError("Bill with ID … not found")`."""
        for bill in self.db.bills:
            if bill.bill_id == bill_id:
                return bill
        raise ValueError(f"Bill with ID {bill_id} not found")

    def get_bills_awaiting_payment(self, customer: Customer) -> list[Bill]:
        """Return the customer's bills in status Awaiting Payment, in the customer's order."""
        bills = [self.get_bill(bill_id) for bill_id in customer.bill_ids]
        return [bill for bill in bills if bill.status == BillStatus.AWAITING_PAYMENT]

    def _get_device(self, device_id: str) -> Device:
        for device in self.db.devices:
            if device.device_id == device_id:
                return device
        raise ValueError(f"Device with ID {device_id} not found")

    def _apply_one_time_charge(self, customer_id: str, amount: float, description: str) -> None:
        """Put a charge on the customer's first Draft bill, opening one if there is none."""
        customer = self.get_customer_by_id(customer_id)
        draft = next(
            (
                bill
                for bill in map(self.get_bill, customer.bill_ids)
                if bill.status == BillStatus.DRAFT
            ),
            None,
        )
        if draft is None:
            draft = draft_bill_for_next_month(customer_id, self._new_bill_id(), TAU2_TODAY)
            self.db.bills.append(draft)
            customer.bill_ids.append(draft.bill_id)
        add_line_item(draft, amount, description, TAU2_TODAY)


def call_tool(tools: TelecomTools, name: str, arguments: Mapping[str, Any]) -> ToolResult:
    """Call one agent tool by name as tau2 does and return the text the agent sees.

    Unknown names give `"Error: Tool '<name>' not found."`; argument mistakes and tool errors
    give `"Error: <message>"`; both with `error=True`. Arguments are passed as given (no
    coercion), exactly like tau2.
    """
    return invoke(tools, TOOL_NAMES, name, arguments)
