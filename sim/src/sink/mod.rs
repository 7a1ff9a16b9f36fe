//! The sink database node. Requests queue for a pool of connections; a
//! transaction costs a fixed commit (WAL fsync, round trips) plus a cost
//! per row, and takes effect only when the node finishes it, so a crash
//! loses the transactions under way and keeps what was committed. A paused
//! sink stalls every commit; a crashed one answers nothing until restarted,
//! and processors retry with backoff.

pub mod db;
pub mod output_reader;
pub mod table;

pub use table::{Sink, Table};

use crate::clock;
use crate::ids::Addr;
use crate::msg::Msg;
use crate::resources::Cpu;
use crate::serving::wire::ServingMsg;
use crate::wire::ReadMsg;
use crate::world::{Shared, TimelineKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Cost of reading a checkpoint, µs.
const LOAD_US: u64 = 500;

/// Entry point of the sink node (also after a restart).
pub async fn sink_main(sh: Arc<Shared>) {
    let addr = sh.layout.sink();
    let incarnation = sh.next_incarnation(addr);
    sh.timeline(
        TimelineKind::NodeStarted,
        &format!("sink started (incarnation {incarnation})"),
        &[addr.0 as u64],
    );
    let cfg = sh.scenario.sink.clone();
    let mut pool = Cpu::new(cfg.connections);
    // Requests being executed, by completion time then arrival order.
    let mut running: BTreeMap<(u64, u64), (Addr, Msg)> = BTreeMap::new();
    let mut arrivals = 0u64;
    // The output topic's reader (`exactly_once_txn`) and its transactions being executed.
    let mut reader = output_reader::OutputReader::new(&sh, incarnation);
    let mut reading: BTreeMap<(u64, u64), output_reader::OutputTxn> = BTreeMap::new();
    if let Some(r) = reader.as_mut() {
        r.drive(&sh, clock::now_ms(), clock::now_us());
    }
    let mut inbox = Vec::new();
    loop {
        let mut until = running.keys().next().map_or(u64::MAX / 4, |&(us, _)| us.div_ceil(1000));
        if let Some(r) = reader.as_ref() {
            // No polling: the reader's own timers, its database transactions, or a message.
            until = until
                .min(r.next_wake_ms(&sh, clock::now_ms()).unwrap_or(u64::MAX))
                .min(reading.keys().next().map_or(u64::MAX, |&(us, _)| us.div_ceil(1000)));
        }
        let until = until.max(clock::now_ms() + 1);
        let now_us = sh.fabric.recv(addr, until, &mut inbox).await;
        for env in inbox.drain(..) {
            if let (Some(r), Msg::Read(ReadMsg::ReadCommittedFetchReply { req, parts, aborted })) =
                (reader.as_mut(), &env.msg)
            {
                for t in r.on_fetch_reply(&sh, *req, parts.clone(), aborted, now_us / 1000) {
                    let cost = cfg.commit_us + (t.rows.len() as f64 * cfg.per_row_us) as u64;
                    let done = pool.run(now_us, cost);
                    arrivals += 1;
                    reading.insert((done, arrivals), t);
                }
                continue;
            }
            let cost = match &env.msg {
                Msg::Read(ReadMsg::SinkLoad { .. }) => LOAD_US,
                Msg::Read(ReadMsg::SinkTxn { rows, .. }) => cfg.commit_us + (rows.len() as f64 * cfg.per_row_us) as u64,
                // The serving layer's point reads take a connection like any transaction.
                Msg::Serving(ServingMsg::DbRead { .. }) => sh.scenario.serving.db_read_us,
                _ => continue,
            };
            let done = pool.run(now_us, cost);
            arrivals += 1;
            running.insert((done, arrivals), (env.src, env.msg));
        }
        // What a fault aimed at "the sink (or a processor) during a checkpoint" waits for.
        let senders: std::collections::BTreeSet<Addr> = running
            .values()
            .filter(|(_, m)| {
                matches!(
                    m,
                    Msg::Read(ReadMsg::SinkTxn {
                        checkpoint: Some(_),
                        ..
                    })
                )
            })
            .map(|(src, _)| *src)
            .collect();
        if reader.is_none() {
            // Under `exactly_once_txn` the processors' transactions are what a fault waits for (`processor/eos.rs`).
            *sh.checkpoint_senders.lock().expect("checkpoint senders lock") = senders;
        }
        while let Some(entry) = running.first_entry() {
            if entry.key().0 > now_us {
                break;
            }
            let (src, m) = entry.remove();
            let reply = match m {
                Msg::Read(m) => execute(&sh, m, now_us).map(Msg::Read),
                Msg::Serving(ServingMsg::DbRead { req, key }) => {
                    let value = sh.serving.lock().expect("serving lock").view.get(key);
                    Some(Msg::Serving(ServingMsg::DbValue {
                        req,
                        value,
                        served_us: now_us,
                    }))
                }
                _ => None,
            };
            if let Some(reply) = reply {
                sh.fabric.send(addr, src, reply, now_us);
            }
        }
        if let Some(r) = reader.as_mut() {
            while let Some(entry) = reading.first_entry() {
                if entry.key().0 > now_us {
                    break;
                }
                r.apply(&sh, entry.remove(), now_us);
            }
            r.drive(&sh, now_us / 1000, now_us);
        }
    }
}

/// Apply a finished request to the database and build the reply.
fn execute(sh: &Shared, m: ReadMsg, now_us: u64) -> Option<ReadMsg> {
    match m {
        ReadMsg::SinkLoad {
            req,
            partition,
            generation,
        } => {
            let result = sh.sink.lock().expect("sink lock").claim(partition, generation);
            Some(ReadMsg::SinkLoaded { req, partition, result })
        }
        ReadMsg::SinkTxn {
            req,
            partition,
            generation,
            fenced,
            rows,
            checkpoint,
        } => {
            let r = sh.sink.lock().expect("sink lock").commit(
                partition,
                (generation, req),
                fenced,
                &rows,
                checkpoint.as_ref(),
            );
            sh.trace.record(&[
                now_us / 1000,
                77,
                partition as u64,
                req,
                rows.len() as u64,
                r.is_ok() as u64,
            ]);
            if r.is_ok() && sh.layout.reader {
                sh.serving.lock().expect("serving lock").view.apply(&rows, now_us);
            }
            let result = match r {
                Ok(applied) => {
                    sh.metrics_sunk(&applied.first_rows_born_us, now_us);
                    if let Some(offset) = applied.first_checkpoint_of_generation {
                        sh.timeline(
                            TimelineKind::Checkpoint,
                            &format!("partition {partition}: first checkpoint of generation {generation} committed at offset {offset}"),
                            &[partition as u64, generation, offset],
                        );
                    }
                    Ok(())
                }
                Err(e) => {
                    if e == crate::wire::SinkError::Fenced {
                        sh.timeline(
                            TimelineKind::SinkFenced,
                            &format!("sink refused a write to partition {partition} from generation {generation}: a newer owner claimed it"),
                            &[partition as u64, generation],
                        );
                    }
                    Err(e)
                }
            };
            Some(ReadMsg::SinkTxnReply { req, partition, result })
        }
        _ => None,
    }
}
