"""Workspace jobs: a plan of units over many files (`plan`), made by a planner (`planners`)
from an outline of the scope (`scope`), run as ordinary runs on the local slots
(`runner`), journalled (`store.jobs`) and reported (`report`)."""
