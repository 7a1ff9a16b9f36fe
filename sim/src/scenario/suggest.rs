//! "Did you mean `partitions`?": the nearest valid name for a misspelt key
//! or value, from the names the parser says that table accepts.

/// The candidate closest to `word` by edit distance, when it is close
/// enough to be a typo rather than another word: at most a third of the
/// word's length (at least one edit), as cargo judges its own suggestions.
pub fn nearest<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        // An abbreviation (`min_isr`) or a missing unit (`duration`) is
        // further than a few edits but plainly meant: a shared prefix counts.
        .map(|(d, c)| (if shares_stem(word, c) { d.min(limit) } else { d }, c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c.as_str())
}

/// Whether `word` and `candidate` start alike for most of the shorter one
/// (at least four characters), e.g. `min_isr` and `min_insync_replicas`.
fn shares_stem(word: &str, candidate: &str) -> bool {
    let common = word.chars().zip(candidate.chars()).take_while(|(a, b)| a == b).count();
    let shorter = word.chars().count().min(candidate.chars().count());
    common >= 4 && common * 2 >= shorter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_typo_gets_the_nearest_name_and_a_stranger_gets_none() {
        let keys = names(&["brokers", "partitions", "replication_factor", "gateways", "clients"]);
        assert_eq!(nearest("partitons", &keys), Some("partitions"));
        assert_eq!(nearest("parttions", &keys), Some("partitions"));
        assert_eq!(nearest("brokres", &keys), Some("brokers"));
        assert_eq!(nearest("replication", &keys), Some("replication_factor"));
        assert_eq!(nearest("colour", &keys), None);
        assert_eq!(nearest("x", &keys), None);
        let log = names(&["acks", "min_insync_replicas", "unclean_leader_election"]);
        assert_eq!(nearest("min_isr", &log), Some("min_insync_replicas"));
    }
}
