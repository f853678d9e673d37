//! The ABI's enumerations and the SDK's small shared types.
//!
//! Numeric values are exactly those of proxy-wasm ABI 0.2.1 (and of the C++ SDK where it names more values, e.g.
//! every `Status` a host may return), so a value read from the host can always be represented.

use crate::traits::{HttpContext, RootContext, StreamContext};

/// Builds the root context of a plugin; receives the root context id.
pub type NewRootContext = fn(context_id: u32) -> Box<dyn RootContext>;
/// Builds a TCP stream context; receives the new context id and its root's id.
pub type NewStreamContext = fn(context_id: u32, root_context_id: u32) -> Box<dyn StreamContext>;
/// Builds an HTTP stream context; receives the new context id and its root's id.
pub type NewHttpContext = fn(context_id: u32, root_context_id: u32) -> Box<dyn HttpContext>;

/// Raw bytes as exchanged with the host (bodies, property values, shared data).
pub type Bytes = Vec<u8>;

/// Log levels of `proxy_log` and `proxy_get_log_level`.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, PartialOrd, Ord, Hash, Debug)]
pub enum LogLevel {
    /// Most verbose.
    Trace = 0,
    /// Debugging detail.
    Debug = 1,
    /// Normal operation.
    Info = 2,
    /// Something unexpected that the plugin survives.
    Warn = 3,
    /// An operation failed.
    Error = 4,
    /// The plugin cannot go on (panics are logged at this level).
    Critical = 5,
}

impl LogLevel {
    /// Converts a host's level number; values above 5 (Envoy's "off" is 6) clamp to `Critical`.
    pub fn from_u32(level: u32) -> LogLevel {
        match level {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            _ => LogLevel::Critical,
        }
    }
}

/// What a stream callback tells the host: go on, or hold the stream until the plugin resumes it.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum Action {
    /// Pass the headers/body/data on to the next filter.
    Continue = 0,
    /// Stop here: headers wait for a resume; a body chunk is buffered (StopIterationAndBuffer).
    Pause = 1,
}

/// Result of a host call (`proxy_status_t`); `Ok` is never returned inside an `Err`.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum Status {
    /// Success.
    Ok = 0,
    /// The key, buffer, queue, metric or context does not exist.
    NotFound = 1,
    /// An argument was invalid, or the map/buffer is not accessible in this callback.
    BadArgument = 2,
    /// A value could not be serialized.
    SerializationFailure = 3,
    /// A value could not be parsed (e.g. an unknown gRPC cluster).
    ParseFailure = 4,
    /// An expression was invalid (C++ SDK only).
    BadExpression = 5,
    /// A pointer/length handed to the host was out of bounds.
    InvalidMemoryAccess = 6,
    /// A shared queue was empty.
    Empty = 7,
    /// A shared-data write lost a compare-and-swap race.
    CasMismatch = 8,
    /// A result type did not match (C++ SDK only).
    ResultMismatch = 9,
    /// The host failed internally, or the call is not allowed.
    InternalFailure = 10,
    /// A callout's connection broke.
    BrokenConnection = 11,
    /// The host does not implement this call.
    Unimplemented = 12,
}

impl Status {
    /// Converts a raw status code; codes outside the ABI's range become `InternalFailure`.
    pub fn from_u32(code: u32) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::NotFound,
            2 => Status::BadArgument,
            3 => Status::SerializationFailure,
            4 => Status::ParseFailure,
            5 => Status::BadExpression,
            6 => Status::InvalidMemoryAccess,
            7 => Status::Empty,
            8 => Status::CasMismatch,
            9 => Status::ResultMismatch,
            11 => Status::BrokenConnection,
            12 => Status::Unimplemented,
            _ => Status::InternalFailure,
        }
    }

    /// `Ok(())` for `Status::Ok`, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Status> {
        if self == Status::Ok {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// Which kind of stream context a root context creates (never crosses the ABI).
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum ContextType {
    /// HTTP filter contexts (`HttpContext`).
    HttpContext = 0,
    /// Network filter contexts (`StreamContext`).
    StreamContext = 1,
}

/// A direction of a stream, for `proxy_continue_stream` / `proxy_close_stream`.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum StreamType {
    /// The HTTP request (decode path).
    HttpRequest = 0,
    /// The HTTP response (encode path).
    HttpResponse = 1,
    /// Bytes from the TCP client.
    Downstream = 2,
    /// Bytes from the TCP upstream.
    Upstream = 3,
}

/// Buffers readable (and some writable) through `proxy_get_buffer_bytes` / `proxy_set_buffer_bytes`.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum BufferType {
    /// HTTP request body.
    HttpRequestBody = 0,
    /// HTTP response body.
    HttpResponseBody = 1,
    /// TCP bytes from the client.
    DownstreamData = 2,
    /// TCP bytes from the upstream.
    UpstreamData = 3,
    /// Body of an HTTP callout's response.
    HttpCallResponseBody = 4,
    /// A received gRPC message.
    GrpcReceiveBuffer = 5,
    /// `vm_config.configuration`.
    VmConfiguration = 6,
    /// The plugin's `configuration`.
    PluginConfiguration = 7,
    /// Arguments of a foreign function call into the plugin.
    CallData = 8,
}

/// Header-like maps reachable through the `proxy_*_header_map_*` calls.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum MapType {
    /// HTTP request headers (with `:method`, `:path`, `:authority`, `:scheme`).
    HttpRequestHeaders = 0,
    /// HTTP request trailers.
    HttpRequestTrailers = 1,
    /// HTTP response headers (with `:status`).
    HttpResponseHeaders = 2,
    /// HTTP response trailers.
    HttpResponseTrailers = 3,
    /// Initial metadata of a gRPC stream's response.
    GrpcReceiveInitialMetadata = 4,
    /// Trailing metadata of a gRPC stream's response.
    GrpcReceiveTrailingMetadata = 5,
    /// Headers of an HTTP callout's response.
    HttpCallResponseHeaders = 6,
    /// Trailers of an HTTP callout's response.
    HttpCallResponseTrailers = 7,
}

/// Who closed a TCP connection.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum PeerType {
    /// Not known (Envoy's synthesized upstream close).
    Unknown = 0,
    /// The proxy closed it.
    Local = 1,
    /// The peer closed it.
    Remote = 2,
}

impl PeerType {
    /// Converts the host's number; unknown values become `Unknown`.
    pub fn from_u32(value: u32) -> PeerType {
        match value {
            1 => PeerType::Local,
            2 => PeerType::Remote,
            _ => PeerType::Unknown,
        }
    }
}

/// Kinds of metrics for `proxy_define_metric`.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
pub enum MetricType {
    /// Only grows.
    Counter = 0,
    /// Set, increased or decreased.
    Gauge = 1,
    /// Records samples; cannot be read back.
    Histogram = 2,
}

/// gRPC status codes, as carried by `proxy_on_grpc_close` and local gRPC replies.
#[repr(u32)]
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are gRPC's own and self-explanatory
pub enum GrpcStatusCode {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}
