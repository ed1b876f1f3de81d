//! HCCL communicator set-up, written once for the benchmark's HCCL backend and
//! `train-sim`'s HCCL transport, as hccl_test does it: ACL and HCCL loaded, this rank's
//! NPU opened (local rank modulo NPUs per node), and communicators initialized from rank
//! 0's root info (`HcclGetRootInfo`, carried by a [`Rendezvous`], then
//! `HcclCommInitRootInfo`). [`probe`] says, for `xccl-bench list`, whether the first
//! steps can work here.

use crate::backend::rendezvous::Rendezvous;
use crate::error::{BenchError, Result};
use crate::world::World;
use hccl_sys::{Ascend, Comm, Device, RootInfo, ROOT_INFO_BYTES};
use std::rc::Rc;

fn backend_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Backend(e.to_string())
}

/// Loads ACL and HCCL and opens this rank's NPU: local rank modulo `per_node` (hccl_test's
/// `-p`; `None`: the NPUs the runtime sees).
pub fn open(world: &dyn World, per_node: Option<usize>) -> Result<(&'static Ascend, Rc<Device>)> {
    let rank = world.rank();
    let host = world.hostname();
    let lib = hccl_sys::load().map_err(backend_err)?;
    let count = Device::count(lib).map_err(|e| backend_err(e.with_rank(rank)))? as usize;
    if count == 0 {
        return Err(BenchError::Backend(format!(
            "no Ascend NPU visible on {host} (aclrtGetDeviceCount = 0)"
        )));
    }
    let per_node = per_node.unwrap_or(count);
    if per_node == 0 {
        return Err(BenchError::Usage(
            "-p (NPUs per node) must be at least 1".into(),
        ));
    }
    let id = world.local_rank() % per_node;
    if id >= count {
        return Err(BenchError::Backend(format!(
            "rank {rank} on {host} wants NPU {id} (local rank {} mod -p {per_node}) but only {count} are visible",
            world.local_rank()
        )));
    }
    let dev = Device::open(lib, id as i32).map_err(|e| backend_err(e.with_rank(rank)))?;
    Ok((lib, dev))
}

/// One communicator over the ranks of `via`: `HcclCommInitRootInfo` on rank 0's root
/// info (`HcclGetRootInfo`).
pub fn init<R: Rendezvous + ?Sized>(lib: &'static Ascend, via: &R) -> Result<Comm> {
    let info = via.id(ROOT_INFO_BYTES, "HcclGetRootInfo", || {
        RootInfo::new(lib)
            .map(|r| r.to_bytes())
            .map_err(backend_err)
    })?;
    let info = RootInfo::from_bytes(&info);
    Comm::init_root_info(lib, via.size(), &info, via.rank()).map_err(backend_err)
}

/// `Ok(library paths and version)` when HCCL and ACL load here, else why not (every
/// place looked). For `xccl-bench list`.
pub fn probe() -> std::result::Result<String, String> {
    let lib = hccl_sys::load().map_err(|e| e.to_string())?;
    let hcomm = lib
        .hccl
        .hcomm
        .as_ref()
        .map(|(_, p)| format!(" + {}", p.display()))
        .unwrap_or_default();
    let devices = match Device::count(lib) {
        Ok(n) => format!("{n} NPU(s) visible"),
        Err(e) => format!("no NPU usable: {e}"),
    };
    Ok(format!(
        "HCCL {}{hcomm}, ACL runtime {} ({}); {devices}",
        lib.hccl.path.display(),
        lib.acl
            .version()
            .unwrap_or_else(|| "version unknown".into()),
        lib.acl.path.display()
    ))
}
