//! A generated CSV export, streamed a thousand rows at a time: however many
//! rows, the file is never in memory whole.
//!
//! Run with: `cargo run -p csv-export`, then
//!
//! ```text
//! curl -OJ 'localhost:3000/orders.csv?rows=100000' # saves orders.csv
//! curl -I localhost:3000/orders.csv                # text/csv, attachment, no length
//! ```

use axum::extract::Query;
use axum::{routing::get, Router};
use axum_download::{DownloadLayer, DownloadResponse, VirtualDownload};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Export {
    rows: Option<u64>,
}

#[derive(Serialize)]
struct Order {
    id: u64,
    customer: String,
    total_cents: u64,
    note: &'static str,
}

const ROWS_PER_CHUNK: u64 = 1000;

/// The router (the tests in `tests/` drive it).
pub(crate) fn app() -> Router {
    Router::new()
        .route("/orders.csv", get(orders))
        .layer(DownloadLayer::new())
}

async fn orders(Query(export): Query<Export>) -> DownloadResponse {
    let rows = export.rows.unwrap_or(1000);
    // At least one chunk: the header row.
    let chunks = (0..rows.div_ceil(ROWS_PER_CHUNK).max(1)).map(move |chunk| {
        let mut csv = csv::WriterBuilder::new()
            .has_headers(chunk == 0)
            .from_writer(Vec::new());
        for id in chunk * ROWS_PER_CHUNK..rows.min((chunk + 1) * ROWS_PER_CHUNK) {
            let note = if id % 7 == 0 { "gift, \"wrapped\"" } else { "" };
            let customer = format!("customer {}", id % 97);
            let total_cents = id * 137 % 10_000;
            csv.serialize(Order {
                id,
                customer,
                total_cents,
                note,
            })?;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(csv.into_inner()?)
    });
    VirtualDownload::stream("orders.csv", futures_util::stream::iter(chunks))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum_download::serve(listener, app(), Default::default(), shutdown).await
}
