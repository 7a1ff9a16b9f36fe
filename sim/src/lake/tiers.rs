//! What the lake costs to keep: at a steady daily volume, lifecycle rules
//! hold each tier's span of ages, so tier `i` keeps
//! `daily GB x (days until the next tier or deletion - days it starts at)`
//! and costs that times its price per GB-month.

use crate::config::LakeTier;

/// One tier's steady-state holding and monthly price.
#[derive(Clone, Debug, PartialEq)]
pub struct TierHolding {
    /// Tier name.
    pub name: String,
    /// GB it holds once the lake reached retention.
    pub gb: f64,
    /// USD per month.
    pub per_month_usd: f64,
}

/// Each tier's holding of a lake that grows by `gb_per_day` and deletes at
/// `retention_days`. Tiers must be sorted by `after_days`, the first at 0.
pub fn holdings(tiers: &[LakeTier], gb_per_day: f64, retention_days: f64) -> Vec<TierHolding> {
    tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let end = tiers
                .get(i + 1)
                .map_or(retention_days, |n| n.after_days)
                .min(retention_days);
            let days = (end - t.after_days).max(0.0);
            let gb = gb_per_day * days;
            TierHolding {
                name: t.name.clone(),
                gb,
                per_month_usd: gb * t.usd_per_gb_month,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_tiers;

    #[test]
    fn a_year_of_one_tb_a_day_by_tier() {
        let h = holdings(&default_tiers(), 1000.0, 365.0);
        let gb: Vec<f64> = h.iter().map(|t| t.gb).collect();
        assert_eq!(gb, vec![30_000.0, 60_000.0, 275_000.0]);
        // 30 TB hot at $0.023, 60 TB warm at $0.013, 275 TB cold at $0.006.
        let usd: f64 = h.iter().map(|t| t.per_month_usd).sum();
        assert!((usd - (690.0 + 780.0 + 1650.0)).abs() < 1e-6, "{usd}");
    }

    #[test]
    fn a_short_retention_never_reaches_the_colder_tiers() {
        let h = holdings(&default_tiers(), 10.0, 7.0);
        assert_eq!(h[0].gb, 70.0);
        assert_eq!((h[1].gb, h[2].gb), (0.0, 0.0));
    }
}
