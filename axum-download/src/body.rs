//! The response body: a sequence of segments (fixed bytes, or a file or a
//! range of it), each file opened only when the body reaches it, with its
//! length checked so a short file fails the transfer instead of looking
//! complete.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body::{Frame, SizeHint};

use crate::conditional::ByteRange;
use crate::file::{ByteStream, FileSource};
use crate::report::Report;

pub(crate) enum Segment {
    Bytes(Bytes),
    File {
        source: Arc<dyn FileSource>,
        range: Option<ByteRange>,
        /// The number of bytes the stream must yield, when known.
        expected: Option<u64>,
    },
}

enum State {
    Idle,
    Opening {
        open: BoxFuture<'static, io::Result<ByteStream>>,
        expected: Option<u64>,
    },
    Streaming {
        stream: ByteStream,
        remaining: Option<u64>,
    },
}

/// The body of a download response.
pub(crate) struct DownloadBody {
    segments: VecDeque<Segment>,
    state: State,
    /// Bytes still to send when the total is known.
    remaining: Option<u64>,
    /// Bytes handed to the server so far.
    sent: u64,
    /// The body ended cleanly (every segment done, no error).
    finished: bool,
    report: Option<Report>,
}

impl Drop for DownloadBody {
    fn drop(&mut self) {
        if let Some(report) = &self.report {
            report.emit(self.sent, self.finished);
        }
    }
}

impl DownloadBody {
    pub(crate) fn new(segments: Vec<Segment>) -> Self {
        let remaining = segments.iter().try_fold(0u64, |sum, s| match s {
            Segment::Bytes(b) => Some(sum + b.len() as u64),
            Segment::File { expected, .. } => expected.map(|n| sum + n),
        });
        Self {
            segments: segments.into(),
            state: State::Idle,
            remaining,
            sent: 0,
            finished: false,
            report: None,
        }
    }

    /// Reports the download's outcome when the body is dropped.
    pub(crate) fn with_report(mut self, report: Report) -> Self {
        self.report = Some(report);
        self
    }

    fn account(&mut self, n: usize) {
        self.sent += n as u64;
        if let Some(remaining) = self.remaining.as_mut() {
            *remaining = remaining.saturating_sub(n as u64);
            // Every announced byte is out: a server stops polling a body
            // once it has its `Content-Length`, so this is the end.
            if *remaining == 0 {
                self.finished = true;
            }
        }
    }
}

fn short_read(missing: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("file ended {missing} bytes before its announced length"),
    )
}

