"""The full-text query plan shared by both stores (``qa.store.lexical``), on its own."""

from __future__ import annotations

from qa.store.lexical import Match, plan, query_words, run


def test_words_fitting_the_budget_are_one_or_of_all_in_question_order():
    assert plan(["bridge", "mayor"], {"bridge": 40, "mayor": 60}, 100) == [Match(("bridge", "mayor"))]


def test_without_statistics_the_plan_is_the_unbounded_or():
    assert plan(["bridge", "mayor"], {}, 10) == [Match(("bridge", "mayor"))]


def test_the_rarest_words_that_fit_the_budget_pick_the_rows():
    rows = {"said": 9000, "okafor": 3, "bridge": 400, "ribbon": 50, "mayor": 700}
    assert plan(["said", "okafor", "bridge", "ribbon", "mayor"], rows, 500) == [
        Match(("okafor", "ribbon", "bridge"))]  # 453 rows; mayor would make 1,153
    # the rarest word is always kept, even alone over the budget's share
    assert plan(["said", "bridge"], {"said": 9000, "bridge": 400}, 500) == [Match(("bridge",))]


def test_when_every_word_is_common_all_of_them_then_the_rarest():
    rows = {"said": 9000, "minister": 2000, "prime": 1500}
    assert plan(["said", "prime", "minister"], rows, 500) == [
        Match(("said", "prime", "minister"), every=True), Match(("prime",))]
    assert plan(["said"], rows, 500) == [Match(("said",))]


def test_query_words_drop_stopwords_repeats_and_syntax():
    assert query_words('Who cut the "ribbon" -- OR the ribbon* NEAR(bridge)?') == ["cut", "ribbon", "near",
                                                                                  "bridge"]
    assert query_words("the of and") == []


def test_run_takes_each_query_in_turn_without_repeats_up_to_n():
    answers = {("a",): [3, 1], ("b",): [1, 7, 8]}
    asked: list[tuple[str, ...]] = []

    def search(match: Match) -> list[int]:
        asked.append(match.words)
        return answers[match.words]

    assert run([Match(("a",)), Match(("b",))], 4, search) == [3, 1, 7, 8]
    assert run([Match(("a",)), Match(("b",))], 2, search) == [3, 1]
    assert asked == [("a",), ("b",), ("a",)]  # the second query is not run once n are found
