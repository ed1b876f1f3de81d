//! Progress of a long sweep on rank 0's stderr: table lines done of the total, the row
//! being measured, elapsed time and ETA. Never on stdout (the table), nor in the JSON, CSV
//! or Markdown files.
//!
//! When to draw (`--progress auto`, the default) — a person must be watching:
//! - rank 0's stderr is a terminal (a run without launcher, `srun --pty`): draw there;
//! - otherwise, under a launcher, stderr is a pipe to it (Open MPI 4.1 gives each rank a
//!   pty for stdout only: stdout is a terminal even when mpirun's output goes to a file,
//!   so it tells nothing; and /dev/tty opens whenever the job has a controlling terminal,
//!   redirected or not). What tells is the launcher's own stderr: rank 0 walks up its
//!   parent processes to the launcher (`mpirun`, `mpiexec`, `orterun`, `prterun`,
//!   `mpiexec.hydra`, `srun`) and draws when that process's fd 2 is a terminal, the
//!   launcher forwarding the bar there. A rank launched on another host than the
//!   launcher (orted, slurmstepd) cannot see it: no progress unless `--progress always`.
//! - `--progress always` draws anyway: a bar on a terminal, else a plain line at most
//!   every [`LINE_EVERY`]; `never` draws nothing.

use super::Sink;
use crate::coll::CollKind;
use crate::error::Result;
use crate::result::{Row, RunMeta, Summary};
use crate::types::format_size;
use crate::types::{DataType, ReduceOp};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Plain progress lines (`--progress always` without a terminal) come at most this often.
pub const LINE_EVERY: Duration = Duration::from_secs(10);

/// Where progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Our own stderr is a terminal.
    Terminal,
    /// Our stderr is a pipe to a launcher whose stderr is a terminal.
    Forwarded,
    /// Plain lines, rate-limited.
    Lines,
}

/// Names of launchers whose stderr is where a rank's stderr ends up.
const LAUNCHERS: [&str; 7] = [
    "mpirun",
    "mpiexec",
    "orterun",
    "prterun",
    "prte",
    "mpiexec.hydra",
    "srun",
];

/// The parent pid of `pid` (field 4 of /proc/PID/stat, after the parenthesized name).
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the nearest launcher above this process writes its stderr to a terminal.
pub fn launcher_stderr_is_terminal() -> bool {
    let mut pid = std::process::id();
    for _ in 0..8 {
        let Some(p) = parent(pid).filter(|p| *p > 1) else {
            return false;
        };
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        if LAUNCHERS.contains(&comm.trim()) {
            return std::fs::read_link(format!("/proc/{p}/fd/2"))
                .map(|l| is_tty_path(&l.to_string_lossy()))
                .unwrap_or(false);
        }
        pid = p;
    }
    false
}

fn is_tty_path(p: &str) -> bool {
    p.starts_with("/dev/pts/") || p.starts_with("/dev/tty") || p == "/dev/console"
}

/// Applies the rule of the module docs.
pub fn choose(mode: ProgressMode) -> Option<Target> {
    let own = std::io::stderr().is_terminal();
    match mode {
        ProgressMode::Never => None,
        _ if own => Some(Target::Terminal),
        _ if launcher_stderr_is_terminal() => Some(Target::Forwarded),
        ProgressMode::Always => Some(Target::Lines),
        ProgressMode::Auto => None,
    }
}

/// stderr drawn on as the terminal it ends up on (through the launcher): indicatif's
/// own stderr target stays hidden when stderr is a pipe.
#[derive(Debug)]
struct ForwardedStderr {
    width: u16,
}

impl ForwardedStderr {
    fn new() -> Self {
        // The launcher's terminal is the job's controlling terminal; ask it its width.
        let width = std::fs::File::open("/dev/tty")
            .ok()
            .and_then(|f| {
                use std::os::fd::AsRawFd;
                let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
                // SAFETY: TIOCGWINSZ fills a winsize for a terminal fd; `ws` outlives it.
                let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
                (rc == 0 && ws.ws_col > 0).then_some(ws.ws_col)
            })
            .unwrap_or(100);
        ForwardedStderr { width }
    }
    fn out(&self, s: &str) -> std::io::Result<()> {
        std::io::stderr().write_all(s.as_bytes())
    }
}

