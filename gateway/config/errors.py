"""Config errors as a batch: validation keeps going after a fault so that every error is reported at once."""

from __future__ import annotations

from gateway.core.errors import ConfigError, GatewayError, Source


class ConfigErrors(GatewayError):
    """Every fault found in one config, each a ``ConfigError`` with its YAML path, in document order."""

    source = Source.CONFIG

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class ErrorSink:
    """Collects ``ConfigError``s while a config is read."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(ConfigError(path, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigErrors(self.errors)
