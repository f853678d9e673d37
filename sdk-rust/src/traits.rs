//! The context traits a plugin implements. Every callback has a no-op default, and every host call has a
//! provided method, so a plugin overrides only what it uses.
//!
//! Provided methods panic (which the panic hook logs, then the VM traps) when the host answers with an
//! unexpected status, as the upstream SDK does; call [`crate::hostcalls`] directly to handle such errors.

use crate::hostcalls;
use crate::types::*;
use std::time::{Duration, SystemTime};

/// Unwraps a host call's result, or panics naming the call and the status.
fn expect<T>(result: Result<T, Status>, call: &str) -> T {
    match result {
        Ok(value) => value,
        Err(status) => panic!("{} failed: {:?}", call, status),
    }
}

/// What every context (root, HTTP, TCP) can do.
pub trait Context {
    /// The host's wall-clock time.
    fn get_current_time(&self) -> SystemTime {
        expect(hostcalls::get_current_time(), "get_current_time")
    }

    /// Reads a host attribute, e.g. `vec!["source", "address"]`; `None` when absent.
    fn get_property(&self, path: Vec<&str>) -> Option<Bytes> {
        expect(hostcalls::get_property(path), "get_property")
    }

    /// Stores a value under a property path.
    fn set_property(&self, path: Vec<&str>, value: Option<&[u8]>) {
        expect(hostcalls::set_property(path, value), "set_property")
    }

    /// Reads shared data: `(value, cas)`.
    fn get_shared_data(&self, key: &str) -> (Option<Bytes>, Option<u32>) {
        expect(hostcalls::get_shared_data(key), "get_shared_data")
    }

    /// Writes shared data, conditionally on `cas` when given (`Err(Status::CasMismatch)` on a lost race).
    fn set_shared_data(&self, key: &str, value: Option<&[u8]>, cas: Option<u32>) -> Result<(), Status> {
        hostcalls::set_shared_data(key, value, cas)
    }

    /// Empties a shared data entry (the ABI has no delete).
    fn remove_shared_data(&self, key: &str, cas: Option<u32>) -> Result<(), Status> {
        hostcalls::set_shared_data(key, None, cas)
    }

    /// Creates or reopens a queue owned by this context's root.
    fn register_shared_queue(&self, name: &str) -> u32 {
        expect(hostcalls::register_shared_queue(name), "register_shared_queue")
    }

