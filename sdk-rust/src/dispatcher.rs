//! Routes the host's callbacks (the `proxy_on_*` exports) to the plugin's context objects.
//!
//! State: one `Dispatcher` per VM (wasm is single-threaded, so a thread-local). Contexts live in three maps by
//! kind; `active_id` is the context whose callback is running, so that a callout started from it can be routed
//! back to it: the host delivers every callout answer to the *root* context, and the dispatcher forwards it to
//! the context that made the call (switching the host's effective context to it first). Callbacks for ids that
//! no longer exist are dropped, since the ABI allows answers to outlive their stream.

use crate::hostcalls;
use crate::traits::{Context, HttpContext, RootContext, StreamContext};
use crate::types::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// The root context used when the plugin registered no root factory: every callback is a no-op.
struct NoopRoot;

impl Context for NoopRoot {}
impl RootContext for NoopRoot {}

#[derive(Default)]
pub(crate) struct Dispatcher {
    new_root: Cell<Option<NewRootContext>>,
    new_http: Cell<Option<NewHttpContext>>,
    new_stream: Cell<Option<NewStreamContext>>,
    roots: RefCell<HashMap<u32, Box<dyn RootContext>>>,
    https: RefCell<HashMap<u32, Box<dyn HttpContext>>>,
    streams: RefCell<HashMap<u32, Box<dyn StreamContext>>>,
    active_id: Cell<u32>,
    http_callouts: RefCell<HashMap<u32, u32>>,
    grpc_calls: RefCell<HashMap<u32, u32>>,
    grpc_streams: RefCell<HashMap<u32, u32>>,
}

thread_local! {
    static DISPATCHER: Dispatcher = Dispatcher::default();
}

pub(crate) fn set_root_context(factory: NewRootContext) {
    DISPATCHER.with(|d| d.new_root.set(Some(factory)));
}

pub(crate) fn set_http_context(factory: NewHttpContext) {
    DISPATCHER.with(|d| d.new_http.set(Some(factory)));
}

pub(crate) fn set_stream_context(factory: NewStreamContext) {
    DISPATCHER.with(|d| d.new_stream.set(Some(factory)));
}

pub(crate) fn register_http_callout(token: u32) {
    DISPATCHER.with(|d| d.http_callouts.borrow_mut().insert(token, d.active_id.get()));
}

pub(crate) fn register_grpc_callout(token: u32) {
    DISPATCHER.with(|d| d.grpc_calls.borrow_mut().insert(token, d.active_id.get()));
}

pub(crate) fn register_grpc_stream(token: u32) {
    DISPATCHER.with(|d| d.grpc_streams.borrow_mut().insert(token, d.active_id.get()));
}

/// Runs `$call` on context `$id` whatever its kind (trait objects cannot be upcast to `dyn Context` in Rust
/// 1.63, so each map is tried in turn). Evaluates to `Some(result)`, or `None` for an unknown id.
macro_rules! on_any_context {
    ($d:expr, $id:expr, |$ctx:ident| $call:expr) => {{
        $d.active_id.set($id);
        if let Some($ctx) = $d.roots.borrow_mut().get_mut(&$id) {
            Some($call)
        } else if let Some($ctx) = $d.https.borrow_mut().get_mut(&$id) {
            Some($call)
        } else if let Some($ctx) = $d.streams.borrow_mut().get_mut(&$id) {
            Some($call)
        } else {
            None
        }
    }};
}

impl Dispatcher {
    fn on_create_context(&self, context_id: u32, root_context_id: u32) {
        if root_context_id == 0 {
            let root = match self.new_root.get() {
                Some(factory) => factory(context_id),
                None => Box::new(NoopRoot),
            };
            self.roots.borrow_mut().insert(context_id, root);
            return;
        }
        let kind = self.roots.borrow().get(&root_context_id).map(|root| root.get_type());
        let kind = match kind {
            Some(kind) => kind,
            None => panic!("context {} created under unknown root context {}", context_id, root_context_id),
        };
        self.active_id.set(root_context_id);
        match kind {
            Some(ContextType::HttpContext) => {
                let ctx = self.roots.borrow().get(&root_context_id).and_then(|r| r.create_http_context(context_id));
                let ctx = ctx.unwrap_or_else(|| panic!("root context {} built no HttpContext", root_context_id));
                self.https.borrow_mut().insert(context_id, ctx);
            }
            Some(ContextType::StreamContext) => {
                let ctx = self.roots.borrow().get(&root_context_id).and_then(|r| r.create_stream_context(context_id));
                let ctx = ctx.unwrap_or_else(|| panic!("root context {} built no StreamContext", root_context_id));
                self.streams.borrow_mut().insert(context_id, ctx);
            }
            None => {
                if let Some(factory) = self.new_http.get() {
                    self.https.borrow_mut().insert(context_id, factory(context_id, root_context_id));
                } else if let Some(factory) = self.new_stream.get() {
                    self.streams.borrow_mut().insert(context_id, factory(context_id, root_context_id));
                } else {
                    panic!("no stream context factory: set get_type() on the root context or call set_http_context");
                }
            }
        }
    }

