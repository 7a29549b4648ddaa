"""Attribution: hand-checked chains and games, exact totals, Shapley axioms."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.ml import attribution as attr
from insights.ml.errors import InputError

HAND_CHAIN = pd.DataFrame(
    {
        "path": ["a > b", "b", "a > c"],
        "total_conversions": [3, 1, 0],
        "total_conversion_value": [30.0, 20.0, 0.0],
        "total_null": [1, 3, 2],
    }
)


def credit(frame: pd.DataFrame, model: str, column: str = "conversions") -> dict[str, float]:
    rows = frame[frame["model"] == model]
    return dict(zip(rows["channel"], rows[column], strict=True))


def test_shapley_hand_check_a_then_b_gives_seven_and_three() -> None:
    paths = pd.DataFrame({"path": ["a", "a > b"], "total_conversions": [4, 6]})

    result = credit(attr.attribute(paths, models=["shapley"]), "shapley")

    assert result == pytest.approx({"a": 7.0, "b": 3.0})


def test_order_one_removal_effects_match_the_hand_computed_chain() -> None:
    # P(conv) = 0.6 * (4/6) * 0.5 + 0.4 * 0.5 = 0.4; without a: 0.2; without b: 0; without c: 0.4
    effects = attr.removal_effects(attr.journeys_from_frame(HAND_CHAIN), order=1)

    assert effects == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.0})
    result = attr.attribute(HAND_CHAIN, models=["markov_1"])
    assert credit(result, "markov_1") == pytest.approx({"a": 4 / 3, "b": 8 / 3, "c": 0.0})
    assert credit(result, "markov_1", "conversion_value") == pytest.approx({"a": 50 / 3, "b": 100 / 3, "c": 0.0})


def test_order_two_states_remember_the_previous_channel() -> None:
    # states (a), (b), (a,b), (a,c): P = 0.6 * (4/6) * 0.75 + 0.4 * 0.25 = 0.4; without a: 0.1
    effects = attr.removal_effects(attr.journeys_from_frame(HAND_CHAIN), order=2)

    assert effects == pytest.approx({"a": 0.75, "b": 1.0, "c": 0.0})
    assert credit(attr.attribute(HAND_CHAIN, models=["markov_2"]), "markov_2") == pytest.approx(
        {"a": 12 / 7, "b": 16 / 7, "c": 0.0}
    )


def test_null_paths_change_markov_credit() -> None:
    few_nulls = HAND_CHAIN.assign(total_null=[0, 0, 0])

    with_nulls = credit(attr.attribute(HAND_CHAIN, models=["markov_1"]), "markov_1")
    without = credit(attr.attribute(few_nulls, models=["markov_1"]), "markov_1")

    assert with_nulls["a"] != pytest.approx(without["a"])


def test_position_based_weights_follow_the_40_20_40_rule() -> None:
    assert list(attr.touch_weights("position_based", ["a"])) == [1.0]
    assert list(attr.touch_weights("position_based", ["a", "b"])) == [0.5, 0.5]
    assert list(attr.touch_weights("position_based", ["a", "b", "c", "d"])) == pytest.approx([0.4, 0.1, 0.1, 0.4])


def test_time_decay_halves_the_weight_per_half_life() -> None:
    weights = attr.touch_weights("time_decay", ["a", "b"], days_before=[7.0, 0.0], half_life_days=7.0)

    assert weights[1] == pytest.approx(2 * weights[0])


def test_time_decay_runs_when_touch_times_are_given() -> None:
    paths = pd.DataFrame(
        {"path": ["a > b", "b"], "total_conversions": [2, 1], "touch_days_before_conversion": ["14 > 0", "0"]}
    )

    result = credit(attr.attribute(paths), "time_decay")

    assert result == pytest.approx({"a": 2 * 0.2, "b": 2 * 0.8 + 1})


def test_time_decay_is_skipped_without_touch_times_unless_asked_for() -> None:
    assert "time_decay" not in set(attr.attribute(HAND_CHAIN)["model"])
    with pytest.raises(InputError, match="touch_days_before_conversion"):
        attr.attribute(HAND_CHAIN, models=["time_decay"])


channel_names = st.sampled_from(["search", "social", "email", "video", "display"])
path_rows = st.lists(
    st.tuples(
        st.lists(channel_names, min_size=1, max_size=6),
        st.integers(min_value=0, max_value=50),
        st.floats(min_value=0, max_value=1e4, allow_nan=False),
        st.integers(min_value=0, max_value=80),
    ),
    min_size=1,
    max_size=25,
)


def frame_of(rows: list[tuple[list[str], int, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "path": [" > ".join(channels) for channels, *_ in rows],
            "total_conversions": [r[1] for r in rows],
            "total_conversion_value": [r[2] for r in rows],
            "total_null": [r[3] for r in rows],
        }
    )


@settings(max_examples=40, deadline=None)
@given(rows=path_rows)
def test_every_model_distributes_exactly_the_total_conversions_and_value(rows: list) -> None:
    paths = frame_of(rows)
    total_conv, total_value = paths["total_conversions"].sum(), paths["total_conversion_value"].sum()

    result = attr.attribute(paths)

    sums = result.groupby("model")[["conversions", "conversion_value"]].sum()
    for model, row in sums.iterrows():
        if model.startswith("markov") and total_conv == 0:
            continue
        assert row["conversions"] == pytest.approx(total_conv, abs=1e-9), model
        if not model.startswith("markov") or total_value > 0:
            assert row["conversion_value"] == pytest.approx(total_value, rel=1e-9, abs=1e-6), model


@settings(max_examples=40, deadline=None)
@given(rows=path_rows)
def test_shapley_enumeration_equals_its_closed_form_and_is_efficient(rows: list) -> None:
    journeys = attr.journeys_from_frame(frame_of(rows))

    exact = attr.shapley_attribution(journeys)
    closed = attr.shapley_closed_form(journeys)

    assert sum(c for c, _ in exact.values()) == pytest.approx(sum(j.conversions for j in journeys))
    for channel, (conversions, value) in exact.items():
        assert conversions == pytest.approx(closed.get(channel, (0.0, 0.0))[0], abs=1e-9)
        assert value == pytest.approx(closed.get(channel, (0.0, 0.0))[1], rel=1e-9, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(rows=path_rows, twin_conversions=st.integers(min_value=1, max_value=30))
def test_shapley_gives_interchangeable_channels_equal_credit(rows: list, twin_conversions: int) -> None:
    # "x" and "y" only ever appear together, so they are symmetric players
    twins = [(["x", *channels, "y"], conv, value, null) for channels, conv, value, null in rows]
    twins.append((["y", "x"], twin_conversions, 0.0, 0))

    result = attr.shapley_attribution(attr.journeys_from_frame(frame_of(twins)))

    assert result["x"][0] == pytest.approx(result["y"][0])


@settings(max_examples=30, deadline=None)
@given(rows=path_rows)
def test_shapley_gives_a_null_player_nothing(rows: list) -> None:
    # "ghost" only shows up on journeys that never convert: it adds nothing to any coalition
    with_ghost = [*rows, (["ghost", "search"], 0, 0.0, 7)]

    result = attr.shapley_attribution(attr.journeys_from_frame(frame_of(with_ghost)))

    assert result["ghost"] == (0.0, 0.0)


def test_empty_channel_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="empty channel"):
        attr.attribute(pd.DataFrame({"path": ["a >  > b"], "total_conversions": [1]}))


def test_unknown_model_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown attribution model"):
        attr.attribute(HAND_CHAIN, models=["markov_9"])
