//! [`serve`]: axum's `serve`, with the limits a server facing the internet
//! needs (nginx's `client_header_timeout`, `send_timeout` and
//! `keepalive_timeout`) and a graceful shutdown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::{sleep, Instant, Sleep};

/// How long the server waits for each stage of a connection. Every value
/// has a default, as nginx's do; all of them are here, in one place.
///
/// | limit | default | what it stops |
/// | --- | --- | --- |
/// | [`header_read_timeout`](Self::header_read_timeout) | 10 s | a client dribbling its request head (slowloris) |
/// | [`send_timeout`](Self::send_timeout) | 60 s | a client that stops reading a download: no byte accepted for this long closes the connection and releases the file and its buffers |
/// | [`idle_timeout`](Self::idle_timeout) | 75 s | a keep-alive connection with no traffic in either direction |
/// | [`shutdown_timeout`](Self::shutdown_timeout) | 30 s | how long downloads in flight may go on after shutdown was asked for |
///
/// ```
/// use std::time::Duration;
/// use axum_download::ServerLimits;
///
/// let limits = ServerLimits::default().send_timeout(Duration::from_secs(20));
/// assert_eq!(limits.header_read, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// See [`header_read_timeout`](Self::header_read_timeout).
    pub header_read: Duration,
    /// See [`send_timeout`](Self::send_timeout).
    pub send: Duration,
    /// See [`idle_timeout`](Self::idle_timeout).
    pub idle: Duration,
    /// See [`shutdown_timeout`](Self::shutdown_timeout).
    pub shutdown: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            send: Duration::from_secs(60),
            idle: Duration::from_secs(75),
            shutdown: Duration::from_secs(30),
        }
    }
}

impl ServerLimits {
    /// The time a client has to send a whole request head.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::ServerLimits;
    ///
    /// let limits = ServerLimits::default().header_read_timeout(Duration::from_secs(5));
    /// assert_eq!(limits.header_read, Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read = timeout;
        self
    }

    /// The longest a response may wait for the client to accept more bytes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::ServerLimits;
    ///
    /// // Clients on slow mobile links get longer.
    /// let limits = ServerLimits::default().send_timeout(Duration::from_secs(120));
    /// assert_eq!(limits.send, Duration::from_secs(120));
    /// ```
    #[must_use]
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send = timeout;
        self
    }

    /// The longest a connection may go without a byte read or written.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::ServerLimits;
    ///
    /// let limits = ServerLimits::default().idle_timeout(Duration::from_secs(15));
    /// assert_eq!(limits.idle, Duration::from_secs(15));
    /// ```
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// How long answers in flight may finish after the shutdown signal.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::ServerLimits;
    ///
    /// let limits = ServerLimits::default().shutdown_timeout(Duration::from_secs(300));
    /// assert_eq!(limits.shutdown, Duration::from_secs(300));
    /// ```
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown = timeout;
        self
    }
}

/// Serves `app` on `listener` over HTTP/1.1 with `limits`, until `shutdown`
/// completes; then stops accepting, lets answers in flight finish for up to
/// [`ServerLimits::shutdown_timeout`], and returns.
///
/// Use it where you would call `axum::serve`, which has no header, send or
/// idle timeout: one slow or stuck client per descriptor is enough to shut
/// everyone else out.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use axum_download::{serve, DownloadLayer, ServerLimits, VirtualDownload};
///
/// # async fn run() -> std::io::Result<()> {
/// let app = Router::new()
///     .route("/hello.txt", get(|| async { VirtualDownload::text("hello.txt", "hello") }))
///     .layer(DownloadLayer::new());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// // Send on `stop` (or await `tokio::signal::ctrl_c()`, with tokio's
/// // `signal` feature) to shut down gracefully.
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # drop(stop);
/// serve(listener, app, ServerLimits::default(), async {
///     let _ = stopped.await;
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors (EMFILE) and the like: wait, then go on.
                    crate::report::server("accept failed", &err);
                    sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small answers leave at once instead of waiting for the client's
        // ACK (Nagle's algorithm against delayed ACKs).
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(LimitedIo::new(stream, limits.send, limits.idle));
        let service = TowerToHyperService::new(app.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .serve_connection(io, service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                crate::report::connection_closed(&err);
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown, graceful.shutdown())
        .await
        .is_err()
    {
        crate::report::server(
            "connections still open at the end of the shutdown timeout; closing them",
            &format_args!("{:?}", limits.shutdown),
        );
    }
    Ok(())
}

/// A connection's socket that fails a write the client has not accepted
/// for `send`, and a read after `idle` without traffic either way, so the
/// server closes the connection and frees what it held.
struct LimitedIo<T> {
    inner: T,
    send: Duration,
    idle: Duration,
    write_deadline: Pin<Box<Sleep>>,
    write_armed: bool,
    idle_deadline: Pin<Box<Sleep>>,
}

impl<T> LimitedIo<T> {
    fn new(inner: T, send: Duration, idle: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            send,
            idle,
            write_deadline: Box::pin(tokio::time::sleep_until(now + send)),
            write_armed: false,
            idle_deadline: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    fn active(&mut self) {
        self.idle_deadline
            .as_mut()
            .reset(Instant::now() + self.idle);
    }

    /// Watches a write: progress resets the idle clock and disarms the send
    /// clock; a write the client does not take arms it, and one still not
    /// taken when it runs out fails.
    fn watch_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                self.write_armed = false;
                self.active();
                Poll::Ready(result)
            }
            Poll::Pending => {
                if !self.write_armed {
                    self.write_armed = true;
                    let deadline = Instant::now() + self.send;
                    self.write_deadline.as_mut().reset(deadline);
                }
                match self.write_deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(timed_out(
                        "client accepted no bytes within the send timeout",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<T: AsyncRead + Unpin> AsyncRead for LimitedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.idle_deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(timed_out("connection idle too long"))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for LimitedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch_write(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch_write(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
