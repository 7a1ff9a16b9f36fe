//! What the cold path keeps durably: the object store's bucket, the lake's
//! manifest (the table's list of committed files), and the lake group's
//! committed consumer offsets with the generation that claimed each
//! partition. It outlives every writer crash, as the bucket and
//! `__consumer_offsets` do.
//!
//! A file's name is its partition and offset range, so a retried put or a
//! file written again after a crash lands on the same key and replaces it,
//! and adding a name the manifest already lists changes nothing.

use crate::ids::PartitionId;
use std::collections::{BTreeMap, BTreeSet};

/// A file in the bucket: a partition's records `lo..hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LakeFile {
    /// Events partition.
    pub partition: PartitionId,
    /// First offset.
    pub lo: u64,
    /// One past the last offset.
    pub hi: u64,
    /// Bytes of the records.
    pub bytes: u64,
    /// When the client generated the newest record it holds, µs.
    pub newest_born_us: u64,
    /// A random name drawn per attempt, instead of the range (`idempotent_names = false`).
    pub random_name: Option<u64>,
    /// The transactional batches it holds records of: an index in
    /// [`LakeStore::txn_held`] (`None` when it holds none).
    pub txn_held: Option<usize>,
}

/// Records a lake file holds of one transactional batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnHeld {
    /// The producer that wrote it.
    pub pid: u64,
    /// The batch's first offset.
    pub offset: u64,
    /// Records of it in the file.
    pub records: u64,
}

impl LakeFile {
    /// The object key: partition and offset range, zero-padded so keys sort
    /// by offset (or the attempt's random name, when names are not idempotent).
    pub fn name(&self) -> String {
        match self.random_name {
            None => format!("events/p{:04}/{:020}-{:020}.parquet", self.partition, self.lo, self.hi),
            Some(r) => format!("events/p{:04}/part-{r:016x}.parquet", self.partition),
        }
    }
}

/// A commit refused because a newer generation of the lake group claimed the partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fenced;

/// The object-store requests and their outcomes, summed over writers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LakeStats {
    /// File puts that reached the store (every attempt).
    pub puts: u64,
    /// Puts that landed on a key already holding an object (a retry or a re-written file).
    pub replaced: u64,
    /// Requests (puts and manifest commits) that failed and were retried.
    pub failed_requests: u64,
    /// Manifest commits that added a file.
    pub manifest_commits: u64,
    /// Manifest commits whose file the manifest already listed (a retry after a lost reply).
    pub manifest_repeats: u64,
    /// Commits refused from a writer of an older generation.
    pub fenced: u64,
}

/// The cold path's durable state.
#[derive(Clone, Debug, Default)]
pub struct LakeStore {
    /// The bucket: key to object.
    pub objects: BTreeMap<String, LakeFile>,
    /// The manifest: committed files by key. Only these are the lake's data.
    pub manifest: BTreeMap<String, LakeFile>,
    /// The lake group's committed consumer offsets, per events partition.
    pub offsets: Vec<u64>,
    /// Per partition, the newest generation that claimed it.
    claims: Vec<u64>,
    /// Per partition, the end of the furthest committed file.
    manifest_end: Vec<u64>,
    /// Per partition, when the newest committed event was generated, µs (0: none yet).
    pub newest_born_us: Vec<u64>,
    /// Writers that have a file in the bucket not yet in the manifest (a fault can wait for one).
    pub unmanifested: BTreeSet<usize>,
    /// Counters.
    pub stats: LakeStats,
    /// What the files cut so far hold of transactional batches, by [`LakeFile::txn_held`].
    pub txn_held: Vec<Vec<TxnHeld>>,
}

impl LakeStore {
    /// An empty bucket and manifest for `partitions` events partitions.
    pub fn new(partitions: usize) -> Self {
        LakeStore {
            offsets: vec![0; partitions],
            claims: vec![0; partitions],
            manifest_end: vec![0; partitions],
            newest_born_us: vec![0; partitions],
            ..Default::default()
        }
    }

    /// Keep what a file about to be cut holds of transactional batches; returns its index.
    pub fn hold(&mut self, held: Vec<TxnHeld>) -> Option<usize> {
        if held.is_empty() {
            return None;
        }
        self.txn_held.push(held);
        Some(self.txn_held.len() - 1)
    }

    /// Where a new owner resumes a partition: past everything the manifest
    /// holds, or past the committed offset if that is further.
    pub fn resume_offset(&self, p: PartitionId) -> u64 {
        self.offsets[p].max(self.manifest_end[p])
    }

