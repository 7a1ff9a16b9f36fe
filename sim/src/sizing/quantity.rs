//! Numbers as people write them on the command line: `300M`, `1B`, `64KiB`.

/// A count with an optional decimal suffix: `k`/`K` (10³), `M` (10⁶), `B` or `G` (10⁹).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'M')) => (&t[..i], 1e6),
        Some((i, 'B' | 'G')) => (&t[..i], 1e9),
        _ => (t.as_str(), 1.0),
    };
    let v: f64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a count (write it as 300M, 1.5B or 50000)"))?;
    let n = v * mult;
    if !(n.is_finite() && (1.0..=1e15).contains(&n)) {
        return Err(format!("{text:?} is out of range (1 to 10^15)"));
    }
    Ok(n.round() as u64)
}

/// A size in bytes: a plain number, or with `KB`/`MB` (10³, 10⁶) or `KiB`/`MiB` (2¹⁰, 2²⁰).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let units: [(&str, f64); 5] = [
        ("KiB", 1024.0),
        ("MiB", 1048576.0),
        ("KB", 1e3),
        ("MB", 1e6),
        ("B", 1.0),
    ];
    let (digits, mult) = units
        .iter()
        .find_map(|(u, m)| t.strip_suffix(u).map(|d| (d, *m)))
        .unwrap_or((t, 1.0));
    let v: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size (write it as 1024, 1KiB or 64KiB)"))?;
    let n = v * mult;
    if !(n.is_finite() && (1.0..=16.0 * 1048576.0).contains(&n)) {
        return Err(format!("{text:?} is out of range (1 B to 16 MiB per event)"));
    }
    Ok(n.round() as u64)
}

/// `n` in the short form the parser reads: 300M, 1B, 12.5k.
pub fn format_count(n: u64) -> String {
    let (v, s) = match n {
        n if n >= 1_000_000_000 => (n as f64 / 1e9, "B"),
        n if n >= 1_000_000 => (n as f64 / 1e6, "M"),
        n if n >= 1_000 => (n as f64 / 1e3, "k"),
        n => return n.to_string(),
    };
    let text = format!("{v:.2}");
    format!("{}{s}", text.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_suffixes_architects_write() {
        assert_eq!(parse_count("300M"), Ok(300_000_000));
        assert_eq!(parse_count("1B"), Ok(1_000_000_000));
        assert_eq!(parse_count("1.5k"), Ok(1_500));
        assert_eq!(parse_count("50_000"), Ok(50_000));
        assert!(parse_count("lots").is_err());
        assert!(parse_count("0").is_err());
        assert_eq!(format_count(300_000_000), "300M");
        assert_eq!(format_count(1_500), "1.5k");
    }

    #[test]
    fn sizes_know_kib_from_kb() {
        assert_eq!(parse_bytes("64KiB"), Ok(65_536));
        assert_eq!(parse_bytes("1KB"), Ok(1_000));
        assert_eq!(parse_bytes("512"), Ok(512));
        assert!(parse_bytes("1TiB").is_err());
    }
}
