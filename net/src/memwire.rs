//! An in-memory Ethernet "wire": two [`phy::Device`]s joined back to back.
//!
//! Host tests (here and in other crates) drive two [`crate::Stack`]s over it
//! exactly as the kernel drives one over virtio-net. Each direction is a
//! bounded queue of frames; a full queue drops the frame, as a real NIC ring
//! would, so TCP retransmission paths get exercised rather than hidden.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Ethernet MTU (payload 1500 plus the 14-byte header smoltcp counts in).
pub const WIRE_MTU: usize = 1514;

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;

/// One end of the wire.
#[derive(Debug)]
pub struct WireEnd {
    rx: Queue,
    tx: Queue,
    limit: usize,
    /// Frames dropped on transmit because the peer's queue was full.
    pub dropped: usize,
}

/// Build a connected pair; `limit` frames may wait in each direction.
pub fn wire_pair(limit: usize) -> (WireEnd, WireEnd) {
    let a: Queue = Rc::new(RefCell::new(VecDeque::new()));
    let b: Queue = Rc::new(RefCell::new(VecDeque::new()));
    (WireEnd { rx: a.clone(), tx: b.clone(), limit, dropped: 0 }, WireEnd { rx: b, tx: a, limit, dropped: 0 })
}

impl WireEnd {
    /// Frames waiting to be received by this end.
    pub fn pending(&self) -> usize {
        self.rx.borrow().len()
    }

    /// Take the frames waiting for this end off the wire (tests hold or
    /// drop them to stage delays and losses).
    pub fn take_pending(&mut self) -> Vec<Vec<u8>> {
        self.rx.borrow_mut().drain(..).collect()
    }

    /// Put a frame on the wire towards this end, after those waiting.
    pub fn inject(&mut self, frame: Vec<u8>) {
        self.rx.borrow_mut().push_back(frame);
    }
}

/// Receive token: owns one frame.
pub struct WireRx(Vec<u8>);

/// Transmit token: appends one frame to the peer's queue.
pub struct WireTx<'a> {
    tx: &'a Queue,
    limit: usize,
    dropped: &'a mut usize,
}

impl phy::RxToken for WireRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for WireTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = alloc::vec![0u8; len];
        let r = f(&mut frame);
        let mut q = self.tx.borrow_mut();
        if q.len() < self.limit {
            q.push_back(frame);
        } else {
            *self.dropped += 1;
        }
        r
    }
}

impl phy::Device for WireEnd {
    type RxToken<'a> = WireRx;
    type TxToken<'a> = WireTx<'a>;

    fn receive(&mut self, _t: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.rx.borrow_mut().pop_front()?;
        Some((WireRx(frame), WireTx { tx: &self.tx, limit: self.limit, dropped: &mut self.dropped }))
    }

    fn transmit(&mut self, _t: Instant) -> Option<Self::TxToken<'_>> {
        Some(WireTx { tx: &self.tx, limit: self.limit, dropped: &mut self.dropped })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = WIRE_MTU;
        caps.max_burst_size = None;
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}
