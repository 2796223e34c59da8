"""Adapters that run cxflow flows inside other frameworks (LangGraph, ...)."""
