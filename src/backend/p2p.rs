//! Point-to-point on device memory, timed with device events: what `links --backend
//! nccl|hccl` measures per device pair. Each backend issues a [`Step`] as its library's
//! own send/receive on its stream (NCCL: `ncclSend`/`ncclRecv` inside a group; HCCL:
//! `HcclSend`/`HcclRecv`, both ways as one `HcclBatchSendRecv`), so the path timed is
//! the library's: GPUDirect RDMA and the NIC it chooses.

/// One exchange with the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Send,
    Recv,
    /// A send and a receive at once (one group / batch).
    Both,
    /// A send to the first rank and a receive from the second at once (one group /
    /// batch): a ring's step (`links --screen` per device); the `peer` argument unused.
    Ring(usize, usize),
}

impl Step {
    /// Whether it sends and receives at once (one group / batch).
    pub fn exchanges(self) -> bool {
        matches!(self, Step::Both | Step::Ring(..))
    }

    /// The rank it sends to and the rank it receives from, given the call's `peer`.
    pub fn ends(self, peer: usize) -> (usize, usize) {
        match self {
            Step::Ring(to, from) => (to, from),
            _ => (peer, peer),
        }
    }
}

/// Device-timed point-to-point with one peer at a time.
pub trait DeviceP2p: super::Backend {
    /// Runs `steps` once (warm-up: connection set-up), then `reps` times between two
    /// device events, `bytes` per message from `send` / into `recv`, with communicator
    /// rank `peer`; the seconds between the events, after the stream has finished.
    fn p2p_timed(
        &mut self,
        send: &Self::Buf,
        recv: &Self::Buf,
        peer: usize,
        bytes: usize,
        steps: &[Step],
        reps: usize,
    ) -> crate::error::Result<f64>;
}
