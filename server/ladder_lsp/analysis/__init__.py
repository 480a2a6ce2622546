"""What Ladder knows about code text, with no model, editor or settings involved: the language
table, text rules (lines, indentation), tree-sitter, the definition around a cursor, and the
Python analysis (`python/`) the checks read. Everything above imports it; it imports nothing of
Ladder's own outside this package.
"""
