//! Compact sets of event sequences, shared by the ledgers, the sink's
//! tables and the checkers: kept as ranges, so their size follows the
//! gaps between what they hold, not the number of events.

pub mod copies;
pub mod interval_set;
pub mod seq_bitmap;

pub use copies::{ClientCopies, Copies};
pub use interval_set::IntervalSet;
pub use seq_bitmap::SeqBitmap;
