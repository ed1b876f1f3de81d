//! What `train-sim`'s step asks of a communication library: the operations ([`Op`],
//! [`Xfer`]) and the trait each transport implements ([`StepComm`]).

use crate::error::Result;

/// Which collective an [`Op`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coll {
    AllReduce,
    ReduceScatter,
    AllGather,
    Alltoall,
}

/// One collective of the step on a group, with `count` as the libraries count it.
/// Reductions are sums of f32; alltoall moves bytes.
/// - all-reduce: `count` f32 from `send` summed over the group into `recv`;
/// - reduce-scatter: `send` holds `count` × group size f32; this rank's `count` sums land
///   in `recv`;
/// - all-gather: `send` holds `count` f32; `recv` gets every rank's, in rank order;
/// - alltoall: `count` bytes to and from every rank of the group.
pub struct Op<'a, B> {
    pub coll: Coll,
    pub send: &'a B,
    pub recv: &'a mut B,
    pub count: usize,
}

/// One send or receive of a [`StepComm::batch`], in bytes.
pub enum Xfer<'a, B> {
    Send {
        buf: &'a B,
        bytes: usize,
        peer: usize,
    },
    Recv {
        buf: &'a mut B,
        bytes: usize,
        peer: usize,
    },
}

/// The transport `train-sim` runs its step on. All methods are called in the same order
/// on every rank of the groups involved (split, collectives), as every library requires.
pub trait StepComm {
    /// A communicator over some ranks.
    type Group;
    /// A message buffer (host or device memory).
    type Buf;
    /// An operation started and not yet waited for.
    type Handle;

    /// "MPI", "NCCL 2.28.3", "HCCL": for the report's header.
    fn describe(&self) -> String;

    /// The communicator over every rank of the launch.
    fn world(&mut self) -> Result<Self::Group>;

    /// Splits `parent` (collective over it): ranks with the same color form one group,
    /// ordered by key; `None` takes this rank out (it gets no group).
    fn split(
        &mut self,
        parent: &Self::Group,
        color: Option<u32>,
        key: u32,
    ) -> Result<Option<Self::Group>>;

    fn size(&self, g: &Self::Group) -> usize;
    fn rank(&self, g: &Self::Group) -> usize;

    /// A buffer of at least `bytes` (and at least 4) bytes, zeroed.
    fn alloc(&mut self, bytes: usize) -> Result<Self::Buf>;

    /// Runs `op` on `g` and returns when it is complete on this rank.
    fn run(&mut self, g: &Self::Group, op: Op<'_, Self::Buf>);

    /// Posts every send and receive of `items` on `g` at once and returns when all are
    /// complete: Megatron's batched isend/irecv of one pipeline call (the interleaved
    /// schedule sends and receives in both directions at once; posted together they
    /// cannot block on each other). Messages between two ranks match in the order each
    /// rank posts them, as NCCL (which has no tags) matches them; the schedule posts both
    /// sides in the same order. MPI: `MPI_Irecv`s and `MPI_Isend`s, then `MPI_Waitall`;
    /// NCCL: one `ncclGroupStart`/`ncclGroupEnd` group; HCCL: one `HcclBatchSendRecv`.
    fn batch(&mut self, g: &Self::Group, items: &mut [Xfer<'_, Self::Buf>]);

    /// Starts `op` on `g` (MPI: a non-blocking call; NCCL/HCCL: enqueued on the group's
    /// stream) and returns at once.
    ///
    /// # Safety
    /// The buffers in `op` must stay alive, unmoved and untouched until the handle has
    /// been waited for (or tested complete).
    unsafe fn start(&mut self, g: &Self::Group, op: Op<'_, Self::Buf>) -> Self::Handle;

    /// Whether the operation is complete (and lets the library progress it).
    fn test(&mut self, h: &mut Self::Handle) -> bool;

    /// Blocks until the operation is complete.
    fn wait(&mut self, h: Self::Handle);

    /// A barrier over `g` before each step (host bookkeeping, over MPI).
    fn barrier(&mut self, g: &Self::Group);

    /// The maximum of `v` over `g` (host bookkeeping, over MPI).
    fn max(&mut self, g: &Self::Group, v: f64) -> f64;

    /// Whether started operations must be issued in the same order relative to the
    /// layer path's blocking ones on every rank. NCCL asks this of communicators used
    /// concurrently ("Using multiple NCCL communicators concurrently": a kernel waiting
    /// for a peer can block another communicator's kernel), and the stand-in libraries
    /// run every call to completion when issued; MPI's non-blocking collectives progress
    /// independently, so MPI keeps issuing buckets by the clock.
    fn ordered_issue(&self) -> bool;
}
