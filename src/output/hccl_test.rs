//! `--format hccl_test`: rows in hccl_test's columns (see
//! [`crate::backend::hccl::hccl_test`] for its size and algbw conventions), one line per
//! size from the out-of-place measurement, as hccl_test prints from its root rank.

use super::Sink;
use crate::backend::hccl::hccl_test::{algbw_gbs, data_size, format_row, header};
use crate::error::Result;
use crate::result::{Row, RunMeta, Summary};
use crate::types::DataType;
use std::io::Write;

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
            .find(|r| r.placement == "out-of-place")
            .or(group.first())
        else {
            return Ok(());
        };
        let elem = r.dtype.parse::<DataType>().map_or(1, |t| t.size());
        let coll = r.collective.parse().expect("collective name");
        let n = r.per_rank.mean_us.len();
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
