//! Small hand-made results for the unit tests: every number is chosen so the expected
//! answer can be worked out by hand in the test.

use xccl_schema::result::{BackendInfo, PerRank, RankInfo, RunMeta, Settings, Summary, TimeStats};
use xccl_schema::{CollKind, DataType, Placement, ReduceOp, Report, Row, SCHEMA_VERSION};

/// An all_reduce float sum out-of-place row of 2 ranks: `avg_us` mean time (p50 = avg,
/// p99 = 1.5·avg), busbw from size/time with the all_reduce factor 2(n-1)/n = 1.
pub fn row(size: u64, avg_us: f64, precision: f64) -> Row {
    let algbw = size as f64 / (avg_us * 1e-6) / 1e9;
    Row {
        collective: CollKind::AllReduce,
        size_bytes: size,
        count: size / 4,
        dtype: DataType::Float,
        op: Some(ReduceOp::Sum),
        op_impl: None,
        root: -1,
        placement: Placement::OutOfPlace,
        iters: 20,
        time_us: TimeStats {
            avg: avg_us,
            min: avg_us * 0.9,
            max: avg_us * 2.0,
            p50: avg_us,
            p99: avg_us * 1.5,
        },
        algbw_gbs: algbw,
        busbw_gbs: algbw,
        wrong: Some(0),
        precision,
        per_rank: PerRank {
            mean_us: vec![avg_us * 0.95, avg_us * 1.05],
            p50_us: vec![avg_us * 0.95, avg_us * 1.05],
            p99_us: vec![avg_us * 1.4, avg_us * 1.5],
        },
        verdict: None,
        ranks_timing: None,
    }
}

pub fn report(rows: Vec<Row>) -> Report {
    let rank = |r: usize| RankInfo {
        rank: r,
        host: "node1".into(),
        pid: 100 + r as u32,
        local_rank: r,
        device: "host".into(),
    };
    Report {
        meta: RunMeta {
            schema_version: SCHEMA_VERSION,
            tool: "xccl-bench".into(),
            tool_version: "0.1.0".into(),
            started_unix: 1_700_000_000,
            collective: CollKind::AllReduce,
            backend: BackendInfo {
                name: "mpi".into(),
                library: "Open MPI".into(),
                version: "4.1.4".into(),
                device: "host".into(),
            },
            mpi_library: Some("Open MPI 4.1.4".into()),
            nranks: 2,
            hosts: vec!["node1".into()],
            ranks_per_host: vec![2],
            ranks: vec![rank(0), rank(1)],
            args: vec!["xccl-bench".into(), "all_reduce".into()],
            settings: Settings {
                min_bytes: 1024,
                max_bytes: 4096,
                step_factor: Some(2.0),
                step_bytes: None,
                iters: 20,
                warmup_iters: 5,
                check_iters: 1,
                ..Default::default()
            },
        },
        summary: Summary {
            wrong_total: 0,
            check_ok: true,
            avg_busbw_gbs: rows.iter().map(|r| r.busbw_gbs).sum::<f64>() / rows.len().max(1) as f64,
            complete: true,
            error: None,
        },
        rows,
        findings: vec![],
        imported: None,
    }
}