impl TermLike for ForwardedStderr {
    fn width(&self) -> u16 {
        self.width
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.out(&format!("\x1b[{n}A"))?;
        }
        Ok(())
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.out(&format!("\x1b[{n}B"))?;
        }
        Ok(())
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.out(&format!("\x1b[{n}C"))?;
        }
        Ok(())
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        if n > 0 {
            self.out(&format!("\x1b[{n}D"))?;
        }
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.out(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.out(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.out("\r\x1b[2K")
    }
    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The sweep's loop order, to name the row being measured: types, ops, roots, sizes.
struct Order {
    coll: String,
    sizes: Vec<u64>,
    dtypes: Vec<String>,
    ops: Vec<String>,
    roots: Vec<usize>,
}

impl Order {
    fn describe(&self, pos: u64) -> String {
        let (ns, nr, no) = (
            self.sizes.len() as u64,
            self.roots.len() as u64,
            self.ops.len() as u64,
        );
        let per_cycle = ns * nr * no * self.dtypes.len() as u64;
        if per_cycle == 0 {
            return self.coll.clone();
        }
        let p = pos % per_cycle;
        let size = self.sizes[(p % ns) as usize];
        let root = self.roots[(p / ns % nr) as usize];
        let op = &self.ops[(p / ns / nr % no) as usize];
        let dtype = &self.dtypes[(p / ns / nr / no) as usize];
        let mut s = format!("{} {} {dtype}", self.coll, format_size(size));
        if !op.is_empty() {
            s += &format!(" {op}");
        }
        if self.roots.len() > 1 {
            s += &format!(" root {root}");
        }
        s
    }
}

/// When progress is shown (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    Auto,
    Always,
    Never,
}

/// Rank 0's progress sink.
pub struct Progress {
    target: Target,
    bar: Option<ProgressBar>,
    order: Order,
    /// Table lines (one per size, type, op, root; out-of-place and in-place together) in
    /// the whole sweep; None with `-N 0` (runs until interrupted).
    total: Option<u64>,
    /// Lines a skipped type/op removes from the total.
    per_skip: u64,
    done: u64,
    start: Instant,
    last_line: Option<Instant>,
}

/// What progress needs to know of a sweep: the table lines it will print and their order.
pub struct Layout<'a> {
    pub coll: CollKind,
    pub sizes: &'a [u64],
    pub dtypes: &'a [DataType],
    pub ops: &'a [ReduceOp],
    pub roots: &'a [usize],
    /// Sweeps run (`-N`); 0 runs until interrupted.
    pub cycles: usize,
}

/// Table lines of a sweep: sizes × types × ops × roots (ops and roots only where the
/// collective has them) × cycles.
pub fn total_lines(sw: &Layout) -> Option<u64> {
    let imp = sw.coll.imp();
    let ops = if imp.has_op() { sw.ops.len() } else { 1 };
    let roots = if imp.has_root() { sw.roots.len() } else { 1 };
    let one = (sw.sizes.len() * sw.dtypes.len() * ops * roots) as u64;
    (sw.cycles > 0).then_some(one * sw.cycles as u64)
}

