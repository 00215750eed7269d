//! A gRPC client and server (tonic) in one process, instrumented as the RPC
//! semantic conventions describe: `GrpcClientLayer` gives each call a client
//! span and carries its trace in the request metadata, `GrpcServerLayer`
//! gives it a server span continuing that trace, both with the `rpc.*`
//! attributes and the call's status — built without `protoc`:
//! the two messages are hand-written prost structs and the service uses
//! tonic's codegen-free building blocks (`tonic::server::Grpc`,
//! `tonic::client::Grpc`).
//!
//! ```text
//! cargo run -p otlpkit-examples --bin tonic_service
//! ```
//!
//! The client reserves items three times under one `place orders` span; the
//! third reservation asks for more than is in stock and fails with
//! `FAILED_PRECONDITION`: an error of the client span; the server span keeps
//! its status unset and records `rpc.grpc.status_code = 9`, as the
//! conventions say of a refusal. Without
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, telemetry goes to the embedded receiver and
//! is printed at the end.
#![allow(clippy::print_stdout, reason = "an example prints what it did")]

use std::collections::HashMap;
use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use otlpkit::core::Protocol;
use otlpkit::opentelemetry;
use otlpkit::tracing::client::{GrpcClient, GrpcClientLayer};
use otlpkit::tracing::server::GrpcServerLayer;
use otlpkit_examples::Collector;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::{Body, BoxFuture, Service, StdError, http};
use tonic::server::{NamedService, UnaryService};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::Layer as _;
use tracing::Instrument as _;

/// The service's fully qualified name.
const SERVICE: &str = "inventory.v1.Inventory";
/// The one method's path.
const RESERVE_PATH: &str = "/inventory.v1.Inventory/Reserve";
/// `inventory.v1.ReserveRequest`, written by hand instead of generated.
#[derive(Clone, PartialEq, prost::Message)]
struct ReserveRequest {
    /// The item to reserve.
    #[prost(string, tag = "1")]
    item: String,
    /// How many.
    #[prost(uint32, tag = "2")]
    quantity: u32,
}

