//! Slow ranks from when each rank entered and left each call.
//!
//! Ascend's tuning guidance (docs/SOURCES.md [ascend-tuning]) splits a communication
//! operation on each rank into *wait* (waiting for the slowest peer), *sync* (the wait
//! before data moves) and *transit* (data moving). An MPI library hides its internal
//! tasks, so only two instants per rank and call are visible: entry `e_i` and exit `x_i`,
//! on a clock aligned across ranks (offset to rank 0 estimated by ping-pong; its residual
//! error `ε` is the noise floor). With `L = max_j e_j` (the last rank's entry):
//!
//! - *sync* `s_i = L − e_i`: time before every rank is present, when no transfer can
//!   complete. This is msprof's "wait before the first transit".
//! - *transit* `T = min_j (x_j − L)`: the least time any rank needed once all were present,
//!   the data movement the operation cannot avoid (one value per call).
//! - *wait* `w_i = s_i + (x_i − L − T)`: all time this rank spent not moving data, i.e.
//!   sync plus waiting inside the operation for a slower peer or link.
//! - wait ratio `w/(w+T)`, sync ratio `s/(s+T)`, per rank averaged over the calls.
//!
//! The two-step 0.2 rule then reads as in that guidance: if a rank's wait ratio exceeds
//! 0.2, take the rank with the largest wait ratio; if its sync ratio also exceeds 0.2 the
//! cause is a slow *rank* — the one with the smallest wait ratio, everyone waits for it —
//! otherwise the waiting happens while data moves, a slow *link* (judged by `links`).
//! Intervals shorter than 3ε are set to 0: they cannot be told from clock error.
//!
//! Independently, each call votes: Dixon's Q (≤ 100 ranks) or MAD (above) on the per-rank
//! elapsed times `x_i − e_i` flags the low outlier (the late rank), as msprof-analyze does;
//! with 3 or more ranks the shortest also gets the vote when it stands further below the
//! next than the others spread among themselves (on a loaded host the others enter
//! milliseconds apart, which Dixon's Q at 4 ranks cannot absorb; see `clear_lead`).
//! A rank is reported `slow_rank` when the two-step rule names it *and* it got the vote in
//! at least half of the calls: one jittery call does not make a finding.

use crate::stats::{low_outlier, Test};
use xccl_schema::finding::{Finding, FindingKind, Subject};
use xccl_schema::rules::WAIT_RATIO;
use xccl_schema::RankTiming;

/// Share of the analysed rows of a run that must name the same rank (msprof votes over
/// the operations of a run; one row's bad luck does not name a rank).
pub const ROW_SHARE: f64 = 0.5;
/// Share of calls a rank must be voted late in.
pub const VOTE_SHARE: f64 = 0.5;
/// Fewest calls a row needs before it may name a rank (half of them must vote for it:
/// at least two calls in which the same rank was the outlier at 99.5 %).
pub const MIN_CALLS: usize = 4;
/// Multiple of the clock residual below which an interval counts as zero.
pub const NOISE_FACTOR: f64 = 3.0;

/// Per-rank summary over the calls of one row (µs, means over calls).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankStats {
    pub wait_us: f64,
    pub sync_us: f64,
    pub transit_us: f64,
    pub wait_ratio: f64,
    pub sync_ratio: f64,
    /// Calls in which the outlier test named this rank late.
    pub votes: usize,
}

/// What the two-step rule concluded for one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// No rank's wait ratio above 0.2.
    None,
    /// Waiting happens before data moves: this rank is late.
    SlowRank(usize),
    /// Waiting happens while data moves.
    SlowLink,
}

#[derive(Clone, Debug)]
pub struct RowAnalysis {
    pub ranks: Vec<RankStats>,
    pub calls: usize,
    pub cause: Cause,
    pub test: Test,
    /// A rank named by both the rule and the vote.
    pub slow_rank: Option<usize>,
}

