"""Bills the telecom tools create: next month's draft bill and last month's overdue bill.

The dates and amounts follow tau2-bench 1.0.1 exactly (including its month arithmetic and its
unrounded float totals), so CRM states match tau2's hashes.
"""

from __future__ import annotations

import datetime as dt
import uuid

from cxflow.tools.telecom.models import Bill, BillStatus, LineItem

__all__ = [
    "add_line_item",
    "draft_bill_for_next_month",
    "overdue_bill_for_last_month",
    "random_bill_id",
]


def random_bill_id() -> str:
    """Make a new bill id the way tau2 does: `"B"` and 8 random hex digits (`B3f9a0c12`)."""
    return f"B{uuid.uuid4().hex[:8]}"


def draft_bill_for_next_month(customer_id: str, bill_id: str, today: dt.date) -> Bill:
    """Open an empty Draft bill for the month after `today`, issued on its first day.

    Args:
        customer_id: The customer the bill belongs to.
        bill_id: The new bill's id.
        today: The current date (tau2's fixed "today").

    Returns:
        A Draft bill with no line items, due 14 days after issue.
    """
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    following = next_month.replace(
        month=next_month.month + 1 if next_month.month < 12 else 1,
        year=next_month.year if next_month.month < 12 else next_month.year + 1,
    )
    return Bill(
        bill_id=bill_id,
        customer_id=customer_id,
        period_start=next_month,
        period_end=following - dt.timedelta(days=1),
        issue_date=next_month,
        total_due=0,
        due_date=next_month + dt.timedelta(days=14),
        status=BillStatus.DRAFT,
    )


def overdue_bill_for_last_month(
    customer_id: str, bill_id: str, amount: float, description: str, today: dt.date
) -> Bill:
    """Build an Overdue bill for the month before `today` holding one charge.

    Args:
        customer_id: The customer the bill belongs to.
        bill_id: The new bill's id.
        amount: The charge (tau2 uses the line's monthly plan price).
        description: The charge's description.
        today: The current date; also the charge's date.

    Returns:
        An Overdue bill issued on the first day of last month, due 14 days later.
    """
    last_day = today.replace(day=1) - dt.timedelta(days=1)
    first_day = last_day.replace(day=1)
    bill = Bill(
        bill_id=bill_id,
        customer_id=customer_id,
        period_start=first_day,
        period_end=last_day,
        issue_date=first_day,
        total_due=0,
        due_date=first_day + dt.timedelta(days=14),
        status=BillStatus.OVERDUE,
    )
    add_line_item(bill, amount, description, today, credit_if_negative=False)
    return bill


def add_line_item(
    bill: Bill,
    amount: float,
    description: str,
    today: dt.date,
    *,
    credit_if_negative: bool = True,
) -> None:
    """Add a charge (or credit) to a bill and raise its total by the same amount.

    Args:
        bill: The bill to change in place.
        amount: Positive for a charge, negative for a credit.
        description: The line item's description.
        today: The line item's date.
        credit_if_negative: tau2's one-time charges label `amount < 0` a "Credit" and zero a
            "Charge"; its overdue-bill builder labels only `amount > 0` a "Charge".
    """
    if credit_if_negative:
        item_type = "Credit" if amount < 0 else "Charge"
    else:
        item_type = "Charge" if amount > 0 else "Credit"
    bill.line_items.append(
        LineItem(description=description, amount=amount, date=today, item_type=item_type)
    )
    bill.total_due += amount
