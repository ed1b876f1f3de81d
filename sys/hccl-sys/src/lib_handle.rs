//! The opened ACL runtime and HCCL, shared by the loader that fills them and the layers
//! that call through them, with `hccl_fn!`, which finds an HCCL function in either of
//! HCCL's libraries.

use crate::ffi::{acl, hccl};
use std::path::PathBuf;

/// The ACL runtime (`libascendcl.so`).
pub struct AclLib {
    pub raw: acl::Acl,
    pub path: PathBuf,
}

/// HCCL (`libhccl.so`), with `libhcomm.so` where the former lacks a symbol.
pub struct HcclLib {
    pub raw: hccl::Hccl,
    pub path: PathBuf,
    pub hcomm: Option<(hccl::Hccl, PathBuf)>,
}

/// Both libraries, opened once per process.
pub struct Ascend {
    pub acl: AclLib,
    pub hccl: HcclLib,
}

/// Resolves an HCCL function from libhccl.so, else from libhcomm.so.
#[macro_export]
#[doc(hidden)]
macro_rules! hccl_fn {
    ($lib:expr, $name:ident) => {
        $lib.raw
            .$name
            .as_ref()
            .ok()
            .or_else(|| $lib.hcomm.as_ref().and_then(|(h, _)| h.$name.as_ref().ok()))
            .copied()
    };
}

impl AclLib {
    /// "major.minor.patch" from `aclrtGetVersion`, when the library has it.
    pub fn version(&self) -> Option<String> {
        let f = self.raw.aclrtGetVersion.as_ref().ok()?;
        let (mut a, mut b, mut c) = (0, 0, 0);
        (unsafe { f(&mut a, &mut b, &mut c) } == 0).then(|| format!("{a}.{b}.{c}"))
    }
}