    fn with_root<R>(&self, id: u32, default: R, f: impl FnOnce(&mut dyn RootContext) -> R) -> R {
        self.active_id.set(id);
        match self.roots.borrow_mut().get_mut(&id) {
            Some(root) => f(root.as_mut()),
            None => default,
        }
    }

    fn with_http<R>(&self, id: u32, default: R, f: impl FnOnce(&mut dyn HttpContext) -> R) -> R {
        self.active_id.set(id);
        match self.https.borrow_mut().get_mut(&id) {
            Some(ctx) => f(ctx.as_mut()),
            None => default,
        }
    }

    fn with_stream<R>(&self, id: u32, default: R, f: impl FnOnce(&mut dyn StreamContext) -> R) -> R {
        self.active_id.set(id);
        match self.streams.borrow_mut().get_mut(&id) {
            Some(ctx) => f(ctx.as_mut()),
            None => default,
        }
    }

    fn on_done(&self, id: u32) -> bool {
        on_any_context!(self, id, |ctx| ctx.on_done()).unwrap_or(true)
    }

    fn on_log(&self, id: u32) {
        on_any_context!(self, id, |ctx| ctx.on_log());
    }

    fn on_delete(&self, id: u32) {
        let removed = self.roots.borrow_mut().remove(&id).is_some()
            || self.https.borrow_mut().remove(&id).is_some()
            || self.streams.borrow_mut().remove(&id).is_some();
        if removed {
            // Answers to callouts of a deleted context have nowhere to go.
            for table in [&self.http_callouts, &self.grpc_calls, &self.grpc_streams] {
                table.borrow_mut().retain(|_, owner| *owner != id);
            }
        }
    }

    /// Looks up (and optionally forgets) the context that owns callout `token` and makes it the host's
    /// effective context, so its host calls act on its own stream.
    fn callout_owner(&self, table: &RefCell<HashMap<u32, u32>>, token: u32, forget: bool) -> Option<u32> {
        let owner = if forget { table.borrow_mut().remove(&token) } else { table.borrow().get(&token).copied() };
        if let Some(id) = owner {
            // A failure here means the context is gone on the host side; its callback is then a no-op anyway.
            let _ = hostcalls::set_effective_context(id);
        }
        owner
    }

    fn on_http_call_response(&self, token: u32, num_headers: usize, body_size: usize, num_trailers: usize) {
        if let Some(id) = self.callout_owner(&self.http_callouts, token, true) {
            on_any_context!(self, id, |ctx| ctx.on_http_call_response(token, num_headers, body_size, num_trailers));
        }
    }

    fn on_grpc_receive(&self, token: u32, size: usize) {
        if let Some(id) = self.callout_owner(&self.grpc_calls, token, true) {
            on_any_context!(self, id, |ctx| ctx.on_grpc_call_response(token, 0, size));
        } else if let Some(id) = self.callout_owner(&self.grpc_streams, token, false) {
            on_any_context!(self, id, |ctx| ctx.on_grpc_stream_message(token, size));
        }
    }

    fn on_grpc_close(&self, token: u32, status: u32) {
        if let Some(id) = self.callout_owner(&self.grpc_calls, token, true) {
            on_any_context!(self, id, |ctx| ctx.on_grpc_call_response(token, status, 0));
        } else if let Some(id) = self.callout_owner(&self.grpc_streams, token, true) {
            on_any_context!(self, id, |ctx| ctx.on_grpc_stream_close(token, status));
        }
    }

    fn on_grpc_metadata(&self, token: u32, num_elements: u32, initial: bool) {
        if let Some(id) = self.callout_owner(&self.grpc_streams, token, false) {
            if initial {
                on_any_context!(self, id, |ctx| ctx.on_grpc_stream_initial_metadata(token, num_elements));
            } else {
                on_any_context!(self, id, |ctx| ctx.on_grpc_stream_trailing_metadata(token, num_elements));
            }
        }
    }
}

fn action(a: Action) -> u32 {
    a as u32
}

// ---- the exports the host calls ---------------------------------------------------------------------------------

