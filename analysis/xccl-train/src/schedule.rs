//! The pipeline schedule of one step on one stage, as a list of actions: Megatron's plain
//! 1F1B (`forward_backward_pipelining_without_interleaving`) for vp = 1 and its interleaved
//! 1F1B (`forward_backward_pipelining_with_interleaving`) for vp > 1.
//!
//! Why a list: `train-sim` executes it (compute waits and point-to-point calls on the
//! real communicators) and `comm` counts its messages, so the simulated step and the
//! predicted one are the same schedule; and a list can be checked here without MPI (every
//! send meets its receive, nothing deadlocks, every chunk runs every micro-batch).
//!
//! Interleaved: stage `s` holds model chunks `0..vp`, chunk `c` being virtual stage
//! `c·pp + s` of `pp·vp`; activations go to the next rank in a ring (the last rank feeds
//! chunk `c + 1` on rank 0), gradients the other way. A step runs `m·vp` chunk-forwards
//! and as many chunk-backwards, in groups of `pp` micro-batches per chunk; warm-up
//! `(pp − s − 1)·2 + (vp − 1)·pp` forwards, bounded by `m·vp` (all of them when m = pp),
//! then one forward + one backward + one batched exchange with both neighbours, then the
//! cool-down backwards. Megatron requires m to be a multiple of pp (`Layout::check`).

/// One point-to-point call: the transfers it makes, all at once (Megatron batches them
/// with `batch_isend_irecv`). Forward activations go to the next stage, gradients to
/// the previous one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct P2p {
    /// Activation to the next stage.
    pub send_next: bool,
    /// Activation from the previous stage.
    pub recv_prev: bool,
    /// Gradient to the previous stage.
    pub send_prev: bool,
    /// Gradient from the next stage.
    pub recv_next: bool,
}

impl P2p {
    /// Messages of this call (a send or a receive each).
    pub fn messages(&self) -> u64 {
        [
            self.send_next,
            self.recv_prev,
            self.send_prev,
            self.recv_next,
        ]
        .iter()
        .filter(|x| **x)
        .count() as u64
    }
    pub fn is_empty(&self) -> bool {
        self.messages() == 0
    }
}

/// One action of a stage's step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Forward of one micro-batch through model chunk `chunk` (0 when vp = 1).
    Forward {
        chunk: u64,
    },
    /// Backward of one micro-batch through model chunk `chunk`.
    Backward {
        chunk: u64,
    },
    P2p(P2p),
}

/// The actions of stage `stage` (0-based) in a step of `m` micro-batches on `pp` stages
/// with `vp` chunks each. Empty point-to-point calls are left out.
pub fn pipeline(pp: u64, vp: u64, m: u64, stage: u64) -> Vec<Action> {
    let mut out = if vp <= 1 {
        plain(pp, m, stage)
    } else {
        interleaved(pp, vp, m, stage)
    };
    out.retain(|a| !matches!(a, Action::P2p(p) if p.is_empty()));
    out
}

/// Plain 1F1B: warm-up `pp − stage − 1` forwards, steady one-forward-one-backward with
/// `send_forward_recv_backward` / `send_backward_recv_forward`, cool-down backwards.
fn plain(pp: u64, m: u64, stage: u64) -> Vec<Action> {
    let (first, last) = (stage == 0, stage + 1 == pp);
    let recv_forward = Action::P2p(P2p {
        recv_prev: !first,
        ..P2p::default()
    });
    let send_forward = Action::P2p(P2p {
        send_next: !last,
        ..P2p::default()
    });
    let recv_backward = Action::P2p(P2p {
        recv_next: !last,
        ..P2p::default()
    });
    let send_backward = Action::P2p(P2p {
        send_prev: !first,
        ..P2p::default()
    });
    let warmup = (pp - stage - 1).min(m);
    let remaining = m - warmup;
    let mut a = Vec::new();
    for _ in 0..warmup {
        a.extend([recv_forward, Action::Forward { chunk: 0 }, send_forward]);
    }
    if remaining > 0 {
        a.push(recv_forward);
    }
    for i in 0..remaining {
        a.push(Action::Forward { chunk: 0 });
        a.push(Action::P2p(P2p {
            send_next: !last,
            recv_next: !last,
            ..P2p::default()
        }));
        a.push(Action::Backward { chunk: 0 });
        a.push(if i + 1 == remaining {
            send_backward
        } else {
            Action::P2p(P2p {
                send_prev: !first,
                recv_prev: !first,
                ..P2p::default()
            })
        });
    }
    for _ in 0..warmup {
        a.extend([recv_backward, Action::Backward { chunk: 0 }, send_backward]);
    }
    a
}

