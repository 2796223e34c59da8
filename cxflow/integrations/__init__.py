"""Adapters that run cxflow flows inside other frameworks.

- `cxflow.integrations.langgraph`: a flow as a LangGraph subgraph that waits for each customer
  message with `interrupt()` (needs `pip install 'cxflow[langgraph]'`).
"""
