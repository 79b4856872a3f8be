"""Settings for every process of the service (web, scheduler, CLI), read from the environment."""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
