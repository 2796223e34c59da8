"""The coupling between the carrier's CRM and the customer's phone (tau2's `sync_tools`).

After every successful tool call, the phone's surroundings learn what the CRM says about the
line whose number the phone uses, and a payment made on the phone is booked in the CRM. The
device's own connection changes only on its next network search (reboot, toggles, ...), so a
line the agent suspends keeps showing signal until then.
"""

from __future__ import annotations

from cxflow.simulators.telecom.state import PaymentRequest, PhoneState
from cxflow.tools.telecom.models import BillStatus, LineStatus
from cxflow.tools.telecom.tools import TelecomTools

__all__ = ["sync"]


def sync(crm: TelecomTools, phone: PhoneState) -> None:
    """Copy the CRM's view of the customer's line to the phone, and book a payment made there.

    For the line numbered `phone.surroundings.phone_number` (nothing happens while it is unset):
    `line_active` (status Active), `roaming_allowed` (the line's roaming flag) and
    `mobile_data_usage_exceeded` (usage >= plan limit + refueled data). A paid payment request
    marks its bill Paid and is cleared; then, if no request is pending and the customer has a
    bill Awaiting Payment, the first one becomes the phone's payment request.

    Raises:
        ValueError: No line, plan or customer matches the phone's number (a broken scenario).
    """
    surroundings = phone.surroundings
    phone_number = surroundings.phone_number
    if phone_number is None:
        return
    line = crm.get_line_by_phone(phone_number)
    surroundings.line_active = line.status == LineStatus.ACTIVE
    surroundings.roaming_allowed = line.roaming_enabled
    plan = crm.get_plan(line.plan_id)
    surroundings.mobile_data_usage_exceeded = (
        line.data_used_gb >= plan.data_limit_gb + line.data_refueling_gb
    )

    request = surroundings.payment_request
    if request is not None and request.paid:
        crm.get_bill(request.bill_id).status = BillStatus.PAID
        surroundings.payment_request = None

    if surroundings.payment_request is None:
        customer = crm.get_customer_by_phone(phone_number)
        awaiting = crm.get_bills_awaiting_payment(customer)
        if awaiting:
            bill = awaiting[0]
            surroundings.payment_request = PaymentRequest(
                bill_id=bill.bill_id, amount_due=bill.total_due
            )
