//! The numbers every judgement uses, each defined once with where it comes from. The
//! runtime, the analysis crates and the HTML report import them from here, so that a
//! threshold changed here changes every verdict, finding, plot line and `--help` default.

/// A link delivers about 0.8 of its nominal bandwidth in practice, so a large-message
/// result at or above 0.8 of what the links should give is bandwidth-bound (healthy), and
/// a link below 0.8 of the rate expected of it is slow. Ascend's cluster analysis judges
/// link utilisation against the same 0.8 (msprof-analyze's communication advisor; see
/// docs/SOURCES.md, [ascend-tuning] and [msprof-analyze]).
pub const BANDWIDTH_EFFICIENCY: f64 = 0.8;

/// The two-step slow-rank rule's threshold on the wait and sync ratios
/// (docs/SOURCES.md, [ascend-tuning]).
pub const WAIT_RATIO: f64 = 0.2;

/// A flow slowed below this share of its rate alone is contended: two flows on one
/// bottleneck get about half each, and 0.75 leaves room for noise on either side.
pub const CONTENDED: f64 = 0.75;

/// Linearity (scaling efficiency) below which, once data loading and the host are ruled
/// out, communication is the bottleneck (docs/SOURCES.md, [ascend-tuning]).
pub const LINEARITY: f64 = 0.8;

/// Relative slowdown of a row that `compare` calls a regression.
pub const REGRESSION: f64 = 0.05;

/// The exit status of every command, one meaning per number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    /// Everything measured, every check right, nothing found.
    Ok = 0,
    /// A wrong element, a library or device failure, or a file that could not be written.
    Failed = 1,
    /// Bad input: flags, values, files. One line names the problem.
    Usage = 2,
    /// `-T` caught a collective that did not finish in time.
    Hang = 3,
    /// A diagnosing command found something, or `--min-efficiency` was not reached.
    Findings = 4,
    /// `compare` found a regression.
    Regression = 5,
}

impl ExitCode {
    /// The number the process exits with.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

impl From<ExitCode> for i32 {
    fn from(c: ExitCode) -> i32 {
        c.code()
    }
}
