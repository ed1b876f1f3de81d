//! What every world offers: rank, size, node, local rank, the few control-plane
//! exchanges, and agreeing on an outcome across ranks.

use crate::error::{BenchError, Result};
use crate::rules::ExitCode;

pub trait World {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Rank among the processes on this node (shared-memory split of the world).
    fn local_rank(&self) -> usize;
    fn local_size(&self) -> usize;
    fn hostname(&self) -> &str;
    fn barrier(&self);
    /// Broadcast `buf` from `root`; every rank passes a buffer of the same length.
    fn broadcast_bytes(&self, root: usize, buf: &mut [u8]);
    /// Every rank's `data` (any length), on rank 0 only.
    fn gather_bytes(&self, data: &[u8]) -> Option<Vec<Vec<u8>>>;
    fn allreduce_max(&self, v: f64) -> f64;
    /// Ends every rank of the job at once (used when a collective hangs or a rank fails
    /// alone). Safe to call from the watchdog thread.
    fn aborter(&self) -> Aborter;
    /// Name and version of the MPI library, if any.
    fn mpi_library(&self) -> Option<String>;
    /// For backends that need the concrete world (the MPI backend needs its communicator).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Ends the job; `Send` so the timeout watchdog can hold one.
#[derive(Clone, Copy)]
pub struct Aborter {
    pub(super) abort_fn: fn(i32) -> !,
}

impl Aborter {
    pub fn abort(&self, code: i32) -> ! {
        (self.abort_fn)(code)
    }
}

/// Every rank's value of `data` on every rank (gather to 0, then broadcast).
pub fn allgather_bytes(world: &dyn World, data: &[u8]) -> Vec<Vec<u8>> {
    let gathered = world.gather_bytes(data);
    let blob = gathered
        .map(|v| serde_json::to_vec(&v).expect("serialize"))
        .unwrap_or_default();
    serde_json::from_slice(&share_from_0(world, blob)).expect("deserialize")
}

/// Rank 0's `data` on every rank (length first, then the bytes).
pub fn share_from_0(world: &dyn World, mut data: Vec<u8>) -> Vec<u8> {
    let mut len = (data.len() as u64).to_le_bytes();
    world.broadcast_bytes(0, &mut len);
    data.resize(u64::from_le_bytes(len) as usize, 0);
    world.broadcast_bytes(0, &mut data);
    data
}

/// Where the job runs: every rank's (hostname, local rank), and the hosts in the order of
/// their first rank. Collective: every rank calls it.
pub fn job_layout(world: &dyn World) -> (Vec<(String, usize)>, Vec<String>) {
    let all: Vec<(String, usize)> = allgather_bytes(
        world,
        &serde_json::to_vec(&(world.hostname(), world.local_rank())).expect("json"),
    )
    .iter()
    .map(|b| serde_json::from_slice(b).expect("rank info"))
    .collect();
    let mut hosts: Vec<String> = vec![];
    for (h, _) in &all {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    (all, hosts)
}

/// Turns a per-rank outcome into one outcome for the whole job: if any rank failed, every
/// rank returns an error with the first failing rank's exit code, and rank 0's error
/// carries that rank's message (so rank 0 alone prints it).
pub fn agree<T>(world: &dyn World, r: Result<T>) -> Result<T> {
    let local = match &r {
        Ok(_) => String::new(),
        Err(e) => format!("{}\n{e}", e.exit_code()),
    };
    let first = world.gather_bytes(local.as_bytes()).and_then(|all| {
        all.iter()
            .enumerate()
            .find(|(_, m)| !m.is_empty())
            .map(|(rank, m)| {
                let m = String::from_utf8_lossy(m).into_owned();
                let failed = ExitCode::Failed.code();
                let (code, text) = m.split_once('\n').unwrap_or(("", &m));
                (
                    rank,
                    code.parse::<i32>().unwrap_or(failed),
                    text.to_string(),
                )
            })
    });
    let mut code_bytes = first.as_ref().map_or(0i32, |f| f.1).to_le_bytes();
    world.broadcast_bytes(0, &mut code_bytes);
    let code = i32::from_le_bytes(code_bytes);
    if code == 0 {
        return r;
    }
    let text = match (&first, r) {
        (Some((0, _, t)), _) => t.clone(),
        (Some((k, _, t)), _) => format!("rank {k}: {t}"),
        (None, Err(e)) => e.to_string(),
        (None, Ok(_)) => String::new(),
    };
    Err(if code == ExitCode::Usage.code() {
        BenchError::Usage(text)
    } else {
        BenchError::Backend(text)
    })
}
