"""The checks an edit must pass before it reaches the document: `runner` registers and runs
them, `context` is what each one sees, `common`/`placeholders`/`syntax` apply to every edit
action and `guards` lists the per-action families (`docstring`, `refactor`, `fix`, `tests`).
"""