/// Warm-up forwards of a stage in the interleaved schedule (Megatron's
/// `num_warmup_microbatches`; all of them when m = pp).
pub fn interleaved_warmup(pp: u64, vp: u64, m: u64, stage: u64) -> u64 {
    let total = m * vp;
    if m == pp {
        total
    } else {
        ((pp - stage - 1) * 2 + (vp - 1) * pp).min(total)
    }
}

/// Megatron's interleaved 1F1B, transcribed (the `recv_prev` / `recv_next` rules decide
/// which call receives the tensor each chunk needs next).
fn interleaved(pp: u64, vp: u64, m: u64, stage: u64) -> Vec<Action> {
    let total = (m * vp) as i64;
    let group = (pp * vp) as i64;
    // get_model_chunk_id: micro-batches in groups of pp per chunk; backward in reverse.
    let chunk = |k: i64, forward: bool| -> u64 {
        let c = (k.rem_euclid(group) / pp as i64) as u64;
        if forward {
            c
        } else {
            vp - 1 - c
        }
    };
    let (first_rank, last_rank) = (stage == 0, stage + 1 == pp);
    let first_virtual = |c: u64| first_rank && c == 0;
    let last_virtual = |c: u64| last_rank && c == vp - 1;
    let all_warmup = m == pp;
    let warmup = interleaved_warmup(pp, vp, m, stage) as i64;
    let remaining = total - warmup;
    let mut a = vec![Action::P2p(P2p {
        recv_prev: !first_virtual(0),
        ..P2p::default()
    })];
    for k in 0..warmup {
        let c = chunk(k, true);
        a.push(Action::Forward { chunk: c });
        let next = chunk(k + 1, true);
        let recv_prev = !(first_rank && next == 0) && k != total - 1;
        let send_next = !last_virtual(c);
        a.push(Action::P2p(if k == warmup - 1 && !all_warmup {
            P2p {
                send_next,
                recv_prev,
                recv_next: !last_rank,
                ..P2p::default()
            }
        } else {
            P2p {
                send_next,
                recv_prev,
                ..P2p::default()
            }
        }));
    }
    for k in 0..remaining {
        let fk = k + warmup;
        let (fc, bc) = (chunk(fk, true), chunk(k, false));
        a.push(Action::Forward { chunk: fc });
        a.push(Action::Backward { chunk: bc });
        let mut recv_prev = if first_rank {
            // The first stage is ahead of the last by pp − 1.
            chunk(fk - (pp as i64 - 1), true) != vp - 1
        } else {
            true
        };
        let recv_next = if last_rank {
            chunk(k - (pp as i64 - 1), false) != 0
        } else {
            true
        };
        if k == remaining - 1 {
            recv_prev = false;
        }
        a.push(Action::P2p(P2p {
            send_next: !last_virtual(fc),
            recv_prev,
            send_prev: !first_virtual(bc),
            recv_next,
        }));
    }
    if all_warmup {
        a.push(Action::P2p(P2p {
            recv_next: !last_rank,
            ..P2p::default()
        }));
    }
    for k in remaining..total {
        let c = chunk(k, false);
        a.push(Action::Backward { chunk: c });
        let next = chunk(k + 1, false);
        let recv_next = !(last_rank && next == vp - 1) && k != total - 1;
        a.push(Action::P2p(P2p {
            send_prev: !first_virtual(c),
            recv_next,
            ..P2p::default()
        }));
    }
    a
}

