//! virtio-net as a smoltcp `phy::Device`.
//!
//! Receive buffers are lent to smoltcp inside the RX token and given back to
//! the virtqueue when the token is consumed, so packets are never copied on
//! the way in. Transmit is synchronous in virtio-drivers (it waits for the
//! device to take the buffer), which under QEMU completes at the notify.

use alloc::rc::Rc;
use core::cell::RefCell;
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::{RxBuffer, VirtIONet};
use virtio_drivers::transport::SomeTransport;

use crate::virtio::KernelHal;

pub const QUEUE: usize = 64;
const BUF_LEN: usize = 2048;

type Net = VirtIONet<KernelHal, SomeTransport<'static>, QUEUE>;

pub struct VirtioPhy {
    net: Rc<RefCell<Net>>,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

impl VirtioPhy {
    pub fn new(t: SomeTransport<'static>) -> Result<Self, virtio_drivers::Error> {
        let net = Net::new(t, BUF_LEN)?;
        Ok(VirtioPhy { net: Rc::new(RefCell::new(net)), rx_packets: 0, tx_packets: 0 })
    }
    pub fn mac(&self) -> [u8; 6] {
        self.net.borrow().mac_address()
    }
}

pub struct Rx(Rc<RefCell<Net>>, RxBuffer);
pub struct Tx(Rc<RefCell<Net>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(self.1.packet());
        if let Err(e) = self.0.borrow_mut().recycle_rx_buffer(self.1) {
            log::error!("virtio-net: recycling an RX buffer failed: {e:?}");
        }
        r
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut net = self.0.borrow_mut();
        let mut tx = net.new_tx_buffer(len);
        let r = f(tx.packet_mut());
        if let Err(e) = net.send(tx) {
            log::warn!("virtio-net: send failed: {e:?}");
        }
        r
    }
}

impl Device for VirtioPhy {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;

    fn receive(&mut self, _t: Instant) -> Option<(Rx, Tx)> {
        let mut net = self.net.borrow_mut();
        if !net.can_recv() || !net.can_send() {
            return None;
        }
        match net.receive() {
            Ok(buf) => {
                self.rx_packets += 1;
                Some((Rx(self.net.clone(), buf), Tx(self.net.clone())))
            }
            Err(_) => None,
        }
    }

    fn transmit(&mut self, _t: Instant) -> Option<Tx> {
        if self.net.borrow().can_send() {
            self.tx_packets += 1;
            Some(Tx(self.net.clone()))
        } else {
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c.max_burst_size = Some(QUEUE / 2);
        c
    }
}
