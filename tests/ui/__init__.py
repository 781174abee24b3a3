"""Browser tests of the dashboard (``/ui``): real Chromium against a real server."""
