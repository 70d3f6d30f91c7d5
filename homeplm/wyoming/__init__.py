"""homeplm over the Wyoming protocol: its services for Home Assistant (speech to text, text to
speech, the brain as a conversation agent, on one TCP port), the satellites in other rooms it owns,
and `homeplm satellite` (this box as one).

    frames.py    reading events off the network, bounded (sizes, timeouts); the package's own
                 reader trusts its peer
    audio_in.py  a request's audio, any rate, width and channel count, as 16 kHz mono int16
    info.py      the `info` answer to `describe`
    speech.py    sentences to audio events, and streaming synthesis
    handler.py   one connection: the events and what answers them
    server.py    the TCP server, started by the daemon when `wyoming.enabled`
    satellites.py  the satellites in `satellites:`: a room each, on the shared models
    satellite_box.py  `homeplm satellite`: the microphone to an owner, its audio to the speaker
"""
