"""Model backends: the local OpenAI-compatible server and Claude."""
