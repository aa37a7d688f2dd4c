//! In-memory byte pipes for tests, benchmarks and the demo, and faulty wrappers around any pipe.
//!
//! [`duplex`] gives two connected ends, like a socket pair: what one end writes the other reads, and
//! dropping an end is seen as end of stream by the other. [`FailAfter`] breaks a pipe after a number of
//! written bytes (a dropped Bluetooth link); [`FlipByte`] alters one byte in transit (a tampering relay).

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, Sender, channel};

/// One end of an in-memory duplex pipe. Writes never block; reads block until data or end of stream.
#[derive(Debug)]
pub struct PipeEnd {
    tx: Option<Sender<Vec<u8>>>,
    rx: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

/// Two connected pipe ends.
pub fn duplex() -> (PipeEnd, PipeEnd) {
    let (tx_a, rx_b) = channel();
    let (tx_b, rx_a) = channel();
    (
        PipeEnd {
            tx: Some(tx_a),
            rx: rx_a,
            buf: Vec::new(),
            pos: 0,
        },
        PipeEnd {
            tx: Some(tx_b),
            rx: rx_b,
            buf: Vec::new(),
            pos: 0,
        },
    )
}

impl PipeEnd {
    /// Close the writing half: the other end reads end of stream once it has read what was sent.
    pub fn shutdown_write(&mut self) {
        self.tx = None;
    }
}

impl Read for PipeEnd {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos >= self.buf.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for PipeEnd {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed for writing"))?;
        tx.send(data.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the other end is gone"))?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A pipe that breaks after `limit` bytes were written through it: the write that crosses the limit
/// delivers the bytes up to it and fails, and every later read or write fails too.
#[derive(Debug)]
pub struct FailAfter<S> {
    inner: Option<S>,
    remaining: usize,
}

impl<S> FailAfter<S> {
    /// Wrap `inner`, breaking after `limit` written bytes.
    pub fn new(inner: S, limit: usize) -> Self {
        Self {
            inner: Some(inner),
            remaining: limit,
        }
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "link dropped")
}

impl<S: Read> Read for FailAfter<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.inner.as_mut().ok_or_else(broken)?.read(out)
    }
}

impl<S: Write> Write for FailAfter<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let inner = self.inner.as_mut().ok_or_else(broken)?;
        if data.len() <= self.remaining {
            let n = inner.write(data)?;
            self.remaining -= n;
            return Ok(n);
        }
        if self.remaining > 0 {
            let n = inner.write(&data[..self.remaining])?;
            self.remaining -= n;
            return Ok(n);
        }
        // Drop the inner pipe so the other side sees the link go down.
        self.inner = None;
        Err(broken())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().ok_or_else(broken)?.flush()
    }
}

/// A pipe that flips the lowest bit of the written byte at `offset` (counted from the first byte
/// written through it), as a tampering relay would.
#[derive(Debug)]
pub struct FlipByte<S> {
    inner: S,
    offset: u64,
    written: u64,
}

impl<S> FlipByte<S> {
    /// Wrap `inner`, flipping the byte at `offset` of the written stream.
    pub fn new(inner: S, offset: u64) -> Self {
        Self {
            inner,
            offset,
            written: 0,
        }
    }
}

impl<S: Read> Read for FlipByte<S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.inner.read(out)
    }
}

impl<S: Write> Write for FlipByte<S> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let start = self.written;
        let end = start + data.len() as u64;
        let n = if (start..end).contains(&self.offset) {
            let mut copy = data.to_vec();
            copy[(self.offset - start) as usize] ^= 1;
            self.inner.write(&copy)?
        } else {
            self.inner.write(data)?
        };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
