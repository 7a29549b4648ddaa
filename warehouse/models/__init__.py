"""Warehouse tables in each workspace's schema, by layer.

raw (the connectors' landing table) → staging (typed, one table per platform stream) →
dimensions and the unified fact → rollups for the dashboards; plus the audit tables of the
transformation runs (lineage, data tests, quarantine, restatements) and the FX rates.
Every table is created by Django migrations and holds only tables, keys and indexes, so the
workspace template copier (accounts/schema_clone.py) reproduces it exactly.
"""

from warehouse.models.audit import (
    DataTestResult,
    LineageEdge,
    ModelNode,
    ModelRun,
    PendingWindow,
    QuarantinedRow,
    Restatement,
    TransformRun,
)
from warehouse.models.dimensions import AdAccount, AdGroup, Campaign, Platform
from warehouse.models.facts import AdPerformanceDaily
from warehouse.models.fx import FxRate, TransformSetting
from warehouse.models.raw import RawRecord
from warehouse.models.rollups import (
    CampaignCumulative,
    CampaignSpan,
    DayAccount,
    DayCampaign,
    DayPlatform,
    MonthCampaign,
    WeekCampaign,
)
from warehouse.models.sessions import SessionsDaily, StgGa4Property, StgGa4TrafficDaily
from warehouse.models.staging import (
    StgAirbyteAccount,
    StgAirbyteAdPerformanceDaily,
    StgGoogleAdsAdGroup,
    StgGoogleAdsAdGroupDaily,
    StgGoogleAdsCampaign,
    StgGoogleAdsCustomer,
    StgMetaAdAccount,
    StgMetaAdset,
    StgMetaAdsetDaily,
    StgMetaCampaign,
    StgTiktokAdgroup,
    StgTiktokAdgroupDaily,
    StgTiktokAdvertiser,
    StgTiktokCampaign,
    StgUploadAdDaily,
    StgUploadOfflineConversion,
)
from warehouse.models.store import (
    OrdersDaily,
    StgShopifyLineItem,
    StgShopifyOrder,
    StgShopifyRefund,
    StgShopifyShop,
)

__all__ = [
    "AdAccount",
    "AdGroup",
    "AdPerformanceDaily",
    "Campaign",
    "CampaignCumulative",
    "CampaignSpan",
    "DataTestResult",
    "DayAccount",
    "DayCampaign",
    "DayPlatform",
    "FxRate",
    "LineageEdge",
    "ModelNode",
    "ModelRun",
    "MonthCampaign",
    "OrdersDaily",
    "PendingWindow",
    "Platform",
    "QuarantinedRow",
    "RawRecord",
    "Restatement",
    "SessionsDaily",
    "StgGa4Property",
    "StgGa4TrafficDaily",
    "StgGoogleAdsAdGroup",
    "StgGoogleAdsAdGroupDaily",
    "StgGoogleAdsCampaign",
    "StgGoogleAdsCustomer",
    "StgMetaAdAccount",
    "StgMetaAdset",
    "StgMetaAdsetDaily",
    "StgMetaCampaign",
    "StgShopifyLineItem",
    "StgShopifyOrder",
    "StgShopifyRefund",
    "StgShopifyShop",
    "StgTiktokAdgroup",
    "StgTiktokAdgroupDaily",
    "StgTiktokAdvertiser",
    "StgTiktokCampaign",
    "StgUploadAdDaily",
    "StgUploadOfflineConversion",
    "TransformRun",
    "TransformSetting",
    "WeekCampaign",
]
__all__ += ["StgAirbyteAccount", "StgAirbyteAdPerformanceDaily"]
