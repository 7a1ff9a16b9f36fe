//! The coordinator's side of `AddOffsetsToTxn` / `TxnOffsetCommit` and of a
//! plain offset commit: the broker hosting a processor instance's
//! coordinator checks the epoch, the open transaction and the group
//! generation (KIP-447), and files the offsets in the store
//! (`txn_offsets.rs`) as pending until the transaction's commit is decided.

use super::broker::Broker;
use super::txn_offsets::producer_name;
use crate::ids::Addr;
use crate::msg::Msg;
use crate::txn_wire::{TxnError, TxnMsg};
use crate::world::TimelineKind;

impl Broker {
    /// `AddOffsetsToTxn` and `TxnOffsetCommit` in one request (see docs/TRANSACTIONS.md):
    /// the offsets join the producer's open transaction `txn`, if its epoch and its
    /// group generation are current.
    pub(super) fn on_txn_offset_commit(&mut self, src: Addr, m: TxnMsg, done_us: u64) {
        let TxnMsg::TxnOffsetCommit {
            req,
            tid,
            epoch,
            txn,
            generation,
            offsets,
        } = m
        else {
            return;
        };
        let fencing = self.sh.scenario.log.transaction_fencing;
        let result = if let Err(e) = self.coordinator_gate(tid) {
            Err(e)
        } else if self.sh.scenario.processor.generation_fencing
            && generation < self.sh.group.lock().expect("group lock").generation
        {
            Err(TxnError::Fenced)
        } else {
            let mut t = self.sh.txn.lock().expect("txn lock");
            let id = self.id;
            // Checked against this coordinator's cache; the offsets themselves are held
            // in the run's durable table (docs/TRANSACTIONS.md).
            let r = t.store.cache(id).map_or(Err(TxnError::LoadInProgress), |c| {
                c.check_open(tid, epoch, txn, fencing)
            });
            if r.is_ok() {
                t.offsets.offer(tid, txn, offsets);
            }
            r
        };
        if result == Err(TxnError::Fenced) {
            self.sh.txn.lock().expect("txn lock").offsets.refused_generation += 1;
            self.sh.timeline(
                TimelineKind::ProducerFenced,
                &format!(
                    "coordinator on broker-{} refuses {}'s offsets of generation {generation} (epoch {epoch}): \
                     a newer generation or epoch exists",
                    self.id,
                    producer_name(tid)
                ),
                &[tid, generation, epoch as u64],
            );
        }
        self.send(src, Msg::Txn(TxnMsg::Reply { req, result }), done_us);
    }

    /// A plain offset commit, outside any transaction (the negative control's naive loop).
    pub(super) fn on_offset_commit(&mut self, src: Addr, m: TxnMsg, done_us: u64) {
        let TxnMsg::OffsetCommit { req, offsets } = m else {
            return;
        };
        self.sh.txn.lock().expect("txn lock").offsets.commit(offsets);
        self.send(src, Msg::Txn(TxnMsg::Reply { req, result: Ok(()) }), done_us);
    }
}
