"""The agent panel and editor console (Flask) live here; see the web-panel issue."""