    /// Finds a queue another VM registered.
    fn resolve_shared_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        expect(hostcalls::resolve_shared_queue(vm_id, name), "resolve_shared_queue")
    }

    /// Pops the oldest item of a queue (`Ok(None)` when empty).
    fn dequeue_shared_queue(&self, queue_id: u32) -> Result<Option<Bytes>, Status> {
        hostcalls::dequeue_shared_queue(queue_id)
    }

    /// Appends an item to a queue.
    fn enqueue_shared_queue(&self, queue_id: u32, value: Option<&[u8]>) -> Result<(), Status> {
        hostcalls::enqueue_shared_queue(queue_id, value)
    }

    /// Sends an HTTP request to a cluster; the answer comes to this context's `on_http_call_response`.
    fn dispatch_http_call(
        &self,
        upstream: &str,
        headers: Vec<(&str, &str)>,
        body: Option<&[u8]>,
        trailers: Vec<(&str, &str)>,
        timeout: Duration,
    ) -> Result<u32, Status> {
        hostcalls::dispatch_http_call(upstream, headers, body, trailers, timeout)
    }

    /// A callout answered; all counts 0 means it failed (reset, or no answer).
    fn on_http_call_response(&mut self, _token_id: u32, _num_headers: usize, _body_size: usize, _num_trailers: usize) {}

    /// All headers of the callout response being delivered.
    fn get_http_call_response_headers(&self) -> Vec<(String, String)> {
        expect(hostcalls::get_map(MapType::HttpCallResponseHeaders), "get_http_call_response_headers")
    }

    /// All headers of the callout response, with raw values.
    fn get_http_call_response_headers_bytes(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders), "get_http_call_response_headers_bytes")
    }

    /// One of the headers of the callout response; `None` when absent.
    fn get_http_call_response_header(&self, name: &str) -> Option<String> {
        expect(hostcalls::get_map_value(MapType::HttpCallResponseHeaders, name), "get_http_call_response_header")
    }

    /// One of the headers of the callout response, raw; `None` when absent.
    fn get_http_call_response_header_bytes(&self, name: &str) -> Option<Bytes> {
        expect(
            hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, name),
            "get_http_call_response_header_bytes",
        )
    }

    /// All trailers of the callout response being delivered.
    fn get_http_call_response_trailers(&self) -> Vec<(String, String)> {
        expect(hostcalls::get_map(MapType::HttpCallResponseTrailers), "get_http_call_response_trailers")
    }

    /// All trailers of the callout response, with raw values.
    fn get_http_call_response_trailers_bytes(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::HttpCallResponseTrailers), "get_http_call_response_trailers_bytes")
    }

    /// One of the trailers of the callout response; `None` when absent.
    fn get_http_call_response_trailer(&self, name: &str) -> Option<String> {
        expect(hostcalls::get_map_value(MapType::HttpCallResponseTrailers, name), "get_http_call_response_trailer")
    }

    /// One of the trailers of the callout response, raw; `None` when absent.
    fn get_http_call_response_trailer_bytes(&self, name: &str) -> Option<Bytes> {
        expect(
            hostcalls::get_map_value_bytes(MapType::HttpCallResponseTrailers, name),
            "get_http_call_response_trailer_bytes",
        )
    }

    /// Reads the callout response body (only during `on_http_call_response`).
    fn get_http_call_response_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::HttpCallResponseBody, start, max_size), "get_http_call_response_body")
    }

    /// Starts a unary gRPC call; the answer comes to `on_grpc_call_response`.
    fn dispatch_grpc_call(
        &self,
        upstream_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: Vec<(&str, &[u8])>,
        message: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<u32, Status> {
        hostcalls::dispatch_grpc_call(upstream_name, service_name, method_name, initial_metadata, message, timeout)
    }

    /// A unary gRPC call finished: `status_code` 0 with the reply in the gRPC buffer, else the failure status.
    fn on_grpc_call_response(&mut self, _token_id: u32, _status_code: u32, _response_size: usize) {}

    /// Reads the reply of a unary gRPC call.
    fn get_grpc_call_response_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, start, max_size), "get_grpc_call_response_body")
    }

    /// Abandons a unary gRPC call.
    fn cancel_grpc_call(&self, token_id: u32) {
        expect(hostcalls::cancel_grpc_call(token_id), "cancel_grpc_call")
    }

    /// Opens a bidirectional gRPC stream.
    fn open_grpc_stream(
        &self,
        cluster_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: Vec<(&str, &[u8])>,
    ) -> Result<u32, Status> {
        hostcalls::open_grpc_stream(cluster_name, service_name, method_name, initial_metadata)
    }

    /// A gRPC stream received its response headers.
    fn on_grpc_stream_initial_metadata(&mut self, _token_id: u32, _num_elements: u32) {}

    /// The initial metadata being delivered.
    fn get_grpc_stream_initial_metadata(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::GrpcReceiveInitialMetadata), "get_grpc_stream_initial_metadata")
    }

    /// One initial metadata value.
    fn get_grpc_stream_initial_metadata_value(&self, name: &str) -> Option<Bytes> {
        expect(
            hostcalls::get_map_value_bytes(MapType::GrpcReceiveInitialMetadata, name),
            "get_grpc_stream_initial_metadata_value",
        )
    }

    /// Sends a message on a gRPC stream.
    fn send_grpc_stream_message(&self, token_id: u32, message: Option<&[u8]>, end_stream: bool) {
        expect(hostcalls::send_grpc_stream_message(token_id, message, end_stream), "send_grpc_stream_message")
    }

    /// A gRPC stream received a message.
    fn on_grpc_stream_message(&mut self, _token_id: u32, _message_size: usize) {}

    /// Reads the message being delivered.
    fn get_grpc_stream_message(&mut self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::GrpcReceiveBuffer, start, max_size), "get_grpc_stream_message")
    }

    /// A gRPC stream received its trailers.
    fn on_grpc_stream_trailing_metadata(&mut self, _token_id: u32, _num_elements: u32) {}

    /// The trailing metadata being delivered.
    fn get_grpc_stream_trailing_metadata(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::GrpcReceiveTrailingMetadata), "get_grpc_stream_trailing_metadata")
    }

    /// One trailing metadata value.
    fn get_grpc_stream_trailing_metadata_value(&self, name: &str) -> Option<Bytes> {
        expect(
            hostcalls::get_map_value_bytes(MapType::GrpcReceiveTrailingMetadata, name),
            "get_grpc_stream_trailing_metadata_value",
        )
    }

    /// Resets a gRPC stream.
    fn cancel_grpc_stream(&self, token_id: u32) {
        expect(hostcalls::cancel_grpc_stream(token_id), "cancel_grpc_stream")
    }

    /// Half-closes our side of a gRPC stream.
    fn close_grpc_stream(&self, token_id: u32) {
        expect(hostcalls::close_grpc_stream(token_id), "close_grpc_stream")
    }

    /// A gRPC stream was closed by the remote.
    fn on_grpc_stream_close(&mut self, _token_id: u32, _status_code: u32) {}

    /// The status code and message of the last callout event.
    fn get_grpc_status(&self) -> (u32, Option<String>) {
        expect(hostcalls::get_grpc_status(), "get_grpc_status")
    }

    /// The host called a function of the plugin; arguments are readable as `BufferType::CallData`.
    fn on_foreign_function(&mut self, _function_id: u32, _arguments_size: usize) {}

    /// Calls a host-specific function by name.
    fn call_foreign_function(&self, function_name: &str, arguments: Option<&[u8]>) -> Result<Option<Bytes>, Status> {
        hostcalls::call_foreign_function(function_name, arguments)
    }

    /// The host is finished with this context; `false` (roots only) delays deletion until `done()`.
    fn on_done(&mut self) -> bool {
        true
    }

    /// Finishes a root context that answered `false` from `on_done`.
    fn done(&self) {
        expect(hostcalls::done(), "done")
    }
}

