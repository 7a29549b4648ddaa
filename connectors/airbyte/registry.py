"""The Airbyte Python sources Bosco offers: package, pinned version, entry point, mapping.

Each source runs from its own virtualenv (`connectors.airbyte.venvs`), so its dependencies never
meet Bosco's. Versions are pinned here; raising one builds a new virtualenv next to the old.
`requirements` replaces the package's own dependency list when that list cannot be installed
as published (`airbyte-source-file` pins `smart-open[all]` to its own version number, which does
not exist): the package is then installed with `--no-deps` and these pins after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceDefinition:
    key: str
    name: str
    package: str
    version: str
    entry_point: str  # the console script the package installs
    #: the platform people know, for labels ("LinkedIn Ads via Airbyte")
    description: str = ""
    requirements: tuple[str, ...] = field(default_factory=tuple)
    #: streams picked by default when the source is added (others can be ticked later)
    default_streams: tuple[str, ...] = field(default_factory=tuple)
    #: a protocol script run with Bosco's own interpreter instead of a package (the tests' fake
    #: sources: garbage, hangs, crashes); never set for a source people can add
    script: str = ""

    @property
    def pip_spec(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def venv_name(self) -> str:
        return f"{self.package}-{self.version}"


SOURCES: dict[str, SourceDefinition] = {
    s.key: s
    for s in (
        SourceDefinition(
            key="faker",
            name="Sample data (Faker)",
            package="airbyte-source-faker",
            version="7.2.1",
            entry_point="source-faker",
            description="Generated users, products and purchases: try the bridge without an account anywhere.",
        ),
        SourceDefinition(
            key="file",
            name="File (CSV, JSON, Excel by URL or path)",
            package="airbyte-source-file",
            version="0.5.46",
            entry_point="source-file",
            description="One file as one stream. A dataset named ad_performance (columns date, campaign_id, "
            "campaign_name, spend, impressions, clicks, conversions, value, currency) counts as ad spend.",
            requirements=(
                "airbyte-cdk>=0,<1",
                "beautifulsoup4==4.11.1",
                "boto3==1.21.21",
                "fastparquet>=2024.2.0,<2025.0.0",
                "gcsfs==2022.7.1",
                "genson==1.2.2",
                "google-cloud-storage==2.5.0",
                "html5lib==1.1",
                "lxml>=5.0,<6.0",
                "numpy<2",
                "openpyxl==3.1.0",
                "pandas==2.2.2",
                "paramiko==2.11.0",
                "pyarrow==14.0.2",
                "pyxlsb==1.0.10",
                "s3fs==2022.7.1",
                "smart-open[azure]==6.4.0",
                "xlrd==2.0.1",
            ),
        ),
        SourceDefinition(
            key="linkedin_ads",
            name="LinkedIn Ads",
            package="airbyte-source-linkedin-ads",
            version="5.4.1",
            entry_point="source-linkedin-ads",
            default_streams=("ad_campaign_analytics", "campaigns"),
        ),
        SourceDefinition(
            key="pinterest",
            name="Pinterest Ads",
            package="airbyte-source-pinterest",
            version="2.1.12",
            entry_point="source-pinterest",
            default_streams=("campaign_analytics", "campaigns"),
        ),
        SourceDefinition(
            key="snapchat_marketing",
            name="Snapchat Ads",
            package="airbyte-source-snapchat-marketing",
            version="1.2.12",
            entry_point="source-snapchat-marketing",
            default_streams=("campaigns_stats_daily", "campaigns"),
        ),
        SourceDefinition(
            key="bing_ads",
            name="Microsoft Advertising (Bing Ads)",
            package="airbyte-source-bing-ads",
            version="2.22.0",
            entry_point="source-bing-ads",
            default_streams=("campaign_performance_report_daily", "campaigns"),
        ),
        SourceDefinition(
            key="amazon_ads",
            name="Amazon Ads",
            package="airbyte-source-amazon-ads",
            version="7.2.3",
            entry_point="source-amazon-ads",
            default_streams=("sponsored_products_campaigns_report_stream_daily", "profiles"),
        ),
    )
}


def source_get(key: str) -> SourceDefinition:
    try:
        return SOURCES[key]
    except KeyError:
        raise KeyError(f"Bosco does not offer an Airbyte source called {key!r}") from None
