"""What Ladder keeps on disk: the SQLite usage ledger and Claude's prices. It takes plain
records, so it imports no engine or backend types."""