/// `inventory.v1.ReserveReply`.
#[derive(Clone, PartialEq, prost::Message)]
struct ReserveReply {
    /// The reservation's id.
    #[prost(string, tag = "1")]
    reservation: String,
    /// What is left in stock.
    #[prost(uint32, tag = "2")]
    remaining: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let collector = match Collector::from_env() {
        Ok(collector) => collector,
        Err(error) => {
            eprintln!("tonic_service: cannot start the embedded receiver: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = collector.configure(otlpkit::builder(), Protocol::Grpc);
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.with_service_name("tonic-service");
    }
    let telemetry = match builder.init() {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("tonic_service: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("tonic_service: exporting to {}", collector.describe());

    let outcome = run().await;
    if let Err(error) = &outcome {
        eprintln!("tonic_service: {error}");
    }

    let report = telemetry.shutdown_async().await;
    collector.print_received();
    println!("\n== accounting");
    println!("{report}");
    if report.is_complete() && outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Starts the server on a free port of 127.0.0.1, makes the client calls,
/// stops the server.
async fn run() -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|error| format!("cannot listen: {error}"))?;
    let addr = listener
        .local_addr()
        .map_err(|error| format!("cannot read the local address: {error}"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            // A server span per call, continuing the caller's trace.
            .layer(GrpcServerLayer::new())
            .add_service(Inventory::new([("book", 5), ("lamp", 1)]))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );

    let result = client(&format!("http://{addr}")).await;
    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => result,
        Ok(Err(error)) => Err(format!("the server failed: {error}")),
        Err(error) => Err(format!("the server task failed: {error}")),
    }
}

/// The client side: three reservations under one span.
async fn client(address: &str) -> Result<(), String> {
    let endpoint = Endpoint::from_shared(address.to_owned())
        .map_err(|error| format!("bad address {address}: {error}"))?
        .connect_timeout(Duration::from_secs(5));
    let uri = endpoint.uri().clone();
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| format!("cannot connect to {address}: {error}"))?;
    // A client span per call; its context goes out in the call's metadata
    // (`traceparent`, `tracestate`, `baggage`).
    let mut client = InventoryClient::new(GrpcClientLayer::new().with_server(&uri).layer(channel));

    let orders = [("book", 2), ("lamp", 1), ("book", 10)];
    let mut failures = 0;
    async {
        for (item, quantity) in orders {
            match client.reserve(item, quantity).await {
                Ok(reply) => tracing::info!(
                    item,
                    quantity,
                    reservation = %reply.reservation,
                    remaining = reply.remaining,
                    "reserved"
                ),
                Err(status) => {
                    failures += 1;
                    tracing::warn!(
                        item,
                        quantity,
                        code = ?status.code(),
                        reason = status.message(),
                        "reservation refused"
                    );
                }
            }
        }
    }
    .instrument(tracing::info_span!("place orders"))
    .await;
    println!(
        "tonic_service: {} reservations, {failures} refused",
        orders.len()
    );
    if failures == 1 {
        Ok(())
    } else {
        Err(format!(
            "expected exactly one refused reservation, got {failures}"
        ))
    }
}

/// A hand-written client for the one method, over the instrumented channel
/// (a generated client takes it the same way: `InventoryClient::new(service)`).
struct InventoryClient {
    grpc: tonic::client::Grpc<GrpcClient<Channel>>,
}

impl InventoryClient {
    fn new(service: GrpcClient<Channel>) -> Self {
        Self {
            grpc: tonic::client::Grpc::new(service),
        }
    }

    /// One `Reserve` call; the layer makes its client span.
    async fn reserve(&mut self, item: &str, quantity: u32) -> Result<ReserveReply, Status> {
        let request = Request::new(ReserveRequest {
            item: item.to_owned(),
            quantity,
        });
        self.grpc
            .ready()
            .await
            .map_err(|error| Status::unavailable(format!("not ready: {error}")))?;
        let response = self
            .grpc
            .unary(
                request,
                PathAndQuery::from_static(RESERVE_PATH),
                ProstCodec::default(),
            )
            .await?;
        Ok(response.into_inner())
    }
}

/// The server: stock levels and a reservation counter.
#[derive(Clone)]
struct Inventory {
    stock: Arc<Mutex<HashMap<String, u32>>>,
    reservations: Counter<u64>,
}

impl Inventory {
    fn new(stock: impl IntoIterator<Item = (&'static str, u32)>) -> Self {
        Self {
            stock: Arc::new(Mutex::new(
                stock.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            )),
            reservations: opentelemetry::global::meter("tonic-server")
                .u64_counter("inventory.reservations")
                .with_unit("{reservation}")
                .build(),
        }
    }

    /// The method; it runs inside the server span of `GrpcServerLayer`.
    async fn reserve(&self, request: Request<ReserveRequest>) -> Result<ReserveReply, Status> {
        let ReserveRequest { item, quantity } = request.into_inner();
        let result = self.take(&item, quantity).await;
        let outcome = if result.is_ok() {
            "reserved"
        } else {
            "refused"
        };
        self.reservations.add(
            1,
            &[
                KeyValue::new("outcome", outcome),
                KeyValue::new("item", item),
            ],
        );
        result
    }

    async fn take(&self, item: &str, quantity: u32) -> Result<ReserveReply, Status> {
        let _check = tracing::info_span!("check stock", item).entered();
        // The lock is never held across an await, and a panic while holding
        // it leaves plain numbers behind.
        let mut stock = self.stock.lock().unwrap_or_else(PoisonError::into_inner);
        let available = stock.get(item).copied().unwrap_or(0);
        if available < quantity {
            tracing::warn!(item, quantity, available, "insufficient stock");
            return Err(Status::new(
                Code::FailedPrecondition,
                format!("only {available} {item} left, {quantity} asked"),
            ));
        }
        let remaining = available - quantity;
        stock.insert(item.to_owned(), remaining);
        tracing::info!(item, quantity, remaining, "stock reserved");
        Ok(ReserveReply {
            reservation: format!("{item}-{quantity}-{remaining}"),
            remaining,
        })
    }
}

impl NamedService for Inventory {
    const NAME: &'static str = SERVICE;
}

/// The unary method as tonic's server machinery wants it.
struct ReserveMethod(Inventory);

impl UnaryService<ReserveRequest> for ReserveMethod {
    type Response = ReserveReply;
    type Future = BoxFuture<Response<ReserveReply>, Status>;

    fn call(&mut self, request: Request<ReserveRequest>) -> Self::Future {
        let inventory = self.0.clone();
        Box::pin(async move { inventory.reserve(request).await.map(Response::new) })
    }
}

/// What generated code would contain: route by path, decode, call, encode.
impl<B> Service<http::Request<B>> for Inventory
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() == RESERVE_PATH {
            let method = ReserveMethod(self.clone());
            Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(method, request).await)
            })
        } else {
            Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) })
        }
    }
}
