//! Rows in hccl_test's columns, for people who compare against Ascend's own benchmark.
//!
//! hccl_test prints, from the root rank only, `data_size(Bytes)`, `aveg_time(us)`,
//! `alg_bandwidth(GB/s)` and `check_result` (success / failed / NULL when not checked),
//! without bus bandwidth. Its data size is per NPU, and its algbw divides per-NPU bytes
//! by time for all_reduce, broadcast, reduce and alltoall, but size × ranks for
//! all_gather and reduce_scatter (hccl_test's sources, docs/SOURCES.md [hccl-test]). Those
//! numbers therefore differ from the nccl-tests algbw in the main table for the same run;
//! [`algbw_gbs`] computes hccl_test's figure from the per-rank count so the two are never
//! mixed up.
//!
//! `--format hccl_test` prints them from the out-of-place measurement, one line per size,
//! as hccl_test prints from its root rank.

use super::Sink;
use crate::coll::CollKind;
use crate::error::Result;
use crate::result::{Placement, Row, RunMeta, Summary};
use std::io::Write;

const W: [usize; 4] = [20, 20, 24, 16];

/// The column header line.
pub fn header() -> String {
    format!(
        "{:<w0$}{:<w1$}{:<w2$}{:<w3$}",
        "data_size(Bytes):",
        "aveg_time(us):",
        "alg_bandwidth(GB/s):",
        "check_result:",
        w0 = W[0],
        w1 = W[1],
        w2 = W[2],
        w3 = W[3]
    )
}

/// One row; `check` is `None` when no check ran (hccl_test prints NULL).
pub fn format_row(
    size_bytes: u64,
    avg_time_us: f64,
    algbw_gbs: f64,
    check: Option<bool>,
) -> String {
    let check = match check {
        Some(true) => "success",
        Some(false) => "failed",
        None => "NULL",
    };
    format!(
        "{:<w0$}{:<w1$.2}{:<w2$.5}{:<w3$}",
        size_bytes,
        avg_time_us,
        algbw_gbs,
        check,
        w0 = W[0],
        w1 = W[1],
        w2 = W[2],
        w3 = W[3]
    )
    .trim_end()
    .to_string()
}

/// hccl_test's data size: the per-NPU bytes (`count × element size`).
pub fn data_size(count: usize, elem: usize) -> u64 {
    (count * elem) as u64
}

/// hccl_test's algbw in GB/s (1e9 B/s) for `count` elements per rank taking `time_us`.
pub fn algbw_gbs(coll: CollKind, count: usize, elem: usize, nranks: usize, time_us: f64) -> f64 {
    if time_us <= 0.0 {
        return 0.0;
    }
    let per_npu = (count * elem) as f64;
    let bytes = match coll {
        CollKind::AllGather | CollKind::ReduceScatter => per_npu * nranks as f64,
        _ => per_npu,
    };
    bytes / (time_us * 1e-6) / 1e9
}

pub struct HcclTestSink {
    out: Box<dyn Write>,
}

impl HcclTestSink {
    pub fn new(out: Box<dyn Write>) -> Self {
        HcclTestSink { out }
    }
}

impl Sink for HcclTestSink {
    fn begin(&mut self, m: &RunMeta) -> Result<()> {
        writeln!(
            self.out,
            "# xccl-bench {} {} ({} {}), {} ranks, hccl_test columns",
            m.tool_version, m.collective, m.backend.library, m.backend.version, m.nranks
        )
        .ok();
        writeln!(self.out, "{}", header()).ok();
        Ok(())
    }
    fn rows(&mut self, group: &[Row]) -> Result<()> {
        let Some(r) = group
            .iter()
            .find(|r| r.placement == Placement::OutOfPlace)
            .or(group.first())
        else {
            return Ok(());
        };
        let elem = r.dtype.size();
        let coll = r.collective;
        let n = r.nranks();
        let line = format_row(
            data_size(r.count as usize, elem),
            r.time_us.avg,
            algbw_gbs(coll, r.count as usize, elem, n, r.time_us.avg),
            r.wrong.map(|w| w == 0),
        );
        writeln!(self.out, "{line}").ok();
        self.out.flush().ok();
        Ok(())
    }
    fn end(&mut self, _s: &Summary) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions() {
        // 1 MiB per NPU in 100 us on 8 ranks.
        let c = (1 << 20) / 4;
        let per = (1u64 << 20) as f64 / 100e-6 / 1e9;
        assert!((algbw_gbs(CollKind::AllReduce, c, 4, 8, 100.0) - per).abs() < 1e-9);
        assert!((algbw_gbs(CollKind::Alltoall, c, 4, 8, 100.0) - per).abs() < 1e-9);
        assert!((algbw_gbs(CollKind::Broadcast, c, 4, 8, 100.0) - per).abs() < 1e-9);
        assert!((algbw_gbs(CollKind::AllGather, c, 4, 8, 100.0) - 8.0 * per).abs() < 1e-9);
        assert!((algbw_gbs(CollKind::ReduceScatter, c, 4, 8, 100.0) - 8.0 * per).abs() < 1e-9);
        assert_eq!(data_size(c, 4), 1 << 20);
    }

    #[test]
    fn rows_line_up_with_header() {
        let h = header();
        let r = format_row(8192, 25.58, 0.32026, Some(true));
        assert_eq!(
            r,
            format!("{:<20}{:<20}{:<24}{}", 8192, "25.58", "0.32026", "success")
        );
        assert!(h.starts_with("data_size(Bytes):   aveg_time(us):"));
        assert!(format_row(8, 1.0, 0.0, None).ends_with("NULL"));
        assert!(format_row(8, 1.0, 0.0, Some(false)).ends_with("failed"));
    }
}