#[no_mangle]
extern "C" fn proxy_on_context_create(context_id: u32, root_context_id: u32) {
    DISPATCHER.with(|d| d.on_create_context(context_id, root_context_id))
}

#[no_mangle]
extern "C" fn proxy_on_vm_start(context_id: u32, vm_configuration_size: usize) -> u32 {
    DISPATCHER.with(|d| d.with_root(context_id, false, |c| c.on_vm_start(vm_configuration_size))) as u32
}

#[no_mangle]
extern "C" fn proxy_on_configure(context_id: u32, plugin_configuration_size: usize) -> u32 {
    DISPATCHER.with(|d| d.with_root(context_id, false, |c| c.on_configure(plugin_configuration_size))) as u32
}

#[no_mangle]
extern "C" fn proxy_on_tick(context_id: u32) {
    DISPATCHER.with(|d| d.with_root(context_id, (), |c| c.on_tick()))
}

#[no_mangle]
extern "C" fn proxy_on_queue_ready(context_id: u32, queue_id: u32) {
    DISPATCHER.with(|d| d.with_root(context_id, (), |c| c.on_queue_ready(queue_id)))
}

#[no_mangle]
extern "C" fn proxy_on_done(context_id: u32) -> u32 {
    DISPATCHER.with(|d| d.on_done(context_id)) as u32
}

#[no_mangle]
extern "C" fn proxy_on_log(context_id: u32) {
    DISPATCHER.with(|d| d.on_log(context_id))
}

#[no_mangle]
extern "C" fn proxy_on_delete(context_id: u32) {
    DISPATCHER.with(|d| d.on_delete(context_id))
}

#[no_mangle]
extern "C" fn proxy_on_foreign_function(context_id: u32, function_id: u32, arguments_size: usize) {
    DISPATCHER.with(|d| on_any_context!(d, context_id, |c| c.on_foreign_function(function_id, arguments_size)));
}

#[no_mangle]
extern "C" fn proxy_on_new_connection(context_id: u32) -> u32 {
    DISPATCHER.with(|d| d.with_stream(context_id, 0, |c| action(c.on_new_connection())))
}

#[no_mangle]
extern "C" fn proxy_on_downstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 {
    DISPATCHER.with(|d| d.with_stream(context_id, 0, |c| action(c.on_downstream_data(data_size, end_of_stream != 0))))
}

#[no_mangle]
extern "C" fn proxy_on_downstream_connection_close(context_id: u32, peer_type: u32) {
    DISPATCHER.with(|d| d.with_stream(context_id, (), |c| c.on_downstream_close(PeerType::from_u32(peer_type))))
}

#[no_mangle]
extern "C" fn proxy_on_upstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 {
    DISPATCHER.with(|d| d.with_stream(context_id, 0, |c| action(c.on_upstream_data(data_size, end_of_stream != 0))))
}

#[no_mangle]
extern "C" fn proxy_on_upstream_connection_close(context_id: u32, peer_type: u32) {
    DISPATCHER.with(|d| d.with_stream(context_id, (), |c| c.on_upstream_close(PeerType::from_u32(peer_type))))
}

#[no_mangle]
extern "C" fn proxy_on_request_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 {
    DISPATCHER
        .with(|d| d.with_http(context_id, 0, |c| action(c.on_http_request_headers(num_headers, end_of_stream != 0))))
}

#[no_mangle]
extern "C" fn proxy_on_request_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 {
    DISPATCHER.with(|d| d.with_http(context_id, 0, |c| action(c.on_http_request_body(body_size, end_of_stream != 0))))
}

#[no_mangle]
extern "C" fn proxy_on_request_trailers(context_id: u32, num_trailers: usize) -> u32 {
    DISPATCHER.with(|d| d.with_http(context_id, 0, |c| action(c.on_http_request_trailers(num_trailers))))
}

#[no_mangle]
extern "C" fn proxy_on_response_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 {
    DISPATCHER
        .with(|d| d.with_http(context_id, 0, |c| action(c.on_http_response_headers(num_headers, end_of_stream != 0))))
}

#[no_mangle]
extern "C" fn proxy_on_response_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 {
    DISPATCHER.with(|d| d.with_http(context_id, 0, |c| action(c.on_http_response_body(body_size, end_of_stream != 0))))
}

#[no_mangle]
extern "C" fn proxy_on_response_trailers(context_id: u32, num_trailers: usize) -> u32 {
    DISPATCHER.with(|d| d.with_http(context_id, 0, |c| action(c.on_http_response_trailers(num_trailers))))
}