/// The per-plugin context: configuration, timers, queues, and the factory of stream contexts.
pub trait RootContext: Context {
    /// The VM started; `false` fails the plugin.
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        true
    }

    /// The VM configuration (`vm_config.configuration`).
    fn get_vm_configuration(&self) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::VmConfiguration, 0, usize::MAX), "get_vm_configuration")
    }

    /// The plugin is configured; `false` rejects the configuration.
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        true
    }

    /// The plugin configuration (readable during `on_configure`).
    fn get_plugin_configuration(&self) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX), "get_plugin_configuration")
    }

    /// Calls `on_tick` every `period` (`Duration::ZERO` stops it).
    fn set_tick_period(&self, period: Duration) {
        expect(hostcalls::set_tick_period(period), "set_tick_period")
    }

    /// The tick timer fired.
    fn on_tick(&mut self) {}

    /// An item was enqueued on a queue this root registered.
    fn on_queue_ready(&mut self, _queue_id: u32) {}

    /// Access-log hook for root contexts (not called by Envoy).
    fn on_log(&mut self) {}

    /// Builds the HTTP context of a new stream (when `get_type` is `HttpContext`).
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        None
    }

    /// Builds the TCP context of a new connection (when `get_type` is `StreamContext`).
    fn create_stream_context(&self, _context_id: u32) -> Option<Box<dyn StreamContext>> {
        None
    }

    /// Which kind of stream context this root creates; `None` uses the factories set with
    /// `set_http_context` / `set_stream_context`.
    fn get_type(&self) -> Option<ContextType> {
        None
    }
}

/// A TCP connection (network filter).
pub trait StreamContext: Context {
    /// A downstream connection was accepted.
    fn on_new_connection(&mut self) -> Action {
        Action::Continue
    }

