//! How the ranks of a vendor communicator-to-be meet: rank 0 asks the library for an id
//! (NCCL's unique id, HCCL's root info) and every rank gets its bytes before calling the
//! library's init. The vendors' set-up (the `comm` module beside each device backend) is
//! written once against [`Rendezvous`]; who carries the bytes is the caller's:
//!
//! - the launcher's world ([`World`], here): the benchmark's one communicator; an error on
//!   rank 0 reaches every rank through [`agree`], and rank 0 alone reports it;
//! - an MPI communicator of the group (train-sim's transport): the world's communicator
//!   and, on libraries without a split call, each group's.

use crate::error::Result;
use crate::world::{agree, World};

/// The ranks that will form one communicator, and how rank 0's id reaches them.
pub trait Rendezvous {
    /// This rank in the communicator to be made.
    fn rank(&self) -> usize;
    /// Ranks in the communicator to be made.
    fn size(&self) -> usize;
    /// Fills `id` on every rank with rank 0's `made` (its outcome of `call`, e.g.
    /// "ncclGetUniqueId"; `None` on the other ranks), or returns an error on every rank
    /// where rank 0 could not make one. Collective over the ranks.
    fn share(&self, made: Option<Result<Vec<u8>>>, id: &mut [u8], call: &str) -> Result<()>;

    /// Rank 0's id of `len` bytes, which `make` makes there (by `call`), on every rank.
    fn id(
        &self,
        len: usize,
        call: &str,
        make: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let made = (self.rank() == 0).then(make);
        let mut id = vec![0u8; len];
        self.share(made, &mut id, call)?;
        Ok(id)
    }
}

/// The benchmark's way: the id's outcome agreed on over the world, then its bytes
/// broadcast.
impl Rendezvous for dyn World + '_ {
    fn rank(&self) -> usize {
        World::rank(self)
    }

    fn size(&self) -> usize {
        World::size(self)
    }

    fn share(&self, made: Option<Result<Vec<u8>>>, id: &mut [u8], _call: &str) -> Result<()> {
        if let Some(bytes) = agree(self, made.transpose())? {
            id.copy_from_slice(&bytes);
        }
        self.broadcast_bytes(0, id);
        Ok(())
    }
}
