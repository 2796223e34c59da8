"""Retail store tools mirroring tau2-bench's retail agent domain.

Models (`RetailDB`, `User`, `Order`, `Product`, ...), the JSON loader, copies and tau2's DB
hash, `RetailTools` with tau2's 16 agent tools, and the replay of tau2's conformance vectors.
"""

from cxflow.tools.retail.conformance import replay_probe, replay_vector
from cxflow.tools.retail.db import (
    TABLES,
    copy_db,
    db_hash,
    db_json,
    load_retail_db,
    retail_data_path,
    sample_db_path,
)
from cxflow.tools.retail.models import (
    CancelReason,
    CreditCard,
    GiftCard,
    Order,
    OrderFulfillment,
    OrderItem,
    OrderPayment,
    OrderStatus,
    PaymentMethod,
    Paypal,
    Product,
    RetailDB,
    TransactionType,
    User,
    UserAddress,
    UserName,
    Variant,
)
from cxflow.tools.retail.tools import (
    CANCEL_REASONS,
    TOOL_NAMES,
    TOOL_TYPES,
    RetailTools,
    ToolType,
)

__all__ = [
    "CANCEL_REASONS",
    "TABLES",
    "TOOL_NAMES",
    "TOOL_TYPES",
    "CancelReason",
    "CreditCard",
    "GiftCard",
    "Order",
    "OrderFulfillment",
    "OrderItem",
    "OrderPayment",
    "OrderStatus",
    "PaymentMethod",
    "Paypal",
    "Product",
    "RetailDB",
    "RetailTools",
    "ToolType",
    "TransactionType",
    "User",
    "UserAddress",
    "UserName",
    "Variant",
    "copy_db",
    "db_hash",
    "db_json",
    "load_retail_db",
    "replay_probe",
    "replay_vector",
    "retail_data_path",
    "sample_db_path",
]
