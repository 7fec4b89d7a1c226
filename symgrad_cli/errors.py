"""The library's exceptions.

Every error a user can cause derives from :class:`SymgradError`; the command
line turns it into a one-line message and the exit status of DESIGN.md's table
(``exit_status``).  A programmer's mistake inside the library stays a plain
``TypeError`` or ``ValueError`` and is never caught.
"""


class SymgradError(Exception):
    """Base of every error caused by user input or the environment."""

    exit_status = 2


class ParseError(SymgradError):
    """Text that is not in the expression language.

    Carries the text, the 0-based column of the offending character and what
    was expected there, so the command line can draw a caret under it.
    """

    def __init__(self, message: str, text: str, column: int, hint: str = ""):
        self.text = text
        self.column = max(0, min(column, len(text)))
        self.hint = hint
        super().__init__(message)

    def pretty(self) -> str:
        """The message, the offending line of the text and a caret under it."""
        line_start = self.text.rfind("\n", 0, self.column) + 1
        line_end = self.text.find("\n", self.column)
        if line_end == -1:
            line_end = len(self.text)
        line = self.text[line_start:line_end]
        caret_at = self.column - line_start
        if len(line) > 76:
            # Show a window around the caret rather than a huge line.
            left = max(0, caret_at - 38)
            line = ("..." if left else "") + line[left : left + 70] + "..."
            caret_at = caret_at - left + (3 if left else 0)
        parts = [str(self), "  " + line, "  " + " " * caret_at + "^"]
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class InputError(SymgradError):
    """Bad usage: an unknown variable, a bad ``--at`` value, a tensor output."""


class ShapeError(InputError):
    """Operands whose shapes do not fit the operation."""


class RunError(SymgradError):
    """A failure while running: an unwritable file, a missing program."""

    exit_status = 1


class DivergedError(RunError):
    """Training produced a loss that is not finite."""


class SymgradWarning(UserWarning):
    """A value defined by convention, or NaN outside a function's domain."""
