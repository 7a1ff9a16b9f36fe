//! `ack_latency.hlog` and `e2e_latency.hlog`: per-bucket latency histograms
//! in the HdrHistogram interval log format, so the standard tools
//! (`HistogramLogProcessor`, HdrHistogram plotters) read a run directly.

use std::io::{self, Write};
use std::time::{Duration, UNIX_EPOCH};

use crate::model::{CompactHistogram, RunReport};
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use hdrhistogram::serialization::V2DeflateSerializer;

/// Histogram values are microseconds; the max column is written in ms,
/// which is what HdrHistogram tools assume for a unit ratio of 1000.
const MAX_VALUE_DIVISOR: f64 = 1000.0;

/// The interval log of `intervals`, one histogram per bucket of `report`
/// (same indexing), timestamps in virtual seconds; `what`, if given, names
/// the quantity in a comment line.
pub fn interval_log(report: &RunReport, intervals: &[CompactHistogram], what: Option<&str>) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut header = IntervalLogWriterBuilder::new();
        header.add_comment("[Logged with streamsim]");
        if let Some(what) = what {
            header.add_comment(&format!("[{}]", what.replace('\n', " ")));
        }
        // StartTime and BaseTime of 0 say "timestamps are offsets from the
        // start of the run": readers then neither guess nor treat virtual
        // seconds as dates.
        let _ = header
            .add_comment(&format!(
                "[scenario {}, seed {}; virtual time; values in microseconds]",
                report.result.scenario.replace('\n', " "),
                report.result.seed
            ))
            .add_comment("[Histogram log format version 1.3]")
            .with_start_time(UNIX_EPOCH)
            .with_base_time(UNIX_EPOCH)
            .begin_log_with(&mut buf, &mut serializer)?;
    }
    // The builder does not write the column legend the Java writer does;
    // some tools expect it before the first interval.
    buf.write_all(b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n")?;
    let mut writer = IntervalLogWriterBuilder::new()
        .with_max_value_divisor(MAX_VALUE_DIVISOR)
        .begin_log_with(&mut buf, &mut serializer)?;

    let width = Duration::from_millis(report.bucket_ms.max(1));
    for (i, h) in intervals.iter().enumerate() {
        let start_ms = report
            .buckets
            .get(i)
            .map(|b| b.start_ms)
            .unwrap_or(i as u64 * report.bucket_ms);
        writer
            .write_histogram(&h.histogram(), Duration::from_millis(start_ms), width, None)
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    Ok(buf)
}
