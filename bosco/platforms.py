"""One colour and one label per platform, shared by every chart and page.

The CSS custom properties `--p-<code>` in static/css/bosco.css carry the same colours, so a
platform looks the same in a table swatch and in a Plotly trace. Change both together (a test
checks they agree).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformStyle:
    code: str
    label: str
    color: str


PLATFORMS: dict[str, PlatformStyle] = {
    p.code: p
    for p in (
        PlatformStyle("google_ads", "Google Ads", "#2563eb"),
        PlatformStyle("meta", "Meta Ads", "#db2777"),
        PlatformStyle("tiktok", "TikTok Ads", "#0d9488"),
        PlatformStyle("ga4", "GA4", "#d97706"),
        PlatformStyle("shopify", "Shopify", "#16a34a"),
        PlatformStyle("airbyte", "Airbyte sources", "#6d28d9"),
    )
}

#: For series that are not a platform (attribution channels from a CSV, campaigns of one
#: platform side by side): calm, distinguishable, and none of them equal to a platform colour.
EXTRA_COLORS: tuple[str, ...] = (
    "#7c3aed",
    "#0891b2",
    "#ea580c",
    "#4d7c0f",
    "#be123c",
    "#475569",
    "#a16207",
    "#0f766e",
    "#9333ea",
    "#64748b",
)

#: The neutral used for "all channels" totals.
TOTAL_COLOR = "#334155"


#: Uploaded-file sources are warehouse platforms named "upload_<slug>" (uploads app); their labels
#: say so ("LinkedIn (upload)"), spelled as the platforms spell themselves where known.
UPLOAD_PREFIX = "upload_"
_UPLOAD_NAMES = {
    "linkedin": "LinkedIn",
    "linkedin_ads": "LinkedIn Ads",
    "bing": "Microsoft Ads",
    "microsoft": "Microsoft Ads",
    "microsoft_ads": "Microsoft Ads",
    "x": "X",
    "x_ads": "X Ads",
    "twitter": "X",
}


def platform_color(code: str) -> str:
    """The platform's colour; an upload source a stable extra colour; unknown codes the neutral one."""
    style = PLATFORMS.get(code)
    if style is None and code.startswith(UPLOAD_PREFIX):
        return EXTRA_COLORS[sum(map(ord, code)) % len(EXTRA_COLORS)]
    return style.color if style else TOTAL_COLOR


def platform_label(code: str) -> str:
    style = PLATFORMS.get(code)
    if style is None and code.startswith(UPLOAD_PREFIX):
        slug = code.removeprefix(UPLOAD_PREFIX)
        return f"{_UPLOAD_NAMES.get(slug) or slug.replace('_', ' ').title()} (upload)"
    return style.label if style else code.replace("_", " ").title()


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_ALIASES: dict[str, str] = {
    **{_normalise(code): code for code in PLATFORMS},
    **{_normalise(style.label): code for code, style in PLATFORMS.items()},
    "google": "google_ads",
    "googleads": "google_ads",
    "adwords": "google_ads",
    "facebook": "meta",
    "facebookads": "meta",
    "instagram": "meta",
    "metaads": "meta",
    "tiktok": "tiktok",
    "shopify": "shopify",
}


def platform_for_channel(name: str) -> str | None:
    """The platform a free-text channel name refers to ("Facebook Ads" -> "meta"), if any."""
    return _ALIASES.get(_normalise(name))


def colors_for(names: list[str]) -> dict[str, str]:
    """A colour per name: the platform colour when the name is a platform, else a stable extra.

    Extras are handed out in order of the sorted names that are not platforms, so the same set
    of channels gets the same colours on every chart of a page.
    """
    out: dict[str, str] = {}
    extras = iter(EXTRA_COLORS)
    taken: set[str] = set()
    for name in sorted(set(names)):
        platform = platform_for_channel(name)
        # Two channels of one platform ("Facebook", "Instagram") must not share a colour.
        if platform is not None and platform not in taken:
            out[name] = PLATFORMS[platform].color
            taken.add(platform)
    for name in sorted(set(names)):
        if name not in out:
            out[name] = next(extras, TOTAL_COLOR)
    return out