impl Progress {
    pub fn new(target: Target, sw: &Layout) -> Self {
        let imp = sw.coll.imp();
        let order = Order {
            coll: sw.coll.to_string(),
            sizes: sw.sizes.to_vec(),
            dtypes: sw.dtypes.iter().map(|d| d.to_string()).collect(),
            ops: if imp.has_op() {
                sw.ops.iter().map(|o| o.to_string()).collect()
            } else {
                vec![String::new()]
            },
            roots: if imp.has_root() {
                sw.roots.to_vec()
            } else {
                vec![0]
            },
        };
        let total = total_lines(sw);
        let per_skip = (sw.sizes.len() * order.roots.len()) as u64;
        let bar = match target {
            Target::Lines => None,
            t => {
                let draw = if t == Target::Terminal {
                    ProgressDrawTarget::stderr()
                } else {
                    ProgressDrawTarget::term_like(Box::new(ForwardedStderr::new()))
                };
                let bar = ProgressBar::with_draw_target(total, draw);
                let template = if total.is_some() {
                    "[xccl-bench] {bar:24} {pos}/{len} rows  {msg}  elapsed {elapsed}  ETA {eta}"
                } else {
                    "[xccl-bench] {spinner} {pos} rows  {msg}  elapsed {elapsed}"
                };
                bar.set_style(
                    ProgressStyle::with_template(template)
                        .expect("valid template")
                        .progress_chars("=> "),
                );
                bar.enable_steady_tick(Duration::from_secs(1));
                Some(bar)
            }
        };
        Progress {
            target,
            bar,
            order,
            total,
            per_skip,
            done: 0,
            start: Instant::now(),
            last_line: None,
        }
    }

    fn eta(&self) -> Option<Duration> {
        let total = self.total?;
        (self.done > 0).then(|| {
            self.start
                .elapsed()
                .mul_f64((total.saturating_sub(self.done)) as f64 / self.done as f64)
        })
    }

    fn line(&mut self, force: bool) {
        let now = Instant::now();
        if !force && self.last_line.is_some_and(|t| now - t < LINE_EVERY) {
            return;
        }
        self.last_line = Some(now);
        let of = self.total.map_or(String::new(), |t| format!("/{t}"));
        let eta = self
            .eta()
            .map_or(String::new(), |e| format!(", ETA {}", secs(e)));
        crate::error::say(&format!(
            "[xccl-bench] {}{of} rows, elapsed {}{eta}; now {}",
            self.done,
            secs(self.start.elapsed()),
            self.order.describe(self.done)
        ));
    }

    fn update(&mut self) {
        let now = self.order.describe(self.done);
        match &self.bar {
            Some(b) => {
                b.set_position(self.done);
                b.set_message(now);
            }
            None => self.line(false),
        }
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s / 60 % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

impl Sink for Progress {
    fn begin(&mut self, _: &RunMeta) -> Result<()> {
        self.start = Instant::now();
        self.update();
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        if !group.is_empty() {
            self.done += 1;
        }
        self.update();
        Ok(())
    }
    fn note(&mut self, msg: &str) {
        // The harness skips a type/op the backend lacks: its lines will not come.
        if msg.starts_with("skipping ") {
            if let (Some(t), Some(b)) = (self.total.as_mut(), &self.bar) {
                *t = t.saturating_sub(self.per_skip);
                b.set_length(*t);
            } else if let Some(t) = self.total.as_mut() {
                *t = t.saturating_sub(self.per_skip);
            }
        }
    }
    fn end(&mut self, _: &Summary) -> Result<()> {
        match self.bar.take() {
            Some(b) => b.finish_and_clear(),
            None if self.target == Target::Lines => crate::error::say(&format!(
                "[xccl-bench] {} rows done in {}",
                self.done,
                secs(self.start.elapsed())
            )),
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_paths() {
        assert!(is_tty_path("/dev/pts/3"));
        assert!(is_tty_path("/dev/tty1"));
        assert!(!is_tty_path("pipe:[1234]"));
        assert!(!is_tty_path("/tmp/log"));
    }

    #[test]
    fn rows_are_named_in_loop_order() {
        let o = Order {
            coll: "reduce".into(),
            sizes: vec![8, 1024],
            dtypes: vec!["float".into(), "half".into()],
            ops: vec!["sum".into(), "max".into()],
            roots: vec![0, 1],
        };
        // Sizes vary fastest, then roots, ops, types: position 5 = size index 1, root 0,
        // op 1 (5 / 4 = 1), type 0.
        assert_eq!(o.describe(0), "reduce 8 float sum root 0");
        assert_eq!(o.describe(5), "reduce 1K float max root 0");
        assert_eq!(o.describe(15), "reduce 1K half max root 1");
        assert_eq!(secs(Duration::from_secs(3725)), "1h02m");
        assert_eq!(secs(Duration::from_secs(125)), "2m05s");
    }
}
