"""homeplm as Wyoming services for Home Assistant: speech to text (Whisper), text to speech (piper)
and a conversation agent (the brain), on one TCP port.

    frames.py    reading events off the network, bounded (sizes, timeouts); the package's own
                 reader trusts its peer
    audio_in.py  a request's audio, any rate, width and channel count, as 16 kHz mono int16
    info.py      the `info` answer to `describe`
    speech.py    sentences to audio events, and streaming synthesis
    handler.py   one connection: the events and what answers them
    server.py    the TCP server, started by the daemon when `wyoming.enabled`
"""