/// Analyzes one row: `enter[c][r]`, `exit[c][r]` in µs on the aligned clock for call `c`
/// and rank `r`; `noise_us` is the clock residual.
pub fn analyze_row(enter: &[Vec<f64>], exit: &[Vec<f64>], noise_us: f64) -> RowAnalysis {
    let calls = enter.len().min(exit.len());
    let n = enter.first().map_or(0, Vec::len);
    let floor = NOISE_FACTOR * noise_us.max(0.0);
    let clip = |v: f64| if v < floor { 0.0 } else { v };
    let mut ranks = vec![RankStats::default(); n];
    let mut ratio_w = vec![0.0; n];
    let mut ratio_s = vec![0.0; n];
    let mut elapsed = vec![0.0; n];
    let mut scratch = Vec::with_capacity(n);
    let mut test = Test::Dixon;
    for c in 0..calls {
        let (e, x) = (&enter[c], &exit[c]);
        if e.len() != n || x.len() != n || n < 2 {
            continue;
        }
        let last = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let transit = x
            .iter()
            .map(|&xi| xi - last)
            .fold(f64::INFINITY, f64::min)
            .max(0.0);
        for r in 0..n {
            let s = clip(last - e[r]);
            let w = s + clip(x[r] - last - transit);
            let st = &mut ranks[r];
            st.sync_us += s;
            st.wait_us += w;
            st.transit_us += transit;
            ratio_w[r] += if w + transit > 0.0 {
                w / (w + transit)
            } else {
                0.0
            };
            ratio_s[r] += if s + transit > 0.0 {
                s / (s + transit)
            } else {
                0.0
            };
            elapsed[r] = x[r] - e[r];
        }
        let (hit, t) = low_outlier(&elapsed, &mut scratch);
        test = t;
        if let Some(i) = hit.or_else(|| clear_lead(&elapsed)) {
            // The vote must also beat the clock: the gap to the next-shortest time.
            let next = elapsed
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, v)| *v)
                .fold(f64::INFINITY, f64::min);
            if next - elapsed[i] > floor {
                ranks[i].votes += 1;
            }
        }
    }
    if calls > 0 {
        let k = calls as f64;
        for (r, st) in ranks.iter_mut().enumerate() {
            st.wait_us /= k;
            st.sync_us /= k;
            st.transit_us /= k;
            st.wait_ratio = ratio_w[r] / k;
            st.sync_ratio = ratio_s[r] / k;
        }
    }
    let cause = two_step(&ranks);
    let slow_rank = match cause {
        Cause::SlowRank(r)
            if calls >= MIN_CALLS && ranks[r].votes as f64 >= VOTE_SHARE * calls as f64 =>
        {
            Some(r)
        }
        _ => None,
    };
    RowAnalysis {
        ranks,
        calls,
        cause,
        test,
        slow_rank,
    }
}

impl RowAnalysis {
    /// The row's record for the JSON (`Row::ranks_timing`).
    pub fn timing(&self, clock_residual_us: f64) -> RankTiming {
        RankTiming {
            calls: self.calls,
            clock_residual_us,
            wait_ratio: self.ranks.iter().map(|s| s.wait_ratio).collect(),
            sync_ratio: self.ranks.iter().map(|s| s.sync_ratio).collect(),
            wait_us: self.ranks.iter().map(|s| s.wait_us).collect(),
            sync_us: self.ranks.iter().map(|s| s.sync_us).collect(),
            transit_us: self.ranks.first().map_or(0.0, |s| s.transit_us),
            late_votes: self.ranks.iter().map(|s| s.votes).collect(),
            slow_rank: self.slow_rank,
        }
    }

    /// Back from the JSON record (what [`findings`] needs of it).
    pub fn from_timing(t: &RankTiming) -> RowAnalysis {
        let n = t.wait_ratio.len();
        let get = |v: &Vec<f64>, i: usize| v.get(i).copied().unwrap_or(0.0);
        let ranks: Vec<RankStats> = (0..n)
            .map(|i| RankStats {
                wait_us: get(&t.wait_us, i),
                sync_us: get(&t.sync_us, i),
                transit_us: t.transit_us,
                wait_ratio: get(&t.wait_ratio, i),
                sync_ratio: get(&t.sync_ratio, i),
                votes: t.late_votes.get(i).copied().unwrap_or(0),
            })
            .collect();
        RowAnalysis {
            cause: two_step(&ranks),
            ranks,
            calls: t.calls,
            test: if n > crate::stats::MAX_DIXON {
                Test::Mad
            } else {
                Test::Dixon
            },
            slow_rank: t.slow_rank,
        }
    }
}

