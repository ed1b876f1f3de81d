//! Reports people look at, built offline from `--json` result files: a self-contained HTML
//! report with plots ([`html`]), a run-to-run comparison for regression checks in CI
//! ([`compare`]), and GitHub Markdown tables ([`markdown`]).
//!
//! Pure functions from [`xccl_schema::Report`]s to text: no MPI, no vendor library, no
//! network. Files are read by the caller through [`xccl_schema::read_report`], whose
//! one-line errors name what cannot be read; a file an interrupted run left
//! (`summary.complete == false`) is reported as far as it goes, and says so.

pub mod compare;
pub mod html;
pub mod markdown;
mod plot;

#[cfg(test)]
mod testdata;

pub use compare::{compare, Comparison, Status, DEFAULT_THRESHOLD};
pub use html::{html, Options, Run};
