//! The loop of a group member's node (a lake writer, a subscription's
//! consumer): wake at the next heartbeat or poll, hand the coordinator's
//! group states and the leaders' fetch answers to the member, then let it
//! act. The processors keep their own loop: they also wake for their tasks'
//! CPU and for the sink.

use crate::clock;
use crate::ids::{Addr, PartitionId};
use crate::log::last_stable_offset::AbortedTxn;
use crate::msg::Msg;
use crate::wire::{ConsumerFetchResult, ReadMsg};
use crate::world::Shared;

/// A member's loop wakes at least this often, ms.
const POLL_MS: u64 = 10;

/// What a member node does with the messages its loop hands it.
pub trait GroupMemberNode {
    /// When the member next owes its coordinator a heartbeat, ms.
    fn next_heartbeat_ms(&self) -> u64;
    /// The coordinator's `GroupState` (see [`super::membership::Membership::on_state`]).
    fn on_group_state(&mut self, generation: u64, partitions: Vec<PartitionId>, rebalancing: bool, now_ms: u64);
    /// A leader's answer to the member's fetch `req`; `aborted` lists the aborted
    /// transactions among the records when the fetch was read_committed (it then reached
    /// only to the last stable offset).
    fn on_fetch_reply(
        &mut self,
        req: u64,
        parts: Vec<(PartitionId, ConsumerFetchResult)>,
        aborted: Option<Vec<(PartitionId, Vec<AbortedTxn>)>>,
        now_ms: u64,
    );
    /// Heartbeats, commits and fetches due at `now_us`.
    fn drive(&mut self, now_us: u64);
}

/// Run `node` at `addr` until the node is killed.
pub async fn serve(sh: &Shared, addr: Addr, node: &mut impl GroupMemberNode) {
    let mut inbox = Vec::new();
    loop {
        let now = clock::now_ms();
        let until = node.next_heartbeat_ms().min(now + POLL_MS).max(now + 1);
        let now_us = sh.fabric.recv(addr, until, &mut inbox).await;
        let now_ms = now_us / 1000;
        for env in inbox.drain(..) {
            match env.msg {
                Msg::Read(ReadMsg::GroupState {
                    generation,
                    partitions,
                    rebalancing,
                }) => node.on_group_state(generation, partitions, rebalancing, now_ms),
                Msg::Read(ReadMsg::ConsumerFetchReply { req, parts }) => node.on_fetch_reply(req, parts, None, now_ms),
                Msg::Read(ReadMsg::ReadCommittedFetchReply { req, parts, aborted }) => {
                    node.on_fetch_reply(req, parts, Some(aborted), now_ms)
                }
                _ => {}
            }
        }
        node.drive(now_us);
    }
}
