"""MQTT: homeplm in Home Assistant (discovery, state, commands) and the house's devices."""
