"""Python analysis for the checks, by job: `parse` (cached trees and compile errors),
`location` (where the edited block sits), `units` (the piece of the document analysed around
it), `docstrings`, `surface` (what a refactor must keep: definitions, signatures, returns),
`names` (what module-level code binds and reads) and `findings` (pyflakes).
"""
