//! Errors of the prediction crate: each is one line naming the input at fault, so the
//! binary can print it and exit 2 (bad input).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error("{0}")]
    Input(String),
    #[error("cannot read {path}: {msg}")]
    File { path: String, msg: String },
}

pub type Result<T> = std::result::Result<T, TrainError>;

pub(crate) fn bad(msg: impl Into<String>) -> TrainError {
    TrainError::Input(msg.into())
}
