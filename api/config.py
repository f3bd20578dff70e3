"""The service's settings: the one settings object of ``models.settings``, shared with the CLI."""

from models.settings import MIN_KEY_LENGTH, ROLES, Settings, get_settings, parse_api_keys, settings_error_message

__all__ = ["MIN_KEY_LENGTH", "ROLES", "Settings", "get_settings", "parse_api_keys", "settings_error_message"]
