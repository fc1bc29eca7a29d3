"""The one exception the plugin's commands raise for expected failures."""

__all__ = ["PluginError"]


class PluginError(Exception):
    """An expected failure (bad input, a missing object, a refused run): a message, no traceback.

    `main` prints "error: <message>" to stderr and exits with `exit_code`.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
