//! The raw `env` imports of proxy-wasm ABI 0.2.1, declared once.
//!
//! On wasm32 they are real imports from the host. On any other target (native `cargo test`) there is no host, so
//! every function answers `Status::Unimplemented`: pure logic stays testable natively, and code that needs the host
//! sees an ordinary error instead of a link failure.

macro_rules! host_functions {
    ($( fn $name:ident($($arg:ident: $ty:ty),* $(,)?); )*) => {
        #[cfg(target_arch = "wasm32")]
        #[link(wasm_import_module = "env")]
        extern "C" {
            $( pub(crate) fn $name($($arg: $ty),*) -> u32; )*
        }

        $(
            #[cfg(not(target_arch = "wasm32"))]
            #[allow(unused_variables, clippy::too_many_arguments)] // the ABI's own signatures
            pub(crate) unsafe fn $name($($arg: $ty),*) -> u32 {
                crate::types::Status::Unimplemented as u32
            }
        )*
    };
}

host_functions! {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize);
    fn proxy_get_log_level(return_level: *mut u32);
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64);
    fn proxy_set_tick_period_milliseconds(period: u32);
    fn proxy_get_buffer_bytes(buffer_type: u32, start: usize, max_size: usize, return_data: *mut *mut u8,
        return_size: *mut usize);
    fn proxy_get_buffer_status(buffer_type: u32, return_size: *mut usize, return_flags: *mut u32);
    fn proxy_set_buffer_bytes(buffer_type: u32, start: usize, size: usize, data: *const u8, data_size: usize);
    fn proxy_get_header_map_pairs(map_type: u32, return_data: *mut *mut u8, return_size: *mut usize);
    fn proxy_set_header_map_pairs(map_type: u32, data: *const u8, size: usize);
    fn proxy_get_header_map_size(map_type: u32, return_size: *mut usize);
    fn proxy_get_header_map_value(map_type: u32, key_data: *const u8, key_size: usize,
        return_value_data: *mut *mut u8, return_value_size: *mut usize);
    fn proxy_replace_header_map_value(map_type: u32, key_data: *const u8, key_size: usize,
        value_data: *const u8, value_size: usize);
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize);
    fn proxy_add_header_map_value(map_type: u32, key_data: *const u8, key_size: usize,
        value_data: *const u8, value_size: usize);
    fn proxy_get_property(path_data: *const u8, path_size: usize, return_value_data: *mut *mut u8,
        return_value_size: *mut usize);
    fn proxy_set_property(path_data: *const u8, path_size: usize, value_data: *const u8, value_size: usize);
    fn proxy_get_shared_data(key_data: *const u8, key_size: usize, return_value_data: *mut *mut u8,
        return_value_size: *mut usize, return_cas: *mut u32);
    fn proxy_set_shared_data(key_data: *const u8, key_size: usize, value_data: *const u8, value_size: usize,
        cas: u32);
    fn proxy_register_shared_queue(name_data: *const u8, name_size: usize, return_id: *mut u32);
    fn proxy_resolve_shared_queue(vm_id_data: *const u8, vm_id_size: usize, name_data: *const u8,
        name_size: usize, return_id: *mut u32);
    fn proxy_dequeue_shared_queue(queue_id: u32, return_value_data: *mut *mut u8, return_value_size: *mut usize);
    fn proxy_enqueue_shared_queue(queue_id: u32, value_data: *const u8, value_size: usize);
    fn proxy_continue_stream(stream_type: u32);
    fn proxy_close_stream(stream_type: u32);
    fn proxy_send_local_response(status_code: u32, status_code_details_data: *const u8,
        status_code_details_size: usize, body_data: *const u8, body_size: usize, headers_data: *const u8,
        headers_size: usize, grpc_status: i32);
    fn proxy_http_call(upstream_data: *const u8, upstream_size: usize, headers_data: *const u8,
        headers_size: usize, body_data: *const u8, body_size: usize, trailers_data: *const u8,
        trailers_size: usize, timeout: u32, return_token: *mut u32);
    fn proxy_grpc_call(upstream_data: *const u8, upstream_size: usize, service_name_data: *const u8,
        service_name_size: usize, method_name_data: *const u8, method_name_size: usize,
        initial_metadata_data: *const u8, initial_metadata_size: usize, message_data: *const u8,
        message_size: usize, timeout: u32, return_token: *mut u32);
    fn proxy_grpc_stream(upstream_data: *const u8, upstream_size: usize, service_name_data: *const u8,
        service_name_size: usize, method_name_data: *const u8, method_name_size: usize,
        initial_metadata_data: *const u8, initial_metadata_size: usize, return_token: *mut u32);
    fn proxy_grpc_send(token: u32, message_data: *const u8, message_size: usize, end_stream: u32);
    fn proxy_grpc_cancel(token: u32);
    fn proxy_grpc_close(token: u32);
    fn proxy_get_status(return_code: *mut u32, return_message_data: *mut *mut u8,
        return_message_size: *mut usize);
    fn proxy_set_effective_context(context_id: u32);
    fn proxy_call_foreign_function(function_name_data: *const u8, function_name_size: usize,
        arguments_data: *const u8, arguments_size: usize, results_data: *mut *mut u8,
        results_size: *mut usize);
    fn proxy_done();
    fn proxy_define_metric(metric_type: u32, name_data: *const u8, name_size: usize, return_id: *mut u32);
    fn proxy_increment_metric(metric_id: u32, offset: i64);
    fn proxy_record_metric(metric_id: u32, value: u64);
    fn proxy_get_metric(metric_id: u32, return_value: *mut u64);
}
