//! Health check: which large-message rows fall short of `--min-efficiency`.
//!
//! Only rows judged on bandwidth count (latency-bound rows would fail any threshold on a
//! healthy cluster); rows above the model pass. A run with shortfalls should exit non-zero
//! and print [`summary`], so that the check can gate a cluster's CI.

use crate::model::LinkClass;
use crate::verdict::{Class, Verdict};
use serde::{Deserialize, Serialize};
use std::fmt::{Display, Write};

/// A large-message row below the minimum efficiency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    /// Caller's label of the row (e.g. `all_reduce 8388608 B out-of-place`).
    pub label: String,
    pub efficiency: f64,
    pub expected_busbw_gbs: f64,
    pub measured_busbw_gbs: f64,
    pub bottleneck: LinkClass,
    pub note: String,
}

/// Rows whose verdict is large and whose efficiency is below `min_efficiency`.
pub fn shortfalls<'a, L: Display>(
    rows: impl IntoIterator<Item = (L, &'a Verdict)>,
    min_efficiency: f64,
) -> Vec<Shortfall> {
    rows.into_iter()
        .filter(|(_, v)| {
            v.large
                && !matches!(v.class, Class::NotApplicable | Class::AboveModel)
                && v.efficiency < min_efficiency
        })
        .map(|(l, v)| Shortfall {
            label: l.to_string(),
            efficiency: v.efficiency,
            expected_busbw_gbs: v.expected_busbw_gbs,
            measured_busbw_gbs: v.efficiency * v.expected_busbw_gbs,
            bottleneck: v.bottleneck,
            note: v.note.clone(),
        })
        .collect()
}

/// Human summary; empty string when there are no shortfalls.
pub fn summary(shortfalls: &[Shortfall], min_efficiency: f64) -> String {
    if shortfalls.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "health check failed: {} large-message row(s) below {min_efficiency:.2} of expected busbw\n",
        shortfalls.len()
    );
    for f in shortfalls {
        let _ = writeln!(
            s,
            "  {}: {:.3} of {:.4} GB/s = {:.4} GB/s, bottleneck {} — {}",
            f.label, f.efficiency, f.expected_busbw_gbs, f.measured_busbw_gbs, f.bottleneck, f.note
        );
    }
    s
}
