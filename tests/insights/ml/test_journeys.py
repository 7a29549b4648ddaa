"""Journeys: sessions, identity stitching and paths on hand-made visits, with the attribution
models' results worked out by hand below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from insights.ml import attribution as attr
from insights.ml import journeys as jr

SHOP = "shop.example"
CAMPAIGNS = jr.campaign_index(
    [
        jr.CampaignRef("google_ads", "google_ads:111:901", "Brand Search"),
        jr.CampaignRef("meta", "meta:act_2:77", "Autumn Prospecting"),
    ]
)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def view(visitor: str, when: datetime, **fields: str) -> jr.EventRow:
    return jr.EventRow(occurred_at=when, kind="page_view", visitor=visitor, host=SHOP, **fields)


def event(visitor: str, when: datetime, kind: str, **fields: object) -> jr.EventRow:
    return jr.EventRow(occurred_at=when, kind=kind, visitor=visitor, host=SHOP, **fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("fields", "channel"),
    [
        ({"click_id_type": "gclid", "click_id": "x"}, jr.GOOGLE_ADS),
        ({"click_id_type": "wbraid", "click_id": "x"}, jr.GOOGLE_ADS),
        ({"click_id_type": "fbclid", "click_id": "x"}, jr.META_ADS),
        ({"click_id_type": "ttclid", "click_id": "x"}, jr.TIKTOK_ADS),
        ({"click_id_type": "msclkid", "click_id": "x"}, jr.MICROSOFT_ADS),
        ({"utm_campaign": "autumn prospecting", "utm_source": "partner"}, jr.META_ADS),
        ({"utm_campaign": "901", "utm_source": "x"}, jr.GOOGLE_ADS),
        ({"utm_source": "tiktok", "utm_medium": "paid_social"}, jr.TIKTOK_ADS),
        ({"utm_source": "newsletter", "utm_medium": "email"}, jr.EMAIL),
        ({"utm_source": "somewhere", "utm_medium": "cpc"}, jr.PAID_SEARCH_OTHER),
        ({"referrer_host": "www.google.com"}, jr.ORGANIC_SEARCH),
        ({"referrer_host": "duckduckgo.com"}, jr.ORGANIC_SEARCH),
        ({"referrer_host": "l.instagram.com"}, jr.ORGANIC_SOCIAL),
        ({"referrer_host": "mail.google.com"}, jr.EMAIL),
        ({"referrer_host": "blog.example.org"}, jr.REFERRAL),
    ],
)
def test_an_arrival_is_classified_by_click_id_then_utm_then_referrer(fields: dict[str, str], channel: str) -> None:
    touch = jr.classify(view("v", at(2, 9), **fields), CAMPAIGNS)

    assert touch is not None and touch.channel == channel


def test_a_utm_campaign_naming_a_warehouse_campaign_keeps_the_campaign_key() -> None:
    touch = jr.classify(view("v", at(2, 9), utm_source="google", utm_campaign="Brand Search"), CAMPAIGNS)

    assert touch == jr.Touch(at(2, 9), jr.GOOGLE_ADS, "google_ads:111:901")


def test_a_campaign_name_used_on_two_platforms_maps_to_neither() -> None:
    index = jr.campaign_index(
        [jr.CampaignRef("google_ads", "google_ads:1:5", "Sale"), jr.CampaignRef("meta", "meta:2:6", "Sale")]
    )

    assert "sale" not in index


def test_internal_navigation_is_no_touch() -> None:
    assert jr.classify(view("v", at(2, 9), referrer_host=SHOP), CAMPAIGNS) is None


# --------------------------------------------------------------------------- sessions


def test_thirty_minutes_of_inactivity_end_a_session_and_a_new_campaign_starts_one() -> None:
    events = [
        view("v", at(2, 9, 0), click_id_type="fbclid", click_id="F1"),
        view("v", at(2, 9, 10), referrer_host=SHOP),  # same session: internal page
        view("v", at(2, 9, 39), referrer_host=SHOP),  # 29 minutes later: still the same session
        view("v", at(2, 9, 45), utm_source="google", utm_medium="cpc", utm_campaign="Brand Search"),  # new campaign
        view("v", at(2, 10, 14), utm_source="google", utm_medium="cpc", utm_campaign="Brand Search"),  # same one
        view("v", at(2, 10, 45)),  # 31 minutes of nothing: a new, direct session
        view("v", at(2, 10, 50), click_id_type="fbclid", click_id="F1"),  # same click id as the first: still new
    ]

    touches = jr.sessionise(events, CAMPAIGNS)

    assert [t.channel for t in touches] == [jr.META_ADS, jr.GOOGLE_ADS, jr.DIRECT, jr.META_ADS]
    assert [t.at for t in touches] == [at(2, 9, 0), at(2, 9, 45), at(2, 10, 45), at(2, 10, 50)]


# --------------------------------------------------------------------------- stitching


def test_devices_sharing_a_customer_or_an_email_hash_are_one_person() -> None:
    events = [
        event("laptop", at(2, 9), "identify", customer_id="c1"),
        event("phone", at(3, 9), "identify", customer_id="gid://shopify/Customer/c1", email_sha256="E" * 64),
        event("tablet", at(4, 9), "identify", email_sha256="e" * 64),  # hashes compare case-insensitively
        event("stranger", at(4, 9), "identify", customer_id="c2"),
        event("hint:tab-1", at(4, 10), "order", order_id="o7", checkout_token="ck1"),
        event("hint:tab-2", at(4, 11), "event", checkout_token="ck1"),
    ]

    people = jr.stitch(events, [jr.StoreOrder("o9", at(5, 9), 10.0, customer_id="c2")])

    assert people.find("visitor:laptop") == people.find("visitor:phone") == people.find("visitor:tablet")
    assert people.find("visitor:stranger") != people.find("visitor:laptop")
    assert people.find("order:o9") == people.find("visitor:stranger")
    assert people.find("visitor:hint:tab-1") == people.find("visitor:hint:tab-2")


# --------------------------------------------------------------------------- paths and models

# Channels below: M = Meta Ads, G = Google Ads, E = Email.
HAND_EVENTS = [
    # P1 on two devices, joined by customer c1: M, then G (a new campaign 20 minutes later), then
    # on the phone next day E, and an order of 100 there.  Path 1: M > G > E, converted, 100.
    view("p1-laptop", at(2, 9, 0), click_id_type="fbclid", click_id="F1"),
    view("p1-laptop", at(2, 9, 10), referrer_host=SHOP),
    view("p1-laptop", at(2, 9, 20), utm_source="google", utm_medium="cpc", utm_campaign="Brand Search"),
    event("p1-laptop", at(2, 9, 25), "identify", customer_id="c1"),
    view("p1-phone", at(3, 20, 0), utm_source="newsletter", utm_medium="email"),
    event("p1-phone", at(3, 20, 5), "identify", customer_id="c1"),
    event("p1-phone", at(3, 20, 10), "order", order_id="o1", revenue=100.0),
    # P2: M and an order of 50 (path 2: M, converted, 50); days later G without an order
    # (path 6: G, not converted).
    view("p2", at(4, 10, 0), click_id_type="fbclid", click_id="F2"),
    event("p2", at(4, 10, 5), "order", order_id="o2", revenue=50.0),
    view("p2", at(7, 9, 0), click_id_type="gclid", click_id="G2"),
    # P3: G only, never buys (path 3: G, not converted).
    view("p3", at(5, 12, 0), click_id_type="gclid", click_id="G3"),
    # P4: E, then G next day; the store reports order o3 of customer 4 (80), which the snippet never
    # saw: it reaches P4 through the identify (path 4: E > G, converted, 80).
    view("p4", at(5, 8, 0), referrer_host="mail.google.com"),
    view("p4", at(6, 8, 0), click_id_type="gclid", click_id="G4"),
    event("p4", at(6, 8, 2), "identify", customer_id="gid://shopify/Customer/4"),
    # P5: M on October 1st is outside the 30-day lookback of the order on November 6th; E, then
    # an order of 40 (path 5: E, converted, 40).
    view("p5", at(1, 10, month=10), click_id_type="fbclid", click_id="F5"),
    view("p5", at(6, 10, 0), utm_source="crm", utm_medium="email"),
    event("p5", at(6, 10, 10), "order", order_id="o5", revenue=40.0),
]
HAND_ORDERS = [
    jr.StoreOrder("o3", at(6, 9, 0), 80.0, customer_id="4"),
    # o1 is also in the store, with the store's value: the store's number wins, one conversion
    jr.StoreOrder("o1", at(3, 20, 11), 100.0, customer_id="c1"),
    # nobody tracked this customer: counted as unmatched, not invented into a path
    jr.StoreOrder("o9", at(6, 11, 0), 30.0, customer_id="9"),
]


def hand_build() -> jr.JourneyBuild:
    return jr.build_journeys(
        HAND_EVENTS,
        campaigns=CAMPAIGNS,
        store_orders=HAND_ORDERS,
        lookback_days=30,
        since=at(1, 0),
        until=at(8, 0),
    )


def test_hand_journeys_give_the_expected_paths() -> None:
    build = hand_build()

    got = sorted((" > ".join(j.channels), j.converted, j.value) for j in build.journeys)
    assert got == [
        ("Email", True, 40.0),
        ("Email > Google Ads", True, 80.0),
        ("Google Ads", False, 0.0),
        ("Google Ads", False, 0.0),
        ("Meta Ads", True, 50.0),
        ("Meta Ads > Google Ads > Email", True, 100.0),
    ]
    assert (build.orders, build.matched_orders, build.unmatched_orders, build.unmatched_value) == (5, 4, 1, 30.0)
    assert build.people == 5 and build.visitors == 6


def test_hand_journeys_shapley_splits_each_conversion_among_its_channels() -> None:
    # v(S) = conversions of paths whose channel set is inside S; the game is a sum of unanimity
    # games, so each conversion is split equally among its path's distinct channels:
    #   M>G>E: 1/3 each;  M: M 1;  E>G: 1/2 each;  E: E 1
    #   M = 1/3 + 1 = 4/3;  G = 1/3 + 1/2 = 5/6;  E = 1/3 + 1/2 + 1 = 11/6  (sum 4)
    #   value: M = 100/3 + 50;  G = 100/3 + 80/2;  E = 100/3 + 80/2 + 40
    frame = attr.attribute(jr.paths_frame(hand_build().journeys), models=["shapley"])
    rows = frame.set_index("channel")

    assert rows["conversions"].to_dict() == pytest.approx({"Meta Ads": 4 / 3, "Google Ads": 5 / 6, "Email": 11 / 6})
    assert rows["conversion_value"].to_dict() == pytest.approx(
        {"Meta Ads": 100 / 3 + 50, "Google Ads": 100 / 3 + 40, "Email": 100 / 3 + 80}
    )


def test_hand_journeys_markov_removal_effects() -> None:
    # First-order chain over the six journeys (each weight 1):
    #   start -> M 2/6, G 2/6, E 2/6
    #   M -> G 1/2, conv 1/2;  G -> E 1/4, conv 1/4, null 2/4;  E -> conv 2/3, G 1/3
    # Conversion probability from each state (m, g, e):
    #   g = e/4 + 1/4,  e = 2/3 + g/3  =>  g = 1/6 + g/12 + 1/4  =>  g = 5/11,  e = 9/11
    #   m = g/2 + 1/2 = 8/11;  P = (m + g + e) / 3 = 22/33 = 2/3  (4 conversions in 6 journeys)
    # Removing a channel absorbs its state into null:
    #   -M: P = (0 + 5/11 + 9/11)/3 = 14/33        effect 1 - (14/33)/(2/3) = 4/11
    #   -G: m = 1/2, e = 2/3; P = (7/6)/3 = 7/18   effect 1 - (7/18)/(2/3) = 5/12
    #   -E: g = 1/4, m = 5/8; P = (7/8)/3 = 7/24   effect 1 - (7/24)/(2/3) = 9/16
    # Credit = 4 conversions x effect / (4/11 + 5/12 + 9/16 = 709/528):
    #   M = 4 x 192/709 = 768/709;  G = 4 x 220/709 = 880/709;  E = 4 x 297/709 = 1188/709
    journeys = attr.journeys_from_frame(jr.paths_frame(hand_build().journeys))

    assert attr.removal_effects(journeys, order=1) == pytest.approx(
        {"Meta Ads": 4 / 11, "Google Ads": 5 / 12, "Email": 9 / 16}
    )
    credit = attr.markov_attribution(journeys, order=1)
    assert {c: v[0] for c, v in credit.items()} == pytest.approx(
        {"Meta Ads": 768 / 709, "Google Ads": 880 / 709, "Email": 1188 / 709}
    )


def test_hand_journeys_last_touch_and_time_decay_use_the_touch_days() -> None:
    frame = jr.paths_frame(hand_build().journeys)
    results = attr.attribute(frame, models=["last_touch", "time_decay"], half_life_days=1.0)
    last = results[results.model == "last_touch"].set_index("channel")["conversions"].to_dict()
    decay = results[results.model == "time_decay"].set_index("channel")["conversions"].to_dict()

    # last touch: M>G>E -> E, M -> M, E>G -> G, E -> E
    assert last == pytest.approx({"Meta Ads": 1.0, "Google Ads": 1.0, "Email": 2.0})
    # M>G>E converted 1 day 11 hours after M and G (whole days: 1, 1) and 10 minutes after E (0):
    # weights 2^-1, 2^-1, 2^0 -> 1/4, 1/4, 1/2.  E>G: E 1 day before (0.5 weight), G 0 days -> 1/3, 2/3.
    #   M = 1/4 + 1 = 5/4;  G = 1/4 + 2/3 = 11/12;  E = 1/2 + 1/3 + 1 = 11/6
    assert decay == pytest.approx({"Meta Ads": 5 / 4, "Google Ads": 11 / 12, "Email": 11 / 6})


def test_summary_counts_time_and_touches_to_convert() -> None:
    summary = jr.summarise(hand_build().journeys)

    # every path converted once: ties are ranked by value
    assert [p["path"] for p in summary["top_paths"]] == [  # type: ignore[index]
        "Meta Ads > Google Ads > Email",
        "Email > Google Ads",
        "Meta Ads",
        "Email",
    ]
    assert dict(summary["touches_to_convert"])["1"] == 2  # type: ignore[arg-type]
    assert dict(summary["touches_to_convert"])["2"] == 1  # type: ignore[arg-type]
    assert dict(summary["touches_to_convert"])["3"] == 1  # type: ignore[arg-type]
    # M>G>E took 1 day 11 h (the "1 day" bucket), E>G 1 day 1 h, M and E minutes (same day)
    assert dict(summary["time_to_convert"]) == {  # type: ignore[arg-type]
        "same day": 2,
        "1 day": 2,
        "2–3 days": 0,
        "4–7 days": 0,
        "8–14 days": 0,
        "15–30 days": 0,
        "31+ days": 0,
    }


def test_a_click_older_than_the_lookback_is_left_out_of_the_path() -> None:
    events = [
        view("v", at(1, 9, month=9), click_id_type="gclid", click_id="G"),
        event("v", at(5, 9), "order", order_id="o1", revenue=20.0),
    ]
    # The order event itself happens in a session (a direct one, 60+ days after the click), so the
    # path is Direct alone: the click is outside the lookback.
    build = jr.build_journeys(events, campaigns=CAMPAIGNS, lookback_days=30, since=at(1, 0), until=at(8, 0))

    assert [(j.channels, j.converted) for j in build.journeys] == [((jr.DIRECT,), True)]
    assert timedelta(days=30) < at(5, 9) - at(1, 9, month=9)
