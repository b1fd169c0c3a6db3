import pandas as pd
import pytest

from agon.files import write_json
from agon.ratings.trajectory import health, trajectory, write_trajectory


def _documents(tmp_path, *iterations: dict[str, float]) -> list:
    paths = []
    for i, ratings in enumerate(iterations):
        path = tmp_path / f"ratings_{i}.json"
        models = {m: {"rating": r, "uncertainty": 1.0, "matches": 3} for m, r in ratings.items()}
        write_json({"scheme": "sparta", "models": models}, path)
        paths.append(path)
    return paths


def _evals(tmp_path, iteration: int, accuracy: dict[str, float]) -> list:
    paths = []
    for model, greedy in accuracy.items():
        path = tmp_path / f"eval_{iteration}_{model}.json"
        write_json({"iteration": iteration, "model": model, "greedy_accuracy": greedy, "sampled_accuracy": 0.5}, path)
        paths.append(path)
    return paths


def test_trajectory_puts_each_iterations_accuracy_beside_its_ratings(tmp_path):
    docs = _documents(tmp_path, {"a": 50.0, "b": 60.0}, {"a": 55.0, "b": 52.0})
    evals = _evals(tmp_path, 0, {"a": 0.6, "b": 0.7}) + _evals(tmp_path, 1, {"a": 0.8})
    table = trajectory(docs, evals)
    records = table[["iteration", "model", "rating", "greedy_accuracy"]].to_dict("records")
    assert records[:3] == [
        {"iteration": 0, "model": "a", "rating": 50.0, "greedy_accuracy": 0.6},
        {"iteration": 0, "model": "b", "rating": 60.0, "greedy_accuracy": 0.7},
        {"iteration": 1, "model": "a", "rating": 55.0, "greedy_accuracy": 0.8},
    ]
    assert records[3]["model"] == "b" and pd.isna(records[3]["greedy_accuracy"])


def test_health_is_the_rank_correlation_of_ratings_with_accuracy(tmp_path):
    # Iteration 0: ratings order a < b < c < d, accuracy a < c < b < d: one discordant pair of 6.
    # Spearman = 1 - 6 * (0 + 1 + 1 + 0) / (4 * 15) = 0.8; Kendall = (5 - 1) / 6 = 0.6667.
    # Iteration 1: the ratings reverse the accuracy: both -1.
    docs = _documents(
        tmp_path, {"a": 10.0, "b": 20.0, "c": 30.0, "d": 40.0}, {"a": 40.0, "b": 30.0, "c": 20.0, "d": 10.0}
    )
    accuracy = {"a": 0.1, "b": 0.3, "c": 0.2, "d": 0.4}
    evals = _evals(tmp_path, 0, accuracy) + _evals(tmp_path, 1, accuracy | {"b": 0.2, "c": 0.3})
    rows = health(trajectory(docs, evals)).to_dict("records")
    assert rows[0]["spearman_greedy"] == pytest.approx(0.8) and rows[0]["kendall_greedy"] == pytest.approx(4 / 6)
    assert rows[1]["spearman_greedy"] == pytest.approx(-1.0) and rows[1]["kendall_greedy"] == pytest.approx(-1.0)
    assert (rows[0]["rating_min"], rows[0]["rating_max"], rows[0]["models"]) == (10.0, 40.0, 4)


def test_health_has_no_correlation_without_two_varying_models(tmp_path):
    docs = _documents(tmp_path, {"a": 50.0, "b": 50.0}, {"a": 50.0, "b": 60.0})
    evals = _evals(tmp_path, 0, {"a": 0.5, "b": 0.7}) + _evals(tmp_path, 1, {"a": 0.5})
    rows = health(trajectory(docs, evals)).to_dict("records")
    assert rows[0]["spearman_greedy"] is None and rows[0]["kendall_greedy"] is None  # equal ratings
    assert rows[1]["models"] == 1 and rows[1]["spearman_greedy"] is None


def test_write_trajectory_writes_both_tables(tmp_path):
    docs = _documents(tmp_path, {"a": 50.0, "b": 60.0})
    write_trajectory(docs, _evals(tmp_path, 0, {"a": 0.6, "b": 0.7}), tmp_path / "t.tsv", tmp_path / "h.tsv")
    assert len(pd.read_csv(tmp_path / "t.tsv", sep="\t")) == 2
    assert pd.read_csv(tmp_path / "h.tsv", sep="\t")["spearman_greedy"].tolist() == [1.0]
