//! OTLP/gRPC: the three `Export` services generated in `opentelemetry-proto`, behind a
//! small path router.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::codegen::Service as _;
use tonic_types::{ErrorDetails, StatusExt as _};

use crate::fault::{Action, code_for_http_status};
use crate::request::{Headers, Payload, Protocol, Signal};
use crate::shared::{ConnCtx, RequestMeta, Shared, drop_connection};

/// Connection facts handed to the service through the request extensions.
#[derive(Debug, Clone)]
struct GrpcConn {
    conn: ConnCtx,
    body_size: Arc<AtomicUsize>,
    version: http::Version,
    received_at: SystemTime,
}

/// The gRPC side of the receiver.
#[derive(Debug)]
struct Handler {
    shared: Arc<Shared>,
}

/// Routes a gRPC request to the service of its signal.
#[derive(Debug, Clone)]
pub(crate) struct GrpcRouter {
    traces: TraceServiceServer<Handler>,
    metrics: MetricsServiceServer<Handler>,
    logs: LogsServiceServer<Handler>,
}

impl GrpcRouter {
    pub(crate) fn new(shared: Arc<Shared>) -> GrpcRouter {
        let limit = shared.max_body_size;
        let handler = Arc::new(Handler { shared });
        GrpcRouter {
            traces: TraceServiceServer::from_arc(Arc::clone(&handler))
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(limit),
            metrics: MetricsServiceServer::from_arc(Arc::clone(&handler))
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(limit),
            logs: LogsServiceServer::from_arc(handler)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(limit),
        }
    }

    pub(crate) async fn call(
        mut self,
        conn: ConnCtx,
        req: http::Request<Incoming>,
    ) -> http::Response<tonic::body::Body> {
        let body_size = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&body_size);
        let (mut parts, body) = req.into_parts();
        let body = body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                counter.fetch_add(data.len(), Ordering::Relaxed);
            }
            frame
        });
        parts.extensions.insert(GrpcConn {
            conn,
            body_size,
            version: parts.version,
            received_at: SystemTime::now(),
        });
        let req = http::Request::from_parts(parts, body);
        let path = req.uri().path().to_owned();
        let service = path
            .strip_prefix('/')
            .and_then(|p| p.split_once('/'))
            .map_or("", |(service, _method)| service);
        let result = if service == Signal::Traces.grpc_service() {
            self.traces.call(req).await
        } else if service == Signal::Metrics.grpc_service() {
            self.metrics.call(req).await
        } else if service == Signal::Logs.grpc_service() {
            self.logs.call(req).await
        } else {
            Ok(tonic::Status::unimplemented(format!("no service at {path}")).into_http())
        };
        match result {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

impl Handler {
    /// Collects what the request says about itself; `Err` only if the router did not run.
    fn meta<T: prost::Message>(
        signal: Signal,
        request: tonic::Request<T>,
    ) -> Result<(RequestMeta, ConnCtx, T), tonic::Status> {
        let (metadata, extensions, message) = request.into_parts();
        let Some(info) = extensions.get::<GrpcConn>().cloned() else {
            return Err(tonic::Status::internal(
                "request did not come through the receiver's router",
            ));
        };
        let headers = metadata.into_headers();
        let content_encoding = headers
            .get("grpc-encoding")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .filter(|v| v != "identity");
        let meta = RequestMeta {
            signal,
            protocol: Protocol::Grpc,
            http_version: info.version,
            headers: Headers::from_header_map(&headers),
            content_encoding,
            body_size: info.body_size.load(Ordering::Relaxed),
            decoded_size: message.encoded_len(),
            received_at: info.received_at,
        };
        Ok((meta, info.conn, message))
    }

    /// Runs the shared logic; `Ok(None)` is full success, `Ok(Some(..))` partial success.
    async fn run(
        &self,
        meta: RequestMeta,
        conn: ConnCtx,
        payload: Payload,
    ) -> Result<Option<(i64, String)>, tonic::Status> {
        match self.shared.process(meta, &conn, payload).await {
            Action::Success => Ok(None),
            Action::Partial { rejected, message } => Ok(Some((rejected, message))),
            Action::Grpc {
                code,
                message,
                retry_delay,
            } => Err(match retry_delay {
                Some(delay) => tonic::Status::with_error_details(
                    code,
                    message,
                    ErrorDetails::with_retry_info(Some(delay)),
                ),
                None => tonic::Status::new(code, message),
            }),
            // Faults are resolved for gRPC, so this only happens if that ever changes.
            Action::Http {
                status, message, ..
            } => Err(tonic::Status::new(code_for_http_status(status), message)),
            Action::Drop => match drop_connection(&conn).await {},
        }
    }
}

#[tonic::async_trait]
impl TraceService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let (meta, conn, message) = Handler::meta(Signal::Traces, request)?;
        let partial = self.run(meta, conn, Payload::Traces(message)).await?;
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let (meta, conn, message) = Handler::meta(Signal::Metrics, request)?;
        let partial = self.run(meta, conn, Payload::Metrics(message)).await?;
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let (meta, conn, message) = Handler::meta(Signal::Logs, request)?;
        let partial = self.run(meta, conn, Payload::Logs(message)).await?;
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: partial.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }))
    }
}