    /// The end of the furthest committed file of a partition.
    pub fn manifest_end(&self, p: PartitionId) -> u64 {
        self.manifest_end[p]
    }

    /// Claim a partition for `generation` and read where to resume it; an
    /// offset behind the manifest is moved up to it (the crash came between
    /// the manifest and the offset commit).
    pub fn claim(&mut self, p: PartitionId, generation: u64) -> Result<u64, Fenced> {
        if self.claims[p] > generation {
            return Err(Fenced);
        }
        self.claims[p] = generation;
        let at = self.resume_offset(p);
        self.offsets[p] = at;
        Ok(at)
    }

    /// Put an object; returns whether it replaced one of the same key.
    pub fn put(&mut self, f: LakeFile) -> bool {
        self.stats.puts += 1;
        let replaced = self.objects.insert(f.name(), f).is_some();
        self.stats.replaced += u64::from(replaced);
        replaced
    }

    /// Add a file to the manifest, as the owner of `generation`. Adding a key
    /// the manifest already lists changes nothing.
    pub fn commit_manifest(&mut self, f: LakeFile, generation: u64) -> Result<(), Fenced> {
        let p = f.partition;
        if self.claims[p] > generation {
            self.stats.fenced += 1;
            return Err(Fenced);
        }
        if self.manifest.insert(f.name(), f).is_some() {
            self.stats.manifest_repeats += 1;
            return Ok(());
        }
        self.stats.manifest_commits += 1;
        self.manifest_end[p] = self.manifest_end[p].max(f.hi);
        self.newest_born_us[p] = self.newest_born_us[p].max(f.newest_born_us);
        Ok(())
    }

    /// Commit the lake group's consumer offset of a partition, as the owner of `generation`.
    pub fn commit_offset(&mut self, p: PartitionId, offset: u64, generation: u64) -> Result<(), Fenced> {
        if self.claims[p] > generation {
            self.stats.fenced += 1;
            return Err(Fenced);
        }
        self.offsets[p] = self.offsets[p].max(offset);
        Ok(())
    }

    /// Objects in the bucket that no manifest entry names (uploads a crash or
    /// a rebalance cut off before their commit): garbage a cleaner would delete.
    pub fn orphans(&self) -> usize {
        self.objects.keys().filter(|k| !self.manifest.contains_key(*k)).count()
    }

    /// Bytes of the committed files.
    pub fn committed_bytes(&self) -> u64 {
        self.manifest.values().map(|f| f.bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: usize, lo: u64, hi: u64) -> LakeFile {
        LakeFile {
            partition: p,
            lo,
            hi,
            bytes: (hi - lo) * 100,
            newest_born_us: hi * 10,
            random_name: None,
            txn_held: None,
        }
    }

    #[test]
    fn a_retried_put_replaces_and_a_repeated_commit_adds_nothing() {
        let mut s = LakeStore::new(2);
        s.claim(0, 1).unwrap();
        assert!(!s.put(file(0, 0, 10)));
        assert!(s.put(file(0, 0, 10)));
        assert_eq!(s.objects.len(), 1);
        s.commit_manifest(file(0, 0, 10), 1).unwrap();
        s.commit_manifest(file(0, 0, 10), 1).unwrap();
        assert_eq!(s.manifest.len(), 1);
        assert_eq!((s.stats.manifest_commits, s.stats.manifest_repeats), (1, 1));
        assert_eq!(s.manifest_end(0), 10);
    }

    #[test]
    fn a_new_owner_resumes_past_the_manifest_and_fences_the_old_one() {
        let mut s = LakeStore::new(1);
        s.claim(0, 1).unwrap();
        s.put(file(0, 0, 10));
        s.commit_manifest(file(0, 0, 10), 1).unwrap();
        // Crash before the offset commit: the next owner starts at 10, not 0.
        assert_eq!(s.claim(0, 2), Ok(10));
        assert_eq!(s.offsets[0], 10);
        assert_eq!(s.commit_manifest(file(0, 10, 20), 1), Err(Fenced));
        assert_eq!(s.commit_offset(0, 20, 1), Err(Fenced));
        assert_eq!(s.claim(0, 1), Err(Fenced));
    }

    #[test]
    fn offsets_ahead_of_the_manifest_skip_what_no_file_holds() {
        let mut s = LakeStore::new(1);
        s.claim(0, 1).unwrap();
        s.commit_offset(0, 10, 1).unwrap();
        s.put(file(0, 0, 10));
        // Crash before the manifest: the next owner trusts the offset.
        assert_eq!(s.claim(0, 2), Ok(10));
        assert_eq!(s.orphans(), 1);
        assert_eq!(s.manifest_end(0), 0);
    }
}
