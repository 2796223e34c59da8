"""The telecom agent tools, with tau2-bench's semantics, plus cxflow's plan tools.

`TelecomTools` reproduces tau2-bench 1.0.1's read tools (argument names, return values and
error messages); `to_tool_output` renders a result the way tau2's `Environment.to_json_str`
does. Errors are `ValueError`s; tau2 shows them to the agent as `"Error: " + str(exc)`.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

from cxflow.tools._tau2 import to_tool_output
from cxflow.tools.telecom.models import (
    Bill,
    Customer,
    Device,
    Line,
    LineStatus,
    Plan,
    TelecomDB,
)

__all__ = ["TAU2_TODAY", "DataUsage", "Details", "TelecomTools", "to_tool_output"]


TAU2_TODAY = dt.date(2025, 2, 25)
"""tau2-bench's fixed "today" for the telecom domain."""

Details: TypeAlias = Customer | Line | Device | Bill | Plan
"""What `get_details_by_id` can return."""

DataUsage: TypeAlias = dict[str, str | float | dt.date]
"""What `get_data_usage` returns: line id, usage, limit, refueling and cycle end date."""


class TelecomTools:
    """The telecom CRM tools over one `TelecomDB` (tools mutate it in place).

    Attributes:
        db: The database the tools read and write.
    """

    def __init__(self, db: TelecomDB) -> None:
        """Wrap a database.

        Args:
            db: The database to read and write.
        """
        self.db = db

    # ---- tau2 tools -------------------------------------------------------------------------

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
                if self._get_line_by_id(line_id).phone_number == phone_number:
                    return customer
        raise ValueError(f"Customer with phone number {phone_number} not found")

    def get_customer_by_id(self, customer_id: str) -> Customer:
        """Retrieve a customer by their unique id.

        Args:
            customer_id: The customer id, e.g. `C1001`.

        Returns:
            The customer.

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

        Returns:
            The object with that id.

        Raises:
            ValueError: The prefix is unknown or no object has this id.
        """
        if id.startswith("L"):
            return self._get_line_by_id(id)
        if id.startswith("D"):
            return self._get_device_by_id(id)
        if id.startswith("B"):
            return self._get_bill_by_id(id)
        if id.startswith("C"):
            return self.get_customer_by_id(id)
        if id.startswith("P"):
            return self._get_plan_by_id(id)
        raise ValueError(f"Unknown ID format or type: {id}")

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
        line = self._get_target_line(customer_id, line_id)
        plan = self._get_plan_by_id(line.plan_id)
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
        line = self._get_target_line(customer_id, line_id)
        plan = self._get_plan_by_id(plan_id)
        if line.status != LineStatus.ACTIVE:
            raise ValueError(
                f"Line {line_id} is {line.status.value}; only Active lines can change plan"
            )
        if line.plan_id == plan.plan_id:
            raise ValueError(f"Line {line_id} is already on plan {plan_id}")
        line.plan_id = plan.plan_id
        line.last_plan_change_date = TAU2_TODAY
        return line

    # ---- lookups (tau2 helper semantics) ----------------------------------------------------

    def _get_line_by_id(self, line_id: str) -> Line:
        for line in self.db.lines:
            if line.line_id == line_id:
                return line
        raise ValueError(f"Line with ID {line_id} not found")

    def _get_plan_by_id(self, plan_id: str) -> Plan:
        for plan in self.db.plans:
            if plan.plan_id == plan_id:
                return plan
        raise ValueError(f"Plan with ID {plan_id} not found")

    def _get_device_by_id(self, device_id: str) -> Device:
        for device in self.db.devices:
            if device.device_id == device_id:
                return device
        raise ValueError(f"Device with ID {device_id} not found")

    def _get_bill_by_id(self, bill_id: str) -> Bill:
        for bill in self.db.bills:
            if bill.bill_id == bill_id:
                return bill
        raise ValueError(f"Bill with ID {bill_id} not found")

    def _get_target_line(self, customer_id: str, line_id: str) -> Line:
        customer = self.get_customer_by_id(customer_id)
        if line_id not in customer.line_ids:
            raise ValueError(f"Line {line_id} not found for customer {customer_id}")
        return self._get_line_by_id(line_id)
