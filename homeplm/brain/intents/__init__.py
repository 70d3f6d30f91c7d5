"""Fast intents: fixed phrasings answered in milliseconds, without the language model."""
