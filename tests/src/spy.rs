//! A TCP relay between the proxy and the demo that records what the demo
//! sends back (and what it is sent). Also put in front of the object store,
//! to see what reaches it. It is how the tests prove the proxy, not the application,
//! sent a file's bytes: the application's answer, as the proxy received it,
//! is headers and an empty body.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// At most this many bytes of the demo's answers are kept (the count goes on).
const KEEP: usize = 1024 * 1024;

#[derive(Debug, Default)]
struct Seen {
    bytes: Vec<u8>,
    total: u64,
}

/// A relay listening on loopback, forwarding every connection to the demo.
#[derive(Debug)]
pub struct Spy {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    requests: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
}

/// What the demo sent through the relay since the last [`Spy::take`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The first bytes (up to 1 MiB).
    pub bytes: Vec<u8>,
    /// How many bytes in all.
    pub total: u64,
}

impl Spy {
    /// Starts a relay to `target`.
    ///
    /// # Panics
    ///
    /// When it cannot listen.
    #[must_use]
    pub fn start(target: SocketAddr) -> Spy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let addr = listener.local_addr().expect("relay address");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let requests = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let spy = Spy {
            addr,
            seen: seen.clone(),
            requests: requests.clone(),
            stop: stop.clone(),
        };
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (seen, requests) = (seen.clone(), requests.clone());
                std::thread::spawn(move || relay(client, target, &seen, &requests));
            }
        });
        spy
    }

    /// Where the proxy should send requests.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the demo sent since the last call, and forgets it.
    #[must_use]
    pub fn take(&self) -> Upstream {
        take(&self.seen)
    }

    /// What was sent to the demo (the requests) since the last call, and
    /// forgets it.
    #[must_use]
    pub fn take_requests(&self) -> Upstream {
        take(&self.requests)
    }
}

impl Drop for Spy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn take(seen: &Mutex<Seen>) -> Upstream {
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    let seen = std::mem::take(&mut *seen);
    Upstream {
        bytes: seen.bytes,
        total: seen.total,
    }
}

fn relay(client: TcpStream, target: SocketAddr, seen: &Mutex<Seen>, requests: &Arc<Mutex<Seen>>) {
    let Ok(upstream) = TcpStream::connect(target) else {
        return;
    };
    let (Ok(mut client_read), Ok(mut upstream_write)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    // Requests: client to demo, recorded.
    let requests = requests.clone();
    let forward = std::thread::spawn(move || {
        copy_recorded(&mut client_read, &mut upstream_write, &requests);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    // Answers: demo to client, recorded.
    let (mut upstream_read, mut client_write) = (upstream, client);
    copy_recorded(&mut upstream_read, &mut client_write, seen);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// Copies `from` to `to` until either ends, keeping the first bytes in `seen`.
fn copy_recorded(from: &mut TcpStream, to: &mut TcpStream, seen: &Mutex<Seen>) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            let room = KEEP.saturating_sub(seen.bytes.len()).min(n);
            seen.bytes.extend_from_slice(&buffer[..room]);
            seen.total += n as u64;
        }
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
}
