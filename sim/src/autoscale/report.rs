//! The autoscaler's record of a run as the JSON reports it.

/// What the autoscaler did in a run, for the JSON (`None` without `[autoscale]`).
pub fn result(sh: &crate::world::Shared) -> Option<streamsim_reports::AutoscaleResult> {
    let a = sh.autoscale.as_ref()?.lock().expect("autoscale lock");
    let cfg = &sh.scenario.autoscale;
    Some(streamsim_reports::AutoscaleResult {
        min_brokers: cfg.min_brokers,
        max_brokers: cfg.max_brokers,
        cpu_scale_out: cfg.cpu_scale_out,
        cpu_scale_in: cfg.cpu_scale_in,
        scale_events: a
            .events
            .iter()
            .map(|e| streamsim_reports::ScaleEventResult {
                at_ms: e.at_ms,
                from: e.from,
                to: e.to,
            })
            .collect(),
        reassignments: a.moves_done,
        periods: a
            .periods
            .iter()
            .map(|p| streamsim_reports::AutoscalePeriod {
                at_ms: p.at_ms,
                brokers: p.brokers,
                cpu: p.cpu,
            })
            .collect(),
    })
}