/// `slow_rank` findings of a whole run: a rank is named only when it is the slow one in
/// at least [`ROW_SHARE`] of the rows that were analysed (each row already required the
/// two-step rule and the vote of half its calls). `rows`: (row label, timing).
pub fn run_findings(rows: &[(String, RankTiming)], who: &[Who]) -> Vec<Finding> {
    let analysed: Vec<(String, RowAnalysis)> = rows
        .iter()
        .filter(|(_, t)| t.calls > 0)
        .map(|(l, t)| (l.clone(), RowAnalysis::from_timing(t)))
        .collect();
    let total = analysed.len();
    let mut out = vec![];
    for r in 0..who.len().max(
        analysed
            .iter()
            .map(|(_, a)| a.ranks.len())
            .max()
            .unwrap_or(0),
    ) {
        let mine: Vec<(String, RowAnalysis)> = analysed
            .iter()
            .filter(|(_, a)| a.slow_rank == Some(r))
            .cloned()
            .collect();
        if mine.is_empty() || (mine.len() as f64) < ROW_SHARE * total as f64 {
            continue;
        }
        for mut f in findings(&mine, who) {
            f.evidence = format!("slow in {} of {} rows: {}", mine.len(), total, f.evidence);
            f.metrics.insert("rows".into(), mine.len() as f64);
            f.metrics.insert("rows_analysed".into(), total as f64);
            out.push(f);
        }
    }
    out
}

/// The shortest elapsed time when it stands further below the next-shortest than the
/// other ranks spread among themselves (Dixon's r10 ratio above 1/2), for 3 or more
/// ranks. Dixon's Q at 99.5 % with 4 ranks wants the gap to be 11.5 times the others'
/// spread (Q > 0.920): on a loaded host the other ranks enter a call milliseconds apart
/// (they are scheduled late, not slow), so a rank 20 ms late every call got the vote in
/// only 2 of 8 calls and the run named nobody (emulated cluster, two busy loops). The
/// spread of the others is not evidence against the late rank: it did not wait for any
/// of them. One call still proves nothing: the vote must also beat the clock (the gap
/// over the noise floor), the rank must get it in half the calls of a row, the two-step
/// rule must name the same rank, and half the rows must agree.
fn clear_lead(elapsed: &[f64]) -> Option<usize> {
    let n = elapsed.len();
    if n < 3 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| elapsed[a].total_cmp(&elapsed[b]));
    let gap = elapsed[order[1]] - elapsed[order[0]];
    let spread = elapsed[order[n - 1]] - elapsed[order[1]];
    (gap > spread).then_some(order[0])
}

/// The two-step 0.2 rule (docs/SOURCES.md [ascend-tuning]) on per-rank ratios.
pub fn two_step(ranks: &[RankStats]) -> Cause {
    let by = |f: fn(&RankStats) -> f64, max: bool| {
        ranks
            .iter()
            .enumerate()
            .max_by(|a, b| {
                let o = f(a.1).total_cmp(&f(b.1));
                if max {
                    o
                } else {
                    o.reverse()
                }
            })
            .map(|(i, _)| i)
    };
    let Some(top) = by(|s| s.wait_ratio, true) else {
        return Cause::None;
    };
    if ranks[top].wait_ratio <= WAIT_RATIO {
        return Cause::None;
    }
    if ranks[top].sync_ratio > WAIT_RATIO {
        Cause::SlowRank(by(|s| s.wait_ratio, false).expect("non-empty"))
    } else {
        Cause::SlowLink
    }
}

/// Who a rank is, for the finding's subject.
#[derive(Clone, Debug, PartialEq)]
pub struct Who {
    pub host: String,
    pub device: String,
}

