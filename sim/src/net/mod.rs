//! The project's own network, on madsim's executor and timers.
//!
//! madsim's `Endpoint` sleeps at least 1 ms per send and per receive, which
//! caps a receive loop near 1,000 messages per virtual second; a broker
//! must take far more. The [`Fabric`] instead keeps one time-ordered
//! mailbox per node and wakes a node once per tick for everything due.

mod alarms;
mod by_destination;
mod fabric;
mod link;
mod mailbox;

pub use by_destination::ByDestination;
pub use fabric::Fabric;
pub use link::{Cut, Degrade};
pub use mailbox::Envelope;
