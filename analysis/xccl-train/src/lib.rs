//! What a training job will get: FLOPs, MFU/HFU, the communication of a step per parallel
//! dimension, its time from measured collectives (or the topology model), the step time
//! with exposed communication and pipeline bubble, and linearity from one device to the
//! whole job. Used by `xccl-bench predict` and `xccl-bench train-sim`.
//!
//! Like every analysis crate it needs neither MPI nor a vendor library: it reads sweep
//! files and answers with plain data, so it can be tested anywhere.
//!
//! - [`model`]: model and device presets and TOML files.
//! - [`layout`]: parallel dimensions, batch, recompute, ZeRO, overlap.
//! - [`flops`]: FLOPs matrix by matrix, MFU, HFU (exact and Korthikanti forms).
//! - [`gemm`]: the matrix products of a layer (train-sim's compute, calibrate's shapes).
//! - [`calib`]: the device file of measured GEMM rates (`calibrate`, `predict --device`).
//! - [`comm`]: messages of a step per dimension and the communicator each runs on.
//! - [`timer`]: collective times from measured sweeps (α–β fit, interpolation) or the
//!   topology model.
//! - [`predict`]: step time, breakdown, throughput, linearity.
//! - [`memory`]: weights, gradients, optimizer states and activations per device.
//! - [`search`]: the layouts that fit on N devices, ranked by predicted throughput.
//! - [`schedule`]: the pipeline schedule (plain and interleaved 1F1B) as actions.
//! - [`output`]: the typed `predict --json` and `train-sim --json` files.

pub mod calib;
pub mod comm;
pub mod error;
pub mod flops;
pub mod gemm;
pub mod layout;
pub mod memory;
pub mod model;
pub mod output;
pub mod predict;
pub mod schedule;
pub mod search;
pub mod timer;

pub use error::{Result, TrainError};
