//! Materialising a workload to CSV, to look at what a seed will send.

use std::io::{self, Write};

use crate::stream::{TimedDraw, Workload};

/// Header of the CSV written by [`write_csv`].
pub const CSV_COLUMNS: [&str; 8] = [
    "client",
    "t_ms",
    "key",
    "size_bytes",
    "event_time_lag_ms",
    "malformed",
    "duplicate_send",
    "schema_version",
];

/// Materialise a workload to CSV for inspection: one row per event with the columns
/// of [`CSV_COLUMNS`], over `[0, duration_ms)` drawn in steps of `step_ms`, the
/// clients' events of each step in client order. Returns the number of events written.
/// Memory stays bounded by one step's events, whatever the duration.
pub fn write_csv<W: Write>(
    w: &Workload,
    seed: u64,
    clients: u32,
    duration_ms: u64,
    step_ms: u64,
    out: W,
) -> io::Result<u64> {
    let clients = clients.max(1);
    let step_ms = step_ms.max(1);
    let mut wtr = csv::Writer::from_writer(out);
    wtr.write_record(CSV_COLUMNS).map_err(io::Error::other)?;
    let mut streams: Vec<_> = (0..clients).map(|c| w.client_stream(seed, c, clients)).collect();
    let mut buf: Vec<TimedDraw> = Vec::new();
    let mut written = 0u64;
    let mut t = 0;
    while t < duration_ms {
        let t1 = (t + step_ms).min(duration_ms);
        for (c, s) in streams.iter_mut().enumerate() {
            buf.clear();
            s.draw_timed(t, t1, &mut buf);
            for d in &buf {
                let e = &d.event;
                wtr.write_record([
                    c.to_string(),
                    d.t_ms.to_string(),
                    e.key.to_string(),
                    e.size_bytes.to_string(),
                    e.event_time_lag_ms.to_string(),
                    e.malformed.to_string(),
                    e.duplicate_send.to_string(),
                    e.schema_version.to_string(),
                ])
                .map_err(io::Error::other)?;
            }
            written += buf.len() as u64;
        }
        t = t1;
    }
    wtr.flush()?;
    Ok(written)
}