/// Point-to-point messages (sends and receives) of one stage per step, in closed form:
/// per micro-batch an end stage sends and receives across vp chunk boundaries in each
/// direction but one (the pipeline's own ends), 2·(2vp − 1); a middle stage 4vp; none
/// when pp = 1. Over all stages that is 2·(pp·vp − 1) transfers each way per micro-batch,
/// a send and a receive each. Tested against [`pipeline`].
pub fn stage_messages(pp: u64, vp: u64, m: u64, stage: u64) -> u64 {
    if pp < 2 {
        return 0;
    }
    let vp = vp.max(1);
    if stage == 0 || stage + 1 == pp {
        m * (4 * vp - 2)
    } else {
        m * 4 * vp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn f(chunk: u64) -> Action {
        Action::Forward { chunk }
    }
    fn b(chunk: u64) -> Action {
        Action::Backward { chunk }
    }
    fn p(send_next: bool, recv_prev: bool, send_prev: bool, recv_next: bool) -> Action {
        Action::P2p(P2p {
            send_next,
            recv_prev,
            send_prev,
            recv_next,
        })
    }

    /// Runs every stage's list against the others: a call completes when each of its
    /// sends has met the receive of the same order on its channel (src, dst, direction)
    /// and each receive its send. Returns the messages per stage, or the stuck stages.
    /// A posted transfer: channel (src, dst, is_grad), is a send, its order on the channel.
    type PostedOp = ((u64, u64, bool), bool, u64);

    fn run_all(pp: u64, vp: u64, m: u64) -> Result<Vec<u64>, Vec<u64>> {
        run_lists(&(0..pp).map(|s| pipeline(pp, vp, m, s)).collect::<Vec<_>>())
    }

    fn run_lists(lists: &[Vec<Action>]) -> Result<Vec<u64>, Vec<u64>> {
        let pp = lists.len() as u64;
        let mut pc = vec![0usize; pp as usize];
        // (src, dst, is_grad) → (sends posted, receives posted).
        let mut chans: HashMap<(u64, u64, bool), (u64, u64)> = HashMap::new();
        // Per stage: the ops of its current call, posted once: (channel, is_send, seq).
        let mut posted: Vec<Option<Vec<PostedOp>>> = vec![None; pp as usize];
        let mut msgs = vec![0u64; pp as usize];
        let next = |s: u64| (s + 1) % pp;
        let prev = |s: u64| (s + pp - 1) % pp;
        loop {
            let mut progress = false;
            for s in 0..pp {
                let i = s as usize;
                while pc[i] < lists[i].len() {
                    match lists[i][pc[i]] {
                        Action::P2p(x) => {
                            if posted[i].is_none() {
                                let mut ops = vec![];
                                let mut post = |ch: (u64, u64, bool), send: bool| {
                                    let e = chans.entry(ch).or_default();
                                    let seq = if send { &mut e.0 } else { &mut e.1 };
                                    ops.push((ch, send, *seq));
                                    *seq += 1;
                                };
                                if x.send_next {
                                    post((s, next(s), false), true);
                                }
                                if x.recv_prev {
                                    post((prev(s), s, false), false);
                                }
                                if x.send_prev {
                                    post((s, prev(s), true), true);
                                }
                                if x.recv_next {
                                    post((next(s), s, true), false);
                                }
                                msgs[i] += x.messages();
                                posted[i] = Some(ops);
                                progress = true;
                            }
                            let done = posted[i].as_ref().unwrap().iter().all(|(ch, send, seq)| {
                                let (ns, nr) = chans.get(ch).copied().unwrap_or_default();
                                if *send {
                                    nr > *seq
                                } else {
                                    ns > *seq
                                }
                            });
                            if !done {
                                break;
                            }
                            posted[i] = None;
                            pc[i] += 1;
                            progress = true;
                        }
                        _ => {
                            pc[i] += 1;
                            progress = true;
                        }
                    }
                }
            }
            if !progress {
                break;
            }
        }
        let stuck: Vec<u64> = (0..pp)
            .filter(|s| pc[*s as usize] < lists[*s as usize].len())
            .collect();
        if stuck.is_empty() {
            // Every send met a receive: equal counts on every channel.
            assert!(chans.values().all(|(a, b)| a == b), "{chans:?}");
            Ok(msgs)
        } else {
            Err(stuck)
        }
    }

    #[test]
    fn plain_1f1b_on_two_stages_is_megatrons() {
        // pp = 2, m = 3. Stage 0: warm-up 1 forward (send it), then recv_forward (none on
        // the first stage), steady 2 × (F, send fwd + recv grad, B, send grad: none on the
        // first stage), cool-down (recv grad, B).
        assert_eq!(
            pipeline(2, 1, 3, 0),
            vec![
                f(0),
                p(true, false, false, false),
                f(0),
                p(true, false, false, true),
                b(0),
                f(0),
                p(true, false, false, true),
                b(0),
                p(false, false, false, true),
                b(0),
            ]
        );
        // Stage 1 (last): no warm-up; recv, then 3 × (F, B, send grad + recv next input),
        // the last without the receive.
        assert_eq!(
            pipeline(2, 1, 3, 1),
            vec![
                p(false, true, false, false),
                f(0),
                b(0),
                p(false, true, true, false),
                f(0),
                b(0),
                p(false, true, true, false),
                f(0),
                b(0),
                p(false, false, true, false),
            ]
        );
    }

    #[test]
    fn interleaved_order_on_stage_0_of_2_with_2_chunks_and_4_microbatches() {
        // pp = 2, vp = 2, m = 4: 8 chunk-passes; warm-up (2−0−1)·2 + (2−1)·2 = 4.
        // Forward chunks by k: 0,0,1,1,0,0,1,1; backward chunks: 1,1,0,0,1,1,0,0.
        let a = pipeline(2, 2, 4, 0);
        let passes: Vec<Action> = a
            .iter()
            .copied()
            .filter(|x| !matches!(x, Action::P2p(_)))
            .collect();
        assert_eq!(
            passes,
            vec![
                f(0),
                f(0),
                f(1),
                f(1),
                f(0),
                b(1),
                f(0),
                b(1),
                f(1),
                b(0),
                f(1),
                b(0),
                b(1),
                b(1),
                b(0),
                b(0),
            ]
        );
        // Warm-up k = 0: chunk 0 sends; the next forward is chunk 0 again (k = 1), which
        // on the first rank has no input to receive. k = 1: next is chunk 1: receive.
        assert_eq!(a[1], p(true, false, false, false));
        assert_eq!(a[3], p(true, true, false, false));
        // Last warm-up (k = 3): the next forward (k = 4) is chunk 0 again, no input to
        // receive; it receives the first gradient (from stage 1) instead.
        assert_eq!(a[7], p(true, false, false, true));
    }

    #[test]
    fn warmup_is_megatrons() {
        // (pp − s − 1)·2 + (vp − 1)·pp, at most m·vp; all when m = pp.
        assert_eq!(interleaved_warmup(4, 2, 8, 0), 10); // 3·2 + 4
        assert_eq!(interleaved_warmup(4, 2, 8, 3), 4); // 0 + 4
        assert_eq!(interleaved_warmup(4, 3, 4, 1), 12); // m = pp: all 4·3
        assert_eq!(interleaved_warmup(2, 2, 4, 0), 4); // 2 + 2
    }

    #[test]
    fn every_schedule_completes_and_counts_what_comm_counts() {
        for (pp, vp, m) in [
            (2, 1, 1),
            (2, 1, 4),
            (4, 1, 2),
            (4, 1, 8),
            (2, 2, 2),
            (2, 2, 4),
            (4, 2, 4),
            (4, 2, 8),
            (4, 3, 12),
            (3, 2, 6),
            (8, 4, 16),
        ] {
            let msgs = run_all(pp, vp, m).unwrap_or_else(|s| panic!("{pp} {vp} {m}: stuck {s:?}"));
            for s in 0..pp {
                assert_eq!(
                    msgs[s as usize],
                    stage_messages(pp, vp, m, s),
                    "{pp} {vp} {m} stage {s}"
                );
                // Every chunk runs every micro-batch forward and backward once.
                let l = pipeline(pp, vp, m, s);
                for c in 0..vp {
                    let n = |x: Action| l.iter().filter(|a| **a == x).count() as u64;
                    assert_eq!(n(f(c)), m);
                    assert_eq!(n(b(c)), m);
                }
            }
            // Over all stages: 2·(pp·vp − 1) transfers per micro-batch, a send and a
            // receive each.
            assert_eq!(msgs.iter().sum::<u64>(), 2 * 2 * (pp * vp - 1) * m);
        }
    }

    #[test]
    fn the_checker_sees_a_deadlock() {
        // Two stages that both wait for an activation before sending theirs never meet.
        let both_recv_first = vec![p(false, true, false, false), p(true, false, false, false)];
        assert_eq!(
            run_lists(&[both_recv_first.clone(), both_recv_first]),
            Err(vec![0, 1])
        );
        // Both sending first also hangs (a send waits for its receive, as a rendezvous
        // send does); one sending first and the other receiving first does not.
        let send_first = vec![p(true, false, false, false), p(false, true, false, false)];
        let recv_first = vec![p(false, true, false, false), p(true, false, false, false)];
        assert!(run_lists(&[send_first.clone(), send_first.clone()]).is_err());
        assert_eq!(run_lists(&[send_first, recv_first]), Ok(vec![2, 2]));
        assert_eq!(stage_messages(1, 1, 4, 0), 0);
    }
}
