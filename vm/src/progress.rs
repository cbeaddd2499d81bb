//! Progress of a long run: the outermost loop's iteration, the latest scalar
//! output this party received in it (a training step's loss, say), and an ETA,
//! on a bar (indicatif) when standard output is a terminal. A party that
//! `run-local` started reports to its parent as lines instead, and the parent
//! draws the one bar of the run.

use indicatif::{ProgressBar, ProgressStyle};

/// The prefix of a progress line a party sends to `run-local`.
pub const LINE_PREFIX: &str = "\u{1e}progress ";

/// Where progress goes.
pub enum Progress {
    /// Nowhere (standard output is not a terminal, or `--quiet`).
    Off,
    /// A bar on this terminal.
    Bar(ProgressBar),
    /// Lines for `run-local`, which draws the bar.
    Lines,
}

impl Progress {
    /// A bar if standard output is a terminal and the run is not quiet.
    pub fn for_terminal(quiet: bool) -> Progress {
        use std::io::IsTerminal;
        if quiet || !std::io::stdout().is_terminal() {
            Progress::Off
        } else {
            Progress::Bar(bar())
        }
    }

    /// Iteration `done` of `total` of an outermost loop, with the latest news.
    pub fn update(&self, done: u64, total: u64, news: &str) {
        match self {
            Progress::Off => {}
            Progress::Bar(b) => show(b, done, total, news),
            Progress::Lines => println!("{LINE_PREFIX}{done} {total} {news}"),
        }
    }

    /// A line the program printed, without tearing the bar.
    pub fn println(&self, line: &str) {
        match self {
            Progress::Bar(b) if !b.is_hidden() => b.println(line),
            _ => println!("{line}"),
        }
    }

    /// Removes the bar at the end of the run.
    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

/// A hidden bar until the first update: a run without loops shows none.
pub fn bar() -> ProgressBar {
    let b = ProgressBar::hidden();
    b.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} (eta {eta})")
            .expect("a valid template"),
    );
    b
}

/// Shows iteration `done` of `total` on `b`.
pub fn show(b: &ProgressBar, done: u64, total: u64, news: &str) {
    if b.is_hidden() {
        b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    if b.length() != Some(total) {
        b.reset();
        b.set_length(total);
    }
    b.set_position(done);
    b.set_message(news.to_string());
}

/// Parses a progress line a party sent: `(done, total, news)`.
pub fn parse_line(line: &str) -> Option<(u64, u64, String)> {
    let rest = line.strip_prefix(LINE_PREFIX)?;
    let mut parts = rest.splitn(3, ' ');
    let done = parts.next()?.parse().ok()?;
    let total = parts.next()?.parse().ok()?;
    Some((done, total, parts.next().unwrap_or("").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_round_trip() {
        let line = format!("{LINE_PREFIX}12 468 loss = 0.52");
        assert_eq!(parse_line(&line), Some((12, 468, "loss = 0.52".into())));
        assert_eq!(parse_line("loss = 0.52"), None);
    }
}
