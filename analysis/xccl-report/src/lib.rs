//! Reports people look at, built offline from `--json` result files: a self-contained HTML
//! report with plots ([`html`]), a run-to-run comparison for regression checks in CI
//! ([`compare`]), and GitHub Markdown tables ([`markdown`]).
//!
//! Pure functions from typed files to text: no MPI, no vendor library, no network. The
//! report takes benchmark results ([`xccl_schema::Report`]) and the other files
//! xccl-bench writes (link matrix, prediction, train-sim), read by [`input`] through
//! xccl-schema's versioned reader, whose one-line errors name what cannot be read; a file
//! an interrupted run left (`summary.complete == false`) is reported as far as it goes,
//! and says so.

pub mod compare;
pub mod html;
pub mod input;
pub mod markdown;
mod others;
mod page;
mod plot;
mod rails;
mod sections;

#[cfg(test)]
mod testdata;

pub use compare::{compare, Comparison, Status};
pub use html::html;
pub use input::{Inputs, Run};
pub use page::Options;
