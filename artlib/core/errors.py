"""The project's one exception type: errors a user can cause (bad input, bad files)."""


class ArtlibError(ValueError):
    """A user-facing error; the CLI prints its message on one line and exits with code 2."""
