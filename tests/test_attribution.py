"""Attribution: who said what, in the shapes news uses (qa.answer.attribution)."""

from __future__ import annotations

import pytest

from qa.answer.attribution import attribute, attribute_run, same_speaker


def said(sentence: str) -> tuple[str, str] | None:
    found = attribute(sentence)
    return None if found is None else (found.speaker, sentence[found.start:found.end])


@pytest.mark.parametrize(("sentence", "speaker", "statement"), [
    ('"We must be ready," Healey said.', "Healey", "We must be ready"),
    ("“We must be ready,” said Kaja Kallas, the EU foreign policy chief.", "Kaja Kallas",
     "We must be ready"),
    ("“It is vital,” Healey said at the NATO headquarters in Brussels.", "Healey", "It is vital"),
    ("Members must be ready, Healey told reporters.", "Healey", "Members must be ready"),
    ("Healey said: “We must be ready.”", "Healey", "We must be ready"),
    ("The minister said that troops would be sent.", "The minister", "troops would be sent"),
    ("Zelenskiy said on Tuesday that 155 citizens were fighting.", "Zelenskiy",
     "155 citizens were fighting"),
    ("EU foreign policy chief Kaja Kallas said ministers were “trying to keep the US on board”.",
     "Kaja Kallas", "ministers were “trying to keep the US on board”"),
    ("His Swedish counterpart, Pål Jonson, said success requires US engagement.", "Pål Jonson",
     "success requires US engagement"),
    ("Officials and military analysts have said that an offensive is coming.",
     "military analysts", "an offensive is coming"),
    ("According to the Kremlin spokesman, talks will continue.", "the Kremlin spokesman",
     "talks will continue"),
    ("Talks will continue, according to Dmitry Peskov.", "Dmitry Peskov", "Talks will continue"),
    ("“Everything must be done,” Zelenskiy added.", "Zelenskiy", "Everything must be done"),
    ("Kremlin spokesman Dmitry Peskov rejected the claim and described China as taking “a balanced "
     "position”.", "Kremlin spokesman Dmitry Peskov", "a balanced position"),
    ("Critics called the law “a power grab”.", "Critics", "a power grab"),
    ("The minister described the plan as “a disaster”.", "The minister", "a disaster"),
])
def test_attributions(sentence: str, speaker: str, statement: str) -> None:
    assert said(sentence) == (speaker, statement)


@pytest.mark.parametrize("sentence", [
    "It said the plan was ready.",  # "it" is no speaker we can name
    "China had warned Ukraine against making “irresponsible” remarks.",  # warned + object
    "He posted footage of an interrogation.",
    "The meeting was chaired by John Healey.",
    "John Healey",
])
def test_no_attribution(sentence: str) -> None:
    assert attribute(sentence) is None


def test_a_quote_across_sentences_and_he_said() -> None:
    run = ["Healey chaired the meeting in Brussels.",
           "“We must be ready for when that peace comes.",
           "That’s why the work of this coalition is so vital,” Healey said.",
           "He added that 200 planners were at work."]
    found = attribute_run(run)
    assert found[0] is None
    assert (found[1].speaker, run[1][found[1].start:found[1].end]) == (
        "Healey", "We must be ready for when that peace comes.")
    assert run[2][found[2].start:found[2].end] == "That’s why the work of this coalition is so vital"
    assert (found[3].speaker, run[3][found[3].start:found[3].end]) == (
        "Healey", "200 planners were at work")


def test_he_takes_the_last_name_mentioned() -> None:
    found = attribute_run(["Prime Minister Anna Lind arrived on Monday.", "She said talks were over."])
    assert found[1].speaker.endswith("Anna Lind")


@pytest.mark.parametrize(("asked", "speaker", "same"), [
    ("Healey", "United Kingdom Defence Secretary John Healey", True),
    ("John Healey", "Healey", True),
    ("the Kremlin spokesman", "Kremlin spokesman Dmitry Peskov", True),
    ("Healey", "Kaja Kallas", False),
    ("the minister", "Healey", False),
])
def test_same_speaker(asked: str, speaker: str, same: bool) -> None:
    assert same_speaker(asked, speaker) is same
