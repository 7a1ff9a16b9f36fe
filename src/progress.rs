//! Progress on stderr for a person at a terminal; nothing at all otherwise,
//! so CI logs, pipes and tests see only the results.
//!
//! Built on `indicatif`: the progress bar most Rust command-line tools use,
//! actively maintained, and it already solves what a hand-rolled bar gets
//! wrong: redraw rate limiting, terminal width, updates from several worker
//! threads, and printing lines above the bar without tearing it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar or spinner; every method is a no-op when it is hidden.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Whether stderr is a terminal a person watches, who did not ask for
    /// `--quiet`.
    fn visible() -> bool {
        std::io::stderr().is_terminal() && !crate::ui::quiet()
    }

    fn target() -> ProgressDrawTarget {
        if Self::visible() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A bar over the `total` runs of a sweep.
    pub fn sweep(total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), Self::target());
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs, eta {eta} {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        if Self::visible() {
            // Keeps the clock and the estimate moving between finished runs.
            bar.enable_steady_tick(Duration::from_millis(500));
        }
        Progress { bar }
    }

    /// A spinner for one run, with its wall time; the run's virtual clock is
    /// not visible from outside the simulation thread.
    pub fn run(label: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(None, Self::target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .expect("static template")
                .tick_chars("|/-\\ "),
        );
        bar.set_message(label.to_string());
        if Self::visible() {
            // The ticker is a thread; only start it when something is drawn.
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Progress { bar }
    }

    /// One more run finished; `note` is shown after the counts.
    pub fn advance(&self, note: String) {
        self.bar.set_message(note);
        self.bar.inc(1);
    }

    /// Prints a line to stderr above the bar without tearing it.
    pub fn eprintln(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Removes the bar, leaving the terminal as it was.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