#[no_mangle]
extern "C" fn proxy_on_http_call_response(
    _root_context_id: u32,
    token: u32,
    num_headers: usize,
    body_size: usize,
    num_trailers: usize,
) {
    DISPATCHER.with(|d| d.on_http_call_response(token, num_headers, body_size, num_trailers))
}

#[no_mangle]
extern "C" fn proxy_on_grpc_receive_initial_metadata(_root_context_id: u32, token: u32, num_elements: u32) {
    DISPATCHER.with(|d| d.on_grpc_metadata(token, num_elements, true))
}

#[no_mangle]
extern "C" fn proxy_on_grpc_receive(_root_context_id: u32, token: u32, message_size: usize) {
    DISPATCHER.with(|d| d.on_grpc_receive(token, message_size))
}

#[no_mangle]
extern "C" fn proxy_on_grpc_receive_trailing_metadata(_root_context_id: u32, token: u32, num_elements: u32) {
    DISPATCHER.with(|d| d.on_grpc_metadata(token, num_elements, false))
}

#[no_mangle]
extern "C" fn proxy_on_grpc_close(_root_context_id: u32, token: u32, status_code: u32) {
    DISPATCHER.with(|d| d.on_grpc_close(token, status_code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    thread_local! {
        static EVENTS: Rc<RefCell<Vec<String>>> = Rc::new(RefCell::new(Vec::new()));
    }

    fn record(event: String) {
        EVENTS.with(|e| e.borrow_mut().push(event));
    }

    fn events() -> Vec<String> {
        EVENTS.with(|e| e.borrow_mut().drain(..).collect())
    }

    struct Root;
    impl Context for Root {
        fn on_http_call_response(&mut self, token: u32, _: usize, _: usize, _: usize) {
            record(format!("root call response {}", token));
        }
    }
    impl RootContext for Root {
        fn on_configure(&mut self, size: usize) -> bool {
            size > 0
        }
        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }
        fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Http { id: context_id }))
        }
    }

    struct Http {
        id: u32,
    }
    impl Context for Http {
        fn on_http_call_response(&mut self, token: u32, headers: usize, _: usize, _: usize) {
            record(format!("http {} call response {} with {} headers", self.id, token, headers));
        }
    }
    impl HttpContext for Http {
        fn on_http_request_headers(&mut self, n: usize, eos: bool) -> Action {
            record(format!("http {} request headers {} {}", self.id, n, eos));
            Action::Pause
        }
        fn on_log(&mut self) {
            record(format!("http {} log", self.id));
        }
    }

    fn dispatcher() -> Dispatcher {
        let d = Dispatcher::default();
        d.new_root.set(Some(|_| Box::new(Root)));
        d.on_create_context(1, 0);
        d
    }

    #[test]
    fn routes_stream_callbacks_to_the_context_built_by_its_root() {
        let d = dispatcher();
        assert!(d.with_root(1, false, |r| r.on_configure(3)));
        assert!(!d.with_root(1, false, |r| r.on_configure(0)));
        d.on_create_context(2, 1);
        let result = d.with_http(2, 0, |c| action(c.on_http_request_headers(4, true)));
        assert_eq!(result, Action::Pause as u32);
        d.on_log(2);
        assert_eq!(events(), vec!["http 2 request headers 4 true", "http 2 log"]);
    }

    #[test]
    fn callbacks_for_unknown_or_deleted_contexts_are_no_ops() {
        let d = dispatcher();
        d.on_create_context(2, 1);
        d.on_delete(2);
        assert_eq!(d.with_http(2, 7, |_| 0), 7);
        assert!(d.on_done(2));
        d.on_log(2);
        assert!(events().is_empty());
    }

    #[test]
    fn callout_answers_reach_the_context_that_made_the_call() {
        let d = dispatcher();
        d.on_create_context(2, 1);
        d.on_create_context(3, 1);
        d.active_id.set(3);
        d.http_callouts.borrow_mut().insert(4, d.active_id.get());
        d.active_id.set(1);
        d.http_callouts.borrow_mut().insert(8, d.active_id.get());
        d.on_http_call_response(4, 2, 0, 0);
        d.on_http_call_response(8, 1, 0, 0);
        // A token is answered once: a repeat is dropped.
        d.on_http_call_response(4, 2, 0, 0);
        assert_eq!(events(), vec!["http 3 call response 4 with 2 headers", "root call response 8"]);
    }

    #[test]
    fn deleting_a_context_forgets_its_callouts() {
        let d = dispatcher();
        d.on_create_context(2, 1);
        d.http_callouts.borrow_mut().insert(4, 2);
        d.on_delete(2);
        assert!(d.http_callouts.borrow().is_empty());
    }

    struct Grpc;
    impl Context for Grpc {
        fn on_grpc_call_response(&mut self, token: u32, status: u32, size: usize) {
            record(format!("call {} status {} size {}", token, status, size));
        }
        fn on_grpc_stream_initial_metadata(&mut self, token: u32, n: u32) {
            record(format!("stream {} initial {}", token, n));
        }
        fn on_grpc_stream_message(&mut self, token: u32, size: usize) {
            record(format!("stream {} message {}", token, size));
        }
        fn on_grpc_stream_trailing_metadata(&mut self, token: u32, n: u32) {
            record(format!("stream {} trailing {}", token, n));
        }
        fn on_grpc_stream_close(&mut self, token: u32, status: u32) {
            record(format!("stream {} close {}", token, status));
        }
    }
    impl HttpContext for Grpc {}

    #[test]
    fn grpc_events_are_routed_by_token_kind_until_the_call_or_stream_ends() {
        let d = Dispatcher::default();
        d.new_http.set(Some(|_, _| Box::new(Grpc)));
        d.on_create_context(1, 0);
        d.on_create_context(2, 1);
        d.grpc_calls.borrow_mut().insert(5, 2);
        d.grpc_calls.borrow_mut().insert(9, 2);
        d.grpc_streams.borrow_mut().insert(6, 2);
        d.on_grpc_receive(5, 12);
        d.on_grpc_close(9, 14);
        d.on_grpc_metadata(6, 2, true);
        d.on_grpc_receive(6, 3);
        d.on_grpc_metadata(6, 1, false);
        d.on_grpc_close(6, 0);
        // Finished calls and closed streams are forgotten: later events for their tokens are dropped.
        d.on_grpc_receive(5, 1);
        d.on_grpc_receive(6, 1);
        assert_eq!(
            events(),
            vec![
                "call 5 status 0 size 12",
                "call 9 status 14 size 0",
                "stream 6 initial 2",
                "stream 6 message 3",
                "stream 6 trailing 1",
                "stream 6 close 0",
            ]
        );
    }

    #[test]
    fn the_global_http_factory_is_used_when_the_root_names_no_type() {
        let d = Dispatcher::default();
        d.new_http.set(Some(|id, root| {
            record(format!("factory {} under {}", id, root));
            Box::new(Grpc)
        }));
        d.on_create_context(1, 0);
        d.on_create_context(2, 1);
        assert!(d.https.borrow().contains_key(&2));
        assert_eq!(events(), vec!["factory 2 under 1"]);
    }

    struct Tcp;
    impl Context for Tcp {}
    impl StreamContext for Tcp {
        fn on_new_connection(&mut self) -> Action {
            record("new connection".to_string());
            Action::Continue
        }
        fn on_downstream_data(&mut self, size: usize, eos: bool) -> Action {
            record(format!("downstream {} {}", size, eos));
            Action::Pause
        }
        fn on_upstream_close(&mut self, peer: PeerType) {
            record(format!("upstream close {:?}", peer));
        }
    }

    struct TcpRoot;
    impl Context for TcpRoot {}
    impl RootContext for TcpRoot {
        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::StreamContext)
        }
        fn create_stream_context(&self, _context_id: u32) -> Option<Box<dyn StreamContext>> {
            Some(Box::new(Tcp))
        }
    }

    #[test]
    fn routes_network_callbacks_to_stream_contexts() {
        let d = Dispatcher::default();
        d.new_root.set(Some(|_| Box::new(TcpRoot)));
        d.on_create_context(1, 0);
        d.on_create_context(2, 1);
        assert_eq!(d.with_stream(2, 9, |c| action(c.on_new_connection())), 0);
        assert_eq!(d.with_stream(2, 9, |c| action(c.on_downstream_data(5, true))), Action::Pause as u32);
        d.with_stream(2, (), |c| c.on_upstream_close(PeerType::from_u32(0)));
        // HTTP callbacks do not reach a TCP context.
        assert_eq!(d.with_http(2, 7, |_| 0), 7);
        assert_eq!(events(), vec!["new connection", "downstream 5 true", "upstream close Unknown"]);
    }

    #[test]
    fn without_a_root_factory_a_no_op_root_accepts_configuration() {
        let d = Dispatcher::default();
        d.on_create_context(1, 0);
        assert!(d.with_root(1, false, |r| r.on_vm_start(0)));
        assert!(d.with_root(1, false, |r| r.on_configure(10)));
    }
}
