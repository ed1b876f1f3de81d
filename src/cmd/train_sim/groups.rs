//! The communicators of one rank in `train-sim`'s step: split from the world by the
//! layout's TP, DP, PP and EP coordinates, as Megatron builds its groups.
#![cfg(feature = "mpi")]

use super::transport::api::StepComm;
use crate::error::{BenchError, Result};
use xccl_train::layout::Dims;

/// Communicators of one rank.
pub struct Comms<C: StepComm> {
    pub all: C::Group,
    pub tp: C::Group,
    pub dp: C::Group,
    pub ep: Option<C::Group>,
    /// Expert parameters' DP group (same place in the EP group), when ep > 1.
    pub edp: Option<C::Group>,
    pub stage: u64,
    pub pp: u64,
    /// Neighbour ranks in `all` (a ring: the interleaved schedule sends from the last
    /// stage to the first).
    pub prev: usize,
    pub next: usize,
}

impl<C: StepComm> Comms<C> {
    /// The groups of this rank for the first `d.dp` replicas of a world laid out with
    /// `full_dp` (collective over the world); `None` on the ranks of the other replicas.
    pub fn new(t: &mut C, d: Dims, full_dp: u64) -> Result<Option<Self>> {
        let world = t.world()?;
        let r = t.rank(&world) as u64;
        let (ti, di, pi) = (r % d.tp, (r / d.tp) % full_dp, r / (d.tp * full_dp));
        let active = di < d.dp;
        let key = (ti + d.tp * (di + d.dp * pi)) as u32;
        let Some(all) = t.split(&world, active.then_some(0), key)? else {
            return Ok(None);
        };
        let split = |t: &mut C, color: u64, key: u64, what: &str| -> Result<C::Group> {
            t.split(&all, Some(color as u32), key as u32)?
                .ok_or_else(|| BenchError::Backend(format!("{what} split gave no group")))
        };
        let tp = split(t, di + d.dp * pi, ti, "tp")?;
        let dp = split(t, ti + d.tp * pi, di, "dp")?;
        let ep = if d.ep > 1 {
            let groups = d.dp / d.ep;
            Some(split(t, (ti + d.tp * pi) * groups + di / d.ep, di, "ep")?)
        } else {
            None
        };
        let edp = if d.ep > 1 {
            Some(split(
                t,
                (ti + d.tp * pi) * d.ep + di % d.ep,
                di / d.ep,
                "expert dp",
            )?)
        } else {
            None
        };
        let stride = (d.tp * d.dp) as usize;
        let me = t.rank(&all);
        let span = stride * (d.pp as usize - 1);
        Ok(Some(Comms {
            stage: pi,
            pp: d.pp,
            prev: if pi == 0 { me + span } else { me - stride },
            next: if pi + 1 == d.pp {
                me - span
            } else {
                me + stride
            },
            all,
            tp,
            dp,
            ep,
            edp,
        }))
    }

    /// The DP group of a message: the expert parameters' when `expert` (and ep > 1).
    pub fn dp_of(&self, expert: bool) -> &C::Group {
        if expert {
            self.edp.as_ref().unwrap_or(&self.dp)
        } else {
            &self.dp
        }
    }
}
