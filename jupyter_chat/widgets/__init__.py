"""Widgets: the chat panel, the comparison, one streamed turn in a widget (thin: the session
runs the turns, the display shows them)."""