impl http_body::Body for DownloadBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Idle => match this.segments.pop_front() {
                    None => {
                        this.finished = true;
                        return Poll::Ready(None);
                    }
                    Some(Segment::Bytes(bytes)) => {
                        if bytes.is_empty() {
                            continue;
                        }
                        this.account(bytes.len());
                        return Poll::Ready(Some(Ok(Frame::data(bytes))));
                    }
                    Some(Segment::File {
                        source,
                        range,
                        expected,
                    }) => {
                        if expected == Some(0) {
                            continue;
                        }
                        this.state = State::Opening {
                            open: source.open(range),
                            expected,
                        };
                    }
                },
                State::Opening { open, expected } => {
                    let expected = *expected;
                    match ready!(open.as_mut().poll(cx)) {
                        Ok(stream) => {
                            this.state = State::Streaming {
                                stream,
                                remaining: expected,
                            };
                        }
                        Err(err) => {
                            this.state = State::Idle;
                            this.segments.clear();
                            return Poll::Ready(Some(Err(err)));
                        }
                    }
                }
                State::Streaming { stream, remaining } => {
                    match ready!(stream.as_mut().poll_next(cx)) {
                        Some(Ok(mut chunk)) => {
                            if let Some(left) = remaining.as_mut() {
                                // A file that grew since its metadata was read:
                                // send what was announced, no more.
                                if chunk.len() as u64 > *left {
                                    chunk.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                                }
                                *left -= chunk.len() as u64;
                            }
                            if *remaining == Some(0) {
                                // Announced length reached: the rest is not read.
                                this.state = State::Idle;
                            }
                            if chunk.is_empty() {
                                continue;
                            }
                            this.account(chunk.len());
                            return Poll::Ready(Some(Ok(Frame::data(chunk))));
                        }
                        Some(Err(err)) => {
                            this.state = State::Idle;
                            this.segments.clear();
                            return Poll::Ready(Some(Err(err)));
                        }
                        None => {
                            let missing = remaining.unwrap_or(0);
                            this.state = State::Idle;
                            if missing > 0 {
                                this.segments.clear();
                                return Poll::Ready(Some(Err(short_read(missing))));
                            }
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Idle) && self.segments.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// A remote body that fails, with an event naming `source`, when one chunk
/// takes longer than `idle` or the whole body outlives `deadline`: a
/// stalled or dribbling upstream or store never holds a download open.
/// `kind` names the other side in messages ("upstream", "object store").
#[cfg(any(feature = "http-download", feature = "object-store"))]
pub(crate) fn guarded<S, E>(
    stream: S,
    idle: std::time::Duration,
    deadline: Option<std::time::Duration>,
    source: String,
    kind: &'static str,
) -> ByteStream
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::error::Error,
{
    use futures_util::StreamExt;
    use tokio::time::Instant;

    let stream = Box::pin(stream);
    let end = deadline.map(|deadline| Instant::now() + deadline);
    Box::pin(futures_util::stream::unfold(
        Some((stream, source)),
        move |state| async move {
            let (mut stream, source) = state?;
            let wait = end.map_or(idle, |end| {
                idle.min(end.saturating_duration_since(Instant::now()))
            });
            match tokio::time::timeout(wait, stream.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some((stream, source)))),
                Ok(None) => None,
                Ok(Some(Err(err))) => {
                    let cause = crate::error::with_causes(&err);
                    crate::report::upstream_aborted(&source, &cause);
                    Some((Err(io::Error::other(cause)), None))
                }
                Err(_) => {
                    let why = if end.is_some_and(|end| Instant::now() >= end) {
                        format!("{kind} body outlived the deadline")
                    } else {
                        format!("{kind} body stalled")
                    };
                    crate::report::upstream_aborted(
                        &source,
                        &format_args!("{why} (timeout {idle:?}, deadline {deadline:?})"),
                    );
                    Some((Err(io::Error::new(io::ErrorKind::TimedOut, why)), None))
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{MemorySource, OnceSource};
    use http_body::Body as _;
    use http_body_util::BodyExt;

    async fn collect(body: DownloadBody) -> io::Result<Vec<u8>> {
        Ok(body.collect().await?.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn segments_are_concatenated() {
        let source: Arc<dyn FileSource> = Arc::new(MemorySource(Bytes::from_static(b"abcdef")));
        let body = DownloadBody::new(vec![
            Segment::Bytes(Bytes::from_static(b"<")),
            Segment::File {
                source: source.clone(),
                range: Some(ByteRange { start: 1, end: 3 }),
                expected: Some(2),
            },
            Segment::Bytes(Bytes::from_static(b">")),
        ]);
        assert_eq!(body.size_hint().exact(), Some(4));
        assert_eq!(collect(body).await.unwrap(), b"<bc>");
    }

    #[tokio::test]
    async fn short_source_is_an_error() {
        let source: Arc<dyn FileSource> = Arc::new(MemorySource(Bytes::from_static(b"abc")));
        let body = DownloadBody::new(vec![Segment::File {
            source,
            range: None,
            expected: Some(10),
        }]);
        let err = collect(body).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn long_source_is_cut_at_announced_length() {
        let source: Arc<dyn FileSource> = Arc::new(MemorySource(Bytes::from_static(b"abcdef")));
        let body = DownloadBody::new(vec![Segment::File {
            source,
            range: None,
            expected: Some(4),
        }]);
        assert_eq!(collect(body).await.unwrap(), b"abcd");
    }

    #[tokio::test]
    async fn unknown_length_streams_everything() {
        let stream: ByteStream = Box::pin(futures_util::stream::iter([
            Ok(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"")),
            Ok(Bytes::from_static(b"cd")),
        ]));
        let body = DownloadBody::new(vec![Segment::File {
            source: Arc::new(OnceSource::new(stream)),
            range: None,
            expected: None,
        }]);
        assert_eq!(body.size_hint().exact(), None);
        assert_eq!(collect(body).await.unwrap(), b"abcd");
    }

    #[tokio::test]
    async fn stream_error_is_passed_on() {
        let stream: ByteStream = Box::pin(futures_util::stream::iter([
            Ok(Bytes::from_static(b"ab")),
            Err(io::Error::other("gone")),
        ]));
        let body = DownloadBody::new(vec![Segment::File {
            source: Arc::new(OnceSource::new(stream)),
            range: None,
            expected: None,
        }]);
        assert!(collect(body).await.is_err());
    }

    #[tokio::test]
    async fn empty_file_is_never_opened() {
        struct Refuse;
        impl FileSource for Refuse {
            fn open(&self, _: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
                panic!("opened an empty file")
            }
        }
        let body = DownloadBody::new(vec![Segment::File {
            source: Arc::new(Refuse),
            range: None,
            expected: Some(0),
        }]);
        assert_eq!(collect(body).await.unwrap(), b"");
    }
}
