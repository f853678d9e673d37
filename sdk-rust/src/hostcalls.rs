//! Typed wrappers for every host function of ABI 0.2.1.
//!
//! Each wrapper passes Rust slices to the host, takes ownership of buffers the host allocated through
//! `proxy_on_memory_allocate`, and maps the status: "absent" answers (`NotFound`, or an empty result) become
//! `Ok(None)` where the ABI uses them as such, every other non-`Ok` status is returned as `Err`.

use crate::abi;
use crate::dispatcher;
use crate::pairs;
use crate::types::*;
use std::ptr::{null, null_mut};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A buffer the host allocated inside our memory: handed back by the out-pointer pair of many host calls.
struct OutBuffer {
    data: *mut u8,
    size: usize,
}

impl OutBuffer {
    fn new() -> OutBuffer {
        OutBuffer { data: null_mut(), size: 0 }
    }

    /// Takes ownership of what the host wrote; a null pointer means "no data".
    fn take(self) -> Option<Bytes> {
        if self.data.is_null() {
            None
        } else {
            // SAFETY: the host obtained `data` from `proxy_on_memory_allocate(size)`, which leaks a boxed slice of
            // exactly `size` bytes; rebuilding the Vec with that capacity returns it to the allocator.
            Some(unsafe { Vec::from_raw_parts(self.data, self.size, self.size) })
        }
    }
}

fn check(code: u32) -> Result<(), Status> {
    Status::from_u32(code).into_result()
}

fn opt_slice(value: Option<&[u8]>) -> (*const u8, usize) {
    match value {
        Some(v) => (v.as_ptr(), v.len()),
        None => (null(), 0),
    }
}

/// Milliseconds for the ABI, where 0 means "off" (no timer, no timeout): a non-zero duration never rounds down
/// to 0, and long ones saturate.
fn millis(duration: Duration) -> u32 {
    if duration.is_zero() {
        return 0;
    }
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX).max(1)
}

// ---- logging and time -------------------------------------------------------------------------------------------

/// Writes `message` to the host's log at `level`.
pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
    check(unsafe { abi::proxy_log(level as u32, message.as_ptr(), message.len()) })
}

/// The host's current log level (ABI 0.2.1).
pub fn get_log_level() -> Result<LogLevel, Status> {
    let mut level = 0u32;
    check(unsafe { abi::proxy_get_log_level(&mut level) })?;
    Ok(LogLevel::from_u32(level))
}

