"""Errors that reach the user as one line, never as a traceback."""


class UserError(Exception):
    """Something the user can fix: the message says what, where, and what to do."""