/// One `slow_rank` finding per rank named in any row; `rows` holds (row label, analysis).
pub fn findings(rows: &[(String, RowAnalysis)], who: &[Who]) -> Vec<Finding> {
    let mut out: Vec<Finding> = vec![];
    // (rank, row labels, others' wait ratio, late µs, votes, calls)
    type Named<'a> = (usize, Vec<&'a str>, f64, f64, usize, usize);
    let mut named: Vec<Named> = vec![];
    for (label, a) in rows {
        if let Some(r) = a.slow_rank {
            // Others' mean wait ratio: how much of their time the late rank costs them.
            let others: Vec<f64> = a
                .ranks
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != r)
                .map(|(_, s)| s.wait_ratio)
                .collect();
            let others = others.iter().sum::<f64>() / others.len().max(1) as f64;
            let late = a.ranks.iter().map(|s| s.sync_us).fold(0.0, f64::max);
            match named.iter_mut().find(|n| n.0 == r) {
                Some(n) => {
                    n.1.push(label);
                    n.2 = n.2.max(others);
                    n.3 = n.3.max(late);
                    n.4 += a.ranks[r].votes;
                    n.5 += a.calls;
                }
                None => named.push((r, vec![label], others, late, a.ranks[r].votes, a.calls)),
            }
        }
    }
    for (r, labels, others, late, votes, calls) in named {
        let w = who.get(r).cloned().unwrap_or(Who {
            host: "?".into(),
            device: "?".into(),
        });
        let mut metrics = std::collections::BTreeMap::new();
        metrics.insert("others_wait_ratio".into(), others);
        metrics.insert("late_us".into(), late);
        metrics.insert("votes".into(), votes as f64);
        metrics.insert("calls".into(), calls as f64);
        out.push(Finding {
            kind: FindingKind::SlowRank,
            subject: Subject::Rank {
                rank: r,
                host: w.host,
                device: w.device,
            },
            evidence: format!(
                "entered last in {votes} of {calls} calls (outlier test at 99.5%); the other ranks \
                 waited {:.2} of their time for it, before any data moved (two-step rule: wait \
                 and sync ratio > {WAIT_RATIO}); up to {:.0} us late; rows: {}",
                others,
                late,
                labels.join(", ")
            ),
            metrics,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` ranks, transit `t`, rank `late` enters `d` µs after the others, jitter `j`.
    fn calls(
        n: usize,
        k: usize,
        t: f64,
        late: Option<(usize, f64)>,
    ) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        let mut e = vec![];
        let mut x = vec![];
        for c in 0..k {
            let base = c as f64 * 10_000.0;
            // Deterministic jitter of a few µs per rank.
            let ei: Vec<f64> = (0..n)
                .map(|r| {
                    let d = match late {
                        Some((lr, d)) if lr == r => d,
                        _ => 0.0,
                    };
                    base + ((r * 7 + c * 3) % 5) as f64 + d
                })
                .collect();
            let last = ei.iter().copied().fold(f64::MIN, f64::max);
            let xi: Vec<f64> = (0..n).map(|r| last + t + ((r + c) % 3) as f64).collect();
            e.push(ei);
            x.push(xi);
        }
        (e, x)
    }

    #[test]
    fn delayed_rank_is_named() {
        // 4 ranks, transit 1000 µs, rank 2 late by 2000 µs: others' sync ≈ 2000, so
        // sync ratio ≈ 2000/3000 = 0.67 > 0.2 → slow rank; rank 2 waits least.
        let (e, x) = calls(4, 8, 1000.0, Some((2, 2000.0)));
        let a = analyze_row(&e, &x, 5.0);
        assert_eq!(a.cause, Cause::SlowRank(2));
        assert_eq!(a.slow_rank, Some(2));
        assert_eq!(a.ranks[2].votes, 8);
        assert!(
            (a.ranks[0].sync_ratio - 0.66).abs() < 0.02,
            "{:?}",
            a.ranks[0]
        );
        let f = findings(
            &[("all_reduce 1048576 B".into(), a)],
            &(0..4)
                .map(|i| Who {
                    host: format!("n{i}"),
                    device: "host".into(),
                })
                .collect::<Vec<_>>(),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].subject,
            Subject::Rank {
                rank: 2,
                host: "n2".into(),
                device: "host".into()
            }
        );
    }

    #[test]
    fn healthy_and_jitter_give_nothing() {
        let (e, x) = calls(4, 8, 1000.0, None);
        let a = analyze_row(&e, &x, 5.0);
        assert_eq!(a.cause, Cause::None);
        assert_eq!(a.slow_rank, None);
        // Jitter (≤ 4 µs) is under the noise floor 3·5 µs: no vote at all.
        assert!(a.ranks.iter().all(|s| s.votes == 0));
    }

    #[test]
    fn slow_link_is_not_a_slow_rank() {
        // Everyone enters together; rank 1 leaves 800 µs after the others (a slow link
        // on its path): its wait is after data started, sync ratio 0 → SlowLink.
        let (e, mut x) = calls(4, 8, 1000.0, None);
        for (c, xc) in x.iter_mut().enumerate() {
            for (r, v) in xc.iter_mut().enumerate() {
                if r != 1 {
                    *v += 800.0 + c as f64 * 0.0;
                }
            }
        }
        // Ranks 0, 2, 3 now wait 800 µs inside the call while rank 1 does not.
        let a = analyze_row(&e, &x, 5.0);
        assert_eq!(a.cause, Cause::SlowLink);
        assert_eq!(a.slow_rank, None);
    }

    #[test]
    fn run_vote_needs_half_the_rows() {
        let who: Vec<Who> = (0..4)
            .map(|i| Who {
                host: format!("n{i}"),
                device: "host".into(),
            })
            .collect();
        let (e, x) = calls(4, 8, 1000.0, Some((2, 2000.0)));
        let late = analyze_row(&e, &x, 5.0).timing(5.0);
        let (e, x) = calls(4, 8, 1000.0, None);
        let fine = analyze_row(&e, &x, 5.0).timing(5.0);
        assert_eq!(late.slow_rank, Some(2));
        assert_eq!(fine.slow_rank, None);
        // Round trip through the JSON record keeps what the rule needs.
        let back = RowAnalysis::from_timing(&late);
        assert_eq!(back.cause, Cause::SlowRank(2));
        let row = |l: &str, t: &RankTiming| (l.to_string(), t.clone());
        // 2 of 4 rows name rank 2: half → named once, with the row count.
        let f = run_findings(
            &[
                row("a", &late),
                row("b", &fine),
                row("c", &late),
                row("d", &fine),
            ],
            &who,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].metrics["rows"], 2.0);
        assert!(
            f[0].evidence.starts_with("slow in 2 of 4 rows"),
            "{}",
            f[0].evidence
        );
        // 1 of 3 rows: one row's bad luck names nobody.
        let f = run_findings(&[row("a", &late), row("b", &fine), row("c", &fine)], &who);
        assert!(f.is_empty());
        assert!(run_findings(&[], &who).is_empty());
        // Three calls are too few to name anyone, however late.
        let (e, x) = calls(4, MIN_CALLS - 1, 1000.0, Some((2, 2000.0)));
        assert_eq!(analyze_row(&e, &x, 5.0).slow_rank, None);
    }

    #[test]
    fn many_ranks_use_mad() {
        let (e, x) = calls(300, 4, 1000.0, Some((123, 3000.0)));
        let a = analyze_row(&e, &x, 5.0);
        assert_eq!(a.test, Test::Mad);
        assert_eq!(a.slow_rank, Some(123));
    }

    #[test]
    fn late_rank_beside_loaded_peers_is_named() {
        // 4 ranks, transit 300 µs, rank 2 enters 20 000 µs late every call, and the other
        // three enter up to 3000 µs apart (a loaded host schedules them late): in call c,
        // ranks 0, 1, 3 enter at base + 0, 1500, 3000 µs rotated by c. Elapsed: the late
        // rank ≈ 300, the others ≈ 20 300 − 0/1500/3000 → 17 300..20 300. Dixon's Q =
        // (17 300 − 300) / (20 300 − 300) = 0.85 < 0.920 (99.5 %, n = 4): no vote by Q;
        // the gap 17 000 exceeds the others' spread 3000 → the vote, every call.
        let (n, k) = (4, 8);
        let (mut e, mut x) = (vec![], vec![]);
        for c in 0..k {
            let base = c as f64 * 100_000.0;
            let others = [0usize, 1, 3];
            let mut ei = vec![0.0; n];
            for (j, &r) in others.iter().enumerate() {
                ei[r] = base + 1500.0 * ((j + c) % 3) as f64;
            }
            ei[2] = base + 20_000.0;
            let last = base + 20_000.0;
            x.push((0..n).map(|r| last + 300.0 + r as f64).collect::<Vec<_>>());
            e.push(ei);
        }
        let a = analyze_row(&e, &x, 27.6);
        assert_eq!(a.cause, Cause::SlowRank(2));
        assert_eq!(a.ranks[2].votes, 8, "{:?}", a.ranks);
        assert_eq!(a.slow_rank, Some(2));
        // Healthy under the same load: nobody late, entries 0, 1000, 2000, 3000 µs
        // (rotated): elapsed ≈ 300, 1300, 2300, 3300; the shortest leads the next by
        // 1000 µs, the others spread 2000 µs: not more → no vote, nobody is named.
        let (mut e, mut x) = (vec![], vec![]);
        for c in 0..k {
            let base = c as f64 * 100_000.0;
            let ei: Vec<f64> = (0..n)
                .map(|r| base + 1000.0 * ((r + c) % n) as f64)
                .collect();
            let last = base + 3000.0;
            x.push((0..n).map(|r| last + 300.0 + r as f64).collect::<Vec<_>>());
            e.push(ei);
        }
        let a = analyze_row(&e, &x, 27.6);
        assert!(a.ranks.iter().all(|s| s.votes == 0), "{:?}", a.ranks);
        assert_eq!(a.slow_rank, None);
    }
}
