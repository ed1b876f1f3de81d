//! `HcclSend`/`HcclRecv` with one peer (both ways: one `HcclBatchSendRecv`), timed with
//! ACL events ([`DeviceP2p`]).

use super::HcclBackend;
use crate::backend::p2p::{DeviceP2p, Step};
use crate::error::{BenchError, Result};
use hccl_sys::{hccl as h, DevBuf, Event};

impl DeviceP2p for HcclBackend {
    fn p2p_timed(
        &mut self,
        send: &DevBuf,
        recv: &DevBuf,
        peer: usize,
        bytes: usize,
        steps: &[Step],
        reps: usize,
    ) -> Result<f64> {
        if steps.iter().any(|s| s.exchanges()) && !self.comm.has("HcclBatchSendRecv") {
            return Err(BenchError::Unsupported(format!(
                "links both ways: this HCCL ({}) has no HcclBatchSendRecv",
                self.lib.hccl.path.display()
            )));
        }
        while self.events.len() < 2 {
            self.events
                .push(Event::new(&self.dev).map_err(|e| self.err(e))?);
        }
        let (sp, rp) = (send.ptr_at(0), recv.ptr_at(0));
        let count = bytes as u64;
        let t = h::HCCL_DATA_TYPE_UINT8;
        let s = self.stream.raw();
        let issue = |step: Step| -> Result<()> {
            let c = &self.comm;
            let r = unsafe {
                match step {
                    Step::Send => c.send(sp, count, t, peer as u32, s),
                    Step::Recv => c.recv(rp, count, t, peer as u32, s),
                    Step::Both | Step::Ring(..) => {
                        let (to, from) = step.ends(peer);
                        let item = |ty, buf, rank: usize| h::HcclSendRecvItem {
                            sendRecvType: ty,
                            buf,
                            count,
                            dataType: t,
                            remoteRank: rank as u32,
                        };
                        let mut items = [item(h::HCCL_SEND, sp, to), item(h::HCCL_RECV, rp, from)];
                        c.batch_send_recv(&mut items, s)
                    }
                }
            };
            r.map_err(|e| self.err(e))
        };
        for &st in steps {
            issue(st)?;
        }
        self.events[0]
            .record(&self.stream)
            .map_err(|e| self.err(e))?;
        for _ in 0..reps {
            for &st in steps {
                issue(st)?;
            }
        }
        self.events[1]
            .record(&self.stream)
            .map_err(|e| self.err(e))?;
        self.stream.synchronize().map_err(|e| self.err(e))?;
        let ms = self.events[0]
            .elapsed_ms(&self.events[1])
            .map_err(|e| self.err(e))?;
        Ok(f64::from(ms) / 1e3)
    }
}
