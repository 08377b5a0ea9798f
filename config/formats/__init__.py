"""The project's display formats (FORMAT_MODULE_PATH): one date and time format on every page and in the admin."""
