//! Sync over TCP, as the CLI does it (`timbang peer serve` / `timbang peer sync`).

use super::channel::SecureChannel;
use super::pairing::TeamSecret;
use super::session::{Role, SessionConfig, SyncStats, run_session};
use super::{PeerError, SyncStore};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long a silent peer is waited for before the session fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

fn prepare(stream: &TcpStream) -> Result<(), PeerError> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(())
}

/// Dial `addr`, pair and run one session as the client. Returns the peer's device id and the stats.
pub fn sync_with<A: ToSocketAddrs>(
    addr: A,
    team: &TeamSecret,
    my_device_id: &str,
    store: &mut dyn SyncStore,
) -> Result<(String, SyncStats), PeerError> {
    let stream = TcpStream::connect(addr)?;
    prepare(&stream)?;
    let (mut ch, peer) = SecureChannel::connect(stream, team, my_device_id)?;
    let stats = run_session(
        &mut ch,
        store,
        &peer,
        Role::Client,
        &SessionConfig::default(),
    )?;
    Ok((peer, stats))
}

/// Accept one connection on `listener`, pair and run one session as the server.
pub fn serve_one(
    listener: &TcpListener,
    team: &TeamSecret,
    my_device_id: &str,
    store: &mut dyn SyncStore,
) -> Result<(String, SyncStats), PeerError> {
    let (stream, _) = listener.accept()?;
    prepare(&stream)?;
    let (mut ch, peer) = SecureChannel::accept(stream, team, my_device_id)?;
    let stats = run_session(
        &mut ch,
        store,
        &peer,
        Role::Server,
        &SessionConfig::default(),
    )?;
    Ok((peer, stats))
}
