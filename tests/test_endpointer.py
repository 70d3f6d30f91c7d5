from dataclasses import replace

from homeplm.voice.endpointer import Endpointer, EndpointerConfig, EndpointState, RefractoryGate

CFG = EndpointerConfig(start_timeout_ms=800, min_speech_ms=160, silence_ms=400, max_utterance_ms=2000)


def feed(endpointer: Endpointer, pattern: str, chunk_ms: int = 80) -> EndpointState:
    state = endpointer.state
    for c in pattern:
        state = endpointer.process(chunk_ms, c == "s")
    return state


def test_speech_then_silence_ends() -> None:
    e = Endpointer(CFG)
    assert feed(e, "..ssssss....") is EndpointState.SPEAKING
    assert feed(e, ".") is EndpointState.DONE
    assert e.speech_start_ms == 160 and e.speech_end_ms == 640


def test_no_speech_times_out() -> None:
    e = Endpointer(CFG)
    assert feed(e, "..........") is EndpointState.TIMEOUT
    assert e.speech_start_ms is None


def test_single_blip_is_not_speech() -> None:
    # Blips apart by reset_ms of silence each are forgotten. (Alternating "s.s" once counted as
    # blips too; with hysteresis it is flickery speech: see the tests below.)
    e = Endpointer(CFG)
    assert feed(e, "s..s..s..") is EndpointState.WAITING


def test_no_hysteresis_gives_the_old_single_chunk_reset() -> None:
    assert feed(Endpointer(replace(CFG, reset_ms=80)), "s.s.s.") is EndpointState.WAITING


def test_a_silent_chunk_inside_a_word_keeps_the_speech_count() -> None:
    e = Endpointer(CFG)
    assert feed(e, "..s.s") is EndpointState.SPEAKING and e.speech_start_ms == 160


def test_reset_ms_of_silence_forgets_the_speech_count() -> None:
    assert feed(Endpointer(CFG), "s..s") is EndpointState.WAITING


def test_a_noisy_chunk_in_the_silence_keeps_the_silence_count() -> None:
    e = Endpointer(CFG)
    assert feed(e, "ss..s...") is EndpointState.DONE and e.speech_end_ms == 160


def test_reset_ms_of_speech_forgets_the_silence_count() -> None:
    assert feed(Endpointer(CFG), "ss..ss...") is EndpointState.SPEAKING


def test_short_pauses_do_not_end_speech() -> None:
    e = Endpointer(CFG)
    assert feed(e, "sss...sss...sss") is EndpointState.SPEAKING


def test_max_length() -> None:
    e = Endpointer(CFG)
    assert feed(e, "s" * 30) is EndpointState.MAX_LENGTH
    assert e.finished


def test_final_state_sticks_and_reset() -> None:
    e = Endpointer(CFG)
    feed(e, "ss.....")
    assert feed(e, "sss") is EndpointState.DONE
    e.reset()
    assert e.state is EndpointState.WAITING and e.elapsed_ms == 0


def test_refractory_gate() -> None:
    gate = RefractoryGate(240)
    assert gate.open
    gate.fire()
    gate.advance(80)
    gate.advance(80)
    assert not gate.open
    gate.advance(80)
    assert gate.open
