from qa import Assistant, condense

HISTORY = [
    {"role": "user", "content": "Who chaired the meeting?"},
    {"role": "assistant", "content": "John Healey [1][2]"},
]


def test_pronoun_replaced_by_previous_short_answer() -> None:
    assert condense("What did he say about the US?", HISTORY) == "What did John Healey say about the US?"
    assert condense("What was his title?", HISTORY) == "What was John Healey's title?"


def test_self_contained_question_is_kept() -> None:
    assert condense("And who chairs the meeting on Friday?", HISTORY) == "who chairs the meeting on Friday?"
    assert condense("Who is the Kremlin spokesman?", HISTORY) == "Who is the Kremlin spokesman?"


def test_vague_question_borrows_previous_question() -> None:
    out = condense("What about it?", HISTORY)
    assert "Who chaired the meeting?" in out


def test_no_history() -> None:
    assert condense("What did he say?", []) == "What did he say?"


def test_follow_up_retrieves_with_earlier_context(seed_index, fake_embedder) -> None:
    assistant = Assistant(seed_index, embedder=fake_embedder)
    answer = assistant.ask("What did he say about the US?", HISTORY)
    assert "John Healey" in answer.standalone_question
    assert any("Healey" in hit.chunk.text for hit in answer.retrieved)
