"""Ladder: LLM code actions over LSP — local model first, Claude when it matters."""

__version__ = "0.1.0"
