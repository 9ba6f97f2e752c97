//! Progress of a long step on stderr: a bar on a terminal; where stderr
//! is a file or a pipe (CI logs, `nohup`), a short line every few seconds
//! instead of silence; nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// How often a line is printed where there is no terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// A step's progress.
pub struct Progress {
    how: How,
}

enum How {
    Hidden,
    Bar(ProgressBar),
    Lines {
        name: &'static str,
        last: Option<Instant>,
    },
}

impl Progress {
    /// Progress of `name`, out of `len` units, shown per `template`
    /// (indicatif's) on a terminal.
    pub fn new(name: &'static str, len: u64, template: &str, quiet: bool) -> Progress {
        let how = if quiet {
            How::Hidden
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            How::Bar(bar)
        } else {
            How::Lines { name, last: None }
        };
        Progress { how }
    }

    /// Moves to `position` with `message`; a line when there is no
    /// terminal and the last line is a few seconds old.
    pub fn update(&mut self, position: u64, message: String) {
        match &mut self.how {
            How::Hidden => {}
            How::Bar(bar) => {
                bar.set_position(position);
                bar.set_message(message);
            }
            How::Lines { name, last } => {
                if last.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
                    *last = Some(Instant::now());
                    eprintln!("{name}: {message}");
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let How::Bar(bar) = &self.how {
            bar.finish_and_clear();
        }
    }
}

/// What is left of a run that stops after at least `min` processes (when
/// precise enough) or when `max` is spent: `about X s left (at most Y s)`
/// while processes are missing, else `at most Y s left`.
pub fn time_left(elapsed: Duration, done: usize, min: usize, max: Duration) -> String {
    let at_most = max.saturating_sub(elapsed).as_secs();
    if done == 0 || done >= min {
        return format!("at most {at_most} s left");
    }
    let per_process = elapsed.as_secs_f64() / done as f64;
    let about = ((min - done) as f64 * per_process).min(at_most as f64);
    format!("about {about:.0} s left (at most {at_most} s)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_counts_the_missing_processes_within_the_limit() {
        let s = Duration::from_secs;
        assert_eq!(time_left(s(20), 10, 10, s(120)), "at most 100 s left");
        assert_eq!(
            time_left(s(20), 4, 10, s(120)),
            "about 30 s left (at most 100 s)"
        );
        assert_eq!(
            time_left(s(100), 1, 10, s(120)),
            "about 20 s left (at most 20 s)"
        );
        assert_eq!(
            time_left(s(200), 3, 10, s(120)),
            "about 0 s left (at most 0 s)"
        );
    }
}
