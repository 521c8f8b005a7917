"""Each metric against cases computed by hand (see the comments for the arithmetic)."""

import pytest

from qa.eval import metrics as m


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Cat!", "cat"),
        ("  A  quick,\tbrown\nfox. ", "quick brown fox"),
        ("Anne and an apple", "anne and apple"),  # \b keeps "anne", drops "an"
        ("theatre", "theatre"),
        ("The the THE", ""),
        ("a", ""),
        ("(a) list", "list"),  # punctuation goes first, then the article
        ("the-end", "theend"),  # hyphen dropped, so no article is left to drop
        ("U.S.-led", "usled"),
        ("don't", "dont"),
        ("Kremlin's", "kremlins"),
        # the official script drops ASCII punctuation only: unicode quotes stay
        ("Kremlin’s", "kremlin’s"),
        ("“Hello,” she said", "“hello” she said"),
        ("peace – one", "peace – one"),
        ("John\u00a0Healey", "john healey"),  # str.split() folds the no-break space
        ("", ""),
    ],
)
def test_normalize_answer(raw, expected):
    assert m.normalize_answer(raw) == expected


def test_strip_citation_markers():
    assert m.strip_citation_markers("Healey chaired it [1][2].") == "Healey chaired it."
    assert m.strip_citation_markers("No markers") == "No markers"


def test_token_f1_hand_computed():
    # pred tokens cat sat on mat (4), gold cat on mat (3): common 3, P=3/4, R=1, F1=6/7
    assert m.token_f1("the cat sat on the mat", "cat on mat") == pytest.approx(6 / 7)
    # 1 common of 2 and 2: P=R=1/2
    assert m.token_f1("Healey said", "John Healey") == pytest.approx(0.5)
    # counts are clipped: 2 common, P=2/3, R=1, F1=4/5
    assert m.token_f1("the the cat cat cat", "cat cat") == pytest.approx(0.8)
    assert m.token_f1("Brussels", "Healey") == 0.0


def test_f1_and_exact_match_best_over_golds():
    golds = ["Healey", "United Kingdom Defence Secretary John Healey"]
    # vs "Healey": P=1/2, R=1 -> 2/3; vs the long one: P=1, R=2/6 -> 1/2; best 2/3
    assert m.f1("John Healey", golds) == pytest.approx(2 / 3)
    assert m.exact_match("John Healey", golds) == 0.0
    assert m.exact_match("the Healey.", golds) == 1.0
    assert m.f1("the Healey.", golds) == 1.0


def test_empty_gold_follows_squad_v2():
    # no gold answer: only the empty prediction (an abstention) is right
    assert m.exact_match("", []) == 1.0
    assert m.f1("", []) == 1.0
    assert m.exact_match("Brussels", []) == 0.0
    assert m.f1("Brussels", []) == 0.0
    # a gold that normalises to nothing counts as no gold
    assert m.exact_match("the", ["the"]) == 1.0
    assert m.exact_match("Healey", ["", "Healey"]) == 1.0
    # abstaining on an answerable question scores 0
    assert m.exact_match("", ["Healey"]) == 0.0
    assert m.f1("", ["Healey"]) == 0.0


def test_contains_answer_whole_words():
    assert m.contains_answer("The UK’s defence minister", ["UK"])
    assert m.contains_answer("has declared a “no-limits” partnership", ["no-limits"])
    assert m.contains_answer("John Healey said", ["the Healey"])
    assert not m.contains_answer("The Healeys said", ["Healey"])
    assert not m.contains_answer("about 300 countries", ["30"])
    assert not m.contains_answer("an apple", ["an"])  # normalises to nothing
    assert not m.contains_answer("anything", [])


def test_citation_precision_and_recall():
    rows = [
        (["Healey chaired.", "It rained."], ["Healey"]),
        (["Brussels hosted."], ["Brussels"]),
        ([], ["Peskov"]),
    ]
    # 2 of 3 cited sentences contain a gold; 2 of 3 answered rows have such a citation
    assert m.citation_precision(rows) == pytest.approx(2 / 3)
    assert m.citation_recall(rows) == pytest.approx(2 / 3)
    assert m.citation_precision([]) is None
    assert m.citation_recall([]) is None
    assert m.citation_precision([([], ["x"])]) is None


def test_first_relevant_rank():
    retrieved = [("b", "Healey spoke"), ("a", "nothing here"), ("a", "Healey chaired")]
    assert m.first_relevant_rank(retrieved, ["Healey"]) == 1
    assert m.first_relevant_rank(retrieved, ["Healey"], article_id="a") == 3
    assert m.first_relevant_rank(retrieved, ["Peskov"]) is None
    assert m.first_relevant_rank([], ["Healey"]) is None


def test_recall_at_k_and_mrr():
    ranks = [1, 3, None, 2]
    assert m.recall_at_k(ranks, 1) == 0.25
    assert m.recall_at_k(ranks, 2) == 0.5
    assert m.recall_at_k(ranks, 3) == 0.75
    # (1 + 1/3 + 0 + 1/2) / 4 = 11/24
    assert m.mrr(ranks) == pytest.approx(11 / 24)
    assert m.recall_at_k([], 5) is None
    assert m.mrr([]) is None


def test_abstention_scores():
    abstained = [True, True, False, True, True, False]
    answerable = [False, False, False, True, True, True]
    scores = m.abstention_scores(abstained, answerable)
    assert scores["recall"] == pytest.approx(2 / 3)  # 2 of 3 unanswerable
    assert scores["precision"] == pytest.approx(2 / 4)  # 2 of 4 abstentions were right
    assert scores["false_rate"] == pytest.approx(2 / 3)  # 2 of 3 answerable
    empty = m.abstention_scores([False], [True])
    assert empty == {"recall": None, "precision": None, "false_rate": 0.0}


def test_percentile_linear_interpolation():
    assert m.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    # position (5-1)*0.95 = 3.8 -> 40 + 0.8 * (50 - 40) = 48
    assert m.percentile([50, 10, 40, 20, 30], 95) == pytest.approx(48)
    assert m.percentile([7], 95) == 7
    assert m.percentile([], 50) is None
    with pytest.raises(ValueError, match="101"):
        m.percentile([1], 101)


def test_mean():
    assert m.mean([1, 2, 6]) == 3
    assert m.mean([]) is None