    /// Bytes arrived from the client.
    fn on_downstream_data(&mut self, _data_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// Reads the client's bytes.
    fn get_downstream_data(&self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::DownstreamData, start, max_size), "get_downstream_data")
    }

    /// Replaces the client's bytes.
    fn set_downstream_data(&self, start: usize, size: usize, value: &[u8]) {
        expect(hostcalls::set_buffer(BufferType::DownstreamData, start, size, value), "set_downstream_data")
    }

    /// Resumes reading from the client.
    fn resume_downstream(&self) {
        expect(hostcalls::resume_downstream(), "resume_downstream")
    }

    /// Closes the connection.
    fn close_downstream(&self) {
        expect(hostcalls::close_downstream(), "close_downstream")
    }

    /// The client side closed.
    fn on_downstream_close(&mut self, _peer_type: PeerType) {}

    /// Bytes arrived from the upstream.
    fn on_upstream_data(&mut self, _data_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// Reads the upstream's bytes.
    fn get_upstream_data(&self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::UpstreamData, start, max_size), "get_upstream_data")
    }

    /// Replaces the upstream's bytes.
    fn set_upstream_data(&self, start: usize, size: usize, value: &[u8]) {
        expect(hostcalls::set_buffer(BufferType::UpstreamData, start, size, value), "set_upstream_data")
    }

    /// Resumes the upstream direction.
    fn resume_upstream(&self) {
        expect(hostcalls::resume_upstream(), "resume_upstream")
    }

    /// Closes the connection from the upstream side.
    fn close_upstream(&self) {
        expect(hostcalls::close_upstream(), "close_upstream")
    }

    /// The upstream side closed.
    fn on_upstream_close(&mut self, _peer_type: PeerType) {}

    /// The connection is complete, for access logging.
    fn on_log(&mut self) {}
}

/// An HTTP stream (HTTP filter).
pub trait HttpContext: Context {
    /// Request headers arrived (`end_of_stream`: the request has no body).
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// All request headers as UTF-8 strings.
    fn get_http_request_headers(&self) -> Vec<(String, String)> {
        expect(hostcalls::get_map(MapType::HttpRequestHeaders), "get_http_request_headers")
    }

