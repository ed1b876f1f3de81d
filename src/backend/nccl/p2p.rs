//! `ncclSend`/`ncclRecv` with one peer, timed with CUDA events ([`DeviceP2p`]).

use super::{backend_err, NcclBackend, NcclBuf};
use crate::backend::p2p::{DeviceP2p, Step};
use crate::error::Result;
use cuda::Event;
use nccl_sys::{sys as n, Group};

use super::cuda;

impl DeviceP2p for NcclBackend {
    fn p2p_timed(
        &mut self,
        send: &NcclBuf,
        recv: &NcclBuf,
        peer: usize,
        bytes: usize,
        steps: &[Step],
        reps: usize,
    ) -> Result<f64> {
        let l = &self.locals[0];
        let r0 = l.rank;
        l.gpu.make_current().map_err(|x| self.err(r0, x))?;
        while self.events.len() < 2 {
            let ev = Event::new(&self.locals[0].gpu).map_err(|x| self.err(r0, x))?;
            self.events.push(ev);
        }
        let l = &self.locals[0];
        let (s_ptr, r_ptr) = (send.parts[0].at(0), recv.parts[0].at(0));
        let stream = l.stream.raw() as n::cudaStream_t;
        let issue = |step: Step| -> Result<()> {
            let grp = Group::start(self.lib).map_err(backend_err)?;
            let (to, from) = step.ends(peer);
            unsafe {
                if step == Step::Send || step.exchanges() {
                    l.comm
                        .send(s_ptr, bytes, n::ncclUint8, to, stream)
                        .map_err(backend_err)?;
                }
                if step == Step::Recv || step.exchanges() {
                    l.comm
                        .recv(r_ptr, bytes, n::ncclUint8, from, stream)
                        .map_err(backend_err)?;
                }
            }
            grp.end().map_err(backend_err)
        };
        for &s in steps {
            issue(s)?;
        }
        self.events[0]
            .record(&l.stream)
            .map_err(|x| self.err(r0, x))?;
        for _ in 0..reps {
            for &s in steps {
                issue(s)?;
            }
        }
        self.events[1]
            .record(&l.stream)
            .map_err(|x| self.err(r0, x))?;
        l.stream.synchronize().map_err(|x| self.err(r0, x))?;
        l.comm.async_error().map_err(backend_err)?;
        let ms = self.events[0]
            .elapsed_ms(&self.events[1])
            .map_err(|x| self.err(r0, x))?;
        Ok(f64::from(ms) / 1e3)
    }
}
