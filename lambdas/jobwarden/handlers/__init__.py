"""Lambda entry points: thin, they parse the event and call the flow."""