    /// All request headers with raw values.
    fn get_http_request_headers_bytes(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::HttpRequestHeaders), "get_http_request_headers_bytes")
    }

    /// Replaces all request headers.
    fn set_http_request_headers(&self, headers: Vec<(&str, &str)>) {
        expect(hostcalls::set_map(MapType::HttpRequestHeaders, headers), "set_http_request_headers")
    }

    /// Replaces all request headers with raw values.
    fn set_http_request_headers_bytes(&self, headers: Vec<(&str, &[u8])>) {
        expect(hostcalls::set_map_bytes(MapType::HttpRequestHeaders, headers), "set_http_request_headers_bytes")
    }

    /// The first value of one of the request headers; `None` when absent.
    fn get_http_request_header(&self, name: &str) -> Option<String> {
        expect(hostcalls::get_map_value(MapType::HttpRequestHeaders, name), "get_http_request_header")
    }

    /// The first raw value of one of the request headers; `None` when absent.
    fn get_http_request_header_bytes(&self, name: &str) -> Option<Bytes> {
        expect(hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name), "get_http_request_header_bytes")
    }

    /// Sets one of the request headers to exactly `value`; `None` removes it.
    fn set_http_request_header(&self, name: &str, value: Option<&str>) {
        expect(hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value), "set_http_request_header")
    }

    /// Sets one of the request headers to exactly the raw `value`; `None` removes it.
    fn set_http_request_header_bytes(&self, name: &str, value: Option<&[u8]>) {
        expect(
            hostcalls::set_map_value_bytes(MapType::HttpRequestHeaders, name, value),
            "set_http_request_header_bytes",
        )
    }

    /// Appends a value to the request headers, keeping existing ones.
    fn add_http_request_header(&self, name: &str, value: &str) {
        expect(hostcalls::add_map_value(MapType::HttpRequestHeaders, name, value), "add_http_request_header")
    }

    /// Appends a raw value to the request headers.
    fn add_http_request_header_bytes(&self, name: &str, value: &[u8]) {
        expect(
            hostcalls::add_map_value_bytes(MapType::HttpRequestHeaders, name, value),
            "add_http_request_header_bytes",
        )
    }

    /// Removes every value of `name` from the request headers.
    fn remove_http_request_header(&self, name: &str) {
        expect(hostcalls::remove_map_value(MapType::HttpRequestHeaders, name), "remove_http_request_header")
    }

    /// A request body chunk arrived; after `Action::Pause` the next call sees the whole body buffered so far.
    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// Reads up to `max_size` bytes of the request body from `start` (`usize::MAX` = all); `None` when empty.
    fn get_http_request_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::HttpRequestBody, start, max_size), "get_http_request_body")
    }

    /// Replaces `size` bytes of the request body at `start` with `value` (`(0, usize::MAX)` replaces it all).
    fn set_http_request_body(&self, start: usize, size: usize, value: &[u8]) {
        expect(hostcalls::set_buffer(BufferType::HttpRequestBody, start, size, value), "set_http_request_body")
    }

    /// Request trailers arrived.
    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Continue
    }

    /// All request trailers as UTF-8 strings.
    fn get_http_request_trailers(&self) -> Vec<(String, String)> {
        expect(hostcalls::get_map(MapType::HttpRequestTrailers), "get_http_request_trailers")
    }

    /// All request trailers with raw values.
    fn get_http_request_trailers_bytes(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::HttpRequestTrailers), "get_http_request_trailers_bytes")
    }

    /// Replaces all request trailers.
    fn set_http_request_trailers(&self, trailers: Vec<(&str, &str)>) {
        expect(hostcalls::set_map(MapType::HttpRequestTrailers, trailers), "set_http_request_trailers")
    }

    /// Replaces all request trailers with raw values.
    fn set_http_request_trailers_bytes(&self, trailers: Vec<(&str, &[u8])>) {
        expect(hostcalls::set_map_bytes(MapType::HttpRequestTrailers, trailers), "set_http_request_trailers_bytes")
    }

    /// The first value of one of the request trailers; `None` when absent.
    fn get_http_request_trailer(&self, name: &str) -> Option<String> {
        expect(hostcalls::get_map_value(MapType::HttpRequestTrailers, name), "get_http_request_trailer")
    }

    /// The first raw value of one of the request trailers; `None` when absent.
    fn get_http_request_trailer_bytes(&self, name: &str) -> Option<Bytes> {
        expect(hostcalls::get_map_value_bytes(MapType::HttpRequestTrailers, name), "get_http_request_trailer_bytes")
    }

    /// Sets one of the request trailers to exactly `value`; `None` removes it.
    fn set_http_request_trailer(&self, name: &str, value: Option<&str>) {
        expect(hostcalls::set_map_value(MapType::HttpRequestTrailers, name, value), "set_http_request_trailer")
    }

    /// Sets one of the request trailers to exactly the raw `value`; `None` removes it.
    fn set_http_request_trailer_bytes(&self, name: &str, value: Option<&[u8]>) {
        expect(
            hostcalls::set_map_value_bytes(MapType::HttpRequestTrailers, name, value),
            "set_http_request_trailer_bytes",
        )
    }

    /// Appends a value to the request trailers, keeping existing ones.
    fn add_http_request_trailer(&self, name: &str, value: &str) {
        expect(hostcalls::add_map_value(MapType::HttpRequestTrailers, name, value), "add_http_request_trailer")
    }

    /// Appends a raw value to the request trailers.
    fn add_http_request_trailer_bytes(&self, name: &str, value: &[u8]) {
        expect(
            hostcalls::add_map_value_bytes(MapType::HttpRequestTrailers, name, value),
            "add_http_request_trailer_bytes",
        )
    }

    /// Removes every value of `name` from the request trailers.
    fn remove_http_request_trailer(&self, name: &str) {
        expect(hostcalls::remove_map_value(MapType::HttpRequestTrailers, name), "remove_http_request_trailer")
    }

    /// Resumes the request after `Action::Pause` (takes effect when the current callback returns).
    fn resume_http_request(&self) {
        expect(hostcalls::resume_http_request(), "resume_http_request")
    }

    /// Resets the HTTP stream.
    fn reset_http_request(&self) {
        expect(hostcalls::reset_http_request(), "reset_http_request")
    }

    /// Response headers arrived (also for local replies; `end_of_stream`: no body follows).
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// All response headers as UTF-8 strings.
    fn get_http_response_headers(&self) -> Vec<(String, String)> {
        expect(hostcalls::get_map(MapType::HttpResponseHeaders), "get_http_response_headers")
    }

    /// All response headers with raw values.
    fn get_http_response_headers_bytes(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::HttpResponseHeaders), "get_http_response_headers_bytes")
    }

    /// Replaces all response headers.
    fn set_http_response_headers(&self, headers: Vec<(&str, &str)>) {
        expect(hostcalls::set_map(MapType::HttpResponseHeaders, headers), "set_http_response_headers")
    }

    /// Replaces all response headers with raw values.
    fn set_http_response_headers_bytes(&self, headers: Vec<(&str, &[u8])>) {
        expect(hostcalls::set_map_bytes(MapType::HttpResponseHeaders, headers), "set_http_response_headers_bytes")
    }

    /// The first value of one of the response headers; `None` when absent.
    fn get_http_response_header(&self, name: &str) -> Option<String> {
        expect(hostcalls::get_map_value(MapType::HttpResponseHeaders, name), "get_http_response_header")
    }

    /// The first raw value of one of the response headers; `None` when absent.
    fn get_http_response_header_bytes(&self, name: &str) -> Option<Bytes> {
        expect(hostcalls::get_map_value_bytes(MapType::HttpResponseHeaders, name), "get_http_response_header_bytes")
    }

    /// Sets one of the response headers to exactly `value`; `None` removes it.
    fn set_http_response_header(&self, name: &str, value: Option<&str>) {
        expect(hostcalls::set_map_value(MapType::HttpResponseHeaders, name, value), "set_http_response_header")
    }

    /// Sets one of the response headers to exactly the raw `value`; `None` removes it.
    fn set_http_response_header_bytes(&self, name: &str, value: Option<&[u8]>) {
        expect(
            hostcalls::set_map_value_bytes(MapType::HttpResponseHeaders, name, value),
            "set_http_response_header_bytes",
        )
    }

    /// Appends a value to the response headers, keeping existing ones.
    fn add_http_response_header(&self, name: &str, value: &str) {
        expect(hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value), "add_http_response_header")
    }

    /// Appends a raw value to the response headers.
    fn add_http_response_header_bytes(&self, name: &str, value: &[u8]) {
        expect(
            hostcalls::add_map_value_bytes(MapType::HttpResponseHeaders, name, value),
            "add_http_response_header_bytes",
        )
    }

    /// Removes every value of `name` from the response headers.
    fn remove_http_response_header(&self, name: &str) {
        expect(hostcalls::remove_map_value(MapType::HttpResponseHeaders, name), "remove_http_response_header")
    }

    /// A response body chunk arrived (never called for body-less responses).
    fn on_http_response_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// Reads up to `max_size` bytes of the response body from `start` (`usize::MAX` = all); `None` when empty.
    fn get_http_response_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        expect(hostcalls::get_buffer(BufferType::HttpResponseBody, start, max_size), "get_http_response_body")
    }

    /// Replaces `size` bytes of the response body at `start` with `value` (`(0, usize::MAX)` replaces it all).
    fn set_http_response_body(&self, start: usize, size: usize, value: &[u8]) {
        expect(hostcalls::set_buffer(BufferType::HttpResponseBody, start, size, value), "set_http_response_body")
    }

    /// Response trailers arrived.
    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Continue
    }

    /// All response trailers as UTF-8 strings.
    fn get_http_response_trailers(&self) -> Vec<(String, String)> {
        expect(hostcalls::get_map(MapType::HttpResponseTrailers), "get_http_response_trailers")
    }

    /// All response trailers with raw values.
    fn get_http_response_trailers_bytes(&self) -> Vec<(String, Bytes)> {
        expect(hostcalls::get_map_bytes(MapType::HttpResponseTrailers), "get_http_response_trailers_bytes")
    }

    /// Replaces all response trailers.
    fn set_http_response_trailers(&self, trailers: Vec<(&str, &str)>) {
        expect(hostcalls::set_map(MapType::HttpResponseTrailers, trailers), "set_http_response_trailers")
    }

    /// Replaces all response trailers with raw values.
    fn set_http_response_trailers_bytes(&self, trailers: Vec<(&str, &[u8])>) {
        expect(hostcalls::set_map_bytes(MapType::HttpResponseTrailers, trailers), "set_http_response_trailers_bytes")
    }

    /// The first value of one of the response trailers; `None` when absent.
    fn get_http_response_trailer(&self, name: &str) -> Option<String> {
        expect(hostcalls::get_map_value(MapType::HttpResponseTrailers, name), "get_http_response_trailer")
    }

    /// The first raw value of one of the response trailers; `None` when absent.
    fn get_http_response_trailer_bytes(&self, name: &str) -> Option<Bytes> {
        expect(hostcalls::get_map_value_bytes(MapType::HttpResponseTrailers, name), "get_http_response_trailer_bytes")
    }

    /// Sets one of the response trailers to exactly `value`; `None` removes it.
    fn set_http_response_trailer(&self, name: &str, value: Option<&str>) {
        expect(hostcalls::set_map_value(MapType::HttpResponseTrailers, name, value), "set_http_response_trailer")
    }

    /// Sets one of the response trailers to exactly the raw `value`; `None` removes it.
    fn set_http_response_trailer_bytes(&self, name: &str, value: Option<&[u8]>) {
        expect(
            hostcalls::set_map_value_bytes(MapType::HttpResponseTrailers, name, value),
            "set_http_response_trailer_bytes",
        )
    }

    /// Appends a value to the response trailers, keeping existing ones.
    fn add_http_response_trailer(&self, name: &str, value: &str) {
        expect(hostcalls::add_map_value(MapType::HttpResponseTrailers, name, value), "add_http_response_trailer")
    }

    /// Appends a raw value to the response trailers.
    fn add_http_response_trailer_bytes(&self, name: &str, value: &[u8]) {
        expect(
            hostcalls::add_map_value_bytes(MapType::HttpResponseTrailers, name, value),
            "add_http_response_trailer_bytes",
        )
    }

    /// Removes every value of `name` from the response trailers.
    fn remove_http_response_trailer(&self, name: &str) {
        expect(hostcalls::remove_map_value(MapType::HttpResponseTrailers, name), "remove_http_response_trailer")
    }

    /// Resumes the response after `Action::Pause`.
    fn resume_http_response(&self) {
        expect(hostcalls::resume_http_response(), "resume_http_response")
    }

    /// Resets the HTTP stream.
    fn reset_http_response(&self) {
        expect(hostcalls::reset_http_response(), "reset_http_response")
    }

    /// Replies to the client from the proxy; return `Action::Pause` right after.
    fn send_http_response(&self, status_code: u32, headers: Vec<(&str, &str)>, body: Option<&[u8]>) {
        expect(hostcalls::send_http_response(status_code, headers, body), "send_http_response")
    }

    /// Replies with a gRPC error status and message.
    fn send_grpc_response(
        &self,
        grpc_status: GrpcStatusCode,
        grpc_status_message: Option<&str>,
        custom_metadata: Vec<(&str, &[u8])>,
    ) {
        expect(hostcalls::send_grpc_response(grpc_status, grpc_status_message, custom_metadata), "send_grpc_response")
    }

    /// The stream is complete; request and response headers are readable for access logging.
    fn on_log(&mut self) {}
}
