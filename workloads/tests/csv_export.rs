//! Materialising a workload to CSV.

use crate::common;

use common::{timed, workload};
use streamsim_workloads::{write_csv, CSV_COLUMNS};

#[test]
fn csv_holds_every_event_of_every_client_in_order() {
    let w = workload(
        r#"
        rate = { kind = "constant", events_per_s = 3000.0 }
        keys = { kind = "zipf", count = 1000, exponent = 1.2 }
        event_time = { late_fraction = 0.1, late_mean_ms = 100.0, max_lateness_ms = 1000 }
        duplicate_fraction = 0.1
        "#,
    );
    let mut buf = Vec::new();
    let n = write_csv(&w, 5, 3, 2_000, 25, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    assert_eq!(rows.len() as u64, n);
    // ~6,000 events; Poisson standard deviation 77.
    assert!((5_600..6_400).contains(&n), "{n}");
    for client in 0..3u32 {
        let want = timed(&w, 5, client, 3, 2_000, 25);
        let got: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == client.to_string()).collect();
        assert_eq!(got.len(), want.len());
        for (r, d) in got.iter().zip(&want) {
            assert_eq!(r[1], d.t_ms.to_string());
            assert_eq!(r[2], d.event.key.to_string());
            assert_eq!(r[3], d.event.size_bytes.to_string());
            assert_eq!(r[4], d.event.event_time_lag_ms.to_string());
            assert_eq!(r[5], d.event.malformed.to_string());
            assert_eq!(r[6], d.event.duplicate_send.to_string());
            assert_eq!(r[7], d.event.schema_version.to_string());
        }
    }
    // Time never runs backwards within one client.
    let t: Vec<u64> = rows
        .iter()
        .filter(|r| r[0] == "1")
        .map(|r| r[1].parse().unwrap())
        .collect();
    assert!(t.windows(2).all(|p| p[0] <= p[1]));
}