/// The host's wall-clock time.
pub fn get_current_time() -> Result<SystemTime, Status> {
    let mut nanos = 0u64;
    check(unsafe { abi::proxy_get_current_time_nanoseconds(&mut nanos) })?;
    Ok(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// Sets the tick period of the calling root context (`Duration::ZERO` stops the timer).
pub fn set_tick_period(period: Duration) -> Result<(), Status> {
    check(unsafe { abi::proxy_set_tick_period_milliseconds(millis(period)) })
}

// ---- buffers ----------------------------------------------------------------------------------------------------

/// Reads up to `max_size` bytes from `start` of a buffer (`usize::MAX` = all); `None` when empty or absent.
pub fn get_buffer(buffer_type: BufferType, start: usize, max_size: usize) -> Result<Option<Bytes>, Status> {
    let mut out = OutBuffer::new();
    let status =
        unsafe { abi::proxy_get_buffer_bytes(buffer_type as u32, start, max_size, &mut out.data, &mut out.size) };
    match Status::from_u32(status) {
        Status::Ok => Ok(out.take()),
        Status::NotFound => Ok(None),
        other => Err(other),
    }
}

/// The current size and flags of a buffer.
pub fn get_buffer_status(buffer_type: BufferType) -> Result<(usize, u32), Status> {
    let (mut size, mut flags) = (0usize, 0u32);
    check(unsafe { abi::proxy_get_buffer_status(buffer_type as u32, &mut size, &mut flags) })?;
    Ok((size, flags))
}

/// Replaces `size` bytes at `start` of a buffer with `value` (`(0, usize::MAX)` replaces everything).
pub fn set_buffer(buffer_type: BufferType, start: usize, size: usize, value: &[u8]) -> Result<(), Status> {
    check(unsafe { abi::proxy_set_buffer_bytes(buffer_type as u32, start, size, value.as_ptr(), value.len()) })
}

// ---- header maps ------------------------------------------------------------------------------------------------

fn get_map_raw(map_type: MapType) -> Result<Bytes, Status> {
    let mut out = OutBuffer::new();
    check(unsafe { abi::proxy_get_header_map_pairs(map_type as u32, &mut out.data, &mut out.size) })?;
    Ok(out.take().unwrap_or_default())
}

/// All entries of a map as UTF-8 strings, in order (repeated keys appear repeatedly).
pub fn get_map(map_type: MapType) -> Result<Vec<(String, String)>, Status> {
    pairs::deserialize_strings(&get_map_raw(map_type)?)
}

/// All entries of a map with raw values.
pub fn get_map_bytes(map_type: MapType) -> Result<Vec<(String, Bytes)>, Status> {
    pairs::deserialize_bytes_values(&get_map_raw(map_type)?)
}

/// Replaces the whole map.
pub fn set_map(map_type: MapType, map: Vec<(&str, &str)>) -> Result<(), Status> {
    let bytes = pairs::serialize(&map);
    check(unsafe { abi::proxy_set_header_map_pairs(map_type as u32, bytes.as_ptr(), bytes.len()) })
}

/// Replaces the whole map with raw values.
pub fn set_map_bytes(map_type: MapType, map: Vec<(&str, &[u8])>) -> Result<(), Status> {
    let bytes = pairs::serialize(&map);
    check(unsafe { abi::proxy_set_header_map_pairs(map_type as u32, bytes.as_ptr(), bytes.len()) })
}

/// The size the host reports for a map (Envoy: the sum of key and value lengths).
pub fn get_map_size(map_type: MapType) -> Result<usize, Status> {
    let mut size = 0usize;
    check(unsafe { abi::proxy_get_header_map_size(map_type as u32, &mut size) })?;
    Ok(size)
}

/// The first value of `key` as UTF-8; `None` when absent, `Some("")` when present but empty.
pub fn get_map_value(map_type: MapType, key: &str) -> Result<Option<String>, Status> {
    match get_map_value_bytes(map_type, key)? {
        Some(bytes) => pairs::utf8(bytes).map(Some),
        None => Ok(None),
    }
}

/// The first value of `key` as bytes; `None` when absent.
pub fn get_map_value_bytes(map_type: MapType, key: &str) -> Result<Option<Bytes>, Status> {
    let mut out = OutBuffer::new();
    let status = unsafe {
        abi::proxy_get_header_map_value(map_type as u32, key.as_ptr(), key.len(), &mut out.data, &mut out.size)
    };
    match Status::from_u32(status) {
        Status::Ok => Ok(Some(out.take().unwrap_or_default())),
        Status::NotFound => Ok(None),
        other => Err(other),
    }
}

/// Sets `key` to exactly `value` (adding it if absent); `None` removes it.
pub fn set_map_value(map_type: MapType, key: &str, value: Option<&str>) -> Result<(), Status> {
    set_map_value_bytes(map_type, key, value.map(str::as_bytes))
}

/// Sets `key` to exactly the raw `value`; `None` removes it.
pub fn set_map_value_bytes(map_type: MapType, key: &str, value: Option<&[u8]>) -> Result<(), Status> {
    match value {
        Some(v) => check(unsafe {
            abi::proxy_replace_header_map_value(map_type as u32, key.as_ptr(), key.len(), v.as_ptr(), v.len())
        }),
        None => remove_map_value(map_type, key),
    }
}

/// Appends an entry, keeping existing values of `key`.
pub fn add_map_value(map_type: MapType, key: &str, value: &str) -> Result<(), Status> {
    add_map_value_bytes(map_type, key, value.as_bytes())
}

/// Appends an entry with a raw value.
pub fn add_map_value_bytes(map_type: MapType, key: &str, value: &[u8]) -> Result<(), Status> {
    check(unsafe {
        abi::proxy_add_header_map_value(map_type as u32, key.as_ptr(), key.len(), value.as_ptr(), value.len())
    })
}

/// Removes every entry of `key` (succeeds when absent).
pub fn remove_map_value(map_type: MapType, key: &str) -> Result<(), Status> {
    check(unsafe { abi::proxy_remove_header_map_value(map_type as u32, key.as_ptr(), key.len()) })
}

// ---- properties -------------------------------------------------------------------------------------------------

/// Reads a host attribute such as `["source", "address"]`; `None` when it does not exist or is empty.
pub fn get_property(path: Vec<&str>) -> Result<Option<Bytes>, Status> {
    let encoded = pairs::serialize_property_path(&path);
    let mut out = OutBuffer::new();
    let status = unsafe { abi::proxy_get_property(encoded.as_ptr(), encoded.len(), &mut out.data, &mut out.size) };
    match Status::from_u32(status) {
        Status::Ok => Ok(out.take()),
        Status::NotFound => Ok(None),
        other => Err(other),
    }
}

/// Stores a value under a property path for later filters and reads (`None` stores an empty value).
pub fn set_property(path: Vec<&str>, value: Option<&[u8]>) -> Result<(), Status> {
    let encoded = pairs::serialize_property_path(&path);
    let (data, size) = opt_slice(value);
    check(unsafe { abi::proxy_set_property(encoded.as_ptr(), encoded.len(), data, size) })
}

// ---- shared data and queues -------------------------------------------------------------------------------------

/// Reads shared data: `(value, cas)`, both `None` when the key does not exist.
pub fn get_shared_data(key: &str) -> Result<(Option<Bytes>, Option<u32>), Status> {
    let mut out = OutBuffer::new();
    let mut cas = 0u32;
    let status = unsafe { abi::proxy_get_shared_data(key.as_ptr(), key.len(), &mut out.data, &mut out.size, &mut cas) };
    match Status::from_u32(status) {
        Status::Ok => Ok((out.take(), Some(cas))),
        Status::NotFound => Ok((None, None)),
        other => Err(other),
    }
}

/// Writes shared data. With `Some(cas)` the write only succeeds if nobody wrote since that read
/// (else `Err(Status::CasMismatch)`); `None` writes unconditionally.
pub fn set_shared_data(key: &str, value: Option<&[u8]>, cas: Option<u32>) -> Result<(), Status> {
    let (data, size) = opt_slice(value);
    check(unsafe { abi::proxy_set_shared_data(key.as_ptr(), key.len(), data, size, cas.unwrap_or(0)) })
}

/// Creates (or reopens) a queue owned by the calling root context; returns its id.
pub fn register_shared_queue(name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    check(unsafe { abi::proxy_register_shared_queue(name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Finds a queue registered by VM `vm_id` (empty = this VM's id); `None` when there is none.
pub fn resolve_shared_queue(vm_id: &str, name: &str) -> Result<Option<u32>, Status> {
    let mut id = 0u32;
    let status =
        unsafe { abi::proxy_resolve_shared_queue(vm_id.as_ptr(), vm_id.len(), name.as_ptr(), name.len(), &mut id) };
    match Status::from_u32(status) {
        Status::Ok => Ok(Some(id)),
        Status::NotFound => Ok(None),
        other => Err(other),
    }
}

/// Pops the oldest item of a queue; `Ok(None)` when the queue is empty.
pub fn dequeue_shared_queue(queue_id: u32) -> Result<Option<Bytes>, Status> {
    let mut out = OutBuffer::new();
    let status = unsafe { abi::proxy_dequeue_shared_queue(queue_id, &mut out.data, &mut out.size) };
    match Status::from_u32(status) {
        Status::Ok => Ok(Some(out.take().unwrap_or_default())),
        Status::Empty => Ok(None),
        other => Err(other),
    }
}

/// Appends an item to a queue.
pub fn enqueue_shared_queue(queue_id: u32, value: Option<&[u8]>) -> Result<(), Status> {
    let (data, size) = opt_slice(value);
    check(unsafe { abi::proxy_enqueue_shared_queue(queue_id, data, size) })
}

// ---- stream control ---------------------------------------------------------------------------------------------

fn continue_stream(stream: StreamType) -> Result<(), Status> {
    check(unsafe { abi::proxy_continue_stream(stream as u32) })
}

fn close_stream(stream: StreamType) -> Result<(), Status> {
    check(unsafe { abi::proxy_close_stream(stream as u32) })
}

/// Resumes reading from the TCP client.
pub fn resume_downstream() -> Result<(), Status> {
    continue_stream(StreamType::Downstream)
}

/// Closes the TCP connection (after flushing).
pub fn close_downstream() -> Result<(), Status> {
    close_stream(StreamType::Downstream)
}

/// Resumes the upstream direction (Envoy answers `Unimplemented`).
pub fn resume_upstream() -> Result<(), Status> {
    continue_stream(StreamType::Upstream)
}

/// Closes the TCP connection from the upstream side.
pub fn close_upstream() -> Result<(), Status> {
    close_stream(StreamType::Upstream)
}

/// Resumes a paused HTTP request.
pub fn resume_http_request() -> Result<(), Status> {
    continue_stream(StreamType::HttpRequest)
}

/// Resets the HTTP stream from the request side.
pub fn reset_http_request() -> Result<(), Status> {
    close_stream(StreamType::HttpRequest)
}

/// Resumes a paused HTTP response.
pub fn resume_http_response() -> Result<(), Status> {
    continue_stream(StreamType::HttpResponse)
}

/// Resets the HTTP stream from the response side.
pub fn reset_http_response() -> Result<(), Status> {
    close_stream(StreamType::HttpResponse)
}

/// Replies to the client from the proxy; the current callback should return right after.
pub fn send_http_response(status_code: u32, headers: Vec<(&str, &str)>, body: Option<&[u8]>) -> Result<(), Status> {
    let headers = pairs::serialize(&headers);
    let (body_data, body_size) = opt_slice(body);
    // -1 = no gRPC status (the C++ SDK's InvalidCode).
    check(unsafe {
        abi::proxy_send_local_response(
            status_code,
            null(),
            0,
            body_data,
            body_size,
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// Replies with a gRPC error: HTTP 200, `grpc-status`, and the message as `grpc-message`.
pub fn send_grpc_response(
    grpc_status: GrpcStatusCode,
    grpc_status_message: Option<&str>,
    custom_metadata: Vec<(&str, &[u8])>,
) -> Result<(), Status> {
    let metadata = pairs::serialize(&custom_metadata);
    let (msg_data, msg_size) = opt_slice(grpc_status_message.map(str::as_bytes));
    check(unsafe {
        abi::proxy_send_local_response(
            200,
            null(),
            0,
            msg_data,
            msg_size,
            metadata.as_ptr(),
            metadata.len(),
            grpc_status as i32,
        )
    })
}

// ---- HTTP and gRPC callouts -------------------------------------------------------------------------------------

/// Sends an HTTP request to the cluster `upstream`; `headers` must hold `:method`, `:path` and `:authority`.
/// The answer arrives in `on_http_call_response` of the context that made the call, with the returned token.
pub fn dispatch_http_call(
    upstream: &str,
    headers: Vec<(&str, &str)>,
    body: Option<&[u8]>,
    trailers: Vec<(&str, &str)>,
    timeout: Duration,
) -> Result<u32, Status> {
    let headers = pairs::serialize(&headers);
    let trailers = pairs::serialize(&trailers);
    let (body_data, body_size) = opt_slice(body);
    let mut token = 0u32;
    check(unsafe {
        abi::proxy_http_call(
            upstream.as_ptr(),
            upstream.len(),
            headers.as_ptr(),
            headers.len(),
            body_data,
            body_size,
            trailers.as_ptr(),
            trailers.len(),
            millis(timeout),
            &mut token,
        )
    })?;
    dispatcher::register_http_callout(token);
    Ok(token)
}

/// Starts a unary gRPC call; the answer arrives in `on_grpc_call_response` with the returned token.
pub fn dispatch_grpc_call(
    upstream_name: &str,
    service_name: &str,
    method_name: &str,
    initial_metadata: Vec<(&str, &[u8])>,
    message: Option<&[u8]>,
    timeout: Duration,
) -> Result<u32, Status> {
    let metadata = pairs::serialize(&initial_metadata);
    let (msg_data, msg_size) = opt_slice(message);
    let mut token = 0u32;
    check(unsafe {
        abi::proxy_grpc_call(
            upstream_name.as_ptr(),
            upstream_name.len(),
            service_name.as_ptr(),
            service_name.len(),
            method_name.as_ptr(),
            method_name.len(),
            metadata.as_ptr(),
            metadata.len(),
            msg_data,
            msg_size,
            millis(timeout),
            &mut token,
        )
    })?;
    dispatcher::register_grpc_callout(token);
    Ok(token)
}

/// Abandons a unary gRPC call; no callback follows.
pub fn cancel_grpc_call(token_id: u32) -> Result<(), Status> {
    check(unsafe { abi::proxy_grpc_cancel(token_id) })
}

/// Opens a bidirectional gRPC stream; events arrive in the `on_grpc_stream_*` callbacks.
pub fn open_grpc_stream(
    cluster_name: &str,
    service_name: &str,
    method_name: &str,
    initial_metadata: Vec<(&str, &[u8])>,
) -> Result<u32, Status> {
    let metadata = pairs::serialize(&initial_metadata);
    let mut token = 0u32;
    check(unsafe {
        abi::proxy_grpc_stream(
            cluster_name.as_ptr(),
            cluster_name.len(),
            service_name.as_ptr(),
            service_name.len(),
            method_name.as_ptr(),
            method_name.len(),
            metadata.as_ptr(),
            metadata.len(),
            &mut token,
        )
    })?;
    dispatcher::register_grpc_stream(token);
    Ok(token)
}

/// Sends one message on a gRPC stream; `end_stream` half-closes our side after it.
pub fn send_grpc_stream_message(token_id: u32, message: Option<&[u8]>, end_stream: bool) -> Result<(), Status> {
    let (data, size) = opt_slice(message);
    check(unsafe { abi::proxy_grpc_send(token_id, data, size, end_stream as u32) })
}

/// Resets a gRPC stream; no callback follows.
pub fn cancel_grpc_stream(token_id: u32) -> Result<(), Status> {
    check(unsafe { abi::proxy_grpc_cancel(token_id) })
}

/// Half-closes our side of a gRPC stream; the remote may still send.
pub fn close_grpc_stream(token_id: u32) -> Result<(), Status> {
    check(unsafe { abi::proxy_grpc_close(token_id) })
}

/// The status code and message of the last callout event of the calling root context.
pub fn get_grpc_status() -> Result<(u32, Option<String>), Status> {
    let mut code = 0u32;
    let mut out = OutBuffer::new();
    check(unsafe { abi::proxy_get_status(&mut code, &mut out.data, &mut out.size) })?;
    let message = match out.take() {
        Some(bytes) => Some(pairs::utf8(bytes)?),
        None => None,
    };
    Ok((code, message))
}

// ---- contexts, foreign functions, metrics -----------------------------------------------------------------------

/// Makes the following host calls of this callback act on `context_id`.
pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    check(unsafe { abi::proxy_set_effective_context(context_id) })
}

/// Calls a host-specific function by name; returns its result bytes, if any.
pub fn call_foreign_function(function_name: &str, arguments: Option<&[u8]>) -> Result<Option<Bytes>, Status> {
    let (args_data, args_size) = opt_slice(arguments);
    let mut out = OutBuffer::new();
    check(unsafe {
        abi::proxy_call_foreign_function(
            function_name.as_ptr(),
            function_name.len(),
            args_data,
            args_size,
            &mut out.data,
            &mut out.size,
        )
    })?;
    Ok(out.take())
}

/// Tells the host that a root context which answered `false` from `on_done` has finished.
pub fn done() -> Result<(), Status> {
    check(unsafe { abi::proxy_done() })
}

/// Defines (or looks up) a metric and returns its id.
pub fn define_metric(metric_type: MetricType, name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    check(unsafe { abi::proxy_define_metric(metric_type as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds `offset` to a counter (must be positive) or a gauge.
pub fn increment_metric(metric_id: u32, offset: i64) -> Result<(), Status> {
    check(unsafe { abi::proxy_increment_metric(metric_id, offset) })
}

/// Counter: adds `value`; gauge: sets it; histogram: records a sample.
pub fn record_metric(metric_id: u32, value: u64) -> Result<(), Status> {
    check(unsafe { abi::proxy_record_metric(metric_id, value) })
}

/// Reads a counter or gauge.
pub fn get_metric(metric_id: u32) -> Result<u64, Status> {
    let mut value = 0u64;
    check(unsafe { abi::proxy_get_metric(metric_id, &mut value) })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_milliseconds_without_turning_into_off() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_micros(10)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u32::MAX);
    }

    #[test]
    fn without_a_host_calls_answer_unimplemented() {
        assert_eq!(log(LogLevel::Info, "x"), Err(Status::Unimplemented));
        assert_eq!(get_property(vec!["plugin_name"]), Err(Status::Unimplemented));
        assert_eq!(dispatch_http_call("c", vec![], None, vec![], Duration::ZERO), Err(Status::Unimplemented));
    }
}
